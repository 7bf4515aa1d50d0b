"""One command line for every method: ``python -m helpers.<method> train | evaluate | release | bench``.

Same flags everywhere::

    python -m helpers.glcic train --profile demo --set holes=mouth --release glcic_mouth64
    python -m helpers.glcic train --profile full --data data/glcic256 --run-dir runs/x --budget-minutes 600
    python -m helpers.glcic train --profile demo --set lr=5e-4 --dry-run       # print the config, stop
    python -m helpers.glcic release glcic_mouth64 --run-dir runs/x --profile demo --set holes=mouth
    python -m helpers.glcic evaluate glcic_mouth64                            # re-measure a release
    python -m helpers.glcic bench --profiles quick demo --json bench.json
    torchrun --nproc_per_node=4 -m helpers.glcic train --profile full ...     # DDP on 4 GPUs

``--set key=value`` (JSON values) overrides any config field; unknown keys and wrong types are
refused. ``--data``, ``--threads`` and ``--device`` are shortcuts for the fields of those names.
A method plugs in through :class:`helpers.core.loop.Method` plus two hooks, ``release(result,
name, command) -> path`` and ``evaluate_release(name) -> dict``; its ``__main__`` passes its
``bench(profiles, repeats) -> dict`` function and any further subcommands as :class:`Command`
objects, so ``python -m helpers.<method> --help`` lists every one of them::

    cli.main(METHOD, module="helpers.lafin", bench=bench,
             commands=[cli.Command("real", "real-face measures of a predictor", real_args, real_run)])
"""
from __future__ import annotations

import argparse
import inspect
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from helpers.core.files import atomic_write_bytes
from helpers.core import runtime
from helpers.core.config import parse_set
from helpers.core.loop import distributed_env, train

__all__ = ["main", "make_config", "command_line", "Command", "merge_results", "merge_bench_file"]


@dataclass(frozen=True)
class Command:
    """A method's subcommand beyond ``train | release | evaluate | bench``.

    ``arguments(parser)`` adds its flags; ``run(args, command)`` does the work and returns the exit
    status (``command`` is the line as typed, for manifests and result files).
    """
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, str], int]


def command_line(module: str, argv: list[str]) -> str:
    """The command as a user would type it (recorded in release manifests)."""
    return f"python -m {module} " + " ".join(shlex.quote(a) for a in argv)


def make_config(method, args: argparse.Namespace):
    """The config from ``--profile``, the shortcuts and ``--set`` (validated)."""
    over = parse_set(args.set)
    for key in ("data", "threads", "device"):
        value = getattr(args, key, None)
        if value is not None:
            over[key] = value
    return method.config_class.for_profile(args.profile, **over)


def merge_results(old, new):
    """``new`` laid over ``old``: dictionaries merge key by key, anything else is replaced.

    ``make bench`` re-times the demo profile; the file keeps the other profiles and comparisons
    measured before. The top-level ``machine`` is the newest run's (what the README's speed table shows).
    """
    timed = isinstance(new, dict) and any(k in new for k in ("sec_best", "steps_per_s_best"))
    if isinstance(old, dict) and isinstance(new, dict) and not timed:     # a timing is replaced whole
        out = dict(old)
        for k, v in new.items():
            out[k] = merge_results(old[k], v) if k in old and k != "machine" else v
        return out
    return new


def _kept_paths(old, new, path=()):
    """Key paths of ``old`` that ``new`` does not hold (what a merge keeps from the earlier run)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    out = []
    for k, v in old.items():
        if k not in new:
            out.append("/".join(path + (str(k),)))
        else:
            out += _kept_paths(v, new[k], path + (str(k),))
    return out


def merge_bench_file(old: dict, new: dict) -> dict:
    """A benchmark file re-measured in part: :func:`merge_results`, and ``earlier_runs`` says which
    entries an earlier run measured, on what machine and at what matmul rate (their shares are of
    that rate), so no number is credited to the wrong run."""
    out = merge_results(old, new)
    kept = [k for k in _kept_paths(old, new) if k != "earlier_runs"]
    if kept:
        run = {"machine": old.get("machine"), "entries": kept,
               **{k: v for k, v in old.items() if k.startswith("matmul")}}
        out["earlier_runs"] = [*old.get("earlier_runs", []), run]
    return out


def _parser(prog: str, description: str, commands=()) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    sub = p.add_subparsers(dest="cmd", required=True)

    def config_flags(sp):
        sp.add_argument("--profile", choices=runtime.PROFILES, default=None,
                        help="quick | demo | full (default: $FACES_PROFILE, else quick)")
        sp.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides, JSON values (e.g. lr=1e-3 holes=mouth)")
        sp.add_argument("--data", default=None, help="'synthfaces' or a folder in the on-disk face format")
        sp.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        sp.add_argument("--device", default=None, help="cpu | cuda | mps (default: the best available)")
        sp.add_argument("--run-dir", default=None, help="run folder (default runs/<method>-<profile>)")

    t = sub.add_parser("train", help="train (resumes from the run folder's newest checkpoint)")
    config_flags(t)
    t.add_argument("--budget-minutes", type=float, default=None, help="stop this call after M minutes")
    t.add_argument("--max-steps", type=int, default=None, help="stop this call at this (absolute) step")
    t.add_argument("--release", default=None, metavar="NAME",
                   help="when the run is finished, write checkpoints/NAME.safetensors + NAME.json")
    t.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bars at all (by default they are drawn only on a terminal)")
    r = sub.add_parser("release", help="measure a finished run and write it as a release")
    r.add_argument("name")
    config_flags(r)
    e = sub.add_parser("evaluate", help="re-measure a committed release")
    e.add_argument("name")
    b = sub.add_parser("bench", help="steps/s and the share of the machine's matmul rate")
    b.add_argument("--profiles", nargs="*", default=list(runtime.PROFILES))
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--threads", type=int, default=None)
    b.add_argument("--json", default=None,
                   help="also write the results to this file; an existing file keeps what this run did not "
                        "measure (other profiles, the reference) unless --replace")
    b.add_argument("--replace", action="store_true", help="with --json: overwrite the file instead of merging")
    b.add_argument("--reference", default=None, metavar="PATH",
                   help="a local checkout of the method's reference implementation, timed in the same run "
                        "(methods whose benchmark compares with one)")
    for c in commands:
        if c.name in sub.choices:
            raise ValueError(f"subcommand {c.name!r} is defined twice")
        c.arguments(sub.add_parser(c.name, help=c.help, description=c.help))
    return p


def main(method, argv: list[str] | None = None, module: str | None = None, bench=None,
         commands: tuple[Command, ...] | list[Command] = ()) -> int:
    """Run the command line for ``method`` (a :class:`helpers.core.loop.Method` with the hooks)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    module = module or f"helpers.{method.name}"
    args = _parser(f"python -m {module}", (method.__doc__ or module).strip().splitlines()[0],
                   commands).parse_args(argv)
    extra = {c.name: c for c in commands}
    if args.cmd in extra:
        return int(extra[args.cmd].run(args, command_line(module, argv)) or 0)
    rank = distributed_env()[0]
    if args.cmd in ("train", "release"):
        try:
            cfg = make_config(method, args)
        except ValueError as err:
            raise SystemExit(f"error: {err}") from None
        run_dir = Path(args.run_dir) if args.run_dir else runtime.RUNS_DIR / f"{method.name}-{cfg.profile}"
        if args.cmd == "train" and args.dry_run:
            print(json.dumps(cfg.to_dict(), indent=1))
            return 0
        if args.cmd == "train":
            if args.no_progress:
                runtime.set_progress(False)
            res = train(method, cfg, run_dir, budget_minutes=args.budget_minutes,
                        max_steps=args.max_steps, progress=not args.no_progress)
            if rank == 0:
                print(f"step {res.step}/{res.total}  stopped_by={res.stopped_by}  "
                      f"train_seconds={res.train_seconds:.0f}  run={run_dir}")
            name = args.release
        else:
            res = train(method, cfg, run_dir, max_steps=0, progress=False)   # load, train nothing
            name = args.name
        if name and rank == 0:
            if not res.done:
                print(f"not releasing {name!r}: the run is at step {res.step} of {res.total}; "
                      "run the same command again to continue")
                return 1
            path = method.release(res, name, command_line(module, argv))
            manifest = json.loads(Path(path).with_suffix(".json").read_text())
            print(f"released {path}")
            print(json.dumps({k: manifest["metrics"][k] for k in manifest["headline"]}, indent=1))
        return 0
    if args.cmd == "evaluate":
        print(json.dumps(method.evaluate_release(args.name), indent=1, default=str))
        return 0
    if args.cmd == "bench":
        if args.threads:
            runtime.num_threads(args.threads)
        if bench is None:
            raise SystemExit(f"{module} has no benchmark")
        extra = {}
        if args.reference:
            if "reference" not in inspect.signature(bench).parameters:
                raise SystemExit(f"error: {module}'s benchmark has no reference comparison")
            extra["reference"] = args.reference
        res = bench(profiles=args.profiles, repeats=args.repeats, **extra)
        if args.json:
            out = Path(args.json)
            if out.exists() and not args.replace:
                res = merge_bench_file(json.loads(out.read_text()), json.loads(json.dumps(res, default=str)))
            atomic_write_bytes(out, json.dumps(res, indent=1, default=str).encode())
            print(f"wrote {out}")
        return 0
    return 2

"""``python -m helpers.lafin train | evaluate | release | bench | ablation | label-study | real | fit-diagnosis | remeasure`` (see :mod:`helpers.core.cli`).

::

    python -m helpers.lafin ablation --profile demo --threads 2 --json benchmarks/lafin_ablation.json
    python -m helpers.lafin real --data data/helen68 --release lafin_300w lafin_300w_det --json benchmarks/lafin_real.json
    python -m helpers.lafin remeasure lafin_baseline128 lafin_ours128
    python -m helpers.lafin same-holes --n 128 --json benchmarks/lafin_same_holes.json   # vs GLCIC, Telea
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from helpers.core import cli, release as rel, runtime
from helpers.core.config import parse_set
from helpers.core.files import atomic_write_bytes
from helpers.lafin.bench import bench
from helpers.lafin.claims import choose_weight, label_study_table
from helpers.lafin.diagnose import ROWS, ablation, ablation_table, label_study
from helpers.glcic import data as glcic_data, evaluate as glcic_eval
from helpers.glcic.train import load_release as load_glcic
from helpers.lafin.data import TestFaces, make_testset
from helpers.synthfaces import bank
from helpers.lafin.evaluate import remeasure, resized, same_holes
from helpers.lafin.real import fit_diagnosis, real_measures
from helpers.lafin.train import DEMO_RELEASES, METHOD, load_inpainter, load_predictor, load_release, remeasure_real


def _write_json(path, res: dict) -> None:
    if path:
        atomic_write_bytes(path, json.dumps(res, indent=1, default=str).encode())
        print(f"wrote {path}")


def _rows_args(p, steps_help: str) -> None:
    """The arguments every multi-run command (ablation, label study) shares."""
    p.add_argument("--profile", choices=runtime.PROFILES, default=None)
    p.add_argument("--steps", type=int, default=None, help=steps_help)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--run-root", default=None)
    p.add_argument("--json", default=None, help="write the result here")


def _ablation_args(p) -> None:
    _rows_args(p, "steps per row (default: diagnose.STEPS[profile])")
    p.add_argument("--rows", nargs="*", default=list(ROWS))


def _ablation(args, command: str) -> int:
    over = parse_set(args.set)
    if args.threads:
        over["threads"] = args.threads
        runtime.num_threads(args.threads)
    res = ablation(runtime.profile(args.profile), args.rows, args.steps, over, args.run_root)
    res["command"] = command
    res["data"] = dict(rel.SYNTHFACES)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(ablation_table(res).round(2))
    _write_json(args.json, res)
    return 0


def _real_args(p) -> None:
    p.add_argument("--data", required=True,
                   help="face folder in the on-disk format with 68 landmarks and a test split (a train split is optional)")
    p.add_argument("--release", nargs="+", default=["lafin_300w_det"], help="predictor release(s), measured alike")
    p.add_argument("--n", type=int, default=None, help="only the first N test faces")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None)


def _real(args, command: str) -> int:
    if args.threads:
        runtime.num_threads(args.threads)
    res = {"command": command, "data": args.data,
           "releases": {name: real_measures(load_predictor(name), args.data, args.n) for name in args.release}}
    _write_json(args.json, res)
    return 0


def _earlier(path) -> dict:
    """The JSON an ``--add`` joins (it must exist: --add without it would silently start afresh)."""
    if not path or not Path(path).exists():
        raise SystemExit(f"--add needs the earlier result at --json, got {path!r}")
    return json.loads(Path(path).read_text())


def _commands(earlier: dict) -> list:
    """The commands that made an earlier JSON (one string, or a list when rows were added)."""
    c = earlier.get("command", [])
    return [c] if isinstance(c, str) else list(c)


def _fit_args(p) -> None:
    p.add_argument("--data", required=True, help="face folder with 68 landmarks and train/test splits")
    p.add_argument("--release", default="lafin_300w_det")
    p.add_argument("--n", type=int, default=256, help="first N faces of each split")
    p.add_argument("--runs", nargs="*", default=[], metavar="NAME=RUN_DIR",
                   help="continued trainings whose validation curves are copied in")
    p.add_argument("--add", action="store_true",
                   help="keep the curves of runs already in --json (of the same release) that --runs does not name")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None)


def _fit(args, command: str) -> int:
    if args.threads:
        runtime.num_threads(args.threads)
    runs = {}
    for item in args.runs:
        name, sep, folder = item.partition("=")
        if not sep:
            raise SystemExit(f"--runs takes NAME=RUN_DIR, got {item!r}")
        runs[name] = folder
    res = {"command": command, "release": args.release, **fit_diagnosis(load_predictor(args.release), args.data, args.n, runs)}
    if args.add:
        old = _earlier(args.json)
        if old.get("release") != args.release:
            raise SystemExit(f"--add: {args.json} diagnoses {old.get('release')!r}, not {args.release!r}")
        res["runs"] = {**{k: v for k, v in old.get("runs", {}).items() if k not in runs}, **res["runs"]}
        res["command"] = [*_commands(old), command]
    print(json.dumps(res["splits"], indent=1))
    _write_json(args.json, res)
    return 0


def _remeasure_args(p) -> None:
    p.add_argument("names", nargs="+")
    p.add_argument("--real", default=None, metavar="FOLDER",
                   help="also measure a real-face predictor's metrics.real again on this face folder")
    p.add_argument("--json", default=None,
                   help="with --real: also put the new measures into this `real` JSON (benchmarks/lafin_real.json)")
    p.add_argument("--threads", type=int, default=None)


def _remeasure(args, command: str) -> int:
    if args.threads:
        runtime.num_threads(args.threads)
    for name in args.names:
        man = remeasure(load_release(name), command)
        print(name, man["metrics"]["check"])
        if args.real:
            man = remeasure_real(load_release(name), args.real, command)
        if args.real and args.json:            # the `real` command's JSON, release by release
            path = Path(args.json)
            res = json.loads(path.read_text()) if path.exists() else {"command": [], "data": args.real, "releases": {}}
            res["releases"][name] = man["metrics"]["real"]
            res["command"] = list(dict.fromkeys([*_commands(res), command]))
            _write_json(args.json, res)
    return 0


def _same_args(p) -> None:
    p.add_argument("--inpainter", default=DEMO_RELEASES["inpainter"])
    p.add_argument("--predictor", default=DEMO_RELEASES["ours"])
    p.add_argument("--glcic", nargs="*", default=["glcic_mouth64_v3", "glcic_random64_v3"],
                   help="GLCIC releases, each run at its own size and resized into the hole")
    p.add_argument("--n", type=int, default=128, help="SynthFaces test faces (unseen people)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None)


def _same(args, command: str) -> int:
    if args.threads:
        runtime.num_threads(args.threads)
    G = load_inpainter(args.inpainter)
    ts = make_testset(args.n, G.config.size)
    others = {}
    for name in args.glcic:
        g = load_glcic(name)
        others[f"GLCIC {name} ({g.config.size} px)"] = resized(glcic_eval.model_fn(g.C), g.config.size)
    others["Telea"] = glcic_eval.telea
    P = load_predictor(args.predictor).model
    table = same_holes(G.model, P, others, ts)
    # GLCIC's own mouth test set (its faces, its boxes), with the landmarks of the same renders
    g = glcic_data.make_testset("mouth", args.n, size=G.config.size)
    d = bank(args.n, G.config.size, g.seed, keys=("unmasked", "landmarks", "smiling", "aus"), progress=False,
             mask_prob=0.0, identities=list(glcic_data.TEST_IDENTITIES))
    if not torch.equal(d["unmasked"].float().div(127.5).sub(1.0), g.images):
        raise RuntimeError("GLCIC's mouth test set is not the SynthFaces render it was taken for")
    own = TestFaces(g.images, d["landmarks"].float(), d["smiling"].long(), {"glcic_mouth": g.masks},
                    d["aus"].float(), "GLCIC's mouth test set")
    table = pd.concat([table, same_holes(G.model, P, others, own, kinds=("glcic_mouth",))])
    with pd.option_context("display.width", 180, "display.max_columns", 20):
        print(table.round(3))
    res = {"command": command, "n": args.n, "size": G.config.size, "data": dict(rel.SYNTHFACES),
           "releases": {"inpainter": args.inpainter, "predictor": args.predictor, "glcic": args.glcic},
           "rows": json.loads(table.reset_index().to_json(orient="records"))}
    _write_json(args.json, res)
    return 0


def _study_args(p) -> None:
    _rows_args(p, "steps per row (default: the released predictors')")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--weights", nargs="+", type=float, default=[0.3, 1.0, 3.0],
                   help="Ours' w_corner = w_lip values (the paper: 1)")
    p.add_argument("--label-maps", nargs="+", default=["grid"], choices=("grid", "broadcast"),
                   help="readings of the label channel Ours is trained with (the seed is ambiguous)")
    p.add_argument("--no-baseline", action="store_true", help="only Ours' rows (to share the work between processes)")
    p.add_argument("--add", action="store_true",
                   help="keep the rows already in --json (same settings) and train only the new seeds and weights")


def _study(args, command: str) -> int:
    over = parse_set(args.set)
    if args.threads:
        over["threads"] = args.threads
        runtime.num_threads(args.threads)
    known = None
    if args.add:
        known = _earlier(args.json)
    res = label_study(runtime.profile(args.profile), args.seeds, args.weights, args.steps, over, args.run_root,
                      baseline=not args.no_baseline, known=known, label_maps=args.label_maps)
    res["command"] = command if known is None else [*_commands(known), command]
    res["data"] = dict(rel.SYNTHFACES)
    if args.no_baseline:
        _write_json(args.json, res)
        return 0
    table = label_study_table(res)
    res["choice"] = choose_weight(table)
    # mean / std per model, group and measure, for the README and the claims (the rows stay the truth)
    res["summary"] = {m: {g: {c: {s: round(float(table.loc[(m, g), (c, s)]), 4) for s in ("mean", "std")}
                              for c in table.columns.get_level_values(0).unique()}
                          for g in table.loc[m].index}
                      for m in table.index.get_level_values("model").unique()}
    res["summary"]["chosen"] = res["summary"][res["choice"]["chosen"] or "ours w=1"]   # the paper's weight if none
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2))
    print("choice:", res["choice"])
    _write_json(args.json, res)
    return 0


COMMANDS = [
    cli.Command("ablation", "the ablation of the paper's additions, every row with the same budget",
                _ablation_args, _ablation),
    cli.Command("label-study", "Baseline and Ours over seeds and Ours' distance-loss weight: the trade-off curve",
                _study_args, _study),
    cli.Command("real", "real-face measures of a predictor release on a face folder's test split",
                _real_args, _real),
    cli.Command("fit-diagnosis", "train vs test error by face part of a real-face predictor, flip averaging, continued runs",
                _fit_args, _fit),
    cli.Command("remeasure", "recompute the check block of committed releases", _remeasure_args, _remeasure),
    cli.Command("same-holes", "LaFIn's inpainter beside GLCIC and Telea on the same faces and holes",
                _same_args, _same),
]

if __name__ == "__main__":
    raise SystemExit(cli.main(METHOD, module="helpers.lafin", bench=bench, commands=COMMANDS))

"""GLCIC training loop, data, releases, the speed benchmark and the command line.

The method itself (networks, holes, steps, ``complete``) is in :mod:`helpers.glcic`.

Resumable training: all randomness of a run comes from three sources that are saved in every
checkpoint by :class:`helpers.checkpoint.RunDir`: the torch global RNG (weight init only), the
``data`` generator (which training images form each batch, drawn with replacement) and the
``holes`` generator (hole boxes and the real images' local patches). Sampling grids and evaluation
draw nothing, so a run stopped by a budget and resumed is bit-identical to an uninterrupted run
on the same CPU (tests/test_glcic.py proves it).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from helpers import glcic as G
from helpers.glcic import Config

# keys that may change between sessions of one run (they do not change the numbers)
RESUME_IGNORE = ("device", "threads", "log_every", "sample_every", "eval_every", "save_every_steps",
                 "save_every_minutes", "poisson_samples", "amp", "cpu_bf16", "eval_n")


# ------------------------------------------------------------------------------------------ data
def _cache_dir() -> Path:
    from helpers import runtime

    d = runtime.RUNS_DIR / "_cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


# Fixed test set: the same SynthFaces as helpers.glcic_eval.make_testset (persons never used in
# training: SynthFaces draws training identities from range(10_000)).
TEST_SEED = 20_020
TEST_IDENTITIES = range(100_000, 101_000)


def _render_synthfaces(seed: int, size: int, n: int, progress: bool = False, test: bool = False) -> torch.Tensor:
    """(n,3,size,size) uint8 SynthFaces images without face masks, rendered once and cached on disk."""
    from helpers import synthfaces

    kw = {"identities": list(TEST_IDENTITIES)} if test else {}
    sf = synthfaces.SynthFaces(seed=seed, size=size, mask_prob=0.0, **kw)

    def one(i):
        s = sf.sample(i)
        return np.asarray(s.get("unmasked", s["image"])).transpose(2, 0, 1)

    path = _cache_dir() / f"synthfaces_glcic_s{seed}_{size}px_{n}{'_test' if test else ''}.npy"
    if path.exists():
        try:
            cached = np.load(path)
            # a cache rendered by an older SynthFaces is stale: check the first and last image
            if cached.shape == (n, 3, size, size) and all(np.array_equal(cached[i], one(i)) for i in (0, n - 1)):
                return torch.from_numpy(cached)
        except Exception:  # noqa: BLE001 - a damaged cache is re-rendered
            pass
        path.unlink(missing_ok=True)
    from tqdm.auto import tqdm

    if len(sf) < n:
        raise ValueError(f"SynthFaces(seed={seed}) has only {len(sf)} samples, asked for {n}")
    out = np.empty((n, 3, size, size), np.uint8)
    for i in tqdm(range(n), desc=f"rendering SynthFaces {size}px", disable=not progress, leave=False):
        out[i] = one(i)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, out)
    os.replace(tmp, path)
    return torch.from_numpy(out)


def toy_images(seed: int, size: int, n: int) -> torch.Tensor:
    """(n,3,size,size) uint8 smooth random images with an ellipse "face": instant, for tests only."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    img = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    r = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c = torch.rand(n, 3, 1, 1, generator=g)
    a = 0.4 + 0.3 * torch.rand(n, 1, 1, 1, generator=g)
    inside = ((xx / a) ** 2 + ((yy - 0.1) / (a * 1.3)) ** 2 < 1).float()
    img = img * (1 - inside) + c * inside
    return (img * 255).round().to(torch.uint8)


class TrainData:
    """Training images addressed by index; ``batch(idx)`` -> float (B,3,S,S) in [-1,1].

    SynthFaces (``cfg.data == "synthfaces"``) are rendered once and held as uint8 in memory;
    a folder in the on-disk face format is read lazily through :class:`helpers.data.FaceFolder`.
    """

    def __init__(self, cfg: Config, progress: bool = False):
        self.cfg = cfg
        self.folder = None
        if cfg.data == "synthfaces":
            self.u8 = _render_synthfaces(cfg.data_seed, cfg.size, cfg.n_train, progress)
        elif cfg.data == "toy":
            self.u8 = toy_images(cfg.data_seed, cfg.size, cfg.n_train)
        else:
            from helpers.data import FaceFolder

            root = Path(cfg.data)
            if not root.exists():
                raise ValueError(f"data folder {root} does not exist (expected the on-disk face format)")
            self.folder = FaceFolder(root, split=cfg.data_split, size=cfg.size)
            self.u8 = None
        if len(self) == 0:
            raise ValueError(f"no training images in {cfg.data!r}")

    def __len__(self) -> int:
        return len(self.u8) if self.u8 is not None else len(self.folder)

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        if self.u8 is not None:
            return self.u8[idx].float().div_(127.5).sub_(1.0)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(idx))) as ex:
            items = list(ex.map(lambda i: self.folder[int(i)]["image"], idx.tolist()))
        return torch.stack(items).float()

    def mean_color(self, n: int = 1000) -> torch.Tensor:
        """Mean RGB (in [-1,1]) of the first ``n`` training images: the hole fill colour."""
        idx = torch.arange(min(n, len(self)))
        acc = torch.zeros(3)
        for i in range(0, len(idx), 64):
            acc += self.batch(idx[i:i + 64]).mean(dim=(2, 3)).sum(0)
        return acc / len(idx)


@lru_cache(maxsize=4)
def _test_images(data: str, data_seed: int, size: int, n: int) -> torch.Tensor:
    """SynthFaces test persons; for a folder: its ``test`` split (else its last ``n`` images)."""
    if data == "toy":
        u8 = toy_images(data_seed + 1000, size, n)
    elif data == "synthfaces":
        u8 = _render_synthfaces(TEST_SEED, size, n, test=True)
    else:
        from helpers.data import FaceFolder

        try:
            ff = FaceFolder(data, split="test", size=size)
            if len(ff) == 0:
                raise ValueError("empty test split")
            idx = range(min(n, len(ff)))
        except (ValueError, KeyError):
            ff = FaceFolder(data, size=size)
            idx = range(max(0, len(ff) - n), len(ff))
        return torch.stack([ff[i]["image"] for i in idx]).float()
    return u8.float().div(127.5).sub(1.0)


def _test_key(cfg: Config) -> str:
    return cfg.data if cfg.data in ("toy", "synthfaces") else str(Path(cfg.data).resolve())


def mouth_test_set(cfg: Config, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed test images + mouth masks: SynthFaces seed 20_020, persons 100_000.. (unseen in
    training; the images of ``helpers.glcic_eval.make_testset``), or a folder's ``test`` split."""
    x = _test_images(_test_key(cfg), cfg.data_seed, cfg.size, n).clone()
    return x, G.boxes_to_masks(G.sample_boxes(len(x), cfg.size, "mouth"), cfg.size)


def random_test_set(cfg: Config, n: int = 64, seed: int = TEST_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """The same fixed test images with seed-002 random holes drawn from a fixed generator."""
    x = _test_images(_test_key(cfg), cfg.data_seed, cfg.size, n).clone()
    g = torch.Generator().manual_seed(seed)
    return x, G.boxes_to_masks(G.sample_boxes(len(x), cfg.size, "random", g), cfg.size)


HOLE_SETS = (("mouth", mouth_test_set), ("random", random_test_set))
#: measures of :func:`evaluate` (helpers.metrics via helpers.glcic_eval.evaluate)
EVAL_MEASURES = ("psnr", "ssim", "l1", "orb", "sift")


def _measure(complete_fn, cfg: Config, n: int, features, prefix: str = "") -> dict:
    from helpers import glcic_eval as E

    out = {}
    for name, fn in HOLE_SETS:
        x, m = fn(cfg, n)
        df = E.evaluate(complete_fn, E.TestSet(name, x, m), features)
        for col in ("psnr", "ssim", "l1", *features):
            out[f"{prefix}{name}_{col}"] = float(df[col].replace([np.inf, -np.inf], np.nan).mean())
    return out


def evaluate(C, cfg: Config, n: int = 64, features=("orb", "sift")) -> dict:
    """Measures of ``C`` on the fixed test set with mouth holes and with random holes.

    Keys ``mouth_psnr``, ``mouth_ssim``, ``mouth_l1``, ``mouth_orb``, ``mouth_sift`` and the same
    with ``random_``: means over the ``n`` images of :func:`helpers.glcic_eval.evaluate` (PSNR, SSIM,
    L1 inside the hole; ORB/SIFT feature-matching distance, smaller = more similar). For SynthFaces
    the images and holes equal ``helpers.glcic_eval.make_testset(kind, n, cfg.size)``. Draws no
    random numbers (a resumed run stays bit-identical).
    """
    from helpers import glcic_eval as E

    return _measure(E.model_fn(C), cfg, n, tuple(features))


def baseline_metrics(cfg: Config, n: int = 64, features=("orb", "sift")) -> dict:
    """Mean-colour fill and OpenCV Telea on the same test sets (``meanfill_*``, ``telea_*`` keys)."""
    from helpers import glcic_eval as E

    out = _measure(E.mean_fill, cfg, n, tuple(features), "meanfill_")
    out.update(_measure(E.telea, cfg, n, tuple(features), "telea_"))
    return out


# ------------------------------------------------------------------------------------- training
def _device(cfg: Config) -> torch.device:
    from helpers import runtime

    return runtime.device(cfg.device) if cfg.device else runtime.device()


def make_optimizer(params, cfg: Config) -> torch.optim.Optimizer:
    """Adadelta (the paper; lr 1.0 by default; multi-tensor) or Adam (betas cfg.betas; fused kernel).

    The fused Adam is ~3x faster than the per-parameter loop on CPU; Adadelta has no fused
    kernel, so it uses torch's multi-tensor (foreach) path.
    """
    params = list(params)
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=cfg.lr, foreach=True)
    try:
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), fused=True)
    except (RuntimeError, ValueError):  # a device without a fused kernel
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), foreach=True)


def _save_grid(path: Path, C, cfg: Config, poisson: bool) -> None:
    from PIL import Image
    from torchvision.utils import make_grid

    from helpers.checkpoint import atomic_write
    from helpers.data import to_uint8

    x, m = mouth_test_set(cfg, 8)
    if cfg.holes == "random":
        x2, m2 = random_test_set(cfg, 8)
        x, m = torch.cat([x2, x]), torch.cat([m2, m])
    done = G.complete(C, x, m, poisson=poisson)
    shown = G.paste(x, torch.ones_like(x), m)                 # white hole
    rows = torch.cat([shown, done, x])
    img = to_uint8(make_grid(rows, nrow=len(x), padding=1, pad_value=1.0))

    def write(f):
        Image.fromarray(img).save(f, format="PNG")

    atomic_write(path, write)


def train(cfg: Config, run_dir, budget_minutes: float | None = None, max_steps: int | None = None,
          progress: bool = True):
    """Train GLCIC in three phases; resumable. Returns the history DataFrame (one row per log).

    ``run_dir``: folder of the run (``helpers.runtime.run_dir(name)`` gives one, on Drive if opted
    in). Calling again with the same config continues from the newest checkpoint at the exact step,
    phase, optimiser, grad-scaler and RNG state. ``budget_minutes`` (wall clock of this call) and
    ``max_steps`` (an absolute step number) stop the call cleanly with a checkpoint.
    The DataFrame has columns step, phase, mse, d_loss, adv (phase-dependent), sec_per_step,
    train_seconds and, every ``cfg.eval_every`` steps, the seed's curve: :func:`evaluate` on the
    first ``cfg.eval_n`` fixed test images with mouth and with random holes (``mouth_psnr``,
    ``mouth_ssim``, ``mouth_l1``, ``mouth_orb``, ``mouth_sift``, ``random_*``) and the cumulative
    ``eval_seconds`` (not part of ``train_seconds``); ``hist.attrs`` holds step, stopped_by,
    train_seconds, eval_seconds, done.
    Samples: ``run_dir/samples/step_*.png`` (rows: input with hole, completion, original).
    """
    cfg.validate()
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(cfg, run_dir, budget_minutes, max_steps, progress)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: Config, run_dir, budget_minutes, max_steps, progress):
    from tqdm.auto import tqdm

    from helpers.checkpoint import RunDir

    dev = _device(cfg)
    use_amp = bool(cfg.amp and dev.type == "cuda")
    if dev.type == "cpu" and cfg.cpu_bf16:          # bf16 needs no grad scaling
        autocast = torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        autocast = torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp)
    data = TrainData(cfg, progress=progress)

    torch.manual_seed(cfg.seed)
    C, D = G.build_models(cfg)
    if cfg.mean_color is not None:
        C.mean_color.copy_(torch.tensor(cfg.mean_color, dtype=torch.float32))
    else:
        C.mean_color.copy_(data.mean_color())
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    C.to(dev, memory_format=fmt)
    D.to(dev, memory_format=fmt)
    opt_c, opt_d = make_optimizer(C.parameters(), cfg), make_optimizer(D.parameters(), cfg)
    sc_c = torch.amp.GradScaler(dev.type, enabled=use_amp)
    sc_d = torch.amp.GradScaler(dev.type, enabled=use_amp)
    g_data = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 1)
    g_holes = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 2)
    run = RunDir(run_dir, cfg.to_dict(), models={"C": C, "D": D},
                 optimizers={"C": opt_c, "D": opt_d},
                 scalers={"C": sc_c, "D": sc_d} if use_amp else {},
                 generators={"data": g_data, "holes": g_holes},
                 every_steps=cfg.save_every_steps, every_minutes=cfg.save_every_minutes,
                 config_ignore=RESUME_IGNORE)
    prog = run.restore()
    step = prog.step
    train_seconds = float(prog.extra.get("train_seconds", 0.0))
    eval_seconds = float(prog.extra.get("eval_seconds", 0.0))
    run.start_budget(minutes=budget_minutes, max_steps=max_steps)
    samples = Path(run_dir) / "samples"
    C.train()
    D.train()
    bar = tqdm(total=cfg.steps_total, initial=step, desc="GLCIC", disable=not progress, dynamic_ncols=True)
    t_last, acc, n_acc = time.perf_counter(), {}, 0
    while step < cfg.steps_total and not run.should_stop(step):
        t0 = time.perf_counter()
        phase = G.phase_at(step, cfg)
        idx = torch.randint(len(data), (cfg.batch,), generator=g_data)
        boxes = G.sample_boxes(cfg.batch, cfg.size, cfg.holes, g_holes)
        real_boxes = G.random_local_boxes(cfg.batch, cfg.size, cfg.local_size, g_holes)
        x = data.batch(idx).to(dev, non_blocking=True)
        m = G.boxes_to_masks(boxes, cfg.size).to(dev, non_blocking=True)
        if cfg.channels_last:
            x, m = x.contiguous(memory_format=fmt), m.contiguous(memory_format=fmt)
        if phase == "completion":
            out = G.completion_step(C, opt_c, sc_c, x, m, autocast)
        elif phase == "discriminator":
            out = G.discriminator_step(C, D, opt_d, sc_d, x, m, boxes, real_boxes, cfg, autocast)
        else:
            out = G.joint_step(C, D, opt_c, opt_d, sc_c, sc_d, x, m, boxes, real_boxes, cfg, autocast)
        step += 1
        train_seconds += time.perf_counter() - t0
        for k, v in out.items():
            acc[k] = acc.get(k, 0.0) + float(v)
        n_acc += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps_total:
            now = time.perf_counter()
            row = {k: v / n_acc for k, v in acc.items()}
            row.update(phase=phase, sec_per_step=(now - t_last) / n_acc, train_seconds=train_seconds)
            if cfg.eval_every and step % cfg.eval_every == 0:
                t_eval = time.perf_counter()
                row.update(evaluate(C, cfg, cfg.eval_n))       # the seed's curve, recorded in the run
                eval_seconds += time.perf_counter() - t_eval
                row["eval_seconds"] = eval_seconds
                now = time.perf_counter()                       # next sec_per_step excludes the eval
            run.log(step, **row)
            bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in row.items()
                             if k in ("mse", "d_loss", "adv", "phase", "mouth_psnr")})
            acc, n_acc, t_last = {}, 0, now
        if cfg.sample_every and step % cfg.sample_every == 0:
            _save_grid(samples / f"step_{step:07d}.png", C, cfg, cfg.poisson_samples)
        run.maybe_save(step, phase, {"train_seconds": train_seconds, "eval_seconds": eval_seconds})
    bar.close()
    run.save(step, G.phase_at(max(step - 1, 0), cfg), {"train_seconds": train_seconds,
                                                      "eval_seconds": eval_seconds})
    hist = run.history()
    hist.attrs.update(step=step, stopped_by=run.stopped_by, train_seconds=train_seconds,
                      eval_seconds=eval_seconds, done=step >= cfg.steps_total)
    return hist


def load_run(cfg: Config, run_dir) -> tuple[G.CompletionNet, G.ContextDiscriminator, int, dict]:
    """The newest checkpoint of a run as (completion, discriminator, step, extra), on CPU."""
    from helpers.checkpoint import RunDir

    C, D = G.build_models(cfg)
    run = RunDir(run_dir, cfg.to_dict(), models={"C": C, "D": D}, config_ignore=RESUME_IGNORE)
    # models only: read the payload ourselves so optimiser entries do not have to match
    ckpts = run.checkpoints()
    if not ckpts:
        raise FileNotFoundError(f"no checkpoint in {run_dir}")
    payload = torch.load(ckpts[0], map_location="cpu", weights_only=True)
    C.load_state_dict(payload["models"]["C"])
    D.load_state_dict(payload["models"]["D"])
    return C.eval(), D.eval(), int(payload["step"]), json.loads(payload["extra"])


# ------------------------------------------------------------------------------------- releases
def release(cfg: Config, run_dir, name: str, command: str, directory=None) -> Path:
    """Save the run's completion network as ``checkpoints/<name>.safetensors`` + manifest."""
    from helpers import runtime
    from helpers.checkpoint import save_release

    from helpers.checkpoint import RunDir

    C, _, step, extra = load_run(cfg, run_dir)
    metrics = evaluate(C, cfg, 64)
    metrics.update(baseline_metrics(cfg, 64))
    hist = RunDir(run_dir, cfg.to_dict(), models={"completion": C}, config_ignore=RESUME_IGNORE).history()
    cols = ["step"] + [f"{h}_{m}" for h, _ in HOLE_SETS for m in EVAL_MEASURES]
    curve = hist[hist["step"] <= step] if "step" in hist else hist.iloc[:0]
    curve = curve.dropna(subset=[c for c in cols[1:] if c in curve]) if all(c in curve for c in cols) else curve.iloc[:0]
    metrics.update(
        steps=step, eval_seconds=float(extra.get("eval_seconds", 0.0)),
        curve=[{c: (int(r[c]) if c == "step" else round(float(r[c]), 5)) for c in cols} for _, r in curve.iterrows()],
        test_set=f"SynthFaces seed {TEST_SEED}, identities 100000.., first 64, {cfg.size}px "
                 "(helpers.glcic_eval.make_testset(kind, 64, size)); random holes from "
                 "torch.Generator().manual_seed(20020); PSNR/SSIM/L1 inside the hole, ORB/SIFT feature "
                 "distance in and around it (helpers.metrics); baselines: per-image mean fill, OpenCV Telea",
        curve_test_set=f"the same, first {cfg.eval_n} images (helpers.glcic_eval.make_testset(kind, "
                       f"{cfg.eval_n}, size)), measured by train() every {cfg.eval_every} steps")
    conf = cfg.to_dict()
    conf["mean_color"] = [float(v) for v in C.mean_color]
    return save_release({"completion": C}, name, command=command,
                        train_seconds=float(extra.get("train_seconds", 0.0)), metrics=metrics,
                        config=conf, directory=directory or runtime.CHECKPOINT_DIR,
                        notes="GLCIC completion network; load with helpers.glcic.load_release(name)")


def load_release(name: str, directory=None) -> G.CompletionNet:
    """A committed completion network (eval mode, CPU); its manifest is in ``model.manifest``."""
    from helpers import checkpoint, runtime

    directory = directory or runtime.CHECKPOINT_DIR
    man = checkpoint.read_manifest(name, directory)
    C = G.CompletionNet(man["config"]["width"])
    manifest = checkpoint.load_release(name, {"completion": C}, directory)
    C.manifest = manifest
    C.config = Config(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in man["config"].items()
                         if k in Config.__dataclass_fields__})
    return C.eval()


# ------------------------------------------------------------------------------- command line
def _parse_set(items) -> dict:
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        if k not in Config.__dataclass_fields__:
            raise SystemExit(f"--set: unknown config key {k!r}")
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m helpers.glcic", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (resumable) and optionally save a release")
    t.add_argument("--profile", default=None, help="quick | demo | full (default $FACES_PROFILE)")
    t.add_argument("--holes", choices=G.HOLES, default="random")
    t.add_argument("--data", default=None, help="'synthfaces' or a folder in the on-disk face format")
    t.add_argument("--run-dir", default=None, help="default runs/glcic_<profile>_<holes>")
    t.add_argument("--budget-minutes", type=float, default=None)
    t.add_argument("--max-steps", type=int, default=None)
    t.add_argument("--release", default=None, help="also save checkpoints/<NAME>.safetensors + manifest")
    t.add_argument("--set", nargs="*", help="config overrides key=value (JSON values)")
    b = sub.add_parser("bench", help="steps/s, FLOPs/step and fraction of the fp32 matmul rate")
    b.add_argument("--profiles", nargs="*", default=["quick", "demo", "full"])
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--reference", default=None, help="checkout of otenim/GLCIC-PyTorch for a side-by-side run")
    b.add_argument("--json", default=None, help="write the results here")
    b.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    b.add_argument("--iters", type=int, default=None, help="steps per timing (default per profile)")
    e = sub.add_parser("eval", help="metrics of a release on the fixed test sets")
    e.add_argument("name")
    a = p.parse_args(argv)
    if a.cmd == "train":
        over = _parse_set(a.set)
        over["holes"] = a.holes
        if a.data:
            over["data"] = a.data
        cfg = G.for_profile(a.profile, **over)
        from helpers import runtime

        rd = Path(a.run_dir) if a.run_dir else runtime.run_dir(f"glcic_{cfg.profile}_{cfg.holes}")
        hist = train(cfg, rd, budget_minutes=a.budget_minutes, max_steps=a.max_steps)
        print(f"step {hist.attrs['step']} / {cfg.steps_total}  stopped_by={hist.attrs['stopped_by']}  "
              f"train_seconds={hist.attrs['train_seconds']:.0f}")
        if a.release:
            cmd = "python -m helpers.glcic " + " ".join(shlex.quote(s) for s in (argv or sys.argv[1:]))
            path = release(cfg, rd, a.release, cmd)
            print("release:", path, json.dumps(json.loads(path.with_suffix(".json").read_text())["metrics"]))
    elif a.cmd == "bench":
        from helpers.glcic_bench import bench, print_report

        res = bench(profiles=a.profiles, repeats=a.repeats, reference=a.reference, threads=a.threads,
                    iters=a.iters)
        print_report(res)
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=2))
    elif a.cmd == "eval":
        C = load_release(a.name)
        print(json.dumps(evaluate(C, C.config, 64), indent=2))


def bench(**kw):
    from helpers.glcic_bench import bench as _bench

    return _bench(**kw)


if __name__ == "__main__":
    main()

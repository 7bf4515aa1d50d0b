"""Why a short GLCIC run with the paper's settings draws no mouth: branch runs from one checkpoint.

Trained with the paper's settings, the demo releases lost every measure when the adversarial phase started (mouth-hole PSNR
23.5 -> 21.9 dB between steps 2,500 and 3,000) and filled the mouth with skin. Candidate causes:
the two learning rates, alpha against a mean-normalised MSE, the discriminator's strength, where
the real local patches come from, batch-norm statistics when the phases switch. Each *variant*
below changes one of them and trains the same discriminator + joint phases from the same
completion-phase checkpoint (same weights, same data order, same hole stream), through the one
training loop (:func:`helpers.glcic.train.train`). ``no_adversary`` (alpha = 0) is the control: it
runs the very same code path (D updates, C's batch norm, the phase switch) without the
adversarial gradient, so whatever it does not lose, the adversarial term lost.

Command (writes ``benchmarks/glcic_diagnosis.json``; about 4 minutes per variant on 1 thread)::

    python -m helpers.glcic diagnose --run-dir runs/diag --threads 1

It first trains (or resumes) the demo profile's completion phase with mouth holes in ``--run-dir``.
``python -m helpers.glcic diagnose --upsampling`` is the second diagnosis, where the checkerboard
comes from (:func:`upsampling`, ``benchmarks/glcic_upsampling.json``). Shown in notebook 02 §5.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from helpers.core import runtime
from helpers.core.checkpoint import FORMAT, jsonable, load_models
from helpers.core.files import atomic_write, atomic_write_bytes
from helpers.glcic.evaluate import measure
from helpers.glcic.model import CompletionNet, Config
from helpers.glcic.train import train

__all__ = ["VARIANTS", "branch", "diagnose", "load", "table", "figure", "UPSAMPLING", "upsampling",
           "load_upsampling", "upsampling_table", "upsampling_findings", "upsampling_figure", "arguments", "run"]

#: one change each against the joint phase with the paper's settings (random real patches, alpha 4e-4, lr_d = lr)
VARIANTS = {
    "first demo": {},
    "no_adversary": {"alpha": 0.0},
    "alpha/10": {"alpha": 4e-5},
    "lr_d/10": {"lr_d": 1e-4},
    "matched patches": {"real_patches": "matched"},
    "matched, lr_d/10": {"real_patches": "matched", "lr_d": 1e-4},
}
#: the demo profile with the paper's settings, which the variants start from
FIRST_DEMO = dict(steps=3000, steps_c=2250, steps_d=250, real_patches="random", lr_d=None, sample_every=250,
                  upsample="deconv")
DEFAULT_OUT = runtime.REPO_ROOT / "benchmarks" / "glcic_diagnosis.json"
UPSAMPLING_OUT = runtime.REPO_ROOT / "benchmarks" / "glcic_upsampling.json"
#: the checkerboard diagnosis: the demo profile, mouth holes, a shorter schedule, from scratch per variant
UPSAMPLING = dict(steps=2000, steps_c=1200, steps_d=100, eval_every=200, sample_every=400)


def branch(checkpoint, cfg: Config, run_dir) -> Path:
    """Start a run of ``cfg`` in ``run_dir`` from another run's ``checkpoint`` (a RunDir file).

    Only for knobs that act after the checkpoint's step (alpha, real_patches, lr_d, steps after
    it): the copy's config is replaced by ``cfg`` and the discriminator optimiser's learning rate
    set to ``cfg.lr_d``; weights, optimiser moments, the data position and the RNG streams stay.
    Refuses a non-empty ``run_dir`` (a branch is started once; resume it with ``train``).
    """
    checkpoint, run_dir = Path(checkpoint), Path(run_dir)
    if run_dir.exists() and any(run_dir.glob("ckpt-*.pt")):
        raise ValueError(f"{run_dir} already holds checkpoints: resume it with train(), or remove it")
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{checkpoint} is not a format-{FORMAT} run checkpoint")
    payload["config"] = json.dumps(jsonable(cfg.result_dict()), sort_keys=True)
    lr_d = cfg.lr if cfg.lr_d is None else cfg.lr_d
    for group in payload["optimizers"]["D"]["param_groups"]:
        group["lr"] = lr_d
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / checkpoint.name
    atomic_write(target, lambda f: torch.save(payload, f))
    return target


def _joint_stats(history) -> dict:
    """Mean discriminator loss and adversarial loss of the joint phase (D winning: d_loss -> 0)."""
    j = history[history.get("phase") == "joint"] if "phase" in history else history.iloc[:0]
    d = history[history.get("phase") == "discriminator"] if "phase" in history else history.iloc[:0]
    tail = j.tail(max(1, len(j) // 2))
    return {"d_loss_dphase_end": float(d["d_loss"].tail(3).mean()) if len(d) else float("nan"),
            "d_loss_joint": float(tail["d_loss"].mean()) if len(tail) else float("nan"),
            "adv_joint": float(tail["adv"].mean()) if len(tail) else float("nan")}


def diagnose(run_dir="runs/diag", variants=None, out=None, n: int = 64, threads: int | None = 1,
             progress: bool = True) -> dict:
    """Train the completion phase once, branch every variant from it, measure each; write ``out``."""
    names = list(variants or VARIANTS)
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    base = Config.demo(holes="mouth", precision="bf16", threads=threads, **FIRST_DEMO)
    run_dir = Path(run_dir)
    t0 = time.time()
    ckpt = run_dir / "completion" / f"ckpt-{base.steps_c:09d}.pt"
    if not ckpt.exists():
        train(base, run_dir / "completion", max_steps=base.steps_c, progress=progress)
    C = CompletionNet(base.width, base.upsample)
    load_models(ckpt, {"C": C})
    result = {"command": "python -m helpers.glcic diagnose --run-dir " + str(run_dir)
              + (f" --threads {threads}" if threads else ""),
              "base": {k: v for k, v in base.to_dict().items() if k in
                       ("size", "width", "batch", "holes", "steps", "steps_c", "steps_d", "alpha", "lr",
                        "optimizer", "real_patches", "lr_d", "precision")},
              "n_test": n, "branch_step": base.steps_c, "variants": {}}
    result["variants"][f"completion only (step {base.steps_c})"] = {
        "change": {}, "steps": base.steps_c, **measure(C.eval(), base, n, faces=True)}
    for name in names:
        cfg = base.replace(**VARIANTS[name])
        vdir = run_dir / name.replace(" ", "_").replace(",", "").replace("/", "_")
        if not vdir.exists() or not any(vdir.glob("ckpt-*.pt")):
            branch(ckpt, cfg, vdir)
        r = train(cfg, vdir, progress=progress)
        result["variants"][name] = {"change": VARIANTS[name], "steps": r.step, **_joint_stats(r.history),
                                    **measure(r.models["C"].eval(), cfg, n, faces=True)}
    result["seconds"] = round(time.time() - t0, 1)
    if out is not None:
        out = Path(out)
        old = json.loads(out.read_text()) if out.exists() else {}
        if old.get("base") == result["base"]:   # variants run in another process are kept
            result["variants"] = {**old.get("variants", {}), **result["variants"]}
        atomic_write_bytes(out, json.dumps(result, indent=1, default=float).encode())
    return result


def load(path=None) -> dict:
    """The committed diagnosis (``benchmarks/glcic_diagnosis.json``)."""
    path = Path(path or DEFAULT_OUT)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m helpers.glcic diagnose")
    return json.loads(path.read_text())


def load_upsampling(path=None) -> dict:
    """The committed checkerboard diagnosis (``benchmarks/glcic_upsampling.json``)."""
    path = Path(path or UPSAMPLING_OUT)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m helpers.glcic diagnose --upsampling")
    return json.loads(path.read_text())


def table(result: dict, columns=("mouth_psnr", "mouth_ssim", "mouth_orb", "mouth_nme_mouth", "mouth_smiling_bacc",
                                 "mouth_fid", "mouth_kid", "d_loss_joint")):
    """One row per variant, the measures on the mouth-hole test faces (pandas DataFrame)."""
    import pandas as pd
    rows = {k: {c: v.get(c, np.nan) for c in columns} for k, v in result["variants"].items()}
    return pd.DataFrame(rows).T


def figure(result: dict, measures=("mouth_psnr", "mouth_nme_mouth", "mouth_fid")):
    """Bar chart per measure, one bar per variant (the completion-only checkpoint first)."""
    import matplotlib.pyplot as plt
    t = table(result, measures)
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.4))
    for ax, m in zip(np.atleast_1d(axes), measures):
        colors = ["grey"] + ["tab:red" if "matched" not in k else "tab:green" for k in t.index[1:]]
        ax.barh(range(len(t)), t[m], color=colors)
        ax.set_yticks(range(len(t)), t.index if ax is np.atleast_1d(axes)[0] else [""] * len(t))
        ax.invert_yaxis()
        better = "higher" if m.endswith(("psnr", "ssim", "bacc")) else "lower"
        ax.set_title(f"{m} ({better} is better)", fontsize=9)
    fig.suptitle("Same completion checkpoint, one change each in the D + joint phases (mouth holes)", fontsize=10)
    fig.tight_layout()
    return fig


def _merge_write(out, result: dict) -> dict:
    """Write ``result`` to ``out``, keeping variants of an earlier run with the same base (another process)."""
    out = Path(out)
    old = json.loads(out.read_text()) if out.exists() else {}
    if old.get("base") == result["base"]:
        result["variants"] = {**old.get("variants", {}), **result["variants"]}
        result["seconds"] = {**old.get("seconds", {}), **result["seconds"]}
    atomic_write_bytes(out, json.dumps(result, indent=1, default=float).encode())
    return result


def upsampling(run_dir="runs/upsampling", variants=("deconv", "resize"), out=UPSAMPLING_OUT, n: int = 64,
               threads: int | None = 1, progress: bool = True) -> dict:
    """Where the checkerboard comes from: the same short demo run (mouth holes) once per ``upsample``.

    Each variant trains from scratch with the same seed, data order and holes; it is measured on
    ``n`` test faces at the end of the completion phase (MSE only: no discriminator has acted yet)
    and at the end of the joint phase, and its curve (every 200 steps, 32 faces) records the
    checkerboard energy along training. Writes ``out`` (``benchmarks/glcic_upsampling.json``).
    Command: ``python -m helpers.glcic diagnose --upsampling --variants deconv`` (and ``resize``).
    """
    unknown = [v for v in variants if v not in ("deconv", "resize")]
    if unknown:
        raise ValueError(f"unknown upsample variants {unknown}; choose from ('deconv', 'resize')")
    result = {"command": "python -m helpers.glcic diagnose --upsampling --run-dir " + str(run_dir)
              + (f" --threads {threads}" if threads else ""), "n_test": n, "variants": {}, "seconds": {}}
    for v in variants:
        t0 = time.time()
        cfg = Config.demo(holes="mouth", precision="bf16", threads=threads, upsample=v, **UPSAMPLING)
        result["base"] = {k: x for k, x in cfg.to_dict().items() if k in
                          ("size", "width", "batch", "holes", "steps", "steps_c", "steps_d", "alpha", "lr",
                           "lr_d", "real_patches", "optimizer", "precision")}
        vdir = Path(run_dir) / v
        r = train(cfg, vdir, max_steps=cfg.steps_c, progress=progress)
        at_c = measure(r.models["C"].eval(), cfg, n, features=(), faces=True)
        r = train(cfg, vdir, progress=progress)
        C = r.models["C"].eval()
        hist = r.history
        cols = [c for c in hist.columns if c.startswith("mouth_")]
        curve = hist.dropna(subset=cols)[["step", *cols]] if cols else hist.iloc[:0]
        result["variants"][v] = {
            "completion_end": at_c, "end": measure(C, cfg, n, features=(), faces=True),
            "end_fmm_poisson": measure(C, cfg, n, features=(), faces=True, blend="fmm+poisson"),
            "curve": [{k: (int(x) if k == "step" else round(float(x), 5)) for k, x in row.items()}
                      for row in curve.to_dict("records")]}
        result["seconds"][v] = round(time.time() - t0, 1)
        if out is not None:
            result = _merge_write(out, result)
    return result


_TITLES = {"mouth_checker": "checkerboard energy in the hole minus the true face's (grey levels)",
           "mouth_seam": "gradient on the hole border minus the true face's (grey levels)",
           "mouth_psnr": "PSNR in the mouth hole (dB)"}


def upsampling_table(result: dict, measures=("mouth_psnr", "mouth_ssim", "mouth_nme_mouth", "mouth_checker",
                                             "mouth_seam", "mouth_fid")):
    """Rows (up-sampling, when): after the MSE phase, after the joint phase, and the latter with the
    paper's post-processing (fast marching + Poisson); the measures on the mouth-hole test faces."""
    import pandas as pd
    when = {"completion_end": f"end of MSE phase (step {result['base']['steps_c']})",
            "end": f"end (step {result['base']['steps']})", "end_fmm_poisson": "end, fast marching + Poisson"}
    rows = {(v, label): {m: r[k].get(m, np.nan) for m in measures}
            for v, r in result["variants"].items() for k, label in when.items()}
    return pd.DataFrame(rows).T


def upsampling_findings(result: dict) -> list[str]:
    """Sentences from the checkerboard diagnosis (numbers computed, nothing hard-coded)."""
    v, b = result["variants"], result["base"]
    de, rs = v["deconv"], v["resize"]
    joint0 = b["steps_c"] + b["steps_d"]
    peak = max(de["curve"], key=lambda r: r["mouth_checker"])
    first = next((r for r in de["curve"] if r["step"] > joint0 and r["mouth_checker"] > 0), None)
    out = [f"After the MSE phase alone (step {b['steps_c']}) neither network draws a grid: checkerboard energy "
           f"{de['completion_end']['mouth_checker']:+.2f} (transposed convolution) and "
           f"{rs['completion_end']['mouth_checker']:+.2f} (resize + convolution) grey levels against the true face — "
           f"both smoother than it."]
    if first is not None:
        out.append(f"The grid arrives with the discriminator's gradient: by step {first['step']} of the joint phase "
                   f"(it starts at {joint0}) the transposed convolution's energy is {first['mouth_checker']:+.2f}, "
                   f"peaking at {peak['mouth_checker']:+.2f} (step {peak['step']}) and ending at "
                   f"{de['end']['mouth_checker']:+.2f}; the resize network ends at {rs['end']['mouth_checker']:+.2f}, "
                   f"{'still below' if rs['end']['mouth_checker'] < 0 else 'above'} the real face's texture.")
    else:
        out.append("In this run the transposed convolution's checkerboard energy never rose above the true face's.")
    out.append(f"Mouth-hole PSNR at the end: {de['end']['mouth_psnr']:.2f} dB (transposed) vs "
               f"{rs['end']['mouth_psnr']:.2f} dB (resize); mouth-landmark error {de['end']['mouth_nme_mouth']:.4f} vs "
               f"{rs['end']['mouth_nme_mouth']:.4f}.")
    return out


def upsampling_figure(result: dict, measures=("mouth_checker", "mouth_psnr")):
    """The checkerboard energy (and PSNR) along training, one line per up-sampling."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(measures), figsize=(5.2 * len(measures), 3.4))
    names = {"deconv": "4x4 transposed conv, stride 2 (paper)", "resize": "nearest x2 + 3x3 conv"}
    for ax, m in zip(np.atleast_1d(axes), measures):
        for v, r in result["variants"].items():
            steps = [row["step"] for row in r["curve"]]
            ax.plot(steps, [row.get(m, np.nan) for row in r["curve"]], marker="o", ms=3, label=names.get(v, v))
        ax.axvspan(result["base"]["steps_c"], result["base"]["steps_c"] + result["base"]["steps_d"],
                   color="grey", alpha=0.2, lw=0)
        if m.endswith(("checker", "seam")):
            ax.axhline(0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("step (grey: discriminator alone; then joint training)")
        ax.set_title(_TITLES.get(m, m), fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``python -m helpers.glcic diagnose`` (a :class:`helpers.core.cli.Command`)."""
    p.add_argument("--run-dir", default=None, help="run folder (default runs/diag, with --upsampling runs/upsampling)")
    p.add_argument("--variants", nargs="*", default=None,
                   help=f"subset of {list(VARIANTS)} (with --upsampling: deconv, resize)")
    p.add_argument("--out", default=None, help="result file (default benchmarks/glcic_diagnosis.json, with "
                                               "--upsampling benchmarks/glcic_upsampling.json)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=64, help="test faces per hole type")
    p.add_argument("--upsampling", action="store_true",
                   help="the checkerboard diagnosis instead (variants: deconv, resize; out "
                        "benchmarks/glcic_upsampling.json)")


def run(a: argparse.Namespace, command: str = "") -> int:
    """Run the diagnosis the flags ask for, print its table; exit status 0."""
    if a.upsampling:
        r = upsampling(a.run_dir or "runs/upsampling", tuple(a.variants or ("deconv", "resize")),
                       a.out or str(UPSAMPLING_OUT), a.n, a.threads)
        for v, x in r["variants"].items():
            print(v, {k: round(x["end"][k], 3) for k in ("mouth_psnr", "mouth_checker", "mouth_seam")})
        return 0
    r = diagnose(a.run_dir or "runs/diag", a.variants, a.out or str(DEFAULT_OUT), a.n, a.threads)
    print(table(r).round(4).to_string())
    return 0

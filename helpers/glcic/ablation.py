"""Why the demo's joint phase made mouth completions worse (issue 13): branch runs from one checkpoint.

The first demo releases lost every measure when the adversarial phase started (mouth-hole PSNR
23.5 -> 21.9 dB between steps 2,500 and 3,000) and filled the mouth with skin. Candidate causes:
the two learning rates, alpha against a mean-normalised MSE, the discriminator's strength, where
the real local patches come from, batch-norm statistics when the phases switch. Each *variant*
below changes one of them and trains the same discriminator + joint phases from the same
completion-phase checkpoint (same weights, same data order, same hole stream), through the one
training loop (:func:`helpers.glcic.train.train`). ``no_adversary`` (alpha = 0) is the control: it
runs the very same code path (D updates, C's batch norm, the phase switch) without the
adversarial gradient, so whatever it does not lose, the adversarial term lost.

Command (writes ``benchmarks/glcic_diagnosis.json``; about 4 minutes per variant on 1 thread)::

    python -m helpers.glcic.ablation --run-dir runs/diag --threads 1

It first trains (or resumes) the demo profile's completion phase with mouth holes in ``--run-dir``.
Shown in notebook 02 §5.
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

__all__ = ["VARIANTS", "branch", "diagnose", "load", "table", "figure"]

#: one change each against the first demo's joint phase (random real patches, alpha 4e-4, lr_d = lr)
VARIANTS = {
    "first demo": {},
    "no_adversary": {"alpha": 0.0},
    "alpha/10": {"alpha": 4e-5},
    "lr_d/10": {"lr_d": 1e-4},
    "matched patches": {"real_patches": "matched"},
    "matched, lr_d/10": {"real_patches": "matched", "lr_d": 1e-4},
}
#: the first demo profile (before the fixes), which the variants start from
FIRST_DEMO = dict(steps=3000, steps_c=2250, steps_d=250, real_patches="random", lr_d=None, sample_every=250)
DEFAULT_OUT = runtime.REPO_ROOT / "benchmarks" / "glcic_diagnosis.json"


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
    C = CompletionNet(base.width)
    load_models(ckpt, {"C": C})
    result = {"command": "python -m helpers.glcic.ablation --run-dir " + str(run_dir)
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
        raise FileNotFoundError(f"{path} is missing: run python -m helpers.glcic.ablation")
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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m helpers.glcic.ablation", description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", default="runs/diag")
    p.add_argument("--variants", nargs="*", default=None, help=f"subset of {list(VARIANTS)}")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=64, help="test faces per hole type")
    a = p.parse_args(argv)
    r = diagnose(a.run_dir, a.variants, a.out, a.n, a.threads)
    print(table(r).round(4).to_string())


if __name__ == "__main__":
    main()

"""Diagnosis of the landmark-and-label paper's additions: the ablation, every variant trained with the same budget by one command.

::

    python -m helpers.lafin ablation --profile demo --threads 2 --json benchmarks/lafin_ablation.json

trains the six predictors of :data:`helpers.lafin.model.VARIANTS` (baseline, + label input,
+ label + one of the three losses, all) with one config except ``variant`` and a smaller step
budget than the released predictors (:data:`STEPS`), measures each on the same test faces and
writes one JSON: the command, the shared config, and per row the training seconds and the
measures of :func:`helpers.lafin.evaluate.predictor_measures` (both hole kinds, by label).
Each row has its own run directory under ``runs/lafin-ablation-<profile>/``: an interrupted
ablation continues where it stopped when the same command runs again.

The ablation is one run per row, so a difference of a few tenths is noise. The **label study**::

    python -m helpers.lafin label-study --profile demo --seeds 0 1 2 --weights 0.3 1 3 --threads 1 \
        --json benchmarks/lafin_label_study.json

trains the Baseline and Ours at the released predictors' budget (``Config.demo().steps``) for every
seed, and Ours once per weight ``w`` of its two distance losses (``w_corner = w_lip = w``; the
paper's unit weight is ``w = 1``). Each row is measured on the same test faces; the table gives mean
and standard deviation over seeds (:func:`helpers.lafin.claims.label_study_table`), the trade-off curve shows them
against ``w`` (:func:`helpers.lafin.figures.tradeoff_figure`) and :func:`helpers.lafin.claims.choose_weight` picks the
weight with the lowest overall NME among those better than the Baseline on corners and lips.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.core import runtime
from helpers.core.release import fp16_copy
from helpers.lafin.evaluate import eval_testset, predictor_measures
from helpers.lafin.model import VARIANTS
from helpers.lafin.train import Config, train

__all__ = ["ROWS", "STEPS", "N_TEST", "ablation", "ablation_table", "label_study"]

ROWS = tuple(VARIANTS)
#: steps per row (the released demo predictors train longer: ``Config.demo().steps``)
STEPS = {"quick": 6, "demo": 300, "full": 100_000}
N_TEST = {"quick": 24, "demo": 300, "full": 2000}


def ablation(profile: str = "demo", rows=ROWS, steps: int | None = None, overrides: dict | None = None,
             run_root=None, n_test: int | None = None, progress: bool = True) -> dict:
    """Train (or resume) every row and measure it; returns the JSON-able result."""
    bad = [r for r in rows if r not in VARIANTS]
    if bad:
        raise ValueError(f"unknown ablation rows {bad}; known: {list(VARIANTS)}")
    steps = steps or STEPS[profile]
    root = Path(run_root) if run_root else runtime.RUNS_DIR / f"lafin-ablation-{profile}"
    n_test = n_test or N_TEST[profile]
    base = Config.for_profile(profile, **{"steps": steps, "eval_every": 0, **(overrides or {})})
    ts = None
    out = {"profile": profile, "steps": steps, "config": {k: v for k, v in base.to_dict().items() if k != "variant"},
           "n_test": n_test, "rows": {}}
    for row in rows:
        cfg = base.replace(variant=row)
        res = train(cfg, root / row, progress=progress)
        if not res.done:
            raise RuntimeError(f"row {row!r} stopped at step {res.step} of {res.total}; run again to continue")
        ts = ts or eval_testset(cfg, n_test)
        m = predictor_measures(fp16_copy(res.models["P"]), ts, tuple(ts.masks), cfg.lips)
        out["rows"][row] = {"train_seconds": round(res.train_seconds, 1), "steps": res.step, **m}
    return out


def ablation_table(result: dict, kind: str = "halfface",
                   columns=("nme", "nme_mouth", "corner_err", "corner_bias", "lip_err", "lip_bias")) -> pd.DataFrame:
    """Rows (variant, label group) x the measures of ``kind`` holes, from :func:`ablation`'s result."""
    recs = []
    for row, m in result["rows"].items():
        for g in ("No_Smiling", "Smiling", "all"):
            rec = {"variant": row, "group": g, "n": m.get(f"{kind}_{g}_n")}
            rec.update({c: m.get(f"{kind}_{g}_{c}") for c in columns})
            rec["label_acc"] = m.get(f"{kind}_label_acc") if g == "all" else None
            recs.append(rec)
    return pd.DataFrame(recs).set_index(["variant", "group"])


def _row_name(variant: str, w: float | None, seed: int, label_map: str = "grid") -> str:
    if w is None:
        return f"{variant}_s{seed}"
    return f"{variant}_w{w:g}" + ("" if label_map == "grid" else f"_{label_map}") + f"_s{seed}"


def _check_same_study(known: dict, new: dict) -> None:
    """Raise ValueError unless ``known`` (an earlier label study) was measured as ``new`` will be."""
    skip = set(Config.RUN_ONLY) | {"threads", "label_map"}       # label_map: per row
    diff = [k for k in ("profile", "steps", "n_test") if known.get(k) != new[k]]
    # a field added since the earlier study was measured at its default (fields keep old behaviour)
    fields = Config.__dataclass_fields__
    old_cfg = {k: known.get("config", {}).get(k, fields[k].default if k in fields else None) for k in new["config"]}
    old_cfg.update(known.get("config", {}))
    cfg = new["config"]
    diff += [f"config.{k}" for k in sorted(set(old_cfg) | set(cfg)) if k not in skip and old_cfg.get(k) != cfg.get(k)]
    if diff:
        raise ValueError(f"the earlier label study differs in {diff}: its rows cannot join this one")


def label_study(profile: str = "demo", seeds=(0, 1, 2), weights=(0.3, 1.0, 3.0), steps: int | None = None,
                overrides: dict | None = None, run_root=None, n_test: int | None = None,
                progress: bool = True, baseline: bool = True, known: dict | None = None,
                label_maps=("grid",)) -> dict:
    """Train (or resume) Baseline x seeds and Ours x weights x seeds; measure each on one test set.

    ``baseline=False`` leaves the Baseline rows out (a second process can share the work: rows of
    one ``run_root`` are resumed, never trained twice, by the later full command). ``known``: an
    earlier result of this function (its JSON); its rows are kept and not trained again when it was
    measured with the same profile, steps, test set and config (else ValueError), so a new weight
    joins an old study whose run folders are gone. ``label_maps``: the readings of the label channel
    Ours is trained with (:class:`helpers.lafin.model.LabelChannel`), each one a row per weight and seed."""
    if not seeds or not weights or not label_maps:
        raise ValueError("label_study needs at least one seed, one weight and one label map")
    if any(m not in ("grid", "broadcast") for m in label_maps):
        raise ValueError(f"label maps must be 'grid' or 'broadcast', got {list(label_maps)}")
    if any(float(w) < 0 for w in weights):
        raise ValueError(f"loss weights must be >= 0, got {list(weights)}")
    root = Path(run_root) if run_root else runtime.RUNS_DIR / f"lafin-label-study-{profile}"
    n_test = n_test or N_TEST[profile]
    base = Config.for_profile(profile, **{"eval_every": 0, **({"steps": steps} if steps else {}), **(overrides or {})})
    out = {"profile": profile, "steps": base.steps, "seeds": [int(s) for s in seeds],
           "weights": [float(w) for w in weights], "n_test": n_test,
           "config": {k: v for k, v in base.to_dict().items() if k not in ("variant", "seed", "w_corner", "w_lip", "label_map")},
           "rows": {}}
    ts = None
    if known:
        _check_same_study(known, out)
        out["seeds"] = sorted(set(out["seeds"]) | set(known["seeds"]))
        out["weights"] = sorted(set(out["weights"]) | {float(w) for w in known["weights"]})
        out["rows"] = dict(known["rows"])
    plan = [("baseline", None, s, "grid") for s in seeds] * bool(baseline) + \
        [("ours", float(w), s, m) for m in label_maps for w in weights for s in seeds]
    for variant, w, seed, label_map in plan:
        name = _row_name(variant, w, seed, label_map)
        if name in out["rows"]:
            continue
        cfg = base.replace(variant=variant, seed=int(seed), label_map=label_map,
                           **({} if w is None else {"w_corner": w, "w_lip": w}))
        res = train(cfg, root / name, progress=progress)
        if not res.done:
            raise RuntimeError(f"row {name!r} stopped at step {res.step} of {res.total}; run again to continue")
        ts = ts or eval_testset(cfg, n_test)
        m = predictor_measures(fp16_copy(res.models["P"]), ts, ("halfface",), cfg.lips)
        out["rows"][name] = {"variant": variant, "w": w, "seed": int(seed), "label_map": label_map,
                             "train_seconds": round(res.train_seconds, 1), "steps": res.step, **m}
    return out

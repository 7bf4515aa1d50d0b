"""The landmark-and-label paper's claims against the numbers: Baseline vs Ours by label, ablation, inpainting, real faces.

Tables, the claims table and findings from measured numbers (:mod:`helpers.lafin.evaluate` measures them).

Everything here reads measured numbers (a notebook's own measurement, release manifests, the
committed ablation JSON) and turns them into tables, a claims table (paper's claim -> measured ->
reproduced?) and findings (sentences built only from those numbers). Nothing is hard-coded: a
change of the code or the weights changes the verdicts. Shown in notebook 03 §6-§11.

Paired comparisons (:func:`paired`): the same test faces go through both predictors, so the
difference Ours - Baseline is taken per face and its 95 % interval is a bootstrap over faces
(fixed seed). A claim counts as reproduced only when the interval excludes 0 in the claimed
direction.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from helpers.lafin.data import GROUPS

__all__ = ["LANDMARK_COLUMNS", "paired", "comparison_table", "label_table", "inpaint_table", "real_table",
           "pipeline_table", "detector_table", "claims_table", "findings", "MEASURE_NAMES",
           "label_study_table", "study_model", "choose_weight", "STUDY_COLUMNS"]

#: the landmark measures of every table (helpers.lafin.evaluate.landmark_table), in % of the inter-ocular distance
LANDMARK_COLUMNS = ("nme", "nme_mouth", "corner_err", "corner_bias", "lip_err", "lip_bias")
MEASURE_NAMES = {"nme": "NME, all points", "nme_mouth": "NME, mouth points", "corner_err": "mouth-corner distance error",
                 "corner_bias": "mouth-corner distance bias", "lip_err": "lip distance error", "lip_bias": "lip distance bias"}


def paired(a: pd.DataFrame, b: pd.DataFrame, col: str, group: str = "all", n_boot: int = 2000,
           seed: int = 0) -> dict:
    """Mean of ``b[col] - a[col]`` over the faces of ``group`` and its bootstrap 95 % interval."""
    if len(a) != len(b) or not (a["smiling"].to_numpy() == b["smiling"].to_numpy()).all():
        raise ValueError("paired() needs the two predictors' tables of the same faces")
    sel = {"No_Smiling": a["smiling"] == 0, "Smiling": a["smiling"] == 1}.get(group, a["smiling"] >= -1)
    d = (b.loc[sel, col] - a.loc[sel, col]).to_numpy(dtype=float)
    if len(d) == 0:
        return {"n": 0, "diff": float("nan"), "lo": float("nan"), "hi": float("nan")}
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"n": int(len(d)), "diff": float(d.mean()), "lo": float(lo), "hi": float(hi)}


def comparison_table(tables: Mapping[str, pd.DataFrame], a: str = "baseline", b: str = "ours",
                     cols=LANDMARK_COLUMNS) -> pd.DataFrame:
    """Rows (group, measure): mean of ``a``, mean of ``b``, paired difference b - a and its 95 % interval.

    For biases the comparison is of their size: ``|bias|`` per group mean (a bias is a mean, not a per-face error).
    """
    ta, tb = tables[a], tables[b]
    rows = []
    for g in GROUPS:
        sel = {"No_Smiling": ta["smiling"] == 0, "Smiling": ta["smiling"] == 1}.get(g, ta["smiling"] >= -1)
        for c in cols:
            p = paired(ta, tb, c, g)
            rows.append({"group": g, "measure": c, a: float(ta.loc[sel, c].mean()), b: float(tb.loc[sel, c].mean()),
                         "diff": p["diff"], "ci_lo": p["lo"], "ci_hi": p["hi"], "n": p["n"]})
    return pd.DataFrame(rows).set_index(["group", "measure"])


def label_table(metrics: Mapping[str, Mapping], kind: str = "halfface", cols=LANDMARK_COLUMNS) -> pd.DataFrame:
    """Rows (predictor, group) x measures from release metrics ``{name: manifest["metrics"]}``."""
    recs = []
    for name, m in metrics.items():
        for g in GROUPS:
            rec = {"predictor": name, "group": g, "n": m.get(f"{kind}_{g}_n")}
            rec.update({c: m.get(f"{kind}_{g}_{c}") for c in cols})
            if g == "all":
                rec["label_acc"] = m.get(f"{kind}_label_acc")
            recs.append(rec)
    return pd.DataFrame(recs).set_index(["predictor", "group"])


def inpaint_table(metrics: Mapping, kind: str = "halfface") -> pd.DataFrame:
    """The inpainter release's table for ``kind`` holes: rows = landmark source (true, baseline, ours, truth)."""
    tables = metrics.get("tables", {})
    if kind not in tables:
        raise ValueError(f"the inpainter's metrics have no table for {kind!r} (have {sorted(tables)})")
    return pd.DataFrame(tables[kind]).T


def real_table(real: Mapping) -> pd.DataFrame:
    """Real-face NME table: rows condition (unmasked, halfface, facemask, drawn_mask); columns the
    predictor's NME, its share within 8 %, dlib's failure rate and NME on the faces it found, and
    the mean-shape floor."""
    rows = {}
    for cond, p in real.get("predictor", {}).items():
        d = real.get("dlib", {}).get(cond, {})
        rows[cond] = {"ours_nme": p["nme"], "ours_within_8": p["within_8"], "dlib_failure_rate": d.get("failure_rate"),
                      "dlib_nme_found": d.get("nme_found"), "dlib_within_8_of_all": d.get("within_8_of_all"),
                      "mean_shape_nme": real.get("mean_shape_nme")}
    return pd.DataFrame(rows).T


def pipeline_table(reals: Mapping[str, Mapping]) -> pd.DataFrame:
    """The photo -> detector -> crop -> landmarks pipeline of each predictor (``{label: real measures}``):
    rows (predictor, detector, pass), columns on the drawn-mask photos (found-rate, NME of every
    face, share within 8 %, NME of the found faces) and on the unmasked photos (NME, share within
    8 %), beside the landmark-crop NME (masked / unmasked) and dlib's own 68 points."""
    rows = {}
    for label, real in reals.items():
        crop = real.get("predictor", {})
        dl = real.get("dlib", {})
        for det, passes in real.get("pipelines", {}).items():
            for pas, conds in sorted(passes.items()):
                m, u = conds.get("masked", {}), conds.get("unmasked", {})
                rows[(label, det, pas)] = {
                    "masked_found": m.get("found_rate"), "masked_nme": m.get("nme"), "masked_within_8": m.get("within_8"),
                    "masked_nme_found": m.get("nme_found"), "unmasked_found": u.get("found_rate"),
                    "unmasked_nme": u.get("nme"), "unmasked_within_8": u.get("within_8"),
                    "crop_drawn_nme": crop.get("drawn_mask_as_drawn", crop.get("drawn_mask", {})).get("nme"),
                    "crop_unmasked_nme": crop.get("unmasked", {}).get("nme")}
        if dl:
            rows[(label, "dlib 68 points", "-")] = {
                "masked_found": 1 - dl["drawn_mask"]["failure_rate"], "masked_nme": None,
                "masked_within_8": dl["drawn_mask"]["within_8_of_all"], "masked_nme_found": dl["drawn_mask"]["nme_found"],
                "unmasked_found": 1 - dl["unmasked"]["failure_rate"], "unmasked_nme": None,
                "unmasked_within_8": dl["unmasked"]["within_8_of_all"], "crop_drawn_nme": None,
                "crop_unmasked_nme": dl["unmasked"]["nme_found"]}
    t = pd.DataFrame(rows).T
    t.index.names = ["predictor", "detector", "pass"]
    return t


def detector_table(real: Mapping) -> pd.DataFrame:
    """Found-rates and seconds per image of the offline detectors (unmasked, drawn mask)."""
    return pd.DataFrame(real.get("detectors", {})).T


# ------------------------------------------------------------------------------------------ claims
def _ci(p: Mapping) -> str:
    return f"{p['diff']:+.2f} [{p['ci_lo']:+.2f}, {p['ci_hi']:+.2f}]"


def _better(p: Mapping) -> bool:
    """Ours lower than baseline with the whole interval below 0."""
    return bool(p["ci_hi"] < 0)


def claims_table(comparison: pd.DataFrame, control: pd.DataFrame | None = None, inpaint: pd.DataFrame | None = None,
                 ablation: pd.DataFrame | None = None, data_lips: Mapping | None = None,
                 study: pd.DataFrame | None = None) -> pd.DataFrame:
    """The landmark-and-label paper's claims next to what was measured: ``claim``, ``seed``, ``measured``, ``reproduced``, ``why``.

    ``comparison``: :func:`comparison_table` (baseline vs ours, % of the inter-ocular distance);
    ``control``: :func:`helpers.lafin.evaluate.label_control` of Ours; ``inpaint``:
    :func:`inpaint_table`; ``ablation``: :func:`helpers.lafin.diagnose.ablation_table`;
    ``data_lips``: mean true lip distance per group ``{"No_Smiling": x, "Smiling": y}``;
    ``study``: :func:`label_study_table` (Baseline and Ours over seeds and weights).
    """
    C = comparison
    rows = []

    def add(claim, paper, measured, ok, why):
        rows.append({"claim": claim, "paper": paper, "measured": measured,
                     "reproduced": ok if isinstance(ok, str) else ("yes" if ok else "no"), "why": why})

    m_all = C.loc[("all", "nme_mouth")]
    add("Ours predicts the masked mouth closer to the truth than Baseline",
        "Figs. 2-3 (pictures only): Ours 'closer to the original expression'",
        f"mouth NME baseline {m_all['baseline']:.2f} %, ours {m_all['ours']:.2f} %, ours - baseline {_ci(m_all)}",
        _better(m_all), "paired over the same test faces; 95 % bootstrap interval")
    for g in ("No_Smiling", "Smiling"):
        c = C.loc[(g, "corner_err")]
        b = C.loc[(g, "corner_bias")]
        word = "shorter" if g == "No_Smiling" else "longer"
        add(f"{g}: Ours draws the mouth corners {word}, as the truth",
            f"§3.2: Ours infers {word} corner distances for {g}",
            f"corner error baseline {c['baseline']:.2f} %, ours {c['ours']:.2f} % ({_ci(c)}); bias baseline "
            f"{b['baseline']:+.2f} %, ours {b['ours']:+.2f} %",
            _better(c), "bias < 0: the corners are drawn too close together (a weaker smile than the truth)")
    if data_lips is not None:
        gap = data_lips["Smiling"] - data_lips["No_Smiling"]
        add("Smiling faces have a longer lip distance",
            "§2.3: the lip loss should make Smiling lips farther apart",
            f"true inner-lip distance: No_Smiling {data_lips['No_Smiling']:.2f} %, Smiling {data_lips['Smiling']:.2f} %",
            "n/a (data)" if abs(gap) < 1.0 else ("yes" if gap > 0 else "no"),
            "on these faces AU12 (the smile) does not part the lips; AU25 does, independently of the label"
            if abs(gap) < 1.0 else "measured on the test faces' true landmarks")
    if control is not None and "No_Smiling" in control.index:
        s = float(control.loc["No_Smiling", "corner_shift"])
        add("The label controls the predicted mouth",
            "the proposal's premise (label input changes the landmarks)",
            f"No_Smiling faces given Smiling: corner distance {s:+.2f} % of the inter-ocular distance"
            + (f"; Smiling faces given No_Smiling: {float(control.loc['Smiling', 'corner_shift']):+.2f} %"
               if "Smiling" in control.index else ""),
            s > 0.5, "a shift well above the measurement noise (0.5 %) counts")
    if inpaint is not None and {"baseline", "ours", "true"} <= set(inpaint.index):
        ib, io, it = (float(inpaint.loc[k, "smiling_acc"]) for k in ("baseline", "ours", "true"))
        add("Ours' inpainted faces show the true expression more often",
            "Figs. 2-3: Ours' inpainted image closer to the original expression",
            f"smiling read from the inpainted face agrees with the truth: baseline {ib:.1%}, ours {io:.1%}, "
            f"true landmarks {it:.1%}; AU12 error baseline {float(inpaint.loc['baseline', 'au12_mae']):.3f}, "
            f"ours {float(inpaint.loc['ours', 'au12_mae']):.3f}",
            io > ib + 0.02, "the face-analysis network reads the completed faces (it never saw them)")
    if ablation is not None:
        t = ablation.xs("all", level="group")["nme_mouth"]
        best = t.idxmin()
        add("Each addition helps (label input, corner, lip, state losses)",
            "§2: three new losses and the label input",
            "mouth NME by variant: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()),
            "yes" if best != "baseline" and t["ours"] < t["baseline"] else "no",
            "same (smaller) budget for every row; single runs, so differences under ~0.3 % are noise")
    if study is not None:
        ch = choose_weight(study)
        pick = ch["chosen"] or "ours w=1"
        t, b = study.loc[pick], study.loc["baseline"]

        def ms(tab, g, c):
            return f"{tab.loc[g, (c, 'mean')]:.2f} ± {tab.loc[g, (c, 'std')]:.2f}"
        n = int(b.loc["all", ("nme", "count")])
        mouth = ", ".join(f"{g} corner {ms(b, g, 'corner_err')} → {ms(t, g, 'corner_err')}, lip "
                          f"{ms(b, g, 'lip_err')} → {ms(t, g, 'lip_err')}" for g in ("No_Smiling", "Smiling"))
        add("Ours ≤ Baseline overall and better at the mouth corners and lips, for both labels",
            "§3.2 (pictures): the label conveys the expression without cost elsewhere",
            f"{pick} (of {', '.join(ch['rows'])}; {n} seeds, mean ± std): NME {ms(b, 'all', 'nme')} → "
            f"{ms(t, 'all', 'nme')}; {mouth}",
            bool(ch["chosen"] and ch["nme_at_most_baseline"]),
            "the weight is chosen on the trade-off curve: the lowest overall NME among the weights better on corners "
            "and lips for both labels" + ("" if ch["chosen"] else "; no weight is better on both for both labels"))
    return pd.DataFrame(rows)


def findings(comparison: pd.DataFrame, manifests: Mapping[str, Mapping], control: pd.DataFrame | None = None,
             inpaint: pd.DataFrame | None = None, real: Mapping | None = None, ablation: pd.DataFrame | None = None,
             profile: str = "quick") -> list[str]:
    """What the reproduction found, as sentences built only from measured numbers."""
    C = comparison
    mb, mo = manifests.get("baseline", {}), manifests.get("ours", {})
    out = []
    if mb and mo:
        out.append(f"**Training.** Both released predictors: {mo['metrics'].get('steps', '?')} steps of batch "
                   f"{mo['config']['batch']} on {mo['config']['n_train']} SynthFaces at {mo['config']['size']} px, "
                   f"{mb['train_seconds'] / 60:.1f} (baseline) and {mo['train_seconds'] / 60:.1f} (ours) minutes "
                   f"on this CPU; the seed trained 1,000,000 iterations at 256 px.")
    a = C.loc[("all", "nme")]
    m = C.loc[("all", "nme_mouth")]
    out.append(f"1. **Landmarks behind the hole.** NME (all 68 points) baseline {a['baseline']:.2f} %, ours "
               f"{a['ours']:.2f} %; mouth points baseline {m['baseline']:.2f} %, ours {m['ours']:.2f} % "
               f"(ours - baseline {_ci(m)}, {int(m['n'])} faces). "
               + ("The label helps where the hole hides the mouth." if _better(m) else
                  "**Not reproduced**: the interval does not exclude 0 in Ours' favour."))
    for g in ("No_Smiling", "Smiling"):
        b, e = C.loc[(g, "corner_bias")], C.loc[(g, "corner_err")]
        out.append(f"   {g}: mouth-corner distance bias baseline {b['baseline']:+.2f} %, ours {b['ours']:+.2f} %; "
                   f"error baseline {e['baseline']:.2f} %, ours {e['ours']:.2f} % ({_ci(e)}).")
    if control is not None and len(control):
        parts = [f"{g} faces given the other label: corner distance {float(control.loc[g, 'corner_shift']):+.2f} %, "
                 f"lip distance {float(control.loc[g, 'lip_shift']):+.2f} %" for g in control.index]
        out.append("2. **The label as a control.** " + "; ".join(parts) + ".")
    if inpaint is not None and "true" in inpaint.index:
        rows = [r for r in ("true", "baseline", "ours") if r in inpaint.index]
        out.append("3. **Inpainting** (same generator, landmarks from " + ", ".join(rows) + "): PSNR "
                   + " / ".join(f"{float(inpaint.loc[r, 'psnr']):.2f}" for r in rows) + " dB, smiling read correctly "
                   + " / ".join(f"{float(inpaint.loc[r, 'smiling_acc']):.1%}" for r in rows)
                   + f" (the analysis network on the unmasked truth: {float(inpaint.loc['truth', 'smiling_acc']):.1%}), "
                   + "AU12 error " + " / ".join(f"{float(inpaint.loc[r, 'au12_mae']):.3f}" for r in rows) + ".")
    if ablation is not None:
        t = ablation.xs("all", level="group")
        out.append("4. **Ablation** (mouth NME, same smaller budget per row): "
                   + ", ".join(f"{k} {v:.2f} %" for k, v in t["nme_mouth"].items()) + ".")
    if real:
        p, d = real.get("predictor", {}), real.get("dlib", {})
        txt = (f"5. **Real faces** (300-W test split, {real.get('n_test')} faces, no Smiling label, so the baseline "
               f"predictor): NME unmasked {p['unmasked']['nme']:.2f} %, half-face hole {p['halfface']['nme']:.2f} %, "
               f"face-mask hole {p['facemask']['nme']:.2f} % (the mean face: {real['mean_shape_nme']:.2f} %).")
        if "drawn_mask" in d:
            txt += (f" dlib behind a drawn mask: finds {1 - d['drawn_mask']['failure_rate']:.0%} of the faces, NME "
                    f"{d['drawn_mask']['nme_found']:.2f} % on those (unmasked: finds "
                    f"{1 - d['unmasked']['failure_rate']:.0%}, NME {d['unmasked']['nme_found']:.2f} %; it was trained on 300-W).")
        if "pipeline" in real:
            q = real["pipeline"]
            txt += (f" The photo pipeline ({q['detector']}, pass {q.get('passes', 1)}) finds {q['found_rate']:.0%} of the "
                    f"masked faces and gives every one landmarks: NME {q['nme']:.2f} %, {q['within_8']:.0%} within 8 %.")
            un = real.get("pipelines", {}).get(q["detector"], {}).get(f"pass{q.get('passes', 1)}", {}).get("unmasked")
            if un:
                txt += f" On the unmasked photos: NME {un['nme']:.2f} %."
        out.append(txt)
    if profile == "quick":
        out.append("The tiny models trained in §5 only prove that training, resume and evaluation run; the numbers "
                   "above come from the committed demo releases.")
    return out


#: the measures the label study reports (halfface holes, every label group)
STUDY_COLUMNS = ("nme", "nme_mouth", "corner_err", "lip_err")


def study_model(row: dict) -> str:
    """A label-study row's model name: ``baseline``, ``ours w=<w>`` (the grid label map) or
    ``ours w=<w> <label_map>`` (another reading of the label channel)."""
    if row["variant"] == "baseline":
        return "baseline"
    m = row.get("label_map", "grid")
    return f"ours w={row['w']:g}" + ("" if m == "grid" else f" {m}")


def label_study_table(result: dict, kind: str = "halfface", columns=STUDY_COLUMNS) -> pd.DataFrame:
    """(model, group) x (measure, mean / std / n) over seeds; model as :func:`study_model` names it."""
    recs = []
    for r in result["rows"].values():
        for g in ("No_Smiling", "Smiling", "all"):
            recs.append({"model": study_model(r), "w": r["w"], "group": g, "seed": r["seed"],
                         **{c: r.get(f"{kind}_{g}_{c}") for c in columns}})
    df = pd.DataFrame(recs)
    ours = {(r.get("label_map", "grid") != "grid", r["w"], study_model(r)) for r in result["rows"].values()
            if r["variant"] != "baseline"}
    order = ["baseline"] + [m for _, _, m in sorted(ours)]
    agg = df.groupby(["model", "group"])[list(columns)].agg(["mean", "std", "count"])
    return agg.reindex(pd.MultiIndex.from_product([order, ["No_Smiling", "Smiling", "all"]],
                                                  names=["model", "group"]))


def choose_weight(table: pd.DataFrame) -> dict:
    """The weight to keep, read off :func:`label_study_table`.

    Eligible: Ours rows whose mean corner and lip errors are below the Baseline's for **both** label
    groups. Chosen: the eligible row with the lowest mean overall NME (all faces); ``None`` when no
    row is eligible. Returns the choice and, for it, whether its NME is at most the Baseline's.
    """
    base = table.loc["baseline"]
    rows = {}
    for model in table.index.get_level_values("model").unique():
        if model == "baseline":
            continue
        t = table.loc[model]
        better = all(t.loc[g, (c, "mean")] < base.loc[g, (c, "mean")]
                     for g in ("No_Smiling", "Smiling") for c in ("corner_err", "lip_err"))
        rows[model] = {"mouth_better_both_labels": bool(better), "nme": float(t.loc["all", ("nme", "mean")])}
    eligible = {k: v for k, v in rows.items() if v["mouth_better_both_labels"]}
    pick = min(eligible, key=lambda k: eligible[k]["nme"]) if eligible else None
    base_nme = float(base.loc["all", ("nme", "mean")])
    return {"rows": rows, "chosen": pick, "baseline_nme": base_nme,
            "nme_at_most_baseline": None if pick is None else bool(rows[pick]["nme"] <= base_nme)}

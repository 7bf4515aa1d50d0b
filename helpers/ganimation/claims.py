"""The thesis' tables beside ours, its claims judged, and the findings, from release metrics.

Everything here reads ``{variant: release metrics}`` (the manifests' ``metrics``, as
:func:`helpers.ganimation.evaluate.evaluate` measured them) and runs no model, so the verdicts are
tested on hand-made numbers (tests/test_ganimation.py). Shown in notebook 05 §5 and §9-10.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.ganimation.data import CHANGED
from helpers.ganimation.model import VARIANT_LABELS

__all__ = ["SEED_TABLE_6_1", "SEED_TABLE_6_2", "AU_AIM", "per_au_table", "preset_table", "seed_tables", "truth_table",
           "claims_table", "findings"]

#: the thesis' Table 6.1 (EmotioNet, 30,000 edited vs 30,000 real images, Inception)
SEED_TABLE_6_1 = {"resnet": {"IS": 5.8021, "FID": 5.9514}, "convnext": {"IS": 5.1927, "FID": 5.8933}}
#: the thesis' Table 6.2 (ConvNeXt variants)
SEED_TABLE_6_2 = {"convnext": {"IS": 5.1927, "FID": 5.8933}, "convnext4x": {"IS": 4.9073, "FID": 5.8911},
                  "convnext6x": {"IS": 5.1881, "FID": 5.7718}, "convnext_more": {"IS": 5.1544, "FID": 5.7792}}


def per_au_table(metrics: dict):
    """DataFrame: per AU, the edit's read-back error, the analysis network's own error on the truth, ratio."""
    rows = {au: {"edit MAE": v["mae"], "truth MAE (yardstick)": v["mae_truth"],
                 "ratio": v["mae"] / max(v["mae_truth"], 1e-6)} for au, v in metrics["random"]["per_au"].items()}
    return pd.DataFrame(rows).T


def preset_table(metrics: dict):
    """DataFrame: per expression of Table 2.2, AU error of the edits and of the truth, PSNR to the truth."""
    return pd.DataFrame(metrics["presets"]["per_preset"]).T


def seed_tables(results: dict):
    """Tables 6.1 and 6.2 beside our measurement: {variant: release metrics} -> (table_6_1, table_6_2)."""
    def rows(seed):
        out = []
        for v, s in seed.items():
            d = results.get(v, {}).get("distribution", {})
            out.append({"model": VARIANT_LABELS[v], "seed IS": s["IS"], "seed FID": s["FID"],
                        "IS (ours)": d.get("is"), "FID (ours)": d.get("fid"), "KID (ours)": d.get("kid"),
                        "IS of the truth": d.get("is_truth"), "FID floor": d.get("fid_floor")})
        return pd.DataFrame(out).set_index("model")
    return rows(SEED_TABLE_6_1), rows(SEED_TABLE_6_2)


TRUTH_COLUMNS = {
    "psnr": ("random", "PSNR to truth (dB)"), "psnr_noedit": ("random", "no-edit PSNR"),
    "ssim": ("random", "SSIM"), "perceptual": ("random", "perceptual"), "leak": ("random", "leak"),
    "au_mae_moved": ("random", "AU MAE (moved AUs)"), "au_mae_moved_truth": ("random", "same, truth"),
    "au_mae_moved_noedit": ("random", "same, no edit"), "au_ratio_moved": ("random", "AU ratio"),
    "identity_same": ("random", "same person"), "att_mean": ("random", "A mean"), "att_std": ("random", "A std"),
    "att_high": ("random", "A>0.95"), "speck_share": ("close_mouth", "teeth left"),
}


def truth_table(results: dict):
    """The truth-based table, one row per variant (what the seed could not measure)."""
    rows = {}
    for v, met in results.items():
        rows[VARIANT_LABELS.get(v, v)] = {label: met.get(kind, {}).get(key) for key, (kind, label) in TRUTH_COLUMNS.items()}
    return pd.DataFrame(rows).T


#: the aim for AUs read back from edits: at most this times the analysis network's own error on the truth
AU_AIM = 2.0
CLAIM_COLUMNS = ("claim", "paper", "measured", "reproduced", "why")


def _get(results: dict, variant: str, *path):
    d = results.get(variant, {})
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _fmt(v, nd: int = 3) -> str:
    return "n/a" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def _main_variant(results: dict) -> str:
    return "convnext" if "convnext" in results else next(iter(results))


def claims_table(results: dict) -> pd.DataFrame:
    """The thesis' claim -> what we measured -> reproduced or not, and why. ``results``: {variant: release metrics}.

    FID differences smaller than the real-vs-real floor at the same number of images count as noise.
    Claims that need the analysis network say "not measured" when it was not available.
    """
    rows = []

    def add(claim, seed, measured, ok, why):
        verdict = "not measured" if ok is None else ok if isinstance(ok, str) else ("yes" if ok else "no")
        rows.append(dict(zip(CLAIM_COLUMNS, (claim, seed, measured, verdict, why))))

    fid = {v: _get(results, v, "distribution", "fid") for v in results}
    isc = {v: _get(results, v, "distribution", "is") for v in results}
    floor = max([_get(results, v, "distribution", "fid_floor") or 0.0 for v in results] or [0.0])

    def fid_claim(a, b, claim, seed):
        fa, fb = fid.get(a), fid.get(b)
        if fa is None or fb is None:
            return add(claim, seed, "n/a", None, "needs both releases measured with the analysis network")
        d = fb - fa
        ok = "direction only" if 0 < d <= floor else d > floor
        add(claim, seed, f"FID {VARIANT_LABELS[a]} {fa:.3f} vs {VARIANT_LABELS[b]} {fb:.3f}", ok,
            f"difference {d:+.3f}; the real-vs-real floor at this size is {floor:.3f} "
            "(analysis features, 512 images: not Inception, not 30,000)")

    fid_claim("convnext", "resnet", "ConvNeXt blocks give a lower FID than ResNet blocks (Table 6.1)", "5.8933 vs 5.9514")
    ic, ir = isc.get("convnext"), isc.get("resnet")
    add("ConvNeXt is better on IS too (text of 6.2; its own Table 6.1 shows a LOWER IS: 5.1927 vs 5.8021)",
        "text: higher; table: lower", f"IS ConvNeXt {_fmt(ic)} vs ResNet {_fmt(ir)}",
        None if ic is None or ir is None else ic > ir,
        "the seed contradicts itself; we report the measured direction (IS on the 8-expression classifier)")
    conv = [v for v in ("convnext", "convnext4x", "convnext6x", "convnext_more") if fid.get(v) is not None]
    if len(conv) >= 2:
        best = min(conv, key=lambda v: fid[v])
        margin = sorted(fid[v] for v in conv)[1] - fid[best]
        add("6x expansion gives the best FID of the ConvNeXt variants (Table 6.2)", "6x 5.7718 (best)",
            ", ".join(f"{VARIANT_LABELS[v]} {fid[v]:.3f}" for v in conv),
            best == "convnext6x" and (margin > floor or "direction only"),
            f"best: {VARIANT_LABELS[best]}, {margin:.3f} ahead of the next (floor {floor:.3f})")
        order = sorted(conv, key=lambda v: fid[v])
        seed_order = [v for v in ("convnext6x", "convnext_more", "convnext4x", "convnext") if v in conv]
        add("FID ranking 6x < more LN+GELU < 4x < 2x (Table 6.2)", "5.7718 < 5.7792 < 5.8911 < 5.8933",
            " < ".join(VARIANT_LABELS[v] for v in order), order == seed_order,
            "the thesis' differences are 0.2% to 2%; ours are judged against the floor above")
    else:
        add("6x expansion gives the best FID of the ConvNeXt variants (Table 6.2)", "6x 5.7718 (best)", "n/a", None,
            "needs the ablation releases measured with the analysis network")
    sp = {v: _get(results, v, "close_mouth", "speck_share") for v in results}
    if sp.get("convnext") is not None and sp.get("resnet") is not None:
        add("ConvNeXt gives fewer artefacts (teeth, lips) than ResNet (experiments 1-4)", "by eye",
            f"teeth left on closed mouths: ConvNeXt {sp['convnext']:.2f}, ResNet {sp['resnet']:.2f} of the input's",
            sp["convnext"] < sp["resnet"], "white pixels where the truth has lips, in the mouth region")
    have = {v: x for v, x in sp.items() if x is not None and v.startswith("convnext")}
    if len(have) >= 2:
        best = min(have, key=have.get)
        add("6x removes the white specks on closed mouths that 2x leaves (Figs. 6.8, 6.9)", "by eye",
            ", ".join(f"{VARIANT_LABELS[v]} {x:.2f}" for v, x in have.items()),
            best == "convnext6x" and have["convnext6x"] < have.get("convnext", 1e9),
            f"fewest: {VARIANT_LABELS[best]}")
    ratios = {v: _get(results, v, "random", "au_ratio_moved") for v in results}
    noedit = {v: (_get(results, v, "random", "au_mae_moved_noedit") or 0) / max(_get(results, v, "random", "au_mae_moved_truth") or 1, 1e-6)
              for v in results}
    ok = [v for v, r in ratios.items() if r is not None and r <= AU_AIM]
    add(f"Each AU is controlled by its value (Figs. 2.1, 3.7); aim: on the AUs an edit moves (by >= {CHANGED}), "
        f"read-back error <= {AU_AIM:g}x the analysis network's own error on the truth", "by eye",
        ", ".join(f"{VARIANT_LABELS.get(v, v)} {r:.2f}x" for v, r in ratios.items() if r is not None) or "n/a",
        None if all(r is None for r in ratios.values()) else len(ok) == len(ratios),
        f"within the aim: {', '.join(VARIANT_LABELS.get(v, v) for v in ok) or 'none'}; not editing at all scores "
        f"{max(noedit.values() or [0]):.1f}x")
    same = {v: _get(results, v, "random", "identity_same") for v in results}
    add("The edited face is the same person (facial features kept, 4.1)", "by eye",
        ", ".join(f"{VARIANT_LABELS.get(v, v)} {x:.0%}" for v, x in same.items() if x is not None) or "n/a",
        None if all(x is None for x in same.values()) else all(x is not None and x >= 0.99 for x in same.values()),
        "share of edits below the analysis embedding's same-person threshold (aim: every edit)")
    leak = {v: (_get(results, v, "random", "leak"), _get(results, v, "random", "change")) for v in results}
    add("Attention keeps everything an AU cannot move (background, hair) (4.1)", "by design",
        ", ".join(f"{VARIANT_LABELS.get(v, v)} {a * 255:.1f}" for v, (a, c) in leak.items() if a is not None)
        + " grey levels changed where the truth is unchanged",
        all(a is not None and c is not None and a < 0.25 * c for a, c in leak.values()),
        "yes when the leak is below a quarter of the truth's own change where it does change "
        f"({_fmt((next(iter(leak.values()))[1] or 0) * 255, 1)} grey levels)")
    att = {v: (_get(results, v, "random", "att_mean"), _get(results, v, "random", "att_high"),
               _get(results, v, "random", "att_low")) for v in results}
    add("The attention mask does not collapse to 1 (no edit) or 0 (repaint all) (GANimation's known failure)",
        "(not discussed)", ", ".join(f"{VARIANT_LABELS.get(v, v)} mean {m_:.2f}, >0.95 {h:.0%}, <0.05 {lo:.0%}"
                                     for v, (m_, h, lo) in att.items() if m_ is not None),
        all(m_ is not None and 0.05 < m_ < 0.98 and lo < 0.9 for m_, h, lo in att.values()),
        "a collapsed mask has mean ~1 or ~0; a mean near 1 with few low pixels is an edit that changes little")
    main = _main_variant(results)
    eff = _get(results, main, "effects") or {}
    syn, comp, single = eff.get("synergy", {}), eff.get("competition", {}), eff.get("single25", {})
    if "smile_monotonic" in syn:
        add("Synergy: AU6 + AU12 + AU25 raised together give a smoothly growing smile (Fig. 2.2)", "by eye",
            f"{VARIANT_LABELS[main]}: smile probability {syn['smile_edit'][0]:.2f} -> {syn['smile_edit'][-1]:.2f} "
            f"(truth {syn['smile_truth'][0]:.2f} -> {syn['smile_truth'][-1]:.2f}), rank correlation with the step "
            f"{syn['smile_monotonic']:.2f}", syn["smile_monotonic"] >= 0.9 and syn["smile_edit"][-1] > 0.5,
            "yes when the smile grows monotonically (rank correlation >= 0.9) to a smile (> 0.5)")
    if comp.get("mouth_psnr") and single.get("mouth_psnr"):
        dc, ds = comp["mouth_psnr"][-1], single["mouth_psnr"][-1]
        add("Competition: AU23 (lips tight) with AU25 (lips part) breaks the mouth (Fig. 2.3)", "by eye",
            f"{VARIANT_LABELS[main]}: mouth PSNR to the truth {dc:.1f} dB at AU23 = AU25 = 2.0 vs {ds:.1f} dB for AU25 "
            "= 2.0 alone", dc < ds - 1.0, "yes when the competing pair is > 1 dB worse than AU25 alone "
            "(SynthFaces' truth of the pair is a well-formed thin, parted mouth)")
    inten = eff.get("intensity", {})
    if inten and all("au_mae_edit" in d for d in inten.values()):
        lo_r, hi_r = [], []
        for d in inten.values():
            for v, e, t in zip(d["intensity"], d["au_mae_edit"], d["au_mae_truth"]):
                (hi_r if v > 2.0 else lo_r).append(e / max(t, 1e-6))
        lo_m, hi_m = float(np.mean(lo_r)), float(np.mean(hi_r))
        add("Edits break above an intensity of about 2.0 (2.2.1)", "2.0 = usual maximum",
            f"{VARIANT_LABELS[main]}: AU read-back error / truth's error {lo_m:.2f}x up to 2.0, {hi_m:.2f}x at 2.5-3.0",
            hi_m > 1.5 * lo_m, "yes when the error ratio beyond 2.0 is > 1.5x the ratio up to 2.0 "
            "(free AUs were trained up to 2.0, presets up to 2.0 + 0.3 jitter)")
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def findings(results: dict, manifests: dict | None = None, bench: dict | None = None) -> list[str]:
    """What the reproduction found, in sentences built from the release metrics (and the benchmark)."""
    lines = []
    manifests = manifests or {}
    main = _main_variant(results)
    if manifests:
        m0 = manifests.get(main) or next(iter(manifests.values()))
        c = m0["config"]
        mins = [m["train_seconds"] / 60 for m in manifests.values()]
        lines.append(f"**Budget.** Each of the {len(manifests)} generators trained {c['steps']:,} iterations "
                     f"(batch {c['batch']}, {c['size']} px, G every {c['g_every']} iterations, widths "
                     f"{c['g_dim']}/{c['d_dim']}) on {c['n_train']:,} SynthFaces in {min(mins):.0f}-{max(mins):.0f} "
                     "CPU minutes: a fraction of the thesis' 50 epochs on 346,004 EmotioNet images at 128 px, so the "
                     "numbers below describe small models early in training.")
    r = results.get(main, {}).get("random", {})
    if r:
        lines.append(f"**Fidelity to the truth ({VARIANT_LABELS[main]}).** PSNR to the exact truth {r['psnr']:.2f} dB, "
                     f"against {r['psnr_noedit']:.2f} dB for not editing at all: "
                     + ("the edits are closer to the truth than the input is." if r["psnr"] > r["psnr_noedit"] else
                        "an AU edit changes few pixels, and the edit's errors elsewhere cost more than the change "
                        "gains. Pixel measures alone would call 'do nothing' the better editor.")
                     + f" Leak (change where the truth is unchanged): {r['leak'] * 255:.1f} grey levels.")
    if r.get("au_ratio_moved") is not None:
        lines.append(f"**AUs read back.** On the AUs an edit asks to move (by >= {CHANGED}; {r['au_moved_share']:.0%} of "
                     f"all AU values), the analysis network reads the edits' AUs {r['au_mae_moved']:.3f} away from the "
                     f"target; its own error on the rendered truth is {r['au_mae_moved_truth']:.3f} "
                     f"({r['au_ratio_moved']:.2f}x), not editing at all {r['au_mae_moved_noedit']:.3f}. "
                     + (f"Within the aim of {AU_AIM:g}x." if r["au_ratio_moved"] <= AU_AIM else
                        f"Not within the aim of {AU_AIM:g}x: the AUs move, but not as far as asked.")
                     + f" Over all 17 AUs (most unchanged): {r['au_mae']:.3f} vs {r['au_mae_truth']:.3f}.")
    if r.get("identity_same") is not None:
        lines.append(f"**Identity.** {r['identity_same']:.0%} of the edits are the same person as their input by the "
                     f"analysis embedding (the truth itself: {r.get('identity_same_truth', float('nan')):.0%}).")
    d = results.get(main, {}).get("distribution")
    if d:
        lines.append(f"**FID/IS cannot see the edit.** Not editing at all scores FID {d['fid_noedit']:.3f}, as good as "
                     f"the truth ({d['fid_floor']:.3f}), while the edits score {d['fid']:.3f}: the thesis' tables "
                     "measure realism, not whether the requested expression was made.")
    ic, ir = _get(results, "convnext", "distribution", "is"), _get(results, "resnet", "distribution", "is")
    if ic is not None and ir is not None:
        lines.append(f"**The thesis' IS contradiction.** Its text says ConvNeXt is better on IS and FID, its Table 6.1 "
                     f"gives ConvNeXt the lower IS (5.19 vs 5.80). We measure IS {ic:.3f} (ConvNeXt) vs {ir:.3f} (ResNet).")
    sp = {v: _get(results, v, "close_mouth", "speck_share") for v in results}
    if any(x is not None for x in sp.values()):
        lines.append("**White specks.** Share of the input's teeth pixels still white after closing the mouth: "
                     + ", ".join(f"{VARIANT_LABELS.get(v, v)} {x:.2f}" for v, x in sp.items() if x is not None) + ".")
    att = {v: _get(results, v, "random", "att_mean") for v in results}
    lines.append("**Attention.** Mean of A on test edits: " + ", ".join(
        f"{VARIANT_LABELS.get(v, v)} {x:.2f}" for v, x in att.items() if x is not None)
        + " (1 = keep the input). The mean penalty (lambda 0.1) keeps it from saturating at 1.")
    if bench:
        it = bench.get("iterations", {})
        rr = {v: it.get(f"demo {v} fp32", {}).get("loop_steps_per_s") for v in ("resnet", "convnext", "convnext6x")}
        if all(x is not None for x in rr.values()):
            bf = it.get("demo convnext bf16", {}).get("loop_steps_per_s")
            bf_txt = (f"; with bf16 autocast ConvNeXt 2x runs {bf:.2f} iterations/s ({bf / rr['convnext']:.1f}x fp32"
                      + (")" if any(bench.get("machine", {}).get("cpu_flags", {}).get(f) for f in ("avx512_bf16", "amx_bf16"))
                         else ", emulated: this CPU has no bf16 units)")
                      if bf else "")
            lines.append(f"**Speed (demo, fp32, the benchmark's CPU).** ResNet {rr['resnet']:.2f}, ConvNeXt 2x "
                         f"{rr['convnext']:.2f}, 6x {rr['convnext6x']:.2f} iterations/s" + bf_txt + ".")
    return lines

"""The StyleGAN2 masked-face paper's claims judged on measured tables, and the findings as sentences.

:func:`claims_table` and :func:`findings` read the tables of
:func:`helpers.stylegan2.evaluate.run_seed_evaluation` (a live run in notebook 04, or the committed
``checkpoints/<name>.results.json``); nothing here runs a model, so the verdicts are tested on
hand-made tables (tests/test_stylegan2_eval.py). Shown in notebook 04 §8.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from helpers.stylegan2.pipeline import VARIANTS

__all__ = ["SEAM_TOLERANCE", "JAW_TOLERANCE", "claims_table", "findings"]

#: a seam counts as invisible when Poisson blending leaves at most this excess gradient on the border
#: (grey levels per pixel over the truth's own gradient there)
SEAM_TOLERANCE = 1.0
#: a jaw length error counts as "too long" above this (inter-ocular distances)
JAW_TOLERANCE = 0.02


def _row(df: pd.DataFrame, col: str, value) -> pd.Series:
    hit = df[df[col] == value]
    if hit.empty:
        raise ValueError(f"table has no row with {col} == {value!r} (has {list(df[col])})")
    return hit.iloc[0]


def _verdict(ok: bool, partly: bool = False) -> str:
    return "reproduced" if ok else ("partly" if partly else "not reproduced")


def claims_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The StyleGAN2 masked-face paper's claims -> what ``tables`` (of :func:`helpers.stylegan2.evaluate.run_seed_evaluation`) measured -> verdict, why.

    Rules (numbers from the tables, thresholds :data:`SEAM_TOLERANCE`, :data:`JAW_TOLERANCE`):
    alignment helps if the aligned input projects with lower perceptual distance *and* higher PSNR;
    a layer group "controls" an attribute if its share of the A -> B change is the largest of all
    groups (low = 4/8, middle = 16, high = the two finest); the seam is invisible if the Poisson
    seam excess is below the tolerance and below plain pasting's; the person's own features are
    carried if the seed pipeline beats projecting the masked photo alone on identity and PSNR;
    moles are lost if the projection keeps under half the true contrast; the chin is too long if the
    seed pipeline's jaw-length error exceeds the tolerance; the fix works if inpaint-first has a
    smaller jaw error and a higher PSNR (partly: one of the two); expression transfer is "mostly
    the mouth opening" if |dAU12| + |dAU25| + |dAU26| exceeds |dAU1| + |dAU2| + |dAU6| at 16x16 for
    every donor expression.
    """
    rows = []
    al = tables["alignment"]
    a, u = _row(al, "input", "FFHQ-aligned"), _row(al, "input", "unaligned")
    ok = a["perceptual"] < u["perceptual"] and a["psnr"] > u["psnr"]
    rows.append(("Unaligned input degrades StyleGAN2's reconstruction (align first)",
                 f"perceptual {a['perceptual']:.3f} aligned vs {u['perceptual']:.3f} unaligned; PSNR {a['psnr']:.1f} vs {u['psnr']:.1f} dB",
                 _verdict(ok, a["perceptual"] < u["perceptual"] or a["psnr"] > u["psnr"]),
                 "the generator only knows FFHQ-framed faces"))
    g = tables["groups"].set_index("resolution")
    res = list(g.index)
    top = {k: int(g[f"{k}_share"].idxmax()) for k in ("pose", "mouth", "eyes", "colour")}
    rows.append(("Low-resolution layers (4x4, 8x8) control the face orientation",
                 f"largest pose share at {top['pose']}x{top['pose']} ({g['pose_share'].max():.2f}; "
                 f"4x4 {g.loc[4, 'pose_share']:.2f}, 8x8 {g.loc[8, 'pose_share']:.2f})",
                 _verdict(top["pose"] in (4, 8)), "share of the yaw/pitch change when one group is swapped"))
    rows.append(("Middle layers (16x16) control the mouth and eye shape",
                 f"largest mouth share at {top['mouth']}x{top['mouth']}, eye share at {top['eyes']}x{top['eyes']} "
                 f"(16x16: mouth {g.loc[16, 'mouth_share']:.2f}, eyes {g.loc[16, 'eyes_share']:.2f})",
                 _verdict(top["mouth"] == 16 and top["eyes"] == 16, 16 in (top["mouth"], top["eyes"])),
                 "shares of the mouth-landmark and eye-openness change"))
    rows.append(("High-resolution layers control hair and skin colour",
                 f"largest colour share at {top['colour']}x{top['colour']} ({g['colour_share'].max():.2f})",
                 _verdict(top["colour"] in res[-2:], top["colour"] in res[-3:]), "share of the face-colour change"))
    r = tables["region"].set_index("method")
    se, sp = r.loc["seed", "seam_excess"], r.loc["seed (no Poisson)", "seam_excess"]
    rows.append(("The seam of the completed region is not visible (Poisson blending)",
                 f"seam excess {se:+.2f} grey levels/px with Poisson, {sp:+.2f} pasted",
                 _verdict(se < SEAM_TOLERANCE and se < sp, se < sp), "gradient energy on the mask border minus the truth's"))
    s, p = r.loc["seed"], r.loc["projection"]
    ok = s["identity"] < p["identity"] and s["psnr"] > p["psnr"]
    rows.append(("Mouth shape, cheeks, beard of the person are carried over from the unmasked photo",
                 f"seed pipeline vs projecting the masked photo alone: identity {s['identity']:.3f} vs {p['identity']:.3f}, "
                 f"mask-region PSNR {s['psnr']:.1f} vs {p['psnr']:.1f} dB",
                 _verdict(ok, s["identity"] < p["identity"] or s["psnr"] > p["psnr"]), "analysis identity embedding; truth in the mask region"))
    mo = tables["mole"].set_index("image")
    ct, cp = mo.loc["unmasked photo", "mole_contrast"], mo.loc["its projection", "mole_contrast"]
    rows.append(("Moles are lost when a photo is projected",
                 f"mole contrast {cp:.1f} grey levels in the projection vs {ct:.1f} in the photo",
                 _verdict(cp < 0.5 * ct, cp < ct), "ring-minus-disc contrast at the mole"))
    jl, jw = r.loc["seed", "jaw_length_err"], r.loc["projection", "jaw_width_err"]
    rows.append(("The chin comes out too long (the masked projection widens the jaw, coarse mixing carries it)",
                 f"seed pipeline jaw length error {jl:+.3f} IOD; masked photo's projection jaw width error {jw:+.3f} IOD",
                 _verdict(jl > JAW_TOLERANCE and jw > 0, jl > 0), "analysis landmarks of the result vs the true landmarks"))
    f = r.loc["inpaint-first"]
    better_jaw, better_psnr = abs(f["jaw_length_err"]) < abs(jl), f["psnr"] > s["psnr"]
    rows.append(("Proposed fix: inpaint the mask region first, then project and mix",
                 f"jaw length error {f['jaw_length_err']:+.3f} vs {jl:+.3f} IOD; PSNR {f['psnr']:.1f} vs {s['psnr']:.1f} dB",
                 _verdict(better_jaw and better_psnr, better_jaw or better_psnr), "inpaint-first vs the paper's pipeline"))
    e = tables["expression"]
    parts, oks = [], []
    for expr in e["expression"].unique():
        none, mid = _row(e[e["expression"] == expr], "donor layers", "none"), _row(e[e["expression"] == expr], "donor layers", "16x16")
        mouth = sum(abs(mid[f"AU{a}"] - none[f"AU{a}"]) for a in (12, 25, 26))
        other = sum(abs(mid[f"AU{a}"] - none[f"AU{a}"]) for a in (1, 2, 6))
        oks.append(mouth > other)
        parts.append(f"{expr}: mouth AUs {mouth:.2f} vs brow/cheek AUs {other:.2f}")
    rows.append(("Expression transfer through the 16x16 layers mostly changes the mouth opening",
                 "; ".join(parts), _verdict(all(oks), any(oks)), "summed AU changes against no donor"))
    return pd.DataFrame(rows, columns=["claim", "measured", "verdict", "how"])


def findings(tables: Mapping[str, pd.DataFrame], settings: Mapping | None = None) -> list[str]:
    """What the reproduction found, as sentences built from the tables (markdown)."""
    r = tables["region"].set_index("method")
    best = r["psnr"].idxmax()
    out = []
    if settings:
        p = settings.get("project", {})
        out.append(f"**Setting.** {settings.get('n_scenes')} SynthFaces scenes (a masked and an unmasked photo of "
                   f"one unseen person each), {p.get('steps')} projection steps in {p.get('space', '?').upper()}, "
                   f"coarse layers = w+ indices {settings.get('coarse_indices')}, expression layers = "
                   f"{settings.get('expression_indices')} ({settings.get('mix', {}).get('convention')} convention).")
    out.append("**Mask region against the truth.** " + "; ".join(
        f"{m}: PSNR {row.psnr:.1f} dB, SSIM {row.ssim:.2f}, identity {row.identity:.3f}" for m, row in r.iterrows()
        if "no Poisson" not in m) + f". Best PSNR: **{best}**.")
    gans = [v for v in VARIANTS if v in r.index]
    others = [m for m in r.index if m not in gans and "no Poisson" not in m]
    if others:
        b = max(others, key=lambda m: r.loc[m, "psnr"])
        g = max(gans, key=lambda m: r.loc[m, "psnr"])
        out.append(f"The best StyleGAN2 variant ({g}, {r.loc[g, 'psnr']:.1f} dB) "
                   + ("beats" if r.loc[g, "psnr"] > r.loc[b, "psnr"] else "does not beat")
                   + f" the best direct inpainter ({b}, {r.loc[b, 'psnr']:.1f} dB) in the mask region; a GAN "
                   "projection reproduces a face only as well as the generator can draw it.")
    if "masked projection" in r.index:
        mp, pr = r.loc["masked projection"], r.loc["projection"]
        out.append(f"Masked projection (loss outside the mask only) vs the paper's plain projection: PSNR "
                   f"{mp.psnr:.1f} vs {pr.psnr:.1f} dB, jaw width error {mp.jaw_width_err:+.3f} vs {pr.jaw_width_err:+.3f} "
                   "IOD: " + ("ignoring the mask helps." if mp.psnr > pr.psnr else "ignoring the mask does not help here."))
    g = tables["groups"].set_index("resolution")
    out.append("**What each layer group carries** (share of the A -> B change when only that group comes from B): "
               + "; ".join(f"{res}x{res}: pose {row.pose_share:.2f}, mouth {row.mouth_share:.2f}, eyes "
                           f"{row.eyes_share:.2f}, colour {row.colour_share:.2f}" for res, row in g.iterrows()) + ".")
    c = tables["crossover"]
    k_pose = int(c.loc[c["pose_err"].idxmin(), "k"])
    out.append(f"Crossover sweep: the pose error against the masked photo is smallest with its latent at indices "
               f"0..{k_pose - 1} (k = {k_pose}), {c['pose_err'].min():.1f} deg; identity distance to the person runs "
               f"from {c['identity'].iloc[0]:.3f} (all from the unmasked photo) to {c['identity'].iloc[-1]:.3f} (all masked).")
    mo = tables["mole"].set_index("image")
    out.append(f"Moles: contrast {mo.loc['unmasked photo', 'mole_contrast']:.1f} grey levels in the photo, "
               f"{mo.loc['its projection', 'mole_contrast']:.1f} after projection, "
               f"{mo.loc['seed', 'mole_contrast']:.1f} in the seed pipeline's completion." if "seed" in mo.index else "")
    s = r.loc["seed"]
    out.append(f"Chin: jaw length error {s.jaw_length_err:+.3f} IOD (seed pipeline), "
               f"{r.loc['inpaint-first', 'jaw_length_err']:+.3f} (inpaint-first), "
               f"{r.loc['masked + mix', 'jaw_length_err']:+.3f} (masked projection + mix).")
    e = tables["expression"]
    for expr in e["expression"].unique():
        sub = e[e["expression"] == expr].set_index("donor layers")
        if "16x16" in sub.index:
            a, b = sub.loc["none"], sub.loc["16x16"]
            out.append(f"Expression '{expr}' through 16x16: AU12 {a.AU12:.2f} -> {b.AU12:.2f}, AU25 {a.AU25:.2f} -> "
                       f"{b.AU25:.2f}, AU26 {a.AU26:.2f} -> {b.AU26:.2f} (donor: AU12 {b['donor AU12']:.2f}, "
                       f"AU25 {b['donor AU25']:.2f}, AU26 {b['donor AU26']:.2f}); mouth-shape distance to the donor "
                       f"{a.mouth_to_donor:.3f} -> {b.mouth_to_donor:.3f}.")
    al = tables["alignment"].set_index("input")
    out.append(f"Alignment: perceptual distance {al.loc['FFHQ-aligned', 'perceptual']:.3f} aligned vs "
               f"{al.loc['unaligned', 'perceptual']:.3f} unaligned.")
    cv = tables["curves"]
    for sp in cv["space"].unique():
        last = cv[cv["space"] == sp].iloc[-1]
        out.append(f"Projection in {sp.upper()}: PSNR {last.psnr:.1f} dB, SSIM {last.ssim:.2f} after "
                   f"{int(last.step)} steps, {last.sec_per_step:.3f} s per step.")
    return [x for x in out if x]

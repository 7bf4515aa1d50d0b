"""The StyleGAN2 masked-face paper measured: projection quality, the mask region against the truth, what each layer group
carries, the paper's findings re-tested, the claims table and the findings. Shown in notebook 04 §5-8.

The seed showed pictures; SynthFaces draws the truth (:mod:`helpers.stylegan2.data`). Every
table here is a pandas DataFrame computed from a run; :func:`claims_table` and :func:`findings`
turn a dict of them into the verdicts (tested on hand-made tables). Readings of generated faces
come from the shared face-analysis network (:mod:`helpers.faces.analysis`), FID/KID from
:mod:`helpers.core.distribution` on its features (comparable with each other, not with
Inception-based FIDs in papers).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np
import pandas as pd
import torch

from helpers import glcic
from helpers.core import distribution, release as rel
from helpers.core.files import atomic_write_bytes
from helpers.core.images import to_uint8
from helpers.faces import analysis
from helpers.faces import landmarks as L
from helpers.stylegan2 import measures as ms
from helpers.stylegan2.data import Scene, align_batch, make_scenes, training_faces, unalign
from helpers.stylegan2.model import Config, Generator
from helpers.stylegan2.styles import layer_table, style_indices
from helpers.stylegan2.pipeline import VARIANTS, MixConfig, complete, mix_latents
from helpers.stylegan2.project import ProjectConfig, project, synthesize

__all__ = ["EVAL_SEED", "HELDOUT_SEED", "heldout_faces", "release_metrics", "projection_curves", "alignment_effect",
           "region_table", "baseline_completions", "crossover_sweep", "group_swap", "expression_transfer",
           "mole_table", "run_seed_evaluation", "claims_table", "findings", "save_results", "load_results",
           "RESULTS_SUFFIX"]

EVAL_SEED = 4242            # z of the generated sets
HELDOUT_SEED = 7777         # SynthFaces seed of the held-out real faces (training uses data_seed 0)
PROJ_N, PROJ_STEPS = 4, 100  # the release's projection check: 4 held-out faces, 100 steps
RESULTS_SUFFIX = ".results.json"


# ----------------------------------------------------------------------------- the release's numbers
def heldout_faces(cfg: Config, n: int) -> torch.Tensor:
    """``n`` FFHQ-aligned SynthFaces never used in training (same people, new renders), float [-1, 1]."""
    return training_faces(cfg.replace(data_seed=HELDOUT_SEED), n=n, progress=False).float().div(127.5).sub(1)


def release_metrics(G: Generator, cfg: Config, n: int | None = None, curve: bool = False, net=None,
                    proj_steps: int = PROJ_STEPS) -> dict:
    """FID/KID of ``n`` samples (``cfg.eval_n``) against ``n`` held-out faces, the real-vs-real floor
    (``fid_real``: the first ``n`` training faces against the held-out ones) and, unless ``curve``,
    the projection check (W and W+, :data:`PROJ_N` held-out faces, :data:`PROJ_STEPS` steps)."""
    net = analysis.load() if net is None else net
    n = n or cfg.eval_n
    ext = analysis.feature_extractor("analysis", net)
    real = heldout_faces(cfg, n)
    fr = distribution.as_features(real, ext)
    ff = distribution.as_features(G.sample(n, seed=EVAL_SEED), ext)
    ft = distribution.as_features(training_faces(cfg, n=n, progress=False).float().div(127.5).sub(1), ext)
    m = min(n, 250)
    kid, kid_std = distribution.kid_from_features(fr, ff, subsets=50, subset_size=m)
    out = {"n": n, "fid": distribution.frechet_distance(fr, ff), "kid": kid, "kid_std": kid_std,
           "fid_real": distribution.frechet_distance(fr, ft),
           "kid_real": distribution.kid_from_features(fr, ft, subsets=50, subset_size=m)[0]}
    if not curve:
        for space in ("w", "w+"):
            pc = ProjectConfig(steps=proj_steps, space=space, perceptual="analysis", w_avg_samples=2000)
            last = project(G, real[:PROJ_N], config=pc, net=net).history.iloc[-1]
            key = space.replace("+", "_plus")
            out.update({f"psnr_{key}": float(last["psnr"]), f"ssim_{key}": float(last["ssim"]),
                        f"perceptual_{key}": float(last["perceptual"])})
        out["extractor"], out["proj_steps"], out["proj_n"] = ext.name, proj_steps, PROJ_N
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in out.items()}


# ----------------------------------------------------------------------------- projection quality
def projection_curves(G: Generator, targets: torch.Tensor, cfg: ProjectConfig, spaces=("w", "w+"),
                      net=None, record_every: int | None = None) -> pd.DataFrame:
    """PSNR / SSIM / perceptual (means over the targets) against steps, for each latent space,
    with seconds per step: columns space, step, psnr, ssim, perceptual, seconds, sec_per_step."""
    rows = []
    every = record_every or max(1, cfg.steps // 10)
    for space in spaces:
        c = ProjectConfig(**{**cfg.to_dict(), "space": space, "record_every": every})
        p = project(G, targets, config=c, net=net)
        h = p.history.assign(space=space, sec_per_step=p.seconds / c.steps)
        rows.append(h)
    return pd.concat(rows, ignore_index=True)[["space", "step", "psnr", "ssim", "perceptual", "seconds", "sec_per_step"]]


def _misalign(image: np.ndarray, angle: float = 20.0, scale: float = 0.8, shift=(0.08, -0.06)) -> np.ndarray:
    h, w = image.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    M[:, 2] += (shift[0] * w, shift[1] * h)
    return cv2.warpAffine(image, M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def alignment_effect(G: Generator, scenes: Sequence[Scene], cfg: ProjectConfig, net=None) -> pd.DataFrame:
    """Projection quality of the unmasked photos FFHQ-aligned vs taken as they come (rotated 20 deg,
    scaled 0.8, shifted): the paper's reason for step 1. One row per input kind."""
    photos = np.stack([s.unmasked for s in scenes])
    aligned, _, _ = align_batch(photos, np.stack([s.unmasked_landmarks for s in scenes]), G.size)
    raw = np.stack([cv2.resize(_misalign(p), (G.size, G.size), interpolation=cv2.INTER_AREA) for p in photos])
    rows = []
    for kind, target in (("FFHQ-aligned", aligned), ("unaligned", ms.as_tensor(raw))):
        p = project(G, target, config=cfg, net=net)
        last = p.history.iloc[-1]
        ident = analysis.identity_distance(p.image, target, net=net).mean()
        rows.append({"input": kind, "psnr": last["psnr"], "ssim": last["ssim"], "perceptual": last["perceptual"],
                     "identity": float(ident)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the mask region
def baseline_completions(scenes: Sequence[Scene], inpainters: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Completions of the masked photos by other methods: ``{name: uint8 (N, H, W, 3)}`` (Telea always)."""
    x = torch.stack([ms.as_tensor(s.masked[None])[0] for s in scenes])
    m = torch.from_numpy(np.stack([s.mask for s in scenes]).astype(np.float32))[:, None]
    out = {"Telea": to_uint8(glcic.evaluate.telea(x * (1 - m), m))}
    for name, fn in inpainters.items():
        with torch.no_grad():
            out[name] = to_uint8(fn(x * (1 - m), m))
    return out


def region_table(completions: Mapping[str, np.ndarray], scenes: Sequence[Scene], net=None,
                 pasted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per method: mask-region PSNR/SSIM/L1 vs the truth, whole-photo perceptual and identity
    distance, seam excess (gradient energy on the mask border minus the truth's), jaw length and
    width error (analysis landmarks of the result minus the true landmarks, inter-ocular units).
    ``pasted``: the same methods without Poisson blending, added as "<name> (no Poisson)" rows."""
    truth = np.stack([s.truth for s in scenes])
    masks = np.stack([s.mask for s in scenes])
    true_jaw = ms.jaw_metrics(np.stack([s.landmarks for s in scenes]))
    seam_truth = ms.seam_energy(truth, masks)
    items = list(completions.items()) + [(f"{k} (no Poisson)", v) for k, v in (pasted or {}).items()]
    rows = []
    for name, res in items:
        q = ms.region_quality(res, truth, masks, net)
        lm = ms.read(res, net)["landmarks"]
        jaw = ms.jaw_metrics(lm)
        rows.append({"method": name, **{k: float(np.mean(v)) for k, v in q.items()},
                     "seam_excess": float(np.nanmean(ms.seam_energy(res, masks) - seam_truth)),
                     "jaw_length_err": float(np.mean(jaw["jaw_length"] - true_jaw["jaw_length"])),
                     "jaw_width_err": float(np.mean(jaw["jaw_width"] - true_jaw["jaw_width"]))})
    return pd.DataFrame(rows)


def mole_table(rows: Sequence[tuple], radius: float) -> pd.DataFrame:
    """Mole contrast (grey levels, :func:`helpers.stylegan2.measures.mole_contrast`) for
    ``(name, images uint8 (N, H, W, 3), mole positions (N, 2))`` rows."""
    return pd.DataFrame([{"image": name, "mole_contrast": float(np.nanmean(ms.mole_contrast(img, xy, radius)))}
                         for name, img, xy in rows])


# ----------------------------------------------------------------------------- what each layer group carries
def _readings(images: torch.Tensor, net) -> dict:
    r = analysis.analyse(images, net)
    return {k: v.numpy() for k, v in r.items()}


def _mouth_shape(lm: np.ndarray) -> np.ndarray:
    """Mouth points (N, 20, 2) centred on the mouth and divided by the inter-ocular distance."""
    iod = np.linalg.norm(lm[:, 45] - lm[:, 36], axis=1)[:, None, None]
    m = lm[:, 48:68]
    return (m - m.mean(1, keepdims=True)) / iod


def _eye_shape(lm: np.ndarray) -> np.ndarray:
    return np.asarray(L.eye_openness(lm, "both"))


def _groups(size: int) -> list[int]:
    return [2 ** i for i in range(2, int(np.log2(size)) + 1)]


def group_swap(G: Generator, n_pairs: int = 32, net=None, convention: str = "stylegan", seed: int = 0) -> pd.DataFrame:
    """For random pairs (A, B): put B's w at one resolution group of A's w+ and measure which share of
    the full A -> B change each attribute makes: pose (yaw, pitch), mouth shape, eye openness, face
    colour, identity. One row per group; each share is the mean over pairs of
    ``|swap(g) - A| / |B - A|`` (1: the group alone carries the whole change; shares need not sum to 1)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2, n_pairs, G.z_dim, generator=g)
    with torch.no_grad():
        wa, wb = (G.broadcast(G.mapping(zz)) for zz in z)
        ia, ib = synthesize(G, wa), synthesize(G, wb)
    ra, rb = _readings(ia, net), _readings(ib, net)
    ua, ub = to_uint8(ia), to_uint8(ib)
    ca, cb = ms.face_colour(ua, ra["landmarks"]), ms.face_colour(ub, rb["landmarks"])

    def changes(r, u):
        return {"pose": np.abs(r["pose"][:, :2] - ra["pose"][:, :2]).sum(1),
                "mouth": np.linalg.norm((_mouth_shape(r["landmarks"]) - _mouth_shape(ra["landmarks"])).reshape(n_pairs, -1), axis=1),
                "eyes": np.abs(_eye_shape(r["landmarks"]) - _eye_shape(ra["landmarks"])).sum(-1),
                "colour": np.linalg.norm(ms.face_colour(u, r["landmarks"]) - ca, axis=1),
                "identity": 1 - (r["identity"] * ra["identity"]).sum(1)}
    full = changes(rb, ub)
    full["colour"] = np.linalg.norm(cb - ca, axis=1)
    rows = []
    for res in _groups(G.size):
        idx = style_indices(G.size, [res], convention)
        w = wa.clone()
        w[:, idx] = wb[:, idx]
        img = synthesize(G, w)
        ch = changes(_readings(img, net), to_uint8(img))
        rows.append({"resolution": res, "w+ indices": ",".join(map(str, idx)),
                     **{f"{k}_share": float(np.mean(ch[k] / np.maximum(full[k], 1e-6))) for k in full}})
    return pd.DataFrame(rows)


def crossover_sweep(G: Generator, masked, unmasked, scenes: Sequence[Scene], net=None) -> pd.DataFrame:
    """w+ = masked photo's latent for indices < k, unmasked photo's for indices >= k, k = 0..num_ws:
    pose error against the masked photo (yaw + pitch, degrees, truth), identity distance to the person
    (the truth, aligned), face colour difference to the unmasked photo (grey levels)."""
    truth, _, _ = align_batch(np.stack([s.truth for s in scenes]), np.stack([s.landmarks for s in scenes]), G.size)
    un, _, un_lm = align_batch(np.stack([s.unmasked for s in scenes]), np.stack([s.unmasked_landmarks for s in scenes]), G.size)
    pose = np.stack([s.pose for s in scenes])
    col_u = ms.face_colour(to_uint8(un), un_lm)
    rt = _readings(truth, net)
    rows = []
    for k in range(G.num_ws + 1):
        ws = torch.cat([masked.ws[:, :k], unmasked.ws[:, k:]], 1)
        noises = [m if i < k else u for i, (m, u) in enumerate(zip(masked.noises, unmasked.noises))]
        img = synthesize(G, ws, noises)
        r = _readings(img, net)
        rows.append({"k": k, "from masked": f"0..{k - 1}" if k else "-",
                     "pose_err": float(np.abs(r["pose"][:, :2] - pose[:, :2]).sum(1).mean()),
                     "identity": float((1 - (r["identity"] * rt["identity"]).sum(1)).mean()),
                     "colour_diff": float(np.linalg.norm(ms.face_colour(to_uint8(img), r["landmarks"]) - col_u, axis=1).mean())})
    return pd.DataFrame(rows)


def expression_transfer(G: Generator, masked, unmasked, donors: Mapping[str, object], scenes: Sequence[Scene],
                        net=None, mix: MixConfig | None = None) -> pd.DataFrame:
    """The paper's experiment 2 and its layer sweep: the donor's latent at one resolution group
    (None = no donor) of the paper's mix. Rows: expression x group; columns: AU12, AU25, AU26, AU6,
    AU1+2 of the result (analysis), the donor's true AUs, mouth-shape distance to the donor
    (inter-ocular units), pose error, identity distance to the person."""
    mix = mix or MixConfig()
    truth, _, _ = align_batch(np.stack([s.truth for s in scenes]), np.stack([s.landmarks for s in scenes]), G.size)
    rt = _readings(truth, net)
    pose = np.stack([s.pose for s in scenes])
    au = {a: analysis.AUS.index(a) for a in (1, 2, 6, 12, 25, 26)}
    rows = []
    for expr, donor in donors.items():
        d_aus = np.stack([s.donors[expr]["aus"] for s in scenes])
        d_img, _, d_lm = align_batch(np.stack([s.donors[expr]["image"] for s in scenes]),
                                     np.stack([s.donors[expr]["landmarks"] for s in scenes]), G.size)
        for res in [None] + [r for r in _groups(G.size) if r not in mix.coarse]:
            cfg = MixConfig(mix.coarse, (res,) if res else (), mix.convention, mix.noise_from)
            ws, noises = mix_latents(G, masked, unmasked, donor if res else None, cfg)
            r = _readings(synthesize(G, ws, noises), net)
            rows.append({"expression": expr, "donor layers": f"{res}x{res}" if res else "none",
                         **{f"AU{a}": float(r["aus"][:, i].mean()) for a, i in au.items()},
                         **{f"donor AU{a}": float(d_aus[:, i].mean()) for a, i in au.items() if a in (12, 25, 26)},
                         "mouth_to_donor": float(np.linalg.norm((_mouth_shape(r["landmarks"]) - _mouth_shape(d_lm)).reshape(len(scenes), -1), axis=1).mean()),
                         "pose_err": float(np.abs(r["pose"][:, :2] - pose[:, :2]).sum(1).mean()),
                         "identity": float((1 - (r["identity"] * rt["identity"]).sum(1)).mean())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- everything, once
def run_seed_evaluation(G: Generator, n_scenes: int, project_cfg: ProjectConfig, net=None,
                        inpainters: Mapping[str, object] | None = None, inpaint_first: str = "glcic_mouth64",
                        mix: MixConfig | None = None, n_pairs: int = 32, progress: bool = True) -> dict:
    """Run every measurement of notebook 04 on ``n_scenes`` scenes; returns ``{"tables": {...},
    "artefacts": {...}, "settings": {...}}`` (tables: DataFrames; artefacts: images for figures)."""
    t0 = time.perf_counter()
    mix = mix or MixConfig()
    inpainters = dict(inpainters or {})
    scenes = make_scenes(n_scenes, G.size, mole=True)
    say = print if progress else (lambda *a, **k: None)
    cache: dict = {}
    say(f"pipeline variants on {n_scenes} scenes ({project_cfg.steps} projection steps, {project_cfg.space})")
    res = complete(G, scenes, VARIANTS, project_cfg, mix, inpaint=inpainters.get(inpaint_first), net=net, cache=cache)
    base = baseline_completions(scenes, inpainters)
    comps = {v: r.result for v, r in res.items()} | base
    tables = {"region": region_table(comps, scenes, net, pasted={"seed": res["seed"].pasted})}
    say("donor projections")
    donors = {}
    for e in scenes[0].donors:
        img = np.stack([s.donors[e]["image"] for s in scenes])
        al, _, _ = align_batch(img, np.stack([s.donors[e]["landmarks"] for s in scenes]), G.size)
        donors[e] = project(G, al, config=project_cfg, net=net)
    pm, pu = cache["masked"][0], cache["unmasked"][0]
    proj_u = _unalign_all(to_uint8(synthesize(G, pu.ws, pu.noises)), cache["unmasked"][1], scenes)
    xy_m, xy_u = np.stack([s.mole_xy for s in scenes]), np.stack([s.unmasked_mole_xy for s in scenes])
    tables["mole"] = mole_table(
        [("unmasked photo", np.stack([s.unmasked for s in scenes]), xy_u), ("its projection", proj_u, xy_u),
         ("truth (masked photo's frame)", np.stack([s.truth for s in scenes]), xy_m)]
        + [(name, comps[name], xy_m) for name in comps], radius=max(0.8, G.size / 48))
    tables["projection"] = pd.DataFrame([{"photo": k, "psnr": cache[k][0].history.iloc[-1]["psnr"],
                                          "ssim": cache[k][0].history.iloc[-1]["ssim"],
                                          "perceptual": cache[k][0].history.iloc[-1]["perceptual"],
                                          "seconds": cache[k + "_seconds"]}
                                         for k in ("masked", "masked_masked", "unmasked", "inpainted") if k in cache])
    say("layer sweeps")
    tables["crossover"] = crossover_sweep(G, pm, pu, scenes, net)
    tables["expression"] = expression_transfer(G, pm, pu, donors, scenes, net, mix)
    tables["groups"] = group_swap(G, n_pairs, net, mix.convention)
    say("projection curves and alignment")
    truth_al, _, _ = align_batch(np.stack([s.unmasked for s in scenes]), np.stack([s.unmasked_landmarks for s in scenes]), G.size)
    tables["curves"] = projection_curves(G, truth_al, project_cfg, net=net)
    tables["alignment"] = alignment_effect(G, scenes, project_cfg, net)
    settings = {"n_scenes": n_scenes, "project": project_cfg.to_dict(), "mix": mix.to_dict(), "n_pairs": n_pairs,
                "inpaint_first": inpaint_first, "inpainters": sorted(inpainters), "seconds": time.perf_counter() - t0,
                "layer_table": layer_table(G.size, mix.convention),
                "coarse_indices": style_indices(G.size, mix.coarse, mix.convention),
                "expression_indices": style_indices(G.size, mix.expression, mix.convention)}
    artefacts = {"scenes": scenes, "completions": res, "baselines": base, "donors": donors,
                 "inpainted": cache.get("inpainted_photos"), "projections": cache}
    return {"tables": tables, "artefacts": artefacts, "settings": settings}


def _unalign_all(u8: np.ndarray, M: np.ndarray, scenes: Sequence[Scene]) -> np.ndarray:
    return np.stack([unalign(u8[i], M[i], scenes[i].truth.shape[:2]) for i in range(len(u8))])


# ----------------------------------------------------------------------------- claims and findings
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
    """The StyleGAN2 masked-face paper's claims -> what ``tables`` (of :func:`run_seed_evaluation`) measured -> verdict, why.

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


# ----------------------------------------------------------------------------- committed results
def save_results(result: Mapping, path, release: str | None = None, command: str = "") -> Path:
    """Write the tables and settings of :func:`run_seed_evaluation` as JSON (atomically)."""
    doc = {"release": release, "command": command, "settings": result["settings"],
           "tables": {k: v.to_dict("records") for k, v in result["tables"].items()}}
    if release:
        doc["release_sha256"] = rel.read_manifest(release)["sha256"]
    return atomic_write_bytes(path, json.dumps(doc, indent=1, default=float).encode())


def load_results(path) -> dict:
    """:func:`save_results`' file -> ``{"tables": {name: DataFrame}, "settings", "release", ...}``."""
    doc = json.loads(Path(path).read_text())
    doc["tables"] = {k: pd.DataFrame(v) for k, v in doc["tables"].items()}
    return doc

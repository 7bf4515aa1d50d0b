"""The StyleGAN2 masked-face paper measured: the release's numbers (FID/KID, the checkpoint curve,
the projection check), the instruments that read generated faces, projection quality, the mask
region against the truth, what each layer group carries, and notebook 04's whole evaluation of a
release (:func:`seed_evaluation`, written as ``checkpoints/<name>.results.json``). Shown in notebook
04 §5-8; the claims table and the findings built from these tables are in :mod:`helpers.stylegan2.claims`.

The seed showed pictures; SynthFaces draws the truth (:mod:`helpers.stylegan2.data`). Every
table here is a pandas DataFrame computed from a run. Readings of generated faces come from the
shared face-analysis network (:mod:`helpers.faces.analysis`), FID/KID from
:mod:`helpers.core.distribution` on its features (comparable with each other, not with
Inception-based FIDs in papers).

The instruments (uint8 (N, H, W, 3) RGB images in the photos' frame unless a name says otherwise;
landmarks (N, 68, 2) pixels):

- :func:`region_quality`: PSNR / SSIM / L1 inside the mask region against the true unmasked face
  (``helpers.core.metrics``), the perceptual distance and the identity distance of the whole
  completed photo against the truth.
- :func:`seam_energy` (:mod:`helpers.core.metrics`, shared with notebook 02): mean Sobel gradient
  magnitude (grey levels / px) on the one-pixel band on both sides of the mask border: a visible
  seam adds gradient there. Reported as the excess over the truth's own gradient on the same band.
- :func:`jaw_metrics`: jaw length = distance from the eye midpoint to the chin (point 8), jaw width
  = distance of jaw points 3 and 13, both in inter-ocular distances (outer eye corners 36-45).
- :func:`mole_contrast`: grey level of a ring (1.5-3 radii) around a point minus that of a disc
  (1 radius) at the point; a dark mole gives a clear positive contrast, none gives about 0.
- :func:`face_colour`: mean RGB inside the face outline (jaw + brows), grey levels.
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
from helpers.core import distribution, metrics, release as rel, runtime
from helpers.core.checkpoint import RunDir, checkpoint_step, load_models
from helpers.core.files import atomic_write_bytes
from helpers.core.images import to_tensor, to_uint8
from helpers.core.metrics import seam_energy
from helpers.faces import analysis
from helpers.faces import landmarks as L
from helpers.stylegan2.data import Scene, align_batch, make_scenes, training_faces, unalign
from helpers.stylegan2.model import Config, Generator, build
from helpers.stylegan2.styles import layer_table, style_indices
from helpers.stylegan2.pipeline import INPAINTERS, VARIANTS, MixConfig, complete, inpainter, mix_latents
from helpers.stylegan2.project import DEMO_LR, ProjectConfig, project, synthesize

__all__ = ["EVAL_SEED", "HELDOUT_SEED", "MOUTH_AUS", "EYE_AUS", "as_tensor", "face_polygon", "face_colour",
           "seam_energy", "jaw_metrics", "mole_contrast", "read", "region_quality", "heldout_faces",
           "release_metrics", "checkpoint_curve", "projection_curves", "alignment_effect", "region_table",
           "baseline_completions", "crossover_sweep", "group_swap", "expression_transfer", "mole_table",
           "run_seed_evaluation", "seed_evaluation", "write_seed_evaluation", "save_results", "load_results",
           "RESULTS_SUFFIX"]

EVAL_SEED = 4242            # z of the generated sets
HELDOUT_SEED = 7777         # SynthFaces seed of the held-out real faces (training uses data_seed 0)
PROJ_N, PROJ_STEPS = 4, 100  # the release's projection check: 4 held-out faces, 100 steps
RESULTS_SUFFIX = ".results.json"


# ----------------------------------------------------------------------------- reading generated faces
#: AUs of the mouth (seed: "expression transfer mostly changes the mouth opening": 25, 26)
MOUTH_AUS = (10, 12, 14, 15, 17, 20, 23, 25, 26)
EYE_AUS = (1, 2, 4, 5, 6, 7, 45)


def as_tensor(images_u8: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    a = np.asarray(images_u8)
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {a.dtype} {a.shape}")
    return torch.stack([to_tensor(x) for x in a])


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """(K, 2) outline of the face: jaw 0..16 then the brows 26..17 (forehead edge)."""
    lm = np.asarray(landmarks, np.float32)
    if lm.shape != (68, 2):
        raise ValueError(f"landmarks must be (68, 2), got {lm.shape}")
    return np.concatenate([lm[0:17], lm[26:16:-1]])


def face_colour(images_u8: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Mean RGB (N, 3) inside each face outline."""
    out = []
    for img, lm in zip(images_u8, landmarks):
        m = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(m, [np.round(face_polygon(lm) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        out.append(img[m > 0].reshape(-1, 3).mean(0) if m.any() else img.reshape(-1, 3).mean(0))
    return np.stack(out).astype(np.float64)


def jaw_metrics(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Jaw length (eye midpoint to chin 8) and jaw width (3 to 13), in inter-ocular distances (N,)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (68, 2):
        raise ValueError(f"landmarks must be (N, 68, 2), got {lm.shape}")
    iod = np.linalg.norm(lm[:, 45] - lm[:, 36], axis=1)
    eyes = (lm[:, 36:42].mean(1) + lm[:, 42:48].mean(1)) / 2
    return {"jaw_length": np.linalg.norm(lm[:, 8] - eyes, axis=1) / iod,
            "jaw_width": np.linalg.norm(lm[:, 13] - lm[:, 3], axis=1) / iod}


def mole_contrast(images_u8: np.ndarray, xy: np.ndarray, radius: float) -> np.ndarray:
    """(N,) grey level of the ring around ``xy`` (N, 2) minus the disc at it (see the module doc)."""
    out = []
    for img, (x, y) in zip(images_u8, np.asarray(xy, np.float64)):
        g = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY).astype(np.float64)
        yy, xx = np.mgrid[:g.shape[0], :g.shape[1]]
        d = np.hypot(xx - x, yy - y)
        disc, ring = d <= max(radius, 0.75), (d >= 1.5 * radius + 0.5) & (d <= 3 * radius + 1)
        out.append(float(g[ring].mean() - g[disc].mean()) if disc.any() and ring.any() else float("nan"))
    return np.asarray(out)


def read(images_u8: np.ndarray, net=None) -> dict[str, np.ndarray]:
    """The analysis network's readings of uint8 faces, as numpy (landmarks, aus, pose, identity, ...)."""
    r = analysis.analyse(as_tensor(images_u8), net)
    return {k: v.numpy() for k, v in r.items()}


def region_quality(result_u8: np.ndarray, truth_u8: np.ndarray, masks: np.ndarray, net=None) -> dict[str, np.ndarray]:
    """Per image: PSNR, SSIM, L1 in the mask region vs the truth; perceptual and identity distance
    (analysis network) of the whole completed photo vs the truth."""
    x, t = as_tensor(result_u8), as_tensor(truth_u8)
    m = torch.from_numpy((np.asarray(masks) > 0).astype(np.float32))[:, None]
    with torch.no_grad():
        perc = analysis.perceptual_distance(x, t, net)
        ident = analysis.identity_distance(x, t, net=net)
    return {"psnr": metrics.hole_psnr(x, t, m).numpy(), "ssim": metrics.hole_ssim(x, t, m).numpy(),
            "l1": metrics.hole_l1(x, t, m).numpy(), "perceptual": perc.numpy(), "identity": ident.numpy()}


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


def checkpoint_curve(cfg: Config, run_dir, every: int | None = None, progress: bool = True, net=None) -> list[dict]:
    """FID/KID of G_ema at every kept checkpoint of ``run_dir`` whose step is a multiple of ``every``
    (default ``cfg.save_every``) or the last: the curve of the release (shared instruments)."""
    every = every or cfg.save_every
    G = build(cfg)[0]
    paths = RunDir(run_dir, cfg.result_dict(), models={"G_ema": G}, writer=False).checkpoints()
    last = max((checkpoint_step(p) for p in paths), default=None)
    rows = []
    for p in sorted(paths, key=checkpoint_step):
        st = checkpoint_step(p)
        if st % every and st != last:
            continue
        load_models(p, {"G_ema": G})
        m = release_metrics(G.eval(), cfg, n=min(cfg.eval_n, 200), curve=True, net=net)
        rows.append({"step": st, **m})
        if progress:
            print(f"  curve: step {st}: " + ", ".join(f"{k} {v:.4g}" for k, v in m.items() if isinstance(v, float)))
    return rows


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
    for kind, target in (("FFHQ-aligned", aligned), ("unaligned", as_tensor(raw))):
        p = project(G, target, config=cfg, net=net)
        last = p.history.iloc[-1]
        ident = analysis.identity_distance(p.image, target, net=net).mean()
        rows.append({"input": kind, "psnr": last["psnr"], "ssim": last["ssim"], "perceptual": last["perceptual"],
                     "identity": float(ident)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the mask region
def baseline_completions(scenes: Sequence[Scene], inpainters: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Completions of the masked photos by other methods: ``{name: uint8 (N, H, W, 3)}`` (Telea always)."""
    x = torch.stack([as_tensor(s.masked[None])[0] for s in scenes])
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
    true_jaw = jaw_metrics(np.stack([s.landmarks for s in scenes]))
    seam_truth = seam_energy(truth, masks)
    items = list(completions.items()) + [(f"{k} (no Poisson)", v) for k, v in (pasted or {}).items()]
    rows = []
    for name, res in items:
        q = region_quality(res, truth, masks, net)
        lm = read(res, net)["landmarks"]
        jaw = jaw_metrics(lm)
        rows.append({"method": name, **{k: float(np.mean(v)) for k, v in q.items()},
                     "seam_excess": float(np.nanmean(seam_energy(res, masks) - seam_truth)),
                     "jaw_length_err": float(np.mean(jaw["jaw_length"] - true_jaw["jaw_length"])),
                     "jaw_width_err": float(np.mean(jaw["jaw_width"] - true_jaw["jaw_width"]))})
    return pd.DataFrame(rows)


def mole_table(rows: Sequence[tuple], radius: float) -> pd.DataFrame:
    """Mole contrast (grey levels, :func:`mole_contrast`) for
    ``(name, images uint8 (N, H, W, 3), mole positions (N, 2))`` rows."""
    return pd.DataFrame([{"image": name, "mole_contrast": float(np.nanmean(mole_contrast(img, xy, radius)))}
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
    ca, cb = face_colour(ua, ra["landmarks"]), face_colour(ub, rb["landmarks"])

    def changes(r, u):
        return {"pose": np.abs(r["pose"][:, :2] - ra["pose"][:, :2]).sum(1),
                "mouth": np.linalg.norm((_mouth_shape(r["landmarks"]) - _mouth_shape(ra["landmarks"])).reshape(n_pairs, -1), axis=1),
                "eyes": np.abs(_eye_shape(r["landmarks"]) - _eye_shape(ra["landmarks"])).sum(-1),
                "colour": np.linalg.norm(face_colour(u, r["landmarks"]) - ca, axis=1),
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
    col_u = face_colour(to_uint8(un), un_lm)
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
                     "colour_diff": float(np.linalg.norm(face_colour(to_uint8(img), r["landmarks"]) - col_u, axis=1).mean())})
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


def seed_evaluation(release: rel.Release, scenes: int = 8, steps: int = 300, space: str = "w+",
                    convention: str = "stylegan", inpaint_first: str = "glcic_mouth64", progress: bool = True,
                    lr: float = DEMO_LR) -> dict:
    """:func:`run_seed_evaluation` of a release (:func:`helpers.stylegan2.load_release`) with notebook
    02's committed GLCIC models as baselines and as the "inpaint first" step. ``lr``: the projection's
    learning rate (:data:`helpers.stylegan2.project.DEMO_LR` for the demo generator)."""
    inp = {n: inpainter(n) for n in INPAINTERS}
    pc = ProjectConfig(steps=steps, space=space, perceptual="analysis", lr=lr)
    return run_seed_evaluation(release.G_ema, scenes, pc, inpainters=inp, inpaint_first=inpaint_first,
                               mix=MixConfig(convention=convention), progress=progress)


def write_seed_evaluation(release: rel.Release, command: str, out=None, **kw) -> Path:
    """Run :func:`seed_evaluation` and write ``checkpoints/<name>.results.json`` (the tables notebook 04
    shows beside its own run), recording ``command`` and the release's sha256."""
    res = seed_evaluation(release, **kw)
    return save_results(res, out or runtime.CHECKPOINT_DIR / f"{release.name}{RESULTS_SUFFIX}", release.name, command)


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

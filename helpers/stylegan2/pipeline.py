"""The paper's pipeline: align, project, style-mix, Poisson-blend — and its proposed fix, inpaint first.

The StyleGAN2 masked-face paper (steps 1-5), for a masked photo M and an unmasked photo U of the same person::

    1. align M and U the FFHQ way                     (helpers.stylegan2.data.align_face)
    2. project each: w+_M, w+_U                       (helpers.stylegan2.project.project)
    3. mix: w+ = w+_M at the 4x4 and 8x8 layers (pose, outline), w+_U elsewhere
    4. optional: a third face E's w+ at the 16x16 layers (expression)
    5. G(w+) -> back into M's frame -> Poisson-blend (OpenCV seamlessClone) into M's mask region

Which w+ indices are "the 4x4 and 8x8 layers" is :func:`helpers.stylegan2.model.style_indices`
(``MixConfig.convention``). Noise maps: each StyledConv takes the noise map of the photo whose
latent feeds it (``noise_from="layers"``, default: the noise belongs to the projection that made
it), or all from U / M.

Variants measured against the truth (:func:`complete`, ``variant=``):

- ``"projection"``: project M alone and blend G(w+_M) (no second photo);
- ``"seed"``: the paper's pipeline (steps 1-5);
- ``"masked projection"``: project M with the loss outside the mask only, blend G(w+);
- ``"masked + mix"``: the paper's pipeline with the masked projection of M as the coarse source;
- ``"inpaint-first"``: the paper's proposed fix: complete M's mask region with notebook 02's GLCIC
  first (:func:`inpainter`), project that, then mix and blend.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from helpers.core.images import paste_u8, poisson_blend, to_tensor, to_uint8
from helpers.core.metrics import border_band
from helpers import glcic
from helpers.stylegan2.data import Scene, align_batch, unalign
from helpers.stylegan2.model import Generator
from helpers.stylegan2.styles import LAYER_CONVENTIONS, mix_styles, style_indices
from helpers.stylegan2.project import ProjectConfig, Projection, project, synthesize

__all__ = ["MixConfig", "VARIANTS", "NOISE_SOURCES", "mix_latents", "poisson_blend", "paste", "seam_band",
           "inpainter", "INPAINTERS", "Completion", "project_photos", "complete", "generate_in_photo"]

VARIANTS = ("projection", "seed", "masked projection", "masked + mix", "inpaint-first")
NOISE_SOURCES = ("layers", "unmasked", "masked")
#: committed completion networks usable for "inpaint first" (notebook 02)
INPAINTERS = ("glcic_mouth64", "glcic_random64")


@dataclass
class MixConfig:
    """Which photo feeds which layers (the StyleGAN2 masked-face paper steps 3-4)."""

    coarse: tuple = (4, 8)            # resolutions fed by the masked photo: pose and outline (the seed)
    expression: tuple = (16,)         # resolutions fed by the expression donor, when one is given (the seed)
    convention: str = "stylegan"      # how w+ indices map to resolutions (model.layer_table)
    noise_from: str = "layers"        # "layers" | "unmasked" | "masked"

    def __post_init__(self):
        if self.convention not in LAYER_CONVENTIONS:
            raise ValueError(f"convention must be one of {LAYER_CONVENTIONS}, got {self.convention!r}")
        if self.noise_from not in NOISE_SOURCES:
            raise ValueError(f"noise_from must be one of {NOISE_SOURCES}, got {self.noise_from!r}")
        if set(self.coarse) & set(self.expression):
            raise ValueError(f"coarse {self.coarse} and expression {self.expression} resolutions overlap")
        self.coarse, self.expression = tuple(self.coarse), tuple(self.expression)

    def to_dict(self) -> dict:
        return asdict(self)


def _noise_for(G: Generator, sources: dict, default: Projection) -> list:
    """Per StyledConv: the noise map of the projection whose latent feeds that layer's w+ index."""
    owner = {}
    for idx, proj in sources.items():
        for i in idx:
            owner[i] = proj
    out, i = [], 0
    for b in G.blocks:
        for j in range(b.num_conv):
            p = owner.get(i + j, default)
            out.append(p.noises[len(out)])
        i += b.num_conv
    return out


def mix_latents(G: Generator, masked: Projection, unmasked: Projection, donor: Projection | None = None,
                cfg: MixConfig | None = None) -> tuple[torch.Tensor, list]:
    """(w+, noise maps) of steps 3-4: U's w+ with M's at ``cfg.coarse`` and E's at ``cfg.expression``."""
    cfg = cfg or MixConfig()
    sources = {}
    if cfg.coarse:
        sources[tuple(style_indices(G.size, cfg.coarse, cfg.convention))] = masked
    if donor is not None and cfg.expression:
        sources[tuple(style_indices(G.size, cfg.expression, cfg.convention))] = donor
    ws = mix_styles(unmasked.ws, {k: p.ws for k, p in sources.items()})
    if cfg.noise_from == "unmasked":
        noises = unmasked.noises
    elif cfg.noise_from == "masked":
        noises = masked.noises
    else:
        noises = _noise_for(G, sources, unmasked)
    return ws, noises


# ----------------------------------------------------------------------------- blending
#: dilation (px) of the mask region blended into the photo (one function serves GLCIC and this pipeline)
BLEND_DILATE = 2
paste = paste_u8
seam_band = border_band


# ----------------------------------------------------------------------------- inpaint first
def inpainter(name: str = "glcic_mouth64", directory=None) -> Callable:
    """A completion function ``(images (N,3,H,W), masks (N,1,H,W)) -> completed`` from a committed
    GLCIC release of notebook 02 (:data:`INPAINTERS`)."""
    C = glcic.load_release(name, directory=directory).C
    fn = glcic.evaluate.model_fn(C)
    fn.name = name
    return fn


# ----------------------------------------------------------------------------- the whole pipeline
@dataclass
class Completion:
    """One variant's result for a batch of scenes (all in the photos' own frame, uint8 NHWC)."""

    variant: str
    result: np.ndarray                # the completed masked photos (Poisson-blended)
    pasted: np.ndarray                # the same without Poisson (plain paste), to measure seams
    generated: np.ndarray             # G's image warped into the photo frame (whole face)
    aligned: torch.Tensor             # G's image in the aligned frame (N, 3, S, S)
    ws: torch.Tensor                  # the w+ that made it
    seconds: float


def project_photos(G: Generator, images_u8: np.ndarray, landmarks: np.ndarray, masks: np.ndarray | None = None,
                   cfg: ProjectConfig | None = None, net=None) -> tuple[Projection, np.ndarray]:
    """Align (N, H, W, 3) photos and project them (masked when ``masks`` (N, H, W) is given);
    returns (projection, transforms (N, 2, 3) photo -> aligned)."""
    aligned, M, _ = align_batch(images_u8, landmarks, G.size)
    mask_t = None
    if masks is not None:
        warped = np.stack([cv2.warpAffine(m.astype(np.float32), Mi.astype(np.float64), (G.size, G.size),
                                          flags=cv2.INTER_LINEAR) for m, Mi in zip(masks, M)])
        mask_t = torch.from_numpy((warped > 0.01).astype(np.float32))[:, None]
    return project(G, aligned, mask=mask_t, config=cfg, net=net), M


def generate_in_photo(G: Generator, ws: torch.Tensor, noises, M: np.ndarray, shape_hw) -> tuple[np.ndarray, torch.Tensor]:
    """G(w+, noises) warped back into the photo frames: (uint8 (N, H, W, 3), aligned images)."""
    img = synthesize(G, ws, noises)
    u8 = to_uint8(img)
    return np.stack([unalign(u8[i], M[i], shape_hw) for i in range(len(u8))]), img


def _stack(scenes: Sequence[Scene], key: str) -> np.ndarray:
    return np.stack([getattr(s, key) for s in scenes])


def complete(G: Generator, scenes: Sequence[Scene], variants: Sequence[str] = VARIANTS,
             project_cfg: ProjectConfig | None = None, mix_cfg: MixConfig | None = None,
             inpaint: Callable | None = None, net=None, cache: dict | None = None) -> dict[str, Completion]:
    """Run the requested ``variants`` on ``scenes``; returns ``{variant: Completion}``.

    Projections are shared between variants (and kept in ``cache`` if given: keys "masked",
    "masked_masked", "unmasked", "inpainted"). ``inpaint``: a completion function for
    ``"inpaint-first"`` (default: :func:`inpainter` of ``glcic_mouth64``).
    """
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"unknown variants {bad}; known: {VARIANTS}")
    if not scenes:
        raise ValueError("scenes is empty")
    cache = {} if cache is None else cache
    mix_cfg = mix_cfg or MixConfig()
    masked, lm, masks = _stack(scenes, "masked"), _stack(scenes, "landmarks"), _stack(scenes, "mask")
    shape = masked.shape[1:3]

    def proj(key):
        if key in cache:
            return cache[key]
        t = time.perf_counter()
        if key == "masked":
            out = project_photos(G, masked, lm, cfg=project_cfg, net=net)
        elif key == "masked_masked":
            out = project_photos(G, masked, lm, masks, cfg=project_cfg, net=net)
        elif key == "unmasked":
            out = project_photos(G, _stack(scenes, "unmasked"), _stack(scenes, "unmasked_landmarks"),
                                 cfg=project_cfg, net=net)
        elif key == "inpainted":
            fn = inpaint or inpainter()
            x = torch.stack([to_tensor(m) for m in masked])
            mt = torch.from_numpy(masks.astype(np.float32))[:, None]
            filled = to_uint8(fn(x * (1 - mt), mt))
            cache["inpainted_photos"] = filled
            out = project_photos(G, filled, lm, cfg=project_cfg, net=net)
        else:
            raise KeyError(key)
        cache[key] = out
        cache[key + "_seconds"] = time.perf_counter() - t
        return out

    results = {}
    for v in variants:
        t = time.perf_counter()
        if v in ("projection", "masked projection"):
            p, M = proj("masked" if v == "projection" else "masked_masked")
            ws, noises = p.ws, p.noises
        else:
            src = {"seed": "masked", "masked + mix": "masked_masked", "inpaint-first": "inpainted"}[v]
            pm, M = proj(src)
            pu, _ = proj("unmasked")
            ws, noises = mix_latents(G, pm, pu, None, mix_cfg)
        gen, aligned = generate_in_photo(G, ws, noises, M, shape)
        blended = np.stack([poisson_blend(masked[i], gen[i], masks[i], dilate=BLEND_DILATE) for i in range(len(scenes))])
        pasted = np.stack([paste(masked[i], gen[i], masks[i]) for i in range(len(scenes))])
        results[v] = Completion(v, blended, pasted, gen, aligned, ws, time.perf_counter() - t)
    return results

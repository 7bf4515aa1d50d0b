"""The landmark-and-label paper: a landmark predictor that reads the damaged face *and a label*, with three new losses.

LaFIn (Yang, Qi, Shi 2020, "LaFIn: Generative Landmark Guided Face Inpainting") completes a face in
two stages: a **landmark predictor** (MobileNetV2) guesses the 68 landmarks from the damaged face,
then an **inpainting generator** fills the hole guided by a map of those landmarks. The landmark-and-label paper
changes only the first stage: its input becomes the damaged face plus one channel made from the
CelebA ``Smiling`` label, a second fully connected head predicts that label, and three losses join
LaFIn's landmark loss. The inpainting stage (:mod:`helpers.lafin.inpainter`) is LaFIn's and is
shared, unchanged, by the baseline and the proposal. Shown in notebook 03.

This file: the fields both networks share (:class:`SharedConfig`), the predictor's config
(:class:`PredictorConfig`; the run's config :class:`helpers.lafin.train.Config` adds the
inpainter's), the label channel, the predictor, the
damage (holes from landmarks) and the landmark map; its four losses and training step are in
:mod:`helpers.lafin.losses`.

Images are float (N, 3, H, W) in [-1, 1], RGB; landmarks (N, 68, 2) pixels x, y (iBUG, 0-based);
masks (N, 1, H, W) with 1 = hole; labels (N,) int64, 1 = Smiling, 0 = No_Smiling (the paper's +1 / -1).

Choices where the seed or LaFIn leave room (each one a config field)
---------------------------------------------------------------------
* ``label_map``: the seed embeds the label to 16 numbers and "replicates" them to one image-sized
  channel. ``"grid"`` (default, reading (a)): the 16 numbers as a 4x4 image, nearest-upsampled to
  the input size; ``"broadcast"`` (reading (b)): a linear map to one number, broadcast.
* ``distance``: the corner and lip losses compare a distance "per coordinate index i".
  ``"vector"`` (default): i indexes the two components of the difference vector,
  ``D^(i) = (p_b - p_a)_i`` for i in {x, y}, and the loss is ``sum_i |D̂^(i) - D^(i)|`` (the reading of
  :func:`helpers.faces.landmarks.mouth_corner_vector`); ``"scalar"``: one Euclidean length per face.
* ``lips``: which points give "the distance between the lips". ``"inner"`` (default): 62 and 66,
  the middle of the inner upper and lower lip, i.e. how far the mouth is open (0 when closed), the
  part of the expression a face mask hides and a smile with teeth changes; ``"outer"``: 51 and 57,
  the outer height of the mouth (lip thickness included).
* ``head_init``: LaFIn initialises the landmark layer's bias at 0 (all points start at the image
  corner). ``"mean_shape"`` (quick, demo) starts them at the mean face of the training data, which
  short CPU runs need; ``"zero"`` is LaFIn's (full profile).
* ``lm_loss``: ``"l2"`` (LaFIn's norm of the 136-d error, default) or ``"wing"`` (Feng et al.
  2018, not LaFIn's): see :func:`helpers.lafin.losses.landmark_loss`.
* ``head``: ``"pooled"`` (LaFIn, default): the landmark layer reads features averaged over space,
  so where a part of the face is must be coded in the channels; ``"spatial"`` (not LaFIn's) adds a
  second linear layer on the last map kept as a grid (1x1 conv to 32 channels, flattened), whose
  weights start at zero so that a released predictor continues from exactly its own output.
* ``variant``: which of the paper's additions are on (the ablation of notebook 03 §7):
  ``baseline`` (LaFIn), ``label`` (+ label input), ``label_corner``, ``label_lip``, ``label_state``
  (+ one loss each) and ``ours`` (label input + all three losses). Loss weights: ``w_*``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from helpers.core.config import Config as BaseConfig
from helpers.core.images import check_images
from helpers.faces import masks as face_masks
from helpers.faces.landmarks import hflip, inter_ocular, mean_shape

__all__ = ["SharedConfig", "PredictorConfig", "PREDICTOR_PROFILES", "NETS", "VARIANTS", "DAMAGES", "LabelChannel",
           "LandmarkHead", "LandmarkPredictor", "damage", "damage_masks", "landmark_map", "check_landmarks",
           "check_labels", "build_predictor", "predict", "nme", "make_adam"]

NETS = ("predictor", "inpainter")
#: variant -> (label input?, the paper's losses switched on)
VARIANTS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "baseline": (False, ()),
    "label": (True, ()),
    "label_corner": (True, ("corner",)),
    "label_lip": (True, ("lip",)),
    "label_state": (True, ("state",)),
    "ours": (True, ("corner", "lip", "state")),
}
#: training holes: the paper's lower half of the face, a surgical/cloth face-mask shape, or half of each
DAMAGES = ("halfface", "facemask", "mixed")
HOLE_FILL = 1.0    # LaFIn fills holes with white (1 in [0, 1]; 1 in [-1, 1] too)


# ---------------------------------------------------------------------------------------- config
@dataclass
class SharedConfig(BaseConfig):
    """The fields both networks of a run share: which network, the data, the training holes, the run.

    :class:`PredictorConfig` (here) and :class:`helpers.lafin.inpainter.InpainterConfig` add each
    network's own fields; :class:`helpers.lafin.train.Config` is both (one flat config per run, so
    ``--set`` and every release manifest name the same keys as before the split).
    """

    net: str = "predictor"             # which network this run trains
    size: int = 64
    batch: int = 4
    steps: int = 12
    # -- data (SynthFaces or a folder in the on-disk format with 68 landmarks [+ smiling])
    n_train: int = 64                  # SynthFaces rendered once and held in memory
    data_seed: int = 0
    expression: str = "mixed"          # SynthFaces mouths: "mixed" (half free AUs, half happiness
                                       # preset), "free" (independent AUs) or "presets" (8 expressions)
    data_split: Optional[str] = "train"
    damage: str = "halfface"           # training holes (DAMAGES), drawn from the true landmarks
    margin_jitter: float = 0.04        # half-face hole margin 0.08 +- this (uniform)
    flip: bool = True                  # LaFIn's horizontal flip augmentation (landmarks re-indexed)
    lr: float = 1e-3                   # Adam (LaFIn: 1e-4, weight decay 1e-6; short runs 1e-3)
    betas: tuple = (0.9, 0.999)        # Adam betas (predictor: torch's default as LaFIn; inpainter (0, 0.9))
    # -- run-only
    eval_n: int = 64                   # test faces measured every eval_every steps
    log_every: int = 5
    save_every: int = 50

    RUN_ONLY: ClassVar = BaseConfig.RUN_ONLY + ("eval_n",)
    CHOICES: ClassVar = {**BaseConfig.CHOICES, "net": NETS, "damage": DAMAGES,
                         "expression": ("mixed", "free", "presets")}
    POSITIVE: ClassVar = BaseConfig.POSITIVE + ("n_train", "lr", "eval_n")

    def check(self) -> None:
        if self.size % 32 or self.size < 32:
            raise ValueError(f"size must be a multiple of 32 (MobileNetV2 and the generator downsample), got {self.size}")
        if not 0 <= self.margin_jitter < 0.08:
            raise ValueError(f"margin_jitter must be in [0, 0.08), got {self.margin_jitter}")
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas}")


@dataclass
class PredictorConfig(SharedConfig):
    """The landmark predictor's fields: LaFIn's MobileNetV2, the paper's label channel and losses, real-face crops."""

    variant: str = "ours"
    width_mult: float = 0.35           # MobileNetV2 width (1.0 = LaFIn; demo and full)
    embed_dim: int = 16                # the paper's 16-d label embedding
    label_map: str = "grid"            # "grid" (reading a) | "broadcast" (reading b)
    distance: str = "vector"           # "vector" | "scalar" reading of "per coordinate index i"
    lips: str = "inner"                # "inner" (62-66) | "outer" (51-57)
    head_init: str = "mean_shape"      # "mean_shape" | "zero" (LaFIn)
    lm_loss: str = "l2"                # "l2" (LaFIn: norm of the 136-d error) | "wing" (Feng et al. 2018)
    head: str = "pooled"               # "pooled" (LaFIn: features averaged over space) | "spatial" (+ the last map's layout)
    w_landmark: float = 1.0
    w_corner: float = 1.0
    w_lip: float = 1.0
    w_state: float = 1.0
    weight_decay: float = 1e-6
    lr_schedule: str = "constant"      # "constant" (LaFIn) | "cosine" (to 2 % at the end)
    init_release: Optional[str] = None  # start from a released predictor's weights (e.g. real faces
                                       # fine-tuned from the SynthFaces baseline); None = from scratch
    affine: float = 0.0                # random rotation (deg = 15 x affine), scale and shift: real faces
    # -- real photos (a folder): which crops the predictor trains on (helpers.lafin.crops)
    crops: str = "landmarks"           # "landmarks" (the crop of the true landmarks, holes from them)
                                       # | "detector" (MTCNN / dlib boxes, drawn masks, no hole known)
    crop_mix: tuple = (0.35, 0.35, 0.15, 0.15)   # "detector": unmasked, drawn mask, half-face hole, face-mask hole
    landmark_crop: float = 0.25        # "detector": share of crops from the jittered landmark rule (second pass)

    CHOICES: ClassVar = {**SharedConfig.CHOICES, "variant": tuple(VARIANTS), "label_map": ("grid", "broadcast"),
                         "distance": ("vector", "scalar"), "lips": ("inner", "outer"),
                         "head_init": ("mean_shape", "zero"), "lm_loss": ("l2", "wing"), "head": ("pooled", "spatial"), "lr_schedule": ("constant", "cosine"),
                         "crops": ("landmarks", "detector")}
    POSITIVE: ClassVar = SharedConfig.POSITIVE + ("width_mult", "embed_dim")

    @property
    def label_input(self) -> bool:
        """Does the predictor read the label channel (every variant except ``baseline``)?"""
        return VARIANTS[self.variant][0]

    @property
    def seed_losses(self) -> tuple[str, ...]:
        """The paper's losses this variant trains with (subset of corner, lip, state)."""
        return VARIANTS[self.variant][1]

    def check(self) -> None:
        super().check()
        if self.embed_dim != 16 and self.label_map == "grid" and int(round(self.embed_dim ** 0.5)) ** 2 != self.embed_dim:
            raise ValueError(f"label_map='grid' needs a square embed_dim (16 = 4x4), got {self.embed_dim}")
        if not 0 <= self.affine <= 1:
            raise ValueError(f"affine must be in [0, 1], got {self.affine}")
        if len(self.crop_mix) != 4 or min(self.crop_mix) < 0 or sum(self.crop_mix) <= 0:
            raise ValueError(f"crop_mix must be four shares >= 0 (unmasked, drawn, halfface, facemask), got {self.crop_mix}")
        if not 0 <= self.landmark_crop <= 1:
            raise ValueError(f"landmark_crop must be in [0, 1], got {self.landmark_crop}")
        if self.crops == "detector" and self.data == "synthfaces":
            raise ValueError("crops='detector' needs a face folder (--data) whose photos the detectors read")
        for k in ("w_landmark", "w_corner", "w_lip", "w_state", "weight_decay"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")


#: the predictor's changes to the dataclass defaults, per profile
PREDICTOR_PROFILES: dict[str, dict] = {
    "quick": dict(width_mult=0.35, size=64, batch=4, steps=12, n_train=64, lr=1e-3),
    # 128 px SynthFaces, one CPU budget of about 15 minutes per released predictor
    "demo": dict(width_mult=1.0, size=128, batch=16, steps=1000, n_train=6000, lr=1e-3, lr_schedule="cosine",
                 eval_every=300, eval_n=128, log_every=20, save_every=200, save_minutes=5.0),
    # the seed: CelebA-HQ with FAN landmarks, 256 px, batch 16, 1,000,000 iterations, LaFIn's Adam
    "full": dict(width_mult=1.0, size=256, batch=16, steps=1_000_000, n_train=27_998, lr=1e-4, head_init="zero",
                 precision="fp32", workers=4, eval_every=20_000, eval_n=500, log_every=100,
                 save_every=5000, save_minutes=20.0),
}
PredictorConfig.PROFILES = {k: PREDICTOR_PROFILES[k] for k in ("demo", "full")}

# -------------------------------------------------------------------------------------- checks
def check_landmarks(landmarks, name: str = "landmarks", n: int | None = None) -> torch.Tensor:
    """Raise ValueError unless ``landmarks`` is a finite float tensor (N, 68, 2) (N = ``n`` if given)."""
    if not torch.is_tensor(landmarks) or landmarks.ndim != 3 or tuple(landmarks.shape[1:]) != (68, 2):
        raise ValueError(f"{name} must be a float tensor (N, 68, 2) of pixel x, y, got "
                         f"{tuple(landmarks.shape) if torch.is_tensor(landmarks) else type(landmarks).__name__}")
    if not landmarks.is_floating_point() or not bool(torch.isfinite(landmarks).all()):
        raise ValueError(f"{name} must be finite floats")
    if n is not None and len(landmarks) != n:
        raise ValueError(f"{name} has {len(landmarks)} faces, expected {n}")
    return landmarks


def nme(pred: torch.Tensor, true: torch.Tensor, points=None) -> torch.Tensor:
    """Normalised mean error per face (the measure of every landmark table) (N,): mean over ``points`` (default all 68) of |p̂ - p| / |p36 - p45|."""
    check_landmarks(pred, "pred")
    check_landmarks(true, "true", n=len(pred))
    idx = list(points) if points is not None else list(range(68))
    d = (pred[:, idx].float() - true[:, idx].float()).norm(dim=-1).mean(1)
    return d / inter_ocular(true.float()).clamp_min(1e-6)


def check_labels(labels, n: int) -> torch.Tensor:
    """Raise ValueError unless ``labels`` is an int tensor (n,) of 0 (No_Smiling) / 1 (Smiling)."""
    if not torch.is_tensor(labels) or labels.shape != (n,) or labels.is_floating_point():
        raise ValueError(f"labels must be an int tensor ({n},) of 0 = No_Smiling, 1 = Smiling, got "
                         f"{tuple(labels.shape) if torch.is_tensor(labels) else type(labels).__name__}")
    if n and not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError(f"labels must be 0 (No_Smiling) or 1 (Smiling), got values {labels.unique().tolist()}")
    return labels


def _check_masks(masks, images) -> None:
    if not torch.is_tensor(masks) or masks.ndim != 4 or masks.shape[1] != 1 or masks.shape[0] != images.shape[0] \
            or masks.shape[-2:] != images.shape[-2:]:
        raise ValueError(f"masks must be (N, 1, H, W) matching images {tuple(images.shape)}, got "
                         f"{tuple(masks.shape) if torch.is_tensor(masks) else type(masks).__name__}")


# ---------------------------------------------------------------------------------- the predictor
class LabelChannel(nn.Module):
    """labels (N,) in {0, 1} -> one label channel (N, 1, S, S): the paper's input 256x256x(3+1).

    ``Embedding(2, 16)`` gives a learned 16-d vector per label; ``mode="grid"`` (reading (a)) lays
    it out as a 4x4 image and nearest-upsamples it to S x S (x64 at 256 px, x32 at 128 px);
    ``mode="broadcast"`` (reading (b)) maps it linearly to one value that fills the channel.
    """

    def __init__(self, size: int, embed_dim: int = 16, mode: str = "grid"):
        super().__init__()
        if mode not in ("grid", "broadcast"):
            raise ValueError(f"mode must be 'grid' or 'broadcast', got {mode!r}")
        self.size, self.mode, self.embed_dim = int(size), mode, int(embed_dim)
        self.embed = nn.Embedding(2, embed_dim)
        self.side = int(round(embed_dim ** 0.5))
        self.project = nn.Linear(embed_dim, 1) if mode == "broadcast" else None

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        check_labels(labels, len(labels))
        e = self.embed(labels)                                              # (N, 16)
        if self.mode == "grid":
            g = e.view(-1, 1, self.side, self.side)                         # (N, 1, 4, 4)
            return F.interpolate(g, size=(self.size, self.size), mode="nearest")
        return self.project(e).view(-1, 1, 1, 1).expand(-1, 1, self.size, self.size)


class LandmarkHead(nn.Module):
    """LaFIn's multi-scale head: (mid (N, 320, s, s), last (N, 1280, s, s)) -> features (N, 320).

    Three summaries are concatenated: a 1x1 conv of the last inverted-residual map (320 -> 128,
    averaged over space), a 1x1 conv of the final 1280-channel map (-> 128, averaged) and the
    averaged 1280-channel map through a 1x1 conv to 64 and a PReLU. The landmark layer (and the
    seed's label layer) read this 320-d vector.
    """

    def __init__(self, c_mid: int = 320, c_last: int = 1280):
        super().__init__()
        self.node1 = nn.Conv2d(c_mid, 128, 1)
        self.node2 = nn.Conv2d(c_last, 128, 1)
        self.final = nn.Conv2d(c_last, 64, 1)
        self.prelu = nn.PReLU()

    def forward(self, mid: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        n1 = self.node1(mid).mean((2, 3))
        n2 = self.node2(last).mean((2, 3))
        f = self.prelu(self.final(last.mean((2, 3), keepdim=True)).flatten(1))
        return torch.cat([n1, n2, f], 1)


class LandmarkPredictor(nn.Module):
    """Damaged face (N, 3, S, S) [+ labels (N,)] -> landmarks (N, 68, 2) px [+ label logits (N, 2)].

    The trunk is torchvision's MobileNetV2 (``features``, trained from scratch; its first
    convolution takes 4 channels when ``label_input``); :class:`LandmarkHead` summarises it; a
    linear layer gives 136 numbers that, times S, are the landmark coordinates (LaFIn). With
    ``label_head`` a second linear layer gives the paper's 2-d label vector (No_Smiling, Smiling).
    """

    def __init__(self, size: int = 256, label_input: bool = False, label_head: bool = False,
                 width_mult: float = 1.0, embed_dim: int = 16, label_map: str = "grid",
                 head_init: str = "zero", head: str = "pooled"):
        super().__init__()
        if head not in ("pooled", "spatial"):
            raise ValueError(f"head must be 'pooled' or 'spatial', got {head!r}")
        self.size, self.label_input, self.has_label_head = int(size), bool(label_input), bool(label_head)
        feats = torchvision.models.mobilenet_v2(weights=None, width_mult=width_mult).features
        stem = feats[0][0]
        if label_input:
            feats[0][0] = nn.Conv2d(4, stem.out_channels, 3, 2, 1, bias=False)
            nn.init.kaiming_normal_(feats[0][0].weight, mode="fan_out")
        self.trunk = feats[:-1]                      # ... -> the 320-channel inverted residual
        self.last = feats[-1]                        # 1x1 conv to 1280 + BN + ReLU6
        self.label = LabelChannel(size, embed_dim, label_map) if label_input else None
        self.head = LandmarkHead(feats[-2].out_channels, feats[-1].out_channels)
        self.fc_landmark = nn.Linear(320, 136)
        self.fc_label = nn.Linear(320, 2) if label_head else None
        self.spatial = self.fc_spatial = None
        if head == "spatial":                        # the last map as a grid: where each feature is
            side = self.size // 32
            self.spatial = nn.Sequential(nn.Conv2d(feats[-1].out_channels, 32, 1), nn.PReLU(), nn.Flatten())
            self.fc_spatial = nn.Linear(32 * side * side, 136)
        for fc in (self.fc_landmark, self.fc_label):
            if fc is not None:
                nn.init.normal_(fc.weight, 0.0, 0.01)
                nn.init.zeros_(fc.bias)
        if head_init == "mean_shape":
            with torch.no_grad():
                self.fc_landmark.bias.copy_(torch.from_numpy((mean_shape(size) + 0.5) / size).reshape(-1))
        elif head_init != "zero":
            raise ValueError(f"head_init must be 'mean_shape' or 'zero', got {head_init!r}")
        if self.fc_spatial is not None:
            nn.init.zeros_(self.fc_spatial.weight)
            nn.init.zeros_(self.fc_spatial.bias)

    def forward(self, damaged: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
        check_images(damaged, "damaged", size=self.size)
        x = damaged
        if self.label_input:
            if labels is None:
                raise ValueError("this predictor reads a label channel: pass labels (N,) of 0/1")
            x = torch.cat([x, self.label(check_labels(labels, len(x))).to(x.dtype)], 1)
        x = x.contiguous(memory_format=torch.channels_last)
        mid = self.trunk(x)
        last = self.last(mid)
        f = self.head(mid, last)
        z = self.fc_landmark(f)
        if self.spatial is not None:
            z = z + self.fc_spatial(self.spatial(last))
        lm = z.float().view(-1, 68, 2) * self.size - 0.5
        out = {"landmarks": lm, "features": f}
        out["label_logits"] = self.fc_label(f).float() if self.fc_label is not None else None
        return out


def build_predictor(cfg: PredictorConfig) -> LandmarkPredictor:
    """A fresh predictor for ``cfg`` (its variant decides label input and label head)."""
    return LandmarkPredictor(cfg.size, cfg.label_input, "state" in cfg.seed_losses, cfg.width_mult,
                             cfg.embed_dim, cfg.label_map, cfg.head_init, cfg.head)


# --------------------------------------------------------------------------------- damage and maps
def damage(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The damaged face LaFIn's networks read: ``images * (1 - masks) + masks`` (holes white)."""
    return images * (1 - masks) + HOLE_FILL * masks


def damage_masks(landmarks: torch.Tensor, size: int, kind: str = "halfface",
                 generator: torch.Generator | None = None, margin_jitter: float = 0.0) -> torch.Tensor:
    """Holes (N, 1, S, S) placed from ``landmarks`` (N, 68, 2): ``kind`` in :data:`DAMAGES`.

    ``halfface``: the paper's lower half of the face (:func:`helpers.faces.masks.half_face_mask`,
    margin 0.08 +- ``margin_jitter``); ``facemask``: a surgical or cloth face-mask shape
    (:func:`helpers.faces.masks.face_mask_shape`); ``mixed``: each face one of the two at random.
    Random choices come from ``generator`` only (saved with a run; None = a fixed stream, seed 0,
    so that evaluation never touches the global random state).
    """
    check_landmarks(landmarks)
    if kind not in DAMAGES:
        raise ValueError(f"kind must be one of {DAMAGES}, got {kind!r}")
    n = len(landmarks)
    u = torch.rand(n, 3, generator=generator if generator is not None else torch.Generator().manual_seed(0))
    lm = landmarks.detach().float().cpu().numpy()
    lm = np.clip(lm, 0, size - 1)
    out = []
    for i in range(n):
        k = kind if kind != "mixed" else ("halfface" if u[i, 0] < 0.5 else "facemask")
        if k == "halfface":
            margin = 0.08 + margin_jitter * (2 * float(u[i, 1]) - 1)
            out.append(face_masks.half_face_mask(lm[i], size, margin=margin))
        else:
            out.append(face_masks.face_mask_shape(lm[i], size, "surgical" if u[i, 2] < 0.5 else "cloth"))
    return torch.stack(out) if out else torch.zeros(0, 1, size, size)


def landmark_map(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """LaFIn's landmark map: (N, 68, 2) px -> (N, 1, S, S), 1 at each landmark's pixel, 0 elsewhere.

    Coordinates are rounded to the nearest pixel and clamped into the image (as LaFIn clamps them).
    """
    check_landmarks(landmarks)
    n = len(landmarks)
    p = landmarks.detach().round().long().clamp(0, size - 1)
    idx = p[..., 1] * size + p[..., 0]                                 # (N, 68)
    m = torch.zeros(n, size * size, device=landmarks.device)
    m.scatter_(1, idx, 1.0)
    return m.view(n, 1, size, size)


def make_adam(params, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam with torch's fused CPU/GPU kernel where it exists (multi-tensor otherwise)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, foreach=True)


@torch.no_grad()
def predict(P: LandmarkPredictor, damaged: torch.Tensor, labels: torch.Tensor | None = None,
            batch: int = 64, mirror: bool = False) -> dict:
    """Landmarks (N, 68, 2) and, if the predictor has one, label probabilities (N,) = P(Smiling).

    ``damaged``: faces whose holes are already white (:func:`damage`); eval mode, no gradients.
    ``mirror``: average with the prediction on the left-right mirrored faces (landmarks mirrored
    back and re-indexed), the usual flip test-time augmentation: twice the work, and each point
    is read from both sides of the face (notebook 03 §10 measures the gain).
    """
    check_images(damaged, "damaged", size=P.size)
    if P.label_input:
        if labels is None:
            raise ValueError("this predictor reads a label: pass labels (N,) of 0/1")
        check_labels(labels, len(damaged))
    was = P.training
    P.eval()
    dev = next(P.parameters()).device
    lms, probs = [], []
    try:
        for i in range(0, len(damaged), batch):
            lab = labels[i:i + batch].to(dev) if P.label_input else None
            out = P(damaged[i:i + batch].to(dev).float(), lab)
            lms.append(out["landmarks"].float().cpu())
            if out["label_logits"] is not None:
                probs.append(out["label_logits"].float().softmax(1)[:, 1].cpu())
    finally:
        P.train(was)
    out = {"landmarks": torch.cat(lms) if lms else torch.zeros(0, 68, 2),
           "label_prob": torch.cat(probs) if probs else None}
    if mirror and len(damaged):
        back = predict(P, damaged.flip(-1), labels, batch)
        out["landmarks"] = (out["landmarks"] + hflip(back["landmarks"], damaged.shape[-1])) / 2
        if out["label_prob"] is not None:
            out["label_prob"] = (out["label_prob"] + back["label_prob"]) / 2
    return out

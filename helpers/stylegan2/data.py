"""Faces for StyleGAN2: FFHQ-aligned training faces and the paper's evaluation scenes (with truth).

StyleGAN2's FFHQ model was trained on faces aligned by one recipe (eyes level, centred on the eyes
and mouth, a square crop of about 4 eye distances; :func:`helpers.faces.detect.ffhq_quad`); a
photo must be aligned the same way before projection (the StyleGAN2 masked-face paper, step 1). The demo generator is
therefore trained on SynthFaces aligned by the same recipe (:func:`training_faces`), rendered at
twice the size and area-averaged down so the crops are sharp.

A *scene* (:func:`make_scenes`) is the paper's input, drawn by SynthFaces with its exact truth:

- ``masked``: a photo of person p wearing a face mask (pose A, light A), its ``truth`` (the same
  photo without the mask) and the face-mask pixels ``mask``;
- ``unmasked``: another photo of the same person, no mask, another pose, light and background;
- ``donors``: photos of *other* people showing an expression (``"happiness"``: AU6+AU12, the
  seed's joy; ``"surprise"``: AU1+2+5+26) for the optional expression change;
- optionally a *mole* (a small dark spot on the lower cheek, under the face mask) drawn on the
  person in both photos and in the truth, to test the paper's "moles are lost in projection".

Test people come from :data:`TEST_IDENTITIES` (ids 200,000+), never seen in training (the demo
trains on SynthFaces' default ids 0..9,999).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from helpers.core.runtime import bar as tqdm

from helpers.core import runtime
from helpers.core.files import atomic_write
from helpers.core.images import to_tensor
from helpers.faces import detect
from helpers.synthfaces import SynthFaces, expression_aus, render
from helpers.stylegan2.model import Config

__all__ = ["TEST_IDENTITIES", "SCENE_SEED", "align_face", "align_batch", "unalign", "training_faces",
           "Scene", "make_scenes", "draw_mole", "MOLE_POINT"]

TEST_IDENTITIES = range(200_000, 201_000)
SCENE_SEED = 10_001
#: the mole sits between jaw point 4 and mouth corner 48 (40 % of the way): the lower cheek,
#: under a surgical face mask
MOLE_POINT = (4, 48, 0.4)


# ----------------------------------------------------------------------------- alignment
def align_face(image: np.ndarray, landmarks: np.ndarray, size: int, oversample: int = 2):
    """FFHQ-align one face: ``(aligned uint8 (size, size, 3), M 2x3 source -> aligned px, landmarks)``.

    The crop of :func:`helpers.faces.detect.ffhq_align` is taken at ``oversample * size`` and
    area-averaged to ``size`` (sharp, no aliasing). ``image``: uint8 (H, W, 3); ``landmarks``:
    (68, 2) pixels of ``image`` (dlib's for a photo, the truth for SynthFaces).
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    big, M, lm = detect.ffhq_align(image, landmarks, size * oversample)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA) if oversample > 1 else big
    # pixel centres: big index i covers small index (i + 0.5) / k - 0.5
    k = float(oversample)
    S = np.array([[1 / k, 0, 0.5 / k - 0.5], [0, 1 / k, 0.5 / k - 0.5]])
    M2 = S @ np.vstack([M.astype(np.float64), [0, 0, 1]])
    return small, M2.astype(np.float32), detect.apply_affine(M2, landmarks)


def align_batch(images_u8: np.ndarray, landmarks: np.ndarray, size: int):
    """:func:`align_face` for (N, H, W, 3) uint8 + (N, 68, 2): (images (N, 3, size, size) in [-1, 1],
    transforms (N, 2, 3), aligned landmarks (N, 68, 2))."""
    outs = [align_face(np.ascontiguousarray(im), lm, size) for im, lm in zip(images_u8, landmarks)]
    imgs = torch.stack([to_tensor(o[0]) for o in outs])
    return imgs, np.stack([o[1] for o in outs]), np.stack([o[2] for o in outs])


def unalign(aligned_u8: np.ndarray, M: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """Warp an aligned face (size, size, 3) uint8 back into the photo frame ``shape_hw`` (inverse of M)."""
    Minv = cv2.invertAffineTransform(np.asarray(M, np.float64))
    h, w = shape_hw
    return cv2.warpAffine(np.ascontiguousarray(aligned_u8), Minv, (int(w), int(h)), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


# ----------------------------------------------------------------------------- training data
def _render_aligned(faces: SynthFaces, idx: range, size: int, align: str, progress: bool) -> np.ndarray:
    out = np.empty((len(idx), 3, size, size), np.uint8)
    for j, i in enumerate(tqdm(idx, desc=f"SynthFaces, {align}-aligned at {size} px", disable=not progress,
                               mininterval=1.0, leave=False)):
        smp = faces.sample(i)
        if align == "ffhq":
            img = align_face(smp["image"], smp["landmarks"], size)[0]
        else:
            img = cv2.resize(smp["image"], (size, size), interpolation=cv2.INTER_AREA)
        out[j] = img.transpose(2, 0, 1)
    return out


def training_faces(cfg: Config, n: int | None = None, start: int = 0, progress: bool = True) -> torch.Tensor:
    """The run's training faces, uint8 (n, 3, size, size): SynthFaces ``data_seed``, people
    ``range(n_identities)``, no face masks (FFHQ has almost none), rendered at 2x and aligned.

    Cached under ``runs/_cache`` (checked against a fresh rendering of the first and last face).
    """
    n = cfg.n_train if n is None else n
    faces = SynthFaces(seed=cfg.data_seed, size=2 * cfg.size, n_identities=cfg.n_identities,
                       pose_range=cfg.pose_range, length=max(1_000_000, start + n))
    spec = json.dumps(dict(n=n, start=start, size=cfg.size, seed=cfg.data_seed, ids=cfg.n_identities,
                           pose=cfg.pose_range, align=cfg.align, v=1), sort_keys=True)
    path = runtime.RUNS_DIR / "_cache" / f"stylegan2-{hashlib.sha1(spec.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        try:
            arr = np.load(path)
            probe = _render_aligned(faces, range(start, start + 1), cfg.size, cfg.align, False)
            last = _render_aligned(faces, range(start + n - 1, start + n), cfg.size, cfg.align, False)
            if arr.shape == (n, 3, cfg.size, cfg.size) and np.array_equal(arr[0], probe[0]) \
                    and np.array_equal(arr[-1], last[0]):
                return torch.from_numpy(arr)
        except (OSError, ValueError):
            pass
    arr = _render_aligned(faces, range(start, start + n), cfg.size, cfg.align, progress)
    atomic_write(path, lambda f: np.save(f, arr))
    return torch.from_numpy(arr)


# ----------------------------------------------------------------------------- scenes
def draw_mole(image: np.ndarray, landmarks: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """A dark brown spot of ``radius`` px on the lower cheek (:data:`MOLE_POINT`); returns (image, xy)."""
    a, b, t = MOLE_POINT
    xy = (1 - t) * np.asarray(landmarks[a], np.float64) + t * np.asarray(landmarks[b], np.float64)
    out = image.copy()
    shift = 4
    c = (int(round(xy[0] * 16)), int(round(xy[1] * 16)))
    cv2.circle(out, c, max(1, int(round(radius * 16))), (70, 45, 35), -1, cv2.LINE_AA, shift)
    return out, xy.astype(np.float32)


@dataclass
class Scene:
    """The paper's inputs for one person, drawn with their truth (all uint8 HWC RGB, landmarks px)."""

    identity: int
    masked: np.ndarray              # the photo with a face mask
    truth: np.ndarray               # the same photo without the mask (the answer)
    mask: np.ndarray                # (H, W) uint8, 1 = face-mask pixel
    landmarks: np.ndarray           # (68, 2) of the masked photo (= of its truth)
    pose: np.ndarray                # (3,) yaw, pitch, roll of the masked photo
    aus: np.ndarray                 # (17,) AUs of the masked photo
    unmasked: np.ndarray            # another photo of the same person, no mask
    unmasked_landmarks: np.ndarray
    unmasked_pose: np.ndarray
    donors: dict = field(default_factory=dict)        # expression -> dict(image, landmarks, aus, identity)
    mole_xy: np.ndarray | None = None                  # (2,) in the masked photo's pixels, if drawn
    unmasked_mole_xy: np.ndarray | None = None         # (2,) in the unmasked photo's pixels

    def tensors(self) -> dict[str, torch.Tensor]:
        """Masked photo, truth, unmasked photo as (1, 3, H, W) in [-1, 1] and the mask (1, 1, H, W)."""
        return {"masked": to_tensor(self.masked)[None], "truth": to_tensor(self.truth)[None],
                "unmasked": to_tensor(self.unmasked)[None],
                "mask": torch.from_numpy(self.mask.astype(np.float32))[None, None]}


def make_scenes(n: int, size: int = 64, seed: int = SCENE_SEED, expressions=("happiness", "surprise"),
                mole: bool = False, pose_range: float = 15.0, intensity: float = 1.6,
                mask_style: str = "surgical") -> list[Scene]:
    """``n`` fixed scenes (deterministic by ``seed``): test people, the masked photo at a random pose,
    the unmasked photo at another random pose, expression donors (other test people)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    ids = np.asarray(list(TEST_IDENTITIES))
    scenes = []
    for k in range(n):
        pid, did = (int(v) for v in rng.choice(ids, 2, replace=False))
        pr = pose_range
        pa = (rng.uniform(-pr, pr), rng.uniform(-0.6 * pr, 0.6 * pr), rng.uniform(-0.5 * pr, 0.5 * pr))
        pb = (rng.uniform(-pr, pr), rng.uniform(-0.6 * pr, 0.6 * pr), rng.uniform(-0.5 * pr, 0.5 * pr))
        aus_a = np.where(rng.uniform(size=17) < 0.2, rng.uniform(0, 0.6, 17), 0.0)
        aus_b = np.where(rng.uniform(size=17) < 0.2, rng.uniform(0, 0.6, 17), 0.0)
        sa, sb = (int(v) for v in rng.integers(1 << 30, size=2))
        m = render(pid, aus_a, pa, size, mask=mask_style, seed=sa)
        u = render(pid, aus_b, pb, size, seed=sb)
        masked, truth, unmasked, mole_xy, mole_u = m["image"], m["unmasked"], u["image"], None, None
        if mole:
            radius = max(0.8, size / 48)
            truth, mole_xy = draw_mole(truth, m["landmarks"], radius)
            unmasked, mole_u = draw_mole(unmasked, u["landmarks"], radius)
            masked = np.where(m["mask"][:, :, None] > 0, masked, truth)
        donors = {}
        for j, e in enumerate(expressions):
            pe = (rng.uniform(-5, 5), rng.uniform(-3, 3), rng.uniform(-2, 2))
            d = render(did, expression_aus(e, intensity), pe, size, seed=int(rng.integers(1 << 30)))
            donors[e] = dict(image=d["image"], landmarks=d["landmarks"], aus=d["aus"], identity=did)
        scenes.append(Scene(pid, masked, truth, m["mask"], m["landmarks"], m["pose"], m["aus"], unmasked,
                            u["landmarks"], u["pose"], donors, mole_xy, mole_u))
    return scenes

"""Image conventions and the only place where images change representation.

In memory an image is a float tensor in [-1, 1], CHW (one) or NCHW (a batch), RGB. On disk and
for OpenCV/PIL it is uint8 HWC RGB. :func:`to_tensor` and :func:`to_uint8` convert between the two;
:func:`check_images` is the one validation every public function calls on image inputs.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

__all__ = ["to_tensor", "to_uint8", "check_images", "to_unit", "ImageBank", "paste_u8", "poisson_blend", "FILLS"]

#: what fills the hole of the destination photo before Poisson blending (see :func:`poisson_blend`)
FILLS = ("photo", "telea")


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HWC RGB (or HW grey) array -> float CHW tensor in [-1, 1]."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"to_tensor expects a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"to_tensor expects HxWx3 (or HxW) uint8, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float()
    return t.div_(127.5).sub_(1.0)


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """float tensor in [-1, 1], CHW (or NCHW) -> uint8 HWC (or NHWC) RGB array."""
    if not torch.is_tensor(tensor):
        raise ValueError(f"to_uint8 expects a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim not in (3, 4) or tensor.shape[-3] not in (1, 3):
        raise ValueError(f"to_uint8 expects CHW or NCHW with 1 or 3 channels, got {tuple(tensor.shape)}")
    t = tensor.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    if t.shape[-3] == 1:
        t = t.expand(*t.shape[:-3], 3, *t.shape[-2:])
    return t.movedim(-3, -1).numpy()




def paste_u8(photo: np.ndarray, generated: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``generated`` inside ``mask`` (H, W; 1 = hole), ``photo`` elsewhere (uint8 HWC)."""
    return np.where(np.asarray(mask)[:, :, None] > 0, generated, photo)


def poisson_blend(photo: np.ndarray, generated: np.ndarray, mask: np.ndarray, dilate: int = 1,
                  fill: str = "photo", mode: int = cv2.NORMAL_CLONE) -> np.ndarray:
    """Poisson image editing (Pérez et al. 2003, OpenCV ``seamlessClone``) of ``generated`` into the
    ``mask`` region (dilated by ``dilate`` px) of ``photo``: the gradients of ``generated`` inside,
    the colours of ``photo`` on the border. All uint8 (H, W, 3) in one frame; ``mask`` (H, W).

    ``fill`` says what stands in the photo's hole while OpenCV solves: ``"photo"`` leaves the photo as
    given; ``"telea"`` first fills the hole by fast marching (Telea 2004, ``cv2.inpaint``) — GLCIC's
    post-processing, "fast marching followed by Poisson blending". OpenCV takes the photo's
    gradient at the region's edge from pixel differences that reach one pixel into the hole, so a
    flat grey hole leaves a dark or bright rim there; the fast-marching fill continues the
    surrounding colours instead, and nothing of whatever the hole held reaches the result.

    Pixels outside the dilated region are exactly the photo's. OpenCV needs the region inside the
    image: the mask is cut one pixel from the border; an empty mask returns the photo.
    """
    if photo.shape != generated.shape or photo.ndim != 3 or photo.dtype != np.uint8 or generated.dtype != np.uint8:
        raise ValueError(f"photo and generated must be uint8 (H, W, 3) of one shape, got {photo.dtype} "
                         f"{photo.shape}, {generated.dtype} {generated.shape}")
    if mask.shape != photo.shape[:2]:
        raise ValueError(f"mask must be (H, W) = {photo.shape[:2]}, got {mask.shape}")
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
    hole = (np.asarray(mask) > 0).astype(np.uint8)
    if not hole.any():
        return photo.copy()
    dst = np.ascontiguousarray(photo)
    if fill == "telea":
        dst = cv2.inpaint(dst, hole, 3, cv2.INPAINT_TELEA)
    m = hole * 255
    if dilate:
        m = cv2.dilate(m, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    m[:1], m[-1:], m[:, :1], m[:, -1:] = 0, 0, 0, 0
    if not m.any():
        return photo.copy()
    x, y, w, h = cv2.boundingRect(m)
    out = cv2.seamlessClone(np.ascontiguousarray(generated), dst, m.copy(),
                            (x + w // 2, y + h // 2), mode)       # a copy: OpenCV 5 writes into the mask
    return np.where(m[:, :, None] > 0, out, photo)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (float32), the range most published metrics are defined on."""
    return (images.detach().float() + 1.0) / 2.0


def check_images(images, name: str = "images", *, size: int | tuple[int, int] | None = None,
                 channels: int = 3, min_size: int | None = None) -> torch.Tensor:
    """Raise ``ValueError`` unless ``images`` is a float (N, C, H, W) tensor in [-1, 1].

    ``size`` pins H and W (an int for square images), ``channels`` the channel count and
    ``min_size`` the smallest side. Returns the tensor unchanged so calls can be chained.
    """
    if not torch.is_tensor(images):
        raise ValueError(f"{name} must be a float tensor (N, {channels}, H, W) in [-1, 1], "
                         f"got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != channels:
        raise ValueError(f"{name} must have shape (N, {channels}, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be float in [-1, 1], got dtype {images.dtype}")
    if images.numel() and (float(images.min()) < -1.001 or float(images.max()) > 1.001):
        raise ValueError(f"{name} must lie in [-1, 1], got range "
                         f"[{float(images.min()):.3f}, {float(images.max()):.3f}]")
    h, w = images.shape[-2:]
    if size is not None:
        want = (size, size) if isinstance(size, int) else tuple(size)
        if (h, w) != want:
            raise ValueError(f"{name} must be {want[0]}x{want[1]} pixels, got {h}x{w}")
    if min_size is not None and min(h, w) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got {h}x{w}")
    return images


class ImageBank(torch.utils.data.Dataset):
    """uint8 images (N, 3, H, W) held in memory as a dataset of float images in [-1, 1].

    ``batch(indices)`` converts a whole batch at once (what :func:`helpers.core.loop.train` uses
    instead of a DataLoader for in-memory data: no per-item collation, no worker processes).
    """

    def __init__(self, u8: torch.Tensor):
        if not torch.is_tensor(u8) or u8.dtype != torch.uint8 or u8.ndim != 4 or u8.shape[1] != 3:
            raise ValueError(f"ImageBank expects a uint8 tensor (N, 3, H, W), got "
                             f"{getattr(u8, 'dtype', type(u8))} {tuple(getattr(u8, 'shape', ()))}")
        self.u8 = u8

    def __len__(self) -> int:
        return len(self.u8)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.u8[i].float().div(127.5).sub(1.0)

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        return self.u8[idx].float().div_(127.5).sub_(1.0)

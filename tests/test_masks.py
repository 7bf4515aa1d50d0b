"""helpers.faces.masks: seed 002's boxes exactly, their scaling, batch masks, landmark masks."""
import numpy as np
import pytest
import torch

from helpers.faces import masks
from helpers.faces.landmarks import mean_shape
from helpers.synthfaces import SynthFaces


def test_mouth_box_is_seed_002_at_256_and_scales():
    assert masks.mouth_box(256) == (56, 128, 144, 96)
    assert masks.mouth_box() == (56, 128, 144, 96)
    assert masks.mouth_box(128) == (28, 64, 72, 48)
    assert masks.mouth_box(64) == (14, 32, 36, 24)
    m = masks.mouth_mask(256)
    assert m.shape == (1, 256, 256) and m.dtype == torch.float32
    ys, xs = torch.nonzero(m[0], as_tuple=True)
    # x 56..199, y 128..223 inclusive: 144 x 96 pixels
    assert (xs.min().item(), xs.max().item(), ys.min().item(), ys.max().item()) == (56, 199, 128, 223)
    assert m.sum().item() == 144 * 96


def test_glcic_ranges_at_256_are_the_seed_numbers():
    assert masks.glcic_ranges(256) == {"x": (5, 145), "y": (5, 145), "w": (48, 96), "h": (48, 96)}


def test_random_boxes_cover_exactly_the_stated_ranges():
    g = torch.Generator().manual_seed(0)
    b = masks.random_boxes(10_000, 256, g)
    assert b.shape == (10_000, 4) and b.dtype == torch.long
    for col, (lo, hi) in zip(b.T, [(5, 145), (5, 145), (48, 96), (48, 96)]):
        values = set(col.tolist())
        assert values == set(range(lo, hi + 1))  # every value in the inclusive range, nothing else
    # roughly uniform: each of the 141 corner values ~71 times
    counts = torch.bincount(b[:, 0] - 5)
    assert counts.min() > 30 and counts.max() < 120
    # reproducible with the same generator seed
    assert torch.equal(b, masks.random_boxes(10_000, 256, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("size", [64, 128])
def test_random_boxes_scale_and_stay_inside(size):
    r = masks.glcic_ranges(size)
    s = size / 256
    assert r["w"] == (round(48 * s), round(96 * s))
    assert abs(r["x"][0] - 5 * s) <= 0.5 and abs(r["x"][1] - 145 * s) <= 0.5
    b = masks.random_boxes(5_000, size, torch.Generator().manual_seed(1))
    assert set(b[:, 2].tolist()) == set(range(r["w"][0], r["w"][1] + 1))
    assert set(b[:, 0].tolist()) == set(range(r["x"][0], r["x"][1] + 1))
    assert int((b[:, 0] + b[:, 2]).max()) <= size and int((b[:, 1] + b[:, 3]).max()) <= size
    m = masks.boxes_to_masks(b[:50], size)
    assert m.shape == (50, 1, size, size)
    assert torch.equal(m.sum((1, 2, 3)), (b[:50, 2] * b[:50, 3]).float())


def test_boxes_to_masks_matches_box_mask():
    boxes = torch.tensor([[5, 5, 48, 96], [145, 145, 96, 96], [0, 0, 256, 256]])
    m = masks.boxes_to_masks(boxes, 256)
    for k, box in enumerate(boxes.tolist()):
        assert torch.equal(m[k], masks.box_mask(256, box))
    assert masks.box_mask(256, (145, 145, 96, 96))[0, 240, 240] == 1
    assert masks.box_mask(256, (145, 145, 96, 96))[0, 241, 240] == 0


def test_glcic_random_box_accepts_several_rngs():
    a = masks.glcic_random_box(256, 3)
    assert a == masks.glcic_random_box(256, 3)
    b = masks.glcic_random_box(128, np.random.default_rng(0))
    r = masks.glcic_ranges(128)
    assert all(lo <= v <= hi for v, (lo, hi) in zip(b, r.values()))


def test_invalid_inputs_raise_value_error():
    with pytest.raises(ValueError, match="inside"):
        masks.box_mask(256, (200, 200, 96, 96))
    with pytest.raises(ValueError, match="size"):
        masks.mouth_box(4)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        masks.boxes_to_masks(torch.zeros(3, 3), 64)
    with pytest.raises(ValueError, match="68, 2"):
        masks.half_face_mask(np.zeros((5, 2)), 64)
    lm = mean_shape(64)
    lm[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        masks.half_face_mask(lm, 64)


def test_half_face_mask_covers_mouth_chin_not_eyes():
    for size in (64, 128, 256):
        lm = mean_shape(size)
        m = masks.half_face_mask(lm, size)
        assert m.shape == (1, size, size)
        assert set(m.unique().tolist()) <= {0.0, 1.0}
        val = lambda i: m[0, int(round(lm[i, 1])), int(round(lm[i, 0]))].item()  # noqa: E731
        for i in (8, 33, 48, 54, 57, 62, 66, 30, 4, 12):   # chin, nose tip, mouth, lower jaw
            assert val(i) == 1, (size, i)
        for i in (36, 39, 42, 45, 19, 24, 27, 0, 16):      # eyes, brows, upper nose, ears
            assert val(i) == 0, (size, i)
        # top edge is the row of landmark 29, the bottom reaches below the chin
        rows = torch.nonzero(m[0].any(1)).flatten()
        assert abs(rows.min().item() - lm[29, 1]) <= 1
        assert rows.max().item() > lm[8, 1]
        # about the lower half of the face: a quarter of this (face-filling) image
        assert 0.18 < m.mean().item() < 0.35
    batch = masks.half_face_mask(np.stack([mean_shape(64)] * 3), 64)
    assert batch.shape == (3, 1, 64, 64)


def test_half_face_mask_follows_the_landmarks():
    lm = mean_shape(128)
    m0 = masks.half_face_mask(lm, 128)
    m1 = masks.half_face_mask(lm + np.array([10.0, 0.0]), 128)
    assert torch.equal(m1[0, :, 10:], m0[0, :, :-10])


def test_face_mask_shape_uses_the_face_mask_polygon():
    lm = mean_shape(128)
    for style in ("surgical", "cloth"):
        m = masks.face_mask_shape(lm, 128, style)
        assert m.shape == (1, 128, 128)
        assert torch.equal(m, masks.polygon_mask(masks.face_mask_polygon(lm, style), 128))
        assert m[0, int(lm[57, 1]), int(lm[57, 0])] == 1       # covers the mouth
        assert m[0, int(lm[37, 1]), int(lm[37, 0])] == 0       # not the eyes
    # and it is (nearly) the occlusion SynthFaces draws (which adds ear loops and soft edges)
    s = SynthFaces(seed=0, size=128, mask_prob=1.0).sample(0)
    m = masks.face_mask_shape(s["landmarks"], 128, s.get("mask_style", "surgical"))[0].numpy() > 0.5
    g = np.asarray(s["mask"]) > 0
    assert (m & g).sum() / (m | g).sum() > 0.75

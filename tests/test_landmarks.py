"""helpers.faces.landmarks: index groups, distances on numpy and torch batches, normalisation, drawing."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers.faces import landmarks as L  # noqa: E402


def hand_made():
    """All points at (100, 100) except the ones the distances read."""
    lm = np.full((68, 2), 100.0, np.float32)
    lm[48] = (70, 150)   # mouth corners 60 px apart, right corner 4 px higher
    lm[54] = (130, 146)
    lm[51] = (100, 140)  # outer lips 20 px apart
    lm[57] = (100, 160)
    lm[62] = (100, 148)  # inner lips 5 px apart
    lm[66] = (100, 153)
    lm[36], lm[45] = (50, 80), (150, 80)  # outer eye corners 100 px apart
    return lm


def test_groups_cover_68_points_once():
    idx = [i for g in L.GROUPS.values() for i in g]
    assert sorted(idx) == list(range(68))
    assert L.JAW == tuple(range(17)) and L.INNER_LIP == tuple(range(60, 68))
    assert L.MOUTH_CORNERS == (48, 54) and L.NOSE_BRIDGE == (27, 28, 29, 30)
    assert L.RIGHT_EYE[0] == 36 and L.LEFT_EYE[-1] == 47 and L.OUTER_LIP == tuple(range(48, 60))


def test_distances_on_a_hand_made_face():
    lm = hand_made()
    np.testing.assert_allclose(L.mouth_corner_vector(lm), [60, -4])
    assert L.mouth_corner_distance(lm) == pytest.approx(np.hypot(60, 4))
    np.testing.assert_allclose(L.lip_vector(lm), [0, 5])
    assert L.lip_distance(lm) == pytest.approx(5)
    assert L.lip_distance(lm, "outer") == pytest.approx(20)
    assert L.inter_ocular(lm) == pytest.approx(100)
    with pytest.raises(ValueError, match="inner"):
        L.lip_distance(lm, "middle")


def test_torch_batches_match_numpy_and_are_differentiable():
    lm = hand_made()
    batch = torch.tensor(np.stack([lm, lm * 2]), requires_grad=True)          # (2, 68, 2)
    d = L.mouth_corner_distance(batch)
    assert d.shape == (2,)
    torch.testing.assert_close(d, torch.tensor([1.0, 2.0]) * float(np.hypot(60, 4)))
    assert L.mouth_corner_vector(batch).shape == (2, 2)
    assert L.lip_distance(batch[None]).shape == (1, 2)                        # (..., 68, 2)
    (d.sum() + L.lip_distance(batch).sum()).backward()
    assert batch.grad[:, 54].abs().sum() > 0 and batch.grad[:, 0].abs().sum() == 0


def test_shape_validation():
    with pytest.raises(ValueError, match="68, 2"):
        L.mouth_corner_distance(np.zeros((67, 2)))
    with pytest.raises(ValueError, match="68, 2"):
        L.lip_distance(torch.zeros(4, 68, 3))


def test_eye_openness_open_and_closed():
    lm = L.mean_shape(256)
    ear = L.eye_openness(lm)
    assert 0.2 < ear < 0.4
    closed = lm.copy()
    closed[36:42, 1] = lm[36:42, 1].mean()   # both lids on one line
    closed[42:48, 1] = lm[42:48, 1].mean()
    assert L.eye_openness(closed) < 0.05
    assert L.eye_openness(np.stack([lm, closed]), eye="both").shape == (2, 2)


def test_normalise_is_scale_and_translation_invariant():
    lm = L.mean_shape(256)
    moved = lm * 0.5 + np.array([7.0, -3.0], np.float32)
    np.testing.assert_allclose(L.normalise(lm), L.normalise(moved), atol=1e-5)
    assert L.inter_ocular(L.normalise(lm)) == pytest.approx(1.0, abs=1e-6)
    t = L.normalise(torch.tensor(np.stack([lm, moved])))
    torch.testing.assert_close(t[0], t[1], atol=1e-5, rtol=0)


def test_scale_landmarks_pixel_centre_convention():
    lm = L.mean_shape(256)
    small = L.scale_landmarks(lm, 256, 64)
    np.testing.assert_allclose(small, L.mean_shape(64), atol=1e-4)
    np.testing.assert_allclose(L.scale_landmarks(small, 64, 256), lm, atol=1e-3)
    # pixel 0's centre at 2x becomes the centre of pixels 0 and 1: x = 0.5
    assert L.scale_landmarks(np.zeros((68, 2), np.float32), 10, 20)[0, 0] == pytest.approx(0.5)
    assert L.scale_landmarks(np.zeros((68, 2), np.float32), (10, 20), (20, 20))[0].tolist() == [-0.0, 0.5]


def test_hflip_swaps_sides_and_is_an_involution():
    lm = L.mean_shape(128)
    f = L.hflip(lm, 128)
    np.testing.assert_allclose(L.hflip(f, 128), lm, atol=1e-4)
    np.testing.assert_allclose(f, lm, atol=1e-3)   # the mean face is symmetric
    shifted = lm + np.array([5.0, 0.0], np.float32)
    g = L.hflip(shifted, 128)
    assert g[36, 0] == pytest.approx(127 - shifted[45, 0])   # right eye corner <- left eye corner
    assert g[8, 0] == pytest.approx(127 - shifted[8, 0])


def test_draw_draws_every_contour():
    fig, ax = plt.subplots()
    L.draw(ax, L.mean_shape(128), color="red", numbers=True)
    assert len(ax.lines) == len(L.CONTOURS)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 68
    assert len(ax.texts) == 68
    plt.close(fig)


def test_draw_on_image_marks_points_and_keeps_input():
    img = np.zeros((128, 128, 3), np.uint8)
    lm = L.mean_shape(128)
    out = L.draw_on_image(img, lm, color=(255, 0, 0))
    assert out.dtype == np.uint8 and out.shape == img.shape and img.max() == 0
    for i in (0, 30, 48, 66):
        x, y = np.round(lm[i]).astype(int)
        assert out[y, x, 0] > 100 and out[y, x, 1] == 0
    assert out[5, 5].max() == 0
    with pytest.raises(ValueError, match="uint8"):
        L.draw_on_image(img.astype(np.float32), lm)


def test_show_landmarks_draws_several_sets():
    img = torch.zeros(3, 64, 64)
    ax = L.show_landmarks(img, [L.mean_shape(64), L.mean_shape(64) + 2], labels=["true", "pred"], title="t")
    assert ax.get_title() == "t" and len(ax.images) == 1
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 * 68
    assert ax.get_legend() is not None
    plt.close(ax.figure)

"""helpers.faces.detect on a real photo that ships offline (skimage.data.astronaut) and on SynthFaces."""
import numpy as np
import pytest

pytest.importorskip("dlib", reason="dlib not installed (pip install -e .[faces])")
pytest.importorskip("face_recognition_models", reason="face-recognition-models not installed")
skdata = pytest.importorskip("skimage.data")

import cv2  # noqa: E402

from helpers import synthfaces as sf  # noqa: E402
from helpers.faces import detect as D  # noqa: E402


@pytest.fixture(scope="module")
def astro():
    img = skdata.astronaut()                 # 512x512 RGB, one face at about x 175..266, y 76..167
    box = D.detect_faces(img)[0]               # most confident first
    return img, box, D.landmarks68(img, box)


def test_detects_the_face_and_rejects_the_weak_false_positive(astro):
    img, box, _ = astro
    every = D.detect(img, upsample=1, min_score=0.0)     # dlib's own threshold: also the suit badge
    assert len(every) >= 2, "expected dlib to also fire (weakly) on the suit badge"
    kept = D.detect(img, min_score=D.FILTER_MIN_SCORE)    # the scraper filter's threshold
    assert len(kept) == 1
    x0, y0, x1, y1 = kept[0].box
    assert 150 < x0 < 200 and 60 < y0 < 100 and 240 < x1 < 290 and 150 < y1 < 190
    assert kept[0].score > 0.8 > max(d.score for d in every if d.box != kept[0].box)
    assert D.detect_faces(np.full((200, 200, 3), 127, np.uint8)) == []


def test_landmarks_fall_on_the_face(astro):
    img, box, lm = astro
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    x0, y0, x1, y1 = box
    w = x1 - x0
    assert (lm[:, 0] > x0 - 0.2 * w).all() and (lm[:, 0] < x1 + 0.2 * w).all()
    assert (lm[:, 1] > y0 - 0.3 * w).all() and (lm[:, 1] < y1 + 0.3 * w).all()
    eye_r, eye_l, nose, mouth = lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48:60].mean(0)
    assert eye_r[0] < nose[0] < eye_l[0]                  # image-left eye, nose, image-right eye
    assert max(eye_r[1], eye_l[1]) < nose[1] < mouth[1] < lm[8, 1]   # eyes, nose tip, mouth, chin
    # the mouth region is redder than the nose-bridge skin (the landmarks sit on real lips)
    ok, why = D.mouth_visible(img, lm)
    assert ok, why
    assert D.plausible_landmarks(lm, box) == (True, "ok")


def test_embedding_same_face_close_other_content_far(astro):
    img, box, lm = astro
    e = D.face_embedding(img, lm)
    assert e.shape == (128,) and e.dtype == np.float32 and 0.5 < np.linalg.norm(e) < 2
    big = cv2.resize(img, (768, 768), interpolation=cv2.INTER_CUBIC)
    e2 = D.face_embedding(big, D.landmarks68(big))
    assert np.linalg.norm(e - e2) < D.SAME_PERSON_DISTANCE / 2
    noise = np.random.default_rng(0).integers(0, 256, img.shape, dtype=np.uint8)
    assert np.linalg.norm(e - D.face_embedding(noise, lm)) > D.SAME_PERSON_DISTANCE


@pytest.mark.parametrize("size", [256, 96])
def test_ffhq_align_puts_eyes_level_at_ffhq_positions(astro, size):
    img, _, lm = astro
    # tilt the photo by 15 degrees so that the alignment has a roll to undo
    R = cv2.getRotationMatrix2D((256, 256), 15, 1.0)
    tilted = cv2.warpAffine(img, R, (512, 512), borderMode=cv2.BORDER_REFLECT)
    lm_t = D.apply_affine(R, lm)
    out, M, al = D.ffhq_align(tilted, lm_t, size=size)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8 and M.shape == (2, 3)
    np.testing.assert_allclose(al, D.apply_affine(M, lm_t), atol=1e-3)
    eye_r, eye_l = al[36:42].mean(0), al[42:48].mean(0)
    assert abs(eye_r[1] - eye_l[1]) < 0.01 * size, "eyes not level"
    mid = (eye_r + eye_l) / 2
    # FFHQ: eye midpoint on the vertical centre line, a little above the middle (480/1024 in FFHQ),
    # eyes a quarter of the image apart (the recipe's 2 x eye distance half-side dominates here)
    assert abs(mid[0] - size / 2) < 0.02 * size
    assert 0.44 * size < mid[1] < 0.5 * size
    assert 0.22 * size < eye_l[0] - eye_r[0] < 0.26 * size
    assert al[48:60, 1].mean() > mid[1] + 0.15 * size
    np.testing.assert_allclose(D.ffhq_eye_targets(lm_t, size), np.stack([eye_r, eye_l]), atol=1e-3)
    if size >= 128:   # the image moved with the landmarks: re-detected points agree
        again = D.landmarks68(out, box=(0.1 * size, 0.1 * size, 0.9 * size, 0.95 * size))
        assert np.abs(again - al).mean() < 0.02 * size


def test_ffhq_align_near_the_edge_pads_without_black(astro):
    img, _, lm = astro
    crop = img[40:300, 150:420]          # face close to the top/left edge: the FFHQ quad leaves the photo
    lm_c = lm - np.array([150, 40], np.float32)
    black, _, _ = D.ffhq_align(crop, lm_c, size=128, border="constant", fade=False)
    out, _, _ = D.ffhq_align(crop, lm_c, size=128)
    assert out.shape == (128, 128, 3)
    assert (black[:4].sum(-1) == 0).mean() > 0.9, "test setup: the quad should leave the photo at the top"
    assert (out[:4].sum(-1) < 30).mean() < 0.01, "padding should be reflected/blurred, not black"


def test_mouth_crop_puts_the_mouth_in_seed_002_box(astro):
    _, _, lm = astro
    for size in (256, 128):
        M = D.mouth_crop_transform(lm, size=size)
        m = D.apply_affine(M, lm)[48:68]
        k = size / 256
        assert (m[:, 0] > 56 * k).all() and (m[:, 0] < 200 * k).all()
        assert (m[:, 1] > 128 * k).all() and (m[:, 1] < 224 * k).all()
        eyes = D.apply_affine(M, lm)[36:48]
        assert abs(eyes[:6, 1].mean() - eyes[6:, 1].mean()) < 1e-3 * size + 1e-3   # levelled
    # a huge "eye_mouth" is reduced so that the mouth still fits in the hole
    m = D.apply_affine(D.mouth_crop_transform(lm, eye_mouth=400), lm)[48:68]
    assert (m[:, 0] >= 56).all() and (m[:, 0] <= 200).all()


def test_mouth_visible_flags_a_face_mask_and_mouth_outside(astro):
    img, _, lm = astro
    masked = img.copy()
    poly = np.round(np.vstack([lm[1:16], lm[[29]]])).astype(np.int32)
    cv2.fillPoly(masked, [poly], (205, 215, 230))     # pale blue surgical mask with some texture
    noise = np.random.default_rng(1).normal(0, 6, img.shape)
    inside = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inside, [poly], 1)
    masked = np.where(inside[..., None] > 0, np.clip(masked + noise, 0, 255), masked).astype(np.uint8)
    ok, why = D.mouth_visible(masked, lm)
    assert not ok and "occluded" in why
    ok, why = D.mouth_visible(img[:150], lm)          # image cut above the mouth
    assert not ok and "outside" in why


def test_plausibility_rejects_upside_down_points(astro):
    _, box, lm = astro
    flipped = lm.copy()
    flipped[:, 1] = 2 * lm[:, 1].mean() - lm[:, 1]
    ok, why = D.plausible_landmarks(flipped, box)
    assert not ok and "implausible" in why


def test_bad_inputs_raise_clear_errors(astro):
    img, _, lm = astro
    with pytest.raises(ValueError, match="uint8"):
        D.detect_faces(img.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        D.face_embedding(img, lm[:10])
    with pytest.raises(D.NoFaceError):
        D.landmarks68(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="size"):
        D.ffhq_align(img, lm, size=4)


def test_nme():
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 100, (68, 2)).astype(np.float32)
    assert D.nme(g, g) == 0.0
    p = g + np.array([3.0, 4.0], np.float32)           # every point 5 px off
    assert D.nme(p, g) == pytest.approx(5 / np.hypot(*(g[45] - g[36])), rel=1e-5)


def test_synthfaces_mask_is_seen_as_occlusion():
    faces = sf.SynthFaces(seed=0, size=128, mask_prob=1.0)
    flagged = 0
    for i in range(6):
        s = faces.sample(i)
        ok_clean, why = D.mouth_visible(s["unmasked"], s["landmarks"])
        assert ok_clean, why
        flagged += not D.mouth_visible(s["image"], s["landmarks"])[0]
    assert flagged >= 5, f"only {flagged}/6 masked SynthFaces were flagged"


@pytest.mark.parametrize("scale", [1.5, 0.6, 0.2])
def test_warp_moves_pixels_where_apply_affine_moves_points(scale):
    """Also covers the anti-aliasing pre-shrink used for strong down-scaling."""
    img = np.zeros((400, 400, 3), np.uint8)
    cv2.circle(img, (250, 130), 12, (255, 255, 255), -1)
    size = int(400 * scale)
    M = cv2.getRotationMatrix2D((200, 200), 25, scale)   # image centre stays at (200, 200) ...
    M[:, 2] += (size / 2 - 200 + 3, size / 2 - 200 - 2)   # ... then moves near the output centre
    out = D.warp(img, M, size, border="constant").astype(np.float64).sum(-1)
    ys, xs = np.mgrid[:size, :size]
    centre = np.array([(xs * out).sum(), (ys * out).sum()]) / out.sum()
    np.testing.assert_allclose(centre, D.apply_affine(M, [[250, 130]])[0], atol=0.2)

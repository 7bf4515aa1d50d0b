"""SynthFaces: determinism, ground-truth consistency and the direction of every AU."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import synthfaces as sf
from helpers.faces import detect as D
from helpers.faces.data import FaceFolder, read_manifest
from helpers.faces.masks import face_mask_polygon
from helpers.synthfaces.geometry import identity_params, landmarks

STEPS = np.round(np.arange(0, 2.01, 0.4), 1)  # 0, 0.4, ..., 2.0 as in seed 003 Fig. 2.1
IDENTITIES = (0, 1, 7, 42, 123, 4567)


def lm_of(au, v, ident, size=256):
    return landmarks(ident, {au: float(v)}, (0, 0, 0), size).astype(np.float64)


def corner_dist(lm):
    return np.linalg.norm(lm[54] - lm[48])


def corner_y(lm):
    return (lm[48, 1] + lm[54, 1]) / 2


def eye_gap(lm):
    return np.mean([lm[41, 1] - lm[37, 1], lm[40, 1] - lm[38, 1], lm[47, 1] - lm[43, 1], lm[46, 1] - lm[44, 1]])


def upper_lid_y(lm):
    return lm[[37, 38, 43, 44], 1].mean()


def lower_lid_y(lm):
    return lm[[40, 41, 46, 47], 1].mean()


def inner_lip_gap(lm):
    return lm[66, 1] - lm[62, 1]


# AU -> list of (measure, direction): +1 must increase strictly with intensity, -1 decrease
AU_EFFECTS = {
    1: [(lambda l: l[[20, 21, 22, 23], 1].mean(), -1)],                   # inner brows up
    2: [(lambda l: l[[17, 18, 25, 26], 1].mean(), -1)],                   # outer brows up
    4: [(lambda l: l[[20, 21, 22, 23], 1].mean(), +1),                    # brows down ...
        (lambda l: np.linalg.norm(l[22] - l[21]), -1)],                   # ... and together
    5: [(upper_lid_y, -1), (eye_gap, +1)],                                # upper lid up, eye wider
    6: [(lower_lid_y, -1), (eye_gap, -1)],                                # cheeks push the lower lid up
    7: [(lower_lid_y, -1), (eye_gap, -1)],                                # lids tighten
    9: [(lambda l: l[31:36, 1].mean(), -1)],                              # nostrils up
    10: [(lambda l: l[[50, 51, 52], 1].mean(), -1), (inner_lip_gap, +1)],  # upper lip up, teeth show
    12: [(corner_dist, +1), (corner_y, -1)],                              # corners out and up
    14: [(corner_dist, -1)],                                              # corners pulled in
    15: [(corner_y, +1)],                                                 # corners down
    17: [(lambda l: l[8, 1], -1), (lambda l: l[57, 1], -1)],              # chin and lower lip up
    20: [(corner_dist, +1)],                                              # lips stretched sideways
    23: [(lambda l: l[57, 1] - l[51, 1], -1), (corner_dist, -1)],         # thinner, narrower lips
    25: [(inner_lip_gap, +1)],                                            # lips part
    26: [(lambda l: l[8, 1], +1), (inner_lip_gap, +1)],                   # jaw drops, mouth opens
    45: [(eye_gap, -1), (upper_lid_y, +1)],                               # lids close
}


def test_every_au_has_a_tested_effect():
    assert sorted(AU_EFFECTS) == sorted(sf.AUS)
    assert len(sf.AUS) == 17


@pytest.mark.parametrize("au", sf.AUS)
def test_au_moves_landmarks_monotonically_in_the_right_direction(au):
    for ident in IDENTITIES:
        lms = [lm_of(au, v, ident) for v in STEPS]
        for k, (measure, direction) in enumerate(AU_EFFECTS[au]):
            m = np.array([measure(l) for l in lms])
            d = np.diff(m) * direction
            assert np.all(d > 1e-3), f"AU{au} measure {k} on identity {ident} not monotonic: {m}"
            # and visibly so: at least ~1.5 px at 256 px between 0 and 2
            assert (m[-1] - m[0]) * direction > 1.5, f"AU{au} measure {k}: effect too small {m}"


def test_blink_closes_the_eye_and_aus_are_local():
    base = lm_of(45, 0, 3)
    shut = lm_of(45, 2.0, 3)
    assert eye_gap(shut) < 0.05 * eye_gap(base)
    assert np.allclose(base[:36], shut[:36]) and np.allclose(base[48:], shut[48:])  # only eyes move
    for au in (1, 2, 4):  # brow AUs never move the mouth or the jaw
        assert np.allclose(lm_of(au, 2.0, 3)[48:], base[48:])
        assert np.allclose(lm_of(au, 2.0, 3)[:17], base[:17])
    for au in (12, 15, 20, 23, 25):  # lip AUs leave brows and jaw alone
        l2 = lm_of(au, 2.0, 3)
        assert np.allclose(l2[17:27], base[17:27]) and np.allclose(l2[:17], base[:17])


def test_lips_and_lids_never_cross():
    rng = np.random.default_rng(0)
    for i in range(50):
        aus = rng.uniform(0, 3, 17) * (rng.uniform(size=17) < 0.5)
        lm = landmarks(int(rng.integers(10_000)), aus, (0, 0, 0), 256)
        assert np.all(lm[[67, 66, 65], 1] >= lm[[61, 62, 63], 1] - 1e-4)
        assert np.all(lm[[41, 40, 47, 46], 1] >= lm[[37, 38, 43, 44], 1] - 1e-4)


def test_pose_rotates_the_face_the_documented_way():
    f = landmarks(5, np.zeros(17), (0, 0, 0), 256)
    right = landmarks(5, np.zeros(17), (20, 0, 0), 256)
    up = landmarks(5, np.zeros(17), (0, 15, 0), 256)
    cw = landmarks(5, np.zeros(17), (0, 0, 15), 256)
    nose_vs_cheeks = lambda l: l[30, 0] - (l[0, 0] + l[16, 0]) / 2
    assert nose_vs_cheeks(right) > nose_vs_cheeks(f) + 5          # yaw > 0: nose to the image right
    assert (up[30, 1] - up[27, 1]) < (f[30, 1] - f[27, 1]) - 2     # pitch > 0: face tilts up
    eye_slope = lambda l: (l[45, 1] - l[36, 1]) / (l[45, 0] - l[36, 0])
    assert eye_slope(cw) > eye_slope(f) + 0.2                     # roll > 0: clockwise in the image


def test_identities_are_deterministic_and_distinct():
    a, b = identity_params(12), identity_params(12)
    assert a == b
    params = {tuple(round(getattr(identity_params(i), k), 6) for k in ("W", "chin_y", "ex", "nose_w", "mouth_w"))
              for i in range(2000)}
    assert len(params) == 2000
    styles = {identity_params(i).hair_style for i in range(300)}
    assert len(styles) >= 6
    with pytest.raises(ValueError):
        identity_params(-1)


@pytest.fixture(scope="module")
def faces():
    return sf.SynthFaces(seed=3, size=64, mask_prob=0.5)


def test_same_seed_and_index_gives_identical_bytes(faces):
    other = sf.SynthFaces(seed=3, size=64, mask_prob=0.5)
    for i in (0, 5, 999_999):
        a, b = faces.sample(i), other.sample(i)
        for k in ("image", "unmasked", "landmarks", "aus", "pose", "mask"):
            assert a[k].tobytes() == b[k].tobytes(), k
        assert (a["identity"], a["expression"], a["smiling"]) == (b["identity"], b["expression"], b["smiling"])
    assert faces.sample(0)["image"].tobytes() != faces.sample(1)["image"].tobytes()
    assert sf.SynthFaces(seed=4, size=64).sample(0)["image"].tobytes() != faces.sample(0)["image"].tobytes()
    r1 = sf.render(3, {12: 1.0}, (5, 0, 0), 64, "cloth", seed=9)
    r2 = sf.render(3, {12: 1.0}, (5, 0, 0), 64, "cloth", seed=9)
    assert r1["image"].tobytes() == r2["image"].tobytes()


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_ground_truth_is_consistent(size):
    faces = sf.SynthFaces(seed=1, size=size, mask_prob=0.6)
    n_masked = 0
    for i in range(12 if size < 256 else 4):
        s = faces.sample(i)
        img, un, lm, m = s["image"], s["unmasked"], s["landmarks"], s["mask"]
        assert img.shape == un.shape == (size, size, 3) and img.dtype == un.dtype == np.uint8
        assert lm.shape == (68, 2) and lm.dtype == np.float32
        assert m.shape == (size, size) and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 1}
        assert s["aus"].shape == (17,) and s["aus"].dtype == np.float32 and s["aus"].min() >= 0
        assert s["pose"].shape == (3,) and np.all(np.abs(s["pose"]) <= [20, 12, 10])
        assert np.all(lm >= 0) and np.all(lm <= size - 1), "landmarks must lie inside the image"
        assert s["smiling"] == (s["aus"][sf.AUS.index(12)] >= sf.SMILE_THRESHOLD)
        assert -1 <= s["expression"] <= 7
        outside = m == 0
        assert np.array_equal(img[outside], un[outside]), "image differs from unmasked outside the mask"
        if s["mask_style"] is None:
            assert m.sum() == 0 and np.array_equal(img, un)
            continue
        n_masked += 1
        covered = [30, 33, 48, 51, 54, 57, 62, 66]  # nose tip, under the nose, mouth
        xy = np.round(lm[covered]).astype(int)
        assert np.all(m[xy[:, 1], xy[:, 0]] == 1), "the mask must cover the nose tip and the mouth"
        eyes = np.round(lm[[37, 38, 43, 44]]).astype(int)
        assert np.all(m[eyes[:, 1], eyes[:, 0]] == 0), "the mask must leave the eyes free"
        assert np.abs(img[m == 1].astype(int) - un[m == 1]).mean() > 10  # the mask is visible
    assert n_masked >= 2


def test_pixels_follow_the_landmarks():
    """The drawing agrees with the ground truth: an open mouth shows its interior, a shut eye its lid."""
    def patch(d, pts):
        p = np.round(d["landmarks"][pts].mean(0)).astype(int)
        return d["image"][p[1] - 1:p[1] + 2, p[0] - 1:p[0] + 2].reshape(-1, 3).astype(float).mean(0)

    for ident in range(6):
        shut = sf.render(ident, None, size=128, seed=0, gaze=(0, 0))
        open_ = sf.render(ident, {25: 2.0, 26: 2.0}, size=128, seed=0, gaze=(0, 0))
        blink = sf.render(ident, {45: 2.0}, size=128, seed=0, gaze=(0, 0))
        mouth_o, mouth_c = patch(open_, [62, 66]), patch(shut, [62, 66])
        assert mouth_o.sum() < 120 and mouth_c.sum() > mouth_o.sum() + 40, (ident, mouth_o, mouth_c)
        eye_o, eye_c = patch(shut, list(range(36, 42))), patch(blink, list(range(36, 42)))
        assert np.abs(eye_o - eye_c).sum() > 40, (ident, eye_o, eye_c)


def test_expressions_and_smiling():
    assert sf.EXPRESSION_NAMES == ("natural", "happiness", "sadness", "surprise", "fear", "anger",
                                   "disgust", "contempt")
    assert set(sf.EXPRESSIONS["disgust"]) == {9, 15}  # AU16 is not among the 17
    assert set(sf.EXPRESSIONS["fear"]) == {1, 2, 4, 5, 7, 20, 26}
    for name, aus in sf.EXPRESSIONS.items():
        assert set(aus) <= set(sf.AUS)
    a = sf.expression_aus("happiness", 1.5)
    assert a[sf.AUS.index(12)] == pytest.approx(1.5) and a[sf.AUS.index(6)] == pytest.approx(1.5)
    assert a.sum() == pytest.approx(3.0)
    assert sf.render(0, sf.expression_aus("happiness", 1.0))["smiling"]
    assert not sf.render(0, sf.expression_aus("happiness", 0.9))["smiling"]
    faces = sf.SynthFaces(seed=0, size=32, expression="surprise")
    q = faces.params(3)
    assert q["expression"] == 3 and q["aus"][sf.AUS.index(26)] >= faces.intensity[0]
    free = sf.SynthFaces(seed=0, size=32, expression=None)
    assert free.params(0)["expression"] == -1
    counts = np.bincount([sf.SynthFaces(seed=0).params(i)["expression"] for i in range(400)], minlength=8)
    assert counts.min() > 20


def test_face_mask_polygon_and_validation():
    lm = landmarks(0, np.zeros(17), (0, 0, 0), 128)
    for style in sf.MASK_STYLES:
        poly = face_mask_polygon(lm, style)
        assert poly.ndim == 2 and poly.shape[1] == 2 and len(poly) >= 8
        assert poly[:, 1].max() > lm[8, 1] and poly[:, 1].min() < lm[30, 1]  # nose to below chin
    with pytest.raises(ValueError):
        face_mask_polygon(lm[:60])
    with pytest.raises(ValueError):
        face_mask_polygon(lm, "n95")
    with pytest.raises(ValueError):
        sf.render(0, np.zeros(16))
    with pytest.raises(ValueError):
        sf.render(0, {16: 1.0})
    with pytest.raises(ValueError):
        sf.render(0, None, size=8)
    with pytest.raises(ValueError):
        sf.render(0, None, pose=(90, 0, 0))
    with pytest.raises(ValueError):
        sf.SynthFaces(mask_prob=1.5)
    with pytest.raises(IndexError):
        sf.SynthFaces(length=10).sample(10)


def test_dataset_tensors_match_samples():
    ds = sf.SynthFacesDataset(seed=2, size=32, length=8, mask_prob=1.0)
    assert len(ds) == 8
    item, s = ds[3], ds.faces.sample(3)
    assert item["image"].shape == item["unmasked"].shape == (3, 32, 32)
    assert item["image"].dtype == torch.float32 and -1 <= item["image"].min() and item["image"].max() <= 1
    assert item["mask"].shape == (1, 32, 32) and item["mask"].sum() > 0
    assert torch.equal(item["landmarks"], torch.from_numpy(s["landmarks"]))
    assert item["aus"].shape == (17,) and item["pose"].shape == (3,)
    assert item["identity"].item() == s["identity"] and item["smiling"].item() == int(s["smiling"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 32, 32)


def test_export_round_trip(tmp_path):
    root = sf.export(tmp_path / "faces", 6, seed=5, size=32, progress=False, mask_prob=0.5)
    df = read_manifest(root)
    assert len(df) == 6 and {"subject", "expression", "smiling", "split", "AU12", "x30", "yaw"} <= set(df.columns)
    ds = FaceFolder(root)
    faces = sf.SynthFaces(seed=5, size=32, mask_prob=0.5, length=6)
    for i in range(6):
        s, item = faces.sample(i), ds[i]
        assert np.allclose(item["landmarks"].numpy(), s["landmarks"], atol=1e-3)
        assert np.allclose(item["aus"].numpy(), s["aus"], atol=1e-4)
        assert torch.equal(item["image"], torch.from_numpy(s["image"]).permute(2, 0, 1).float() / 127.5 - 1)
        assert torch.equal(item["mask"][0], torch.from_numpy(s["mask"].astype(np.float32)))
    again = sf.export(tmp_path / "faces", 6, seed=5, size=32, progress=False, mask_prob=0.5)  # re-runnable
    assert len(read_manifest(again)) == 6


def test_gallery_au_sweep_and_bench_helpers(tmp_path):
    g = sf.gallery_images(size=32, identities=(0,))
    assert g.shape == (1, 12, 32, 32, 3) and g.dtype == np.uint8
    assert len({g[0, j].tobytes() for j in range(12)}) == 12  # every column differs
    out = sf.gallery(tmp_path / "g.png", size=32, identities=(0, 1))
    assert Image.open(out).size[0] > 12 * 32 and not list(tmp_path.glob(".*tmp*"))  # written atomically
    sweep = sf.au_sweep(1, 26, size=32)
    chin = [s["landmarks"][8, 1] for s in sweep]
    assert len(sweep) == 6 and np.all(np.diff(chin) > 0)
    threads = torch.get_num_threads()
    r = sf.bench(size=32, n=3)
    assert r["faces_per_s"] > 0 and r["faces_per_cpu_s"] > 0
    assert torch.get_num_threads() == threads  # the caller's settings are restored
    with pytest.raises(ValueError):
        sf.au_sweep(1, 16)


def test_a_real_landmark_detector_agrees_with_the_ground_truth():
    """dlib's iBUG 68-point model, run on SynthFaces, lands near our landmarks and sees the AUs."""
    if not D.available():
        pytest.skip("dlib / face_recognition_models not installed")
    for ident in (0, 2):
        got = {}
        for name, aus in (("neutral", None), ("open", {25: 2.0, 26: 2.0}), ("smile", {12: 2.0})):
            s = sf.render(ident, aus, (0, 0, 0), 256, None, seed=ident)
            p, g = D.landmarks68(s["image"]), s["landmarks"]
            io = np.linalg.norm(g[45] - g[36])
            nme = np.linalg.norm(p - g, axis=1).mean() / io
            assert nme < 0.1, f"identity {ident} {name}: dlib NME {nme:.3f} vs ground truth"
            got[name] = p
        assert inner_lip_gap(got["open"]) > inner_lip_gap(got["neutral"]) + 10
        assert corner_dist(got["smile"]) > corner_dist(got["neutral"]) + 5

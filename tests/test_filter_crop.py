"""data_scripts.filter_faces and data_scripts.crop on a folder built here from skimage's astronaut."""
import json
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dlib", reason="dlib not installed (pip install -e .[faces])")
pytest.importorskip("face_recognition_models", reason="face-recognition-models not installed")
skdata = pytest.importorskip("skimage.data")

import cv2  # noqa: E402
from PIL import Image  # noqa: E402

from data_scripts import crop as C  # noqa: E402
from data_scripts import filter_faces as F  # noqa: E402
from helpers import synthfaces as sf  # noqa: E402
from helpers.faces import detect as D  # noqa: E402
from helpers.faces.data import FaceWriter, landmark_columns, read_manifest  # noqa: E402


def _lm(df, i=0):
    return df[landmark_columns()].to_numpy(np.float32)[i].reshape(68, 2)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """A scraped-looking folder: good face, small face, same person again, junk."""
    root = tmp_path_factory.mktemp("raw")
    a = skdata.astronaut()
    big = cv2.resize(a, (800, 800), interpolation=cv2.INTER_CUBIC)          # face box ~145 px
    Image.fromarray(big).save(root / "a_big.jpg", quality=92)
    Image.fromarray(a).save(root / "b_small.png")                           # face box ~91 px
    (root / "sub").mkdir()
    Image.fromarray(np.ascontiguousarray(big[:, ::-1])).save(root / "sub" / "c_same_person.jpg")
    (root / "d_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    png = (root / "b_small.png").read_bytes()
    (root / "e_truncated.png").write_bytes(png[: len(png) // 3])
    Image.fromarray(np.full((300, 300, 3), 120, np.uint8)).save(root / "f_no_face.png")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def filtered(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("filtered")
    s = F.filter_faces(raw, out, upsample=0, progress=False)
    return out, s


def test_filter_keeps_one_face_and_reports_why(filtered):
    out, s = filtered
    rep = pd.read_csv(out / F.REPORT, keep_default_na=False).set_index("source")
    assert s.kept == 1 and rep.loc["a_big.jpg", "status"] == "kept"
    assert rep.loc["b_small.png", "reason"] == "face smaller than 128 px"
    assert rep.loc["sub/c_same_person.jpg", "reason"].startswith("same person")
    assert rep.loc["sub/c_same_person.jpg", "same_as"] == "a_big.jpg"
    assert float(rep.loc["sub/c_same_person.jpg", "distance"]) < 0.6
    assert rep.loc["d_corrupt.jpg", "reason"] == "unreadable image"
    assert rep.loc["e_truncated.png", "reason"] == "unreadable image"
    assert rep.loc["f_no_face.png", "reason"].startswith("no face")
    assert s.skipped["not an image file (by suffix)"] == 1
    df = read_manifest(out)
    assert list(df["file"]) == ["a_big.jpg"] and df.loc[0, "source"] == "a_big.jpg"
    lm = _lm(df)
    x0, y0, x1, y1 = df.loc[0, ["face_x0", "face_y0", "face_x1", "face_y1"]]
    assert (lm[:, 0] > x0 - 30).all() and (lm[:, 0] < x1 + 30).all() and (lm[:, 1] > y0 - 40).all()
    assert not list(out.rglob("*.tmp")), "temp files left behind"


def test_filter_rerun_skips_finished_work(raw, filtered, monkeypatch):
    out, _ = filtered
    before = (out / "manifest.csv").read_bytes()

    def boom(*a, **k):
        raise AssertionError("a finished file was analysed again")

    monkeypatch.setattr(F, "analyse", boom)
    s = F.filter_faces(raw, out, upsample=0, progress=False)
    assert s.kept == 1 and sum(s.skipped.values()) == 6
    assert (out / "manifest.csv").read_bytes() == before
    with pytest.raises(ValueError, match="other settings"):          # decisions would be stale
        F.filter_faces(raw, out, upsample=0, min_face=64, progress=False)


def test_filter_interrupted_leaves_nothing_half_written(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls = {"n": 0}
    real = F.analyse

    def crash_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(F, "analyse", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        F.filter_faces(raw, out, upsample=0, progress=False)
    assert not list(out.rglob("*.tmp"))
    rep = pd.read_csv(out / F.REPORT)
    # sorted order: a_big, b_small, d_corrupt, e_truncated (no analysis needed), f_no_face -> crash
    assert sorted(rep["source"]) == ["a_big.jpg", "b_small.png", "d_corrupt.jpg", "e_truncated.png"]
    df = read_manifest(out)
    assert all((out / f).is_file() for f in df["file"])
    monkeypatch.setattr(F, "analyse", real)
    s = F.filter_faces(raw, out, upsample=0, progress=False)   # resume
    rep = pd.read_csv(out / F.REPORT, keep_default_na=False).set_index("source")
    assert s.kept == 1 and len(rep) == 6
    # the kept face's embedding survived the crash: the mirrored photo is still a repeat
    assert rep.loc["sub/c_same_person.jpg", "same_as"] == "a_big.jpg"


def test_filter_empty_and_missing_folders(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    s = F.filter_faces(empty, tmp_path / "o", progress=False)
    assert s.kept == 0 and "no image files" in capsys.readouterr().err
    assert F.main([str(tmp_path / "missing"), str(tmp_path / "o2")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("mod", [F, C])
def test_cli_help(mod, capsys):
    with pytest.raises(SystemExit) as e:
        mod.main(["--help"])
    assert e.value.code == 0 and "usage" in capsys.readouterr().out


def test_mouth_crop_covers_the_mouth_with_seed_002_box(filtered, tmp_path):
    src, _ = filtered
    out = tmp_path / "mouth"
    assert C.main(["mouth", str(src), str(out), "--quiet"]) == 0
    df = read_manifest(out)
    assert len(df) == 1 and df.loc[0, "source"] == "a_big.jpg"
    img = np.asarray(Image.open(out / df.loc[0, "file"]))
    assert img.shape == (256, 256, 3)
    m = _lm(df)[48:68]
    assert (m[:, 0] > 56).all() and (m[:, 0] < 200).all() and (m[:, 1] > 128).all() and (m[:, 1] < 224).all()
    # the stored affine maps the *original* photo's landmarks (filter manifest) onto the crop
    M = df.loc[0, list(C.AFF_COLUMNS)].to_numpy(np.float64).reshape(2, 3)
    np.testing.assert_allclose(D.apply_affine(M, _lm(read_manifest(src))), _lm(df), atol=0.01)
    # the crop's pixels moved with the landmarks: dlib finds about the same points again
    again = D.landmarks68(img, box=(40, 40, 216, 240))
    assert np.abs(again - _lm(df)).mean() < 6
    assert df.loc[0, "split"] in ("train", "test")
    info = json.loads((out / "data.json").read_text())             # a release names data and licence from it
    assert info["crop"] == "mouth" and info["cropped_from"] == str(src) and "licence" in info


def test_face_crops_v2_v0_and_ffhq(raw, tmp_path):
    cel = tmp_path / "celeba_like"
    cel.mkdir()
    a = skdata.astronaut()
    Image.fromarray(cv2.resize(a[20:290, 110:330], (178, 218))).save(cel / "000001.jpg")
    (cel / "000002.jpg").write_bytes(b"broken")
    s = C.crop_folder("face", cel, tmp_path / "v2", version="v2", progress=False)
    assert s.kept == 1 and s.skipped["unreadable image"] == 1
    v2 = read_manifest(tmp_path / "v2")
    lm = _lm(v2)
    assert np.asarray(Image.open(tmp_path / "v2" / v2.loc[0, "file"])).shape == (128, 128, 3)
    # v2 is the detector box: the face fills the crop (eyes and mouth well inside, jaw near the edges)
    assert lm[:, 0].max() - lm[:, 0].min() > 0.8 * 128
    s = C.crop_folder("face", cel, tmp_path / "v0", version="v0", progress=False)
    v0 = read_manifest(tmp_path / "v0")
    M = v0[list(C.AFF_COLUMNS)].to_numpy()[0].reshape(2, 3)
    np.testing.assert_allclose(M, [[128 / 178, 0, 0], [0, 128 / 178, -20 * 128 / 178]], atol=1e-4)  # centre 178x178
    s = C.crop_folder("ffhq", cel, tmp_path / "ffhq", size=64, progress=False)
    ff = read_manifest(tmp_path / "ffhq")
    e = _lm(ff)
    assert abs(e[36:42, 1].mean() - e[42:48, 1].mean()) < 1.0
    # re-running does no work and changes nothing
    before = (tmp_path / "ffhq" / "manifest.csv").read_bytes()
    C.crop_folder("ffhq", cel, tmp_path / "ffhq", size=64, progress=False)
    assert (tmp_path / "ffhq" / "manifest.csv").read_bytes() == before


def test_split_counts_and_fractions():
    assert C.split_counts(528, 100, 428) == (100, 428, "")
    assert C.split_counts(1000, 100, 428)[:2] == (100, 428)       # extra images unused
    t, tr, note = C.split_counts(53, 100, 428)                      # too few: same proportion
    assert (t, tr) == (10, 43) and "proportion" in note
    assert C.split_counts(50, 0.2, None)[:2] == (10, None)
    with pytest.raises(ValueError):
        C.split_counts(10, -1, None)


def test_mouth_crop_all_test_split_keeps_every_image_in_test(tmp_path):
    """``crop mouth ... --test 52 --train 0`` on 52 faces: 52 test, 0 train (not the 100/528 proportion)."""
    src = sf.export(tmp_path / "faces", 52, size=96, progress=False, split=None)
    out = tmp_path / "mouth"
    assert C.main(["mouth", str(src), str(out), "--size", "32", "--test", "52", "--train", "0", "--quiet"]) == 0
    df = read_manifest(out)
    assert len(df) == 52
    assert (df.split == "test").sum() == 52 and (df.split == "train").sum() == 0
    assert C.split_counts(52, 52, 0) == (52, 0, "")
    # a normal split of the same images still works: counts, and the default 'the rest' for train
    again = tmp_path / "mouth2"
    assert C.main(["mouth", str(src), str(again), "--size", "32", "--test", "12", "--train", "40", "--quiet"]) == 0
    df2 = read_manifest(again)
    assert (df2.split == "test").sum() == 12 and (df2.split == "train").sum() == 40
    assert C.split_counts(52, 12, None) == (12, None, "")
    assert C.split_counts(52, 0, 52) == (0, 52, "")


def test_split_written_deterministically(tmp_path):
    root = tmp_path / "set"
    with FaceWriter(root) as w:
        for i in range(30):
            w.add(np.zeros((8, 8, 3), np.uint8), file=f"{i:03d}.png", subject=str(i % 10))
    note = C.assign_split(root, 0.2, None, seed=3, by_subject=False)
    a = read_manifest(root)["split"].tolist()
    assert a.count("test") == 6 and "6 test" in note
    C.assign_split(root, 0.2, None, seed=3, by_subject=False)
    assert read_manifest(root)["split"].tolist() == a
    C.assign_split(root, 0.3, None, seed=0, by_subject=True)
    df = read_manifest(root)
    assert df.groupby("subject")["split"].nunique().max() == 1      # no person in both splits
    note = C.assign_split(root, 0.3, 5, seed=0, by_subject=True)    # --train caps the training rows
    df2 = read_manifest(root)
    assert (df2.split == "train").sum() == 5 and "unused" in note
    assert (df2.split == "test").tolist() == (df.split == "test").tolist()


def test_crop_refuses_bad_arguments(tmp_path, capsys):
    assert C.main(["face", str(tmp_path / "nope"), str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ValueError, match="different"):
        C.crop_folder("face", tmp_path, tmp_path)
    (tmp_path / "e").mkdir()
    s = C.crop_folder("face", tmp_path / "e", tmp_path / "o", progress=False)
    assert s.kept == 0 and "nothing to do" in capsys.readouterr().err


def test_crop_carries_labels_including_missing_ones(tmp_path):
    src = tmp_path / "src"
    img = skdata.astronaut()[:300, 100:400]
    with FaceWriter(src) as w:
        w.add(img, file="a.png", subject="7", smiling=1, expression="happiness")
        w.add(img, file="b.png", subject="8")                      # smiling / expression missing
    s = C.crop_folder("face", src, tmp_path / "out", version="v0", size=32, progress=False)
    assert s.kept == 2
    df = read_manifest(tmp_path / "out").set_index("file")
    assert df.loc["a.png", "smiling"] == 1 and df.loc["a.png", "subject"] == "7"
    assert pd.isna(df.loc["b.png", "smiling"]) and df.loc["b.png", "source"] == "b.png"


def test_filter_on_exported_synthfaces_keeps_true_landmarks_close(tmp_path):
    src = sf.export(tmp_path / "synth", n=6, seed=0, size=256, progress=False)
    truth = read_manifest(src).set_index("file")
    s = F.filter_faces(src, tmp_path / "f", min_face=100, upsample=0, same_person=None, progress=False)
    assert s.kept >= 4, s.report()
    df = read_manifest(tmp_path / "f")
    for i, source in enumerate(df["source"]):
        gt = truth.loc[source, landmark_columns()].to_numpy(np.float32).reshape(68, 2)
        assert D.nme(_lm(df, i), gt) < 0.1     # dlib's points agree with the exact SynthFaces ones

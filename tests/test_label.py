"""data_scripts.label: OpenFace CSV parsing and wrapper (fake binary), FAN/py-feat offline errors,
dlib landmarks on a folder, CelebA annotations joined into the manifest."""
import stat
import sys
import types
import urllib.error

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from data_scripts import label as L
from helpers.faces.data import AU_COLUMNS, FaceWriter, landmark_columns, read_manifest

# Source of a stand-in for OpenFace: only the standard library, so the fake binary starts fast.
FAKE_OPENFACE = r'''
import os
import sys

AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45)
AU_R = ["AU%02d_r" % a for a in AUS]
AU_C = ["AU%02d_c" % a for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45)]


def openface_csv(rows, image_mode=False):
    """Text in OpenFace's format: ', '-separated header (leading spaces), AU*_r then AU*_c columns."""
    head = ["face", "confidence"] if image_mode else ["frame", "face_id", "timestamp", "confidence", "success"]
    head += ["pose_Tx", "pose_Ty"] + AU_R + AU_C
    lines = [", ".join(head)]
    for r in rows:
        lead = ([r["face"], r["confidence"]] if image_mode else
                [r["frame"], r["face"], 0.04 * r["frame"], r["confidence"], r["success"]])
        vals = lead + [1.5, -3.25] + [float(v) for v in r["aus"]] + [1] * len(AU_C)
        lines.append(", ".join(str(v) for v in vals))
    return "\n".join(lines) + "\n"


def run(argv, image_mode):
    a = dict(zip(argv[::2], argv[1::2]))
    assert "-aus" in argv, argv
    files = sorted(os.listdir(a["-fdir"]))
    rows = []
    for k, f in enumerate(files):
        if "noface" in os.path.realpath(os.path.join(a["-fdir"], f)):
            continue
        aus = [round(0.1 * k + 0.01 * j, 3) for j in range(17)]
        if image_mode:
            with open(os.path.join(a["-out_dir"], f.rsplit(".", 1)[0] + ".csv"), "w") as fh:
                fh.write(openface_csv([dict(face=0, confidence=0.9, aus=aus)], image_mode=True))
        else:
            rows.append(dict(frame=k + 1, face=0, confidence=0.9, success=1, aus=aus))
    if not image_mode:
        with open(os.path.join(a["-out_dir"], "in.csv"), "w") as fh:
            fh.write(openface_csv(rows))


if __name__ == "__main__":
    run(sys.argv[1:], image_mode=os.path.basename(sys.argv[0]).startswith("FaceLandmarkImg"))
'''
_ns: dict = {}
exec(FAKE_OPENFACE, _ns)
openface_csv = _ns["openface_csv"]


def _fake_openface(tmp_path, name):
    """An executable named like OpenFace's binary that writes CSVs the way OpenFace does."""
    script = tmp_path / name
    script.write_text(f"#!{sys.executable} -S\n" + FAKE_OPENFACE)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_read_openface_csv_strips_spaces_and_picks_best_face(tmp_path):
    aus = np.round(np.linspace(0, 5, 17), 2)
    rows = [dict(frame=1, face=0, confidence=0.98, success=1, aus=aus),
            dict(frame=1, face=1, confidence=0.40, success=1, aus=aus * 0),      # weaker second face
            dict(frame=2, face=0, confidence=0.95, success=0, aus=aus)]          # tracking failed
    p = tmp_path / "seq.csv"
    p.write_text(openface_csv(rows))
    t = L.read_openface_csv(p)
    assert list(t.columns[4:]) == list(AU_COLUMNS) and len(t) == 3
    best = L.best_face_aus(t)
    assert set(best) == {1}
    np.testing.assert_allclose(best[1], aus, atol=1e-5)
    p.write_text("frame, face_id, confidence, success, AU01_c\n1, 0, 0.9, 1, 1\n")
    with pytest.raises(ValueError, match="-aus"):
        L.read_openface_csv(p)


@pytest.mark.parametrize("name,image_mode", [("FaceLandmarkImg", True), ("FeatureExtraction", False)])
def test_openface_wrapper_end_to_end_with_fake_binary(tmp_path, name, image_mode):
    root = tmp_path / "faces"
    with FaceWriter(root) as w:
        for f in ("a.png", "b_noface.png", "c.png"):
            w.add(np.full((16, 16, 3), 100, np.uint8), file=f)
        w.add(np.full((16, 16, 3), 100, np.uint8), file="d.png")
    (root / "d.png").unlink()                                           # listed but missing
    binary = _fake_openface(tmp_path, name)
    s = L.label_aus(root, "openface", openface_bin=binary, batch=2, progress=False)
    assert s.kept == 2 and s.skipped["no face found by the AU backend"] == 1
    assert s.skipped["image file missing"] == 1
    df = read_manifest(root).set_index("file")
    # a.png is the first file of its batch, c.png the first of the second batch (batch=2)
    np.testing.assert_allclose(df.loc["a.png", list(AU_COLUMNS)].to_numpy(float), 0.01 * np.arange(17), atol=1e-4)
    np.testing.assert_allclose(df.loc["c.png", list(AU_COLUMNS)].to_numpy(float), 0.01 * np.arange(17), atol=1e-4)
    assert df.loc["b_noface.png", list(AU_COLUMNS)].isna().all()
    assert name in df.loc["a.png", "au_backend"]
    # re-run: only the rows still missing AUs are sent again
    s = L.label_aus(root, "openface", openface_bin=binary, progress=False)
    assert s.kept == 2


def test_openface_missing_gives_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("OPENFACE_BIN", raising=False)
    monkeypatch.delenv("OPENFACE_DIR", raising=False)
    with pytest.raises(L.BackendUnavailable, match="github.com/TadasBaltrusaitis/OpenFace"):
        L.find_openface()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    assert L.main(["aus", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--openface-bin" in err and "pyfeat" in err
    assert not (tmp_path / "manifest.csv").exists(), "nothing written when the backend is missing"


def test_fan_and_pyfeat_offline_errors(monkeypatch):
    monkeypatch.setitem(sys.modules, "face_alignment", None)        # not installed
    with pytest.raises(L.BackendUnavailable, match="pip install face-alignment"):
        L.fan_model()
    monkeypatch.setitem(sys.modules, "feat", None)
    with pytest.raises(L.BackendUnavailable, match="pip install py-feat"):
        L.pyfeat_detector()

    def offline(*a, **k):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    fa = types.SimpleNamespace(LandmarksType=types.SimpleNamespace(TWO_D=1), FaceAlignment=offline)
    monkeypatch.setitem(sys.modules, "face_alignment", fa)           # installed, but offline
    with pytest.raises(L.BackendUnavailable, match="downloads them .* fails offline.*--backend dlib"):
        L.fan_model()
    monkeypatch.setitem(sys.modules, "feat", types.SimpleNamespace(Detector=offline))
    with pytest.raises(L.BackendUnavailable, match="huggingface.co/py-feat.*offline"):
        L.pyfeat_detector()


def test_pyfeat_output_mapped_to_17_aus(tmp_path):
    cols = {f"AU{a:02d}": 0.1 * i for i, a in enumerate((1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 17, 20, 23,
                                                           24, 25, 26, 28, 43))}
    p = [tmp_path / "a.png", tmp_path / "b.png"]

    class Det:
        def detect_image(self, paths):
            rows = [dict(input=paths[0], FaceScore=0.99, **cols),
                    dict(input=paths[0], FaceScore=0.50, **{k: 0.0 for k in cols}),
                    dict(input=paths[1], FaceScore=np.nan, **{k: np.nan for k in cols})]
            return pd.DataFrame(rows)

    got = L.pyfeat_aus(Det(), p)
    assert got[1] is None
    assert got[0][-1] == pytest.approx(cols["AU43"])                  # AU45 <- AU43 (no AU45 in py-feat)
    assert got[0][AU_COLUMNS.index("AU12")] == pytest.approx(cols["AU12"])


def test_dlib_landmarks_on_a_plain_folder(tmp_path):
    pytest.importorskip("dlib", reason="dlib not installed")
    skdata = pytest.importorskip("skimage.data")
    from helpers.faces import detect as D

    img = skdata.astronaut()
    Image.fromarray(img).save(tmp_path / "astro.png")
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(tmp_path / "blank.png")
    assert L.main(["landmarks", str(tmp_path), "--quiet"]) == 0
    df = read_manifest(tmp_path).set_index("file")
    lm = df.loc["astro.png", landmark_columns()].to_numpy(np.float32).reshape(68, 2)
    np.testing.assert_allclose(lm, D.landmarks68(img), atol=0.01)
    assert df.loc[["broken.jpg", "blank.png"], landmark_columns()].isna().all(axis=None)
    s = L.label_landmarks(tmp_path, progress=False)                  # re-run: only the two failures retried
    assert s.kept == 1 and sum(s.skipped.values()) == 2


def test_celeba_join(tmp_path):
    (tmp_path / "list_attr_celeba.txt").write_text(
        "3\n5_o_Clock_Shadow Male Smiling\n"
        "000001.jpg -1  1  1\n000002.jpg  1  1 -1\n000003.jpg -1 -1  1\n")
    (tmp_path / "identity_CelebA.txt").write_text("000001.jpg 2880\n000002.jpg 2937\n000003.jpg 8692\n")
    (tmp_path / "lm.csv").write_text(
        "image_id,lefteye_x,lefteye_y,righteye_x,righteye_y,nose_x,nose_y,leftmouth_x,leftmouth_y,"
        "rightmouth_x,rightmouth_y\n000001.jpg,69,109,106,113,77,142,73,152,108,154\n"
        "000002.jpg,69,110,107,112,81,135,70,151,108,153\n")
    root = tmp_path / "set"
    with FaceWriter(root) as w:                          # crops made from CelebA files, e.g. by data_scripts.crop
        w.add(np.zeros((8, 8, 3), np.uint8), file="000001.png", source="img_align_celeba/000001.jpg",
              aff_00=0.5, aff_01=0.0, aff_02=-10.0, aff_10=0.0, aff_11=0.5, aff_12=-20.0)
        w.add(np.zeros((8, 8, 3), np.uint8), file="000002.png", source="000002.jpg",
              aff_00=1.0, aff_01=0.0, aff_02=0.0, aff_10=0.0, aff_11=1.0, aff_12=0.0)
        w.add(np.zeros((8, 8, 3), np.uint8), file="999999.png", source="999999.jpg",
              aff_00=1.0, aff_01=0.0, aff_02=0.0, aff_10=0.0, aff_11=1.0, aff_12=0.0)
    s = L.label_celeba(root, attr=tmp_path / "list_attr_celeba.txt", identity=tmp_path / "identity_CelebA.txt",
                       landmarks=tmp_path / "lm.csv")
    assert s.kept == 2 and s.skipped["no CelebA annotation row for this image"] == 1
    df = read_manifest(root).set_index("file")
    assert df.loc["000001.png", "smiling"] == 1 and df.loc["000002.png", "smiling"] == 0
    assert pd.isna(df.loc["999999.png", "smiling"])
    assert df.loc["000001.png", "subject"] == "2880" and df.loc["000002.png", "Male"] == 1
    assert df.loc["000001.png", "lefteye_x"] == pytest.approx(69 * 0.5 - 10)    # mapped into the crop
    assert df.loc["000001.png", "lefteye_y"] == pytest.approx(109 * 0.5 - 20)
    assert df.loc["000002.png", "rightmouth_y"] == pytest.approx(153)
    bad = tmp_path / "bad.txt"
    bad.write_text("not a celeba file\n")
    with pytest.raises(ValueError, match="cannot read CelebA"):
        L.label_celeba(root, attr=bad)
    assert L.main(["celeba", str(root), "--attr", str(tmp_path / "missing.txt")]) == 2


def test_au_backends_are_not_mixed(tmp_path):
    root = tmp_path / "faces"
    with FaceWriter(root) as w:
        w.add(np.zeros((8, 8, 3), np.uint8), file="a.png", aus=np.ones(17), au_backend="py-feat (probability)")
        w.add(np.zeros((8, 8, 3), np.uint8), file="b.png")
    with pytest.raises(ValueError, match="must not be mixed"):
        L.label_aus(root, "openface", openface_bin=_fake_openface(tmp_path, "FaceLandmarkImg"), progress=False)

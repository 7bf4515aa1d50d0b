"""data_scripts/prepare_300w.py: the iBUG (.pts) and the CSV layout -> the on-disk format with 68 landmarks."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from data_scripts import prepare_300w as P3
from helpers.faces.data import FaceFolder, read_manifest
from helpers.faces.landmarks import mean_shape


def _face(size=120):
    img = np.full((size, size + 40, 3), 90, np.uint8)
    lm = mean_shape(100) + np.array([30.0, 12.0])              # a face inside a 160x120 photo
    return img, lm.astype(np.float32)


def _write_pts(path, lm, header=True):
    lines = [f"{x:.3f} {y:.3f}" for x, y in lm]
    text = ("version: 1\nn_points: 68\n{\n" + "\n".join(lines) + "\n}\n") if header else "\n".join(lines) + "\n"
    path.write_text(text)


def test_read_pts_with_and_without_header(tmp_path):
    _, lm = _face()
    _write_pts(tmp_path / "a.pts", lm, header=True)
    _write_pts(tmp_path / "b.pts", lm, header=False)
    assert np.allclose(P3.read_pts(tmp_path / "a.pts"), lm, atol=1e-3)
    assert np.allclose(P3.read_pts(tmp_path / "b.pts"), lm, atol=1e-3)
    (tmp_path / "c.pts").write_text("1 2\n3 4\n")
    with pytest.raises(ValueError, match="expected 68 points"):
        P3.read_pts(tmp_path / "c.pts")
    (tmp_path / "d.pts").write_text("1 2 3\n" * 68)
    with pytest.raises(ValueError, match="'x y'"):
        P3.read_pts(tmp_path / "d.pts")


def test_ibug_layout_with_landmark_crop(tmp_path):
    src = tmp_path / "src"
    (src / "afw").mkdir(parents=True)
    img, lm = _face()
    for k in range(3):
        Image.fromarray(img).save(src / "afw" / f"10{k}_1.jpg")
        _write_pts(src / "afw" / f"10{k}_1.pts", lm, header=k != 1)
    Image.fromarray(img).save(src / "afw" / "no_pts.jpg")          # an image without .pts is ignored
    res = P3.prepare(src, tmp_path / "out", size=64, crop="landmarks", test_fraction=0.34, seed=0)
    assert res["found"] == 3 and res["written"] == 3 and res["test"] == 1
    df = read_manifest(tmp_path / "out")
    assert set(df["split"]) == {"train", "test"} and df["subject"].tolist() == ["100", "101", "102"]
    ff = FaceFolder(tmp_path / "out", size=64)
    got = ff[0]["landmarks"].numpy()
    # the 300-W crop: landmark box centred horizontally, 1.6 x its side, raised by 0.1 x side
    (x0, y0), (x1, y1) = got.min(0), got.max(0)
    side = max(x1 - x0, y1 - y0)
    assert side == pytest.approx(64 / P3.CROP_SCALE, rel=0.02)
    assert (x0 + x1) / 2 == pytest.approx(31.5, abs=0.6)
    assert (y0 + y1) / 2 == pytest.approx(31.5 + P3.CROP_SHIFT * side, abs=0.6)
    info = json.loads((tmp_path / "out" / "data.json").read_text())
    assert "research" in info["licence"] and info["n"] == 3
    again = P3.prepare(src, tmp_path / "out", size=64)              # re-runnable: nothing rewritten
    assert again["written"] == 0 and again["already_there"] == 3


def test_csv_layout_with_a_renamed_folder(tmp_path):
    src = tmp_path / "helen68"
    (src / "images" / "helen").mkdir(parents=True)
    img, lm = _face()
    rows = []
    for k in range(4):
        Image.fromarray(img).save(src / "images" / "helen" / f"77{k}_2.jpg")
        rows.append({"file": f"crops256/helen/77{k}_2.jpg", "subset": "helen", "padded": 0,
                     **{f"{c}{i}": lm[i, j] for i in range(68) for j, c in enumerate("xy")}})
    pd.DataFrame(rows).to_csv(src / "landmarks68.csv", index=False)
    res = P3.prepare(src, tmp_path / "out", size=80, crop="none", test_fraction=0.25)
    assert res["written"] == 4 and not res["problems"]
    ff = FaceFolder(tmp_path / "out")
    assert ff[0]["image"].shape == (3, 80, 80)
    sx, sy = 80 / 160, 80 / 120                                      # the whole photo resized to 80x80
    want = (lm + 0.5) * np.array([sx, sy]) - 0.5
    assert np.allclose(ff[0]["landmarks"].numpy(), want, atol=0.01)
    assert "subset" in read_manifest(tmp_path / "out").columns


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        P3.prepare(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no faces found"):
        P3.prepare(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ValueError, match="outside"):
        P3.prepare(tmp_path / "empty", tmp_path / "empty" / "out")
    assert P3.main(["--src", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2

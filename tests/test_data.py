"""helpers.faces.data: the on-disk face format, FaceWriter <-> FaceFolder round trip, robustness, splits."""
import os

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import synthfaces
from helpers.faces import data as D
from helpers.faces.landmarks import mean_shape


def face(seed, size=64):
    """A random-noise 'face' image, its landmarks and AUs."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return img, mean_shape(size) + rng.normal(0, 1, (68, 2)).astype(np.float32), rng.uniform(0, 2, 17)


def write_folder(root, n=6, size=64, **kw):
    with D.FaceWriter(root, **kw) as w:
        for i in range(n):
            img, lm, aus = face(i, size)
            w.add(img, landmarks=lm, aus=aus, identity=i % 3, expression=i % 8, smiling=i % 2,
                  split="test" if i == 0 else "train", source="unit-test", extra_col=f"e{i}")
    return root


def test_columns_helpers():
    assert D.landmark_columns()[:4] == ["x0", "y0", "x1", "y1"]
    assert D.landmark_columns()[-1] == "y67" and len(D.landmark_columns()) == 136
    assert D.AU_COLUMNS[0] == "AU01" and D.AU_COLUMNS[-1] == "AU45" and len(D.AU_COLUMNS) == 17


def test_round_trip_with_resize(tmp_path):
    root = write_folder(tmp_path / "faces")
    df = D.read_manifest(root)
    assert list(df.columns[:6]) == ["file", "subject", "expression", "smiling", "split", "source"]
    assert "extra_col" in df.columns and "x67" in df.columns and "AU45" in df.columns
    ds = D.FaceFolder(root)
    assert len(ds) == 6 and ds.skipped == []
    item = ds[1]
    img, lm, aus = face(1)
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
    assert torch.equal(item["image"], D.to_tensor(img))   # PNG is lossless
    torch.testing.assert_close(item["landmarks"], torch.tensor(lm), atol=1e-3, rtol=0)
    torch.testing.assert_close(item["aus"], torch.tensor(aus, dtype=torch.float32), atol=1e-5, rtol=0)
    assert (item["identity"].item(), item["expression"].item(), item["smiling"].item(), item["index"].item()) == (1, 1, 1, 1)
    assert torch.isnan(item["pose"]).all()
    # resized: image 32 px, landmarks scaled with the pixel-centre convention
    small = D.FaceFolder(root, size=32)[1]
    assert small["image"].shape == (3, 32, 32)
    torch.testing.assert_close(small["landmarks"], (torch.tensor(lm) + 0.5) * 0.5 - 0.5, atol=1e-3, rtol=0)
    # splits
    assert len(D.FaceFolder(root, split="test")) == 1 and len(D.FaceFolder(root, split="train")) == 5
    # a DataLoader batches the dicts
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 64, 64) and batch["landmarks"].shape == (4, 68, 2)


def test_missing_labels_are_nan_and_minus_one(tmp_path):
    with D.FaceWriter(tmp_path) as w:
        w.add(face(0)[0])
        w.add(face(1)[0], "sub/b.jpg")
    item = D.FaceFolder(tmp_path)[1]
    assert torch.isnan(item["landmarks"]).all() and item["landmarks"].shape == (68, 2)
    assert torch.isnan(item["aus"]).all() and item["aus"].shape == (17,)
    assert item["identity"] == -1 and item["expression"] == -1 and item["smiling"] == -1
    assert (tmp_path / "sub" / "b.jpg").exists()


def test_corrupt_and_missing_files_are_skipped_and_reported(tmp_path):
    write_folder(tmp_path, n=5)
    (tmp_path / "000001.png").write_bytes(b"not a png at all")
    os.remove(tmp_path / "000003.png")
    with pytest.warns(UserWarning, match=r"(?s)skipped 2 .*000001.png.*000003.png"):
        ds = D.FaceFolder(tmp_path)
    assert len(ds) == 3
    assert [s["file"] for s in ds.skipped] == ["000001.png", "000003.png"]
    assert ds.skipped[1]["reason"] == "missing" and "corrupt" in ds.skipped[0]["reason"]
    # an image damaged after construction: reported, and the next good one is returned
    data = (tmp_path / "000002.png").read_bytes()
    (tmp_path / "000002.png").write_bytes(data[: len(data) // 3])
    with pytest.warns(UserWarning, match="000002.png"):
        item = ds[1]
    assert item["index"].item() == 2 and any(s["file"] == "000002.png" for s in ds.skipped)


def test_atomic_writes_leave_no_temp_files(tmp_path):
    write_folder(tmp_path, n=3)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert leftovers == []
    # a failing write removes its temp file and keeps the old content
    target = tmp_path / "manifest.csv"
    before = target.read_bytes()

    with pytest.raises(TypeError):
        D.atomic_write_bytes(target, object())   # cannot be written
    assert target.read_bytes() == before
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_writer_is_rerunnable(tmp_path):
    write_folder(tmp_path, n=4)
    # skip_existing: nothing is rewritten, new files are appended
    mtime = (tmp_path / "000000.png").stat().st_mtime_ns
    with D.FaceWriter(tmp_path, skip_existing=True) as w:
        assert w.add(face(9)[0], "000000.png", smiling=0) is None
        assert w.add(face(9)[0], "new.png", smiling=0) == "new.png"
    assert (tmp_path / "000000.png").stat().st_mtime_ns == mtime
    df = D.read_manifest(tmp_path)
    assert len(df) == 5 and df.set_index("file").loc["000000.png", "smiling"] == 0
    # default: a row with the same file is replaced, other rows kept
    with D.FaceWriter(tmp_path) as w:
        w.add(face(9)[0], "000000.png", smiling=1, subject="7")
    df = D.read_manifest(tmp_path).set_index("file")
    assert len(df) == 5 and df.loc["000000.png", "smiling"] == 1 and df.loc["000000.png", "subject"] == "7"
    assert df.loc["000001.png", "extra_col"] == "e1"
    # overwrite: fresh manifest
    with D.FaceWriter(tmp_path, overwrite=True) as w:
        w.add(face(0)[0])
    assert len(D.read_manifest(tmp_path)) == 1


def test_manifest_written_even_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with D.FaceWriter(tmp_path) as w:
            w.add(face(0)[0])
            raise RuntimeError("interrupted")
    assert len(D.read_manifest(tmp_path)) == 1


def test_unmasked_and_mask_files(tmp_path):
    img, lm, _ = face(0)
    mask = np.zeros((64, 64), np.uint8)
    mask[40:, :] = 1
    with D.FaceWriter(tmp_path) as w:
        w.add(img, landmarks=lm, unmasked=255 - img, mask=mask)
    item = D.FaceFolder(tmp_path, size=32)[0]
    assert item["mask"].shape == (1, 32, 32) and item["mask"][0, 25:].min() == 1 and item["mask"][0, :15].max() == 0
    assert item["unmasked"].shape == (3, 32, 32)


def test_manifest_validation_errors(tmp_path):
    (tmp_path / "manifest.csv").write_text("name,smiling\na.png,1\n")
    with pytest.raises(ValueError, match="'file'"):
        D.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,x0,y0\na.png,1,2\n")
    with pytest.raises(ValueError, match="landmark columns"):
        D.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,smiling\na.png,2\n")
    with pytest.raises(ValueError, match="smiling"):
        D.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,split\na.png,training\n")
    with pytest.raises(ValueError, match="split"):
        D.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,expression\na.png,bored\n")
    with pytest.raises(ValueError, match="expression"):
        D.read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("file\na.png\na.png\n")
    with pytest.raises(ValueError, match="duplicated"):
        D.read_manifest(tmp_path)
    # CelebA's -1/1 and expression names are accepted
    (tmp_path / "manifest.csv").write_text("file,smiling,expression\na.png,-1,happy\nb.png,1,3\n")
    df = D.read_manifest(tmp_path)
    assert df["smiling"].tolist() == [0, 1]
    assert [D.expression_id(v) for v in df["expression"]] == [1, 3]
    with D.FaceWriter(tmp_path / "w") as w, pytest.raises(ValueError, match="68, 2"):
        w.add(face(0)[0], landmarks=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="uint8"):
        D.encode_image(np.zeros((4, 4, 3), np.float32))


def test_split_by_subject_keeps_people_apart():
    df = pd.DataFrame({"file": [f"{i}.png" for i in range(100)], "subject": [f"s{i % 20}" for i in range(100)]})
    out = D.split_by_subject(df, test_fraction=0.25, seed=0, val_fraction=0.1)
    groups = out.groupby("subject")["split"].nunique()
    assert (groups == 1).all()
    counts = out.drop_duplicates("subject")["split"].value_counts()
    assert counts["test"] == 5 and counts["val"] == 2 and counts["train"] == 13
    again = D.split_by_subject(df, test_fraction=0.25, seed=0, val_fraction=0.1)
    assert out["split"].tolist() == again["split"].tolist()
    assert D.split_by_subject(df, 0.25, seed=1)["split"].tolist() != out["split"].tolist()
    with pytest.raises(ValueError, match="subject"):
        D.split_by_subject(df.drop(columns="subject"), 0.2)


def test_train_test_split_by_count_as_seed_002():
    df = pd.DataFrame({"file": [f"{i}.png" for i in range(600)]})
    out = D.train_test_split(df, n_test=100, n_train=428, seed=2)
    assert (out["split"] == "test").sum() == 100 and (out["split"] == "train").sum() == 428
    assert out["file"].is_unique
    assert out["file"].tolist() == D.train_test_split(df, 100, 428, seed=2)["file"].tolist()
    with pytest.raises(ValueError, match="asked for"):
        D.train_test_split(df, n_test=300, n_train=428)


def test_truncated_jpeg_is_found_at_construction(tmp_path):
    with D.FaceWriter(tmp_path, image_format=".jpg") as w:
        for i in range(3):
            w.add(face(i)[0])
    data = (tmp_path / "000001.jpg").read_bytes()
    (tmp_path / "000001.jpg").write_bytes(data[: len(data) - 200])
    with pytest.warns(UserWarning, match="000001.jpg"):
        ds = D.FaceFolder(tmp_path)
    assert len(ds) == 2 and "truncated" in ds.skipped[0]["reason"]


def test_unoccluded_rows_have_image_as_unmasked_and_empty_mask(tmp_path):
    with D.FaceWriter(tmp_path) as w:
        w.add(face(0)[0])
    item = D.FaceFolder(tmp_path)[0]
    assert torch.equal(item["unmasked"], item["image"]) and item["mask"].shape == (1, 64, 64)
    assert item["mask"].sum() == 0
    assert D.expression_id("2.0") == 2 and D.expression_id(None) == -1 and D.expression_id("Neutral") == 0


def test_same_keys_and_dtypes_as_synthfaces_dataset(tmp_path):
    assert D.AUS == tuple(synthfaces.AUS)
    assert D.EXPRESSION_NAMES == tuple(synthfaces.EXPRESSIONS)
    ref = synthfaces.SynthFacesDataset(seed=0, size=64, length=2)[0]
    with D.FaceWriter(tmp_path) as w:
        w.add(face(0)[0], landmarks=face(0)[1])
    item = D.FaceFolder(tmp_path)[0]
    assert set(item) == set(ref)
    for k in ref:
        assert item[k].dtype == ref[k].dtype and item[k].shape == ref[k].shape, k

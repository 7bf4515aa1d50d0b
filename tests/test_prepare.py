"""Offline tests of ``python -m data_scripts.prepare``: every data set from fixture layouts built here.

Fixtures are tiny noise images written in each data set's own layout (JAFFE tiffs, CK+ folders and
annotation files, MUG takes, RAVDESS mp4 videos, CelebA zips and tables, CelebA-HQ, FFHQ json,
EmotioNet URL lists), plus broken inputs: corrupt and truncated images, non-images, empty folders,
wrong layouts, truncated zip archives.
"""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_scripts import prepare, prepare_labels, prepare_sources, prepare_writing
from data_scripts.prepare_labels import middle_indices, sample_indices, subject_split
from data_scripts.prepare_writing import Cropper
from helpers.faces.data import FaceFolder, read_manifest

REPO = Path(__file__).resolve().parents[1]


def img_bytes(seed: int, size=(24, 20), fmt="PNG", grey=False) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0]) + (() if grey else (3,)), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def run_cli(*argv, cropper=None) -> int:
    return prepare.main([str(a) for a in argv], cropper=cropper)


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------

def test_sampling_and_split_helpers():
    assert sample_indices(10, 4) == [0, 3, 6, 9]          # equal intervals, first and last included
    assert sample_indices(3, 10) == [0, 1, 2]
    assert sample_indices(0, 5) == []
    assert middle_indices(9, 3) == [3, 4, 5]
    assert middle_indices(2, 5) == [0, 1]
    subs = [f"S{i}" for i in range(10)]
    test = subject_split(subs, 3, seed=1)
    assert len(test) == 3 and test == subject_split(reversed(subs), 3, seed=1)   # deterministic
    assert subject_split(["a"], 2) == set()                  # at least one subject stays in train
    assert subject_split(subs, 2, test_subjects=["S1"]) == {"S1"}
    with pytest.raises(prepare_sources.PrepareError, match="not in the data"):
        subject_split(subs, 2, test_subjects=["nobody"])
    assert prepare_labels.course_expression("Happy") == "happiness"
    assert prepare_labels.course_expression("calm") == ""


def test_help_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "data_scripts.prepare", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in prepare.DATASETS:
        assert name in out.stdout
    with pytest.raises(SystemExit) as e:
        prepare.main(["ckplus", "--help"])
    assert e.value.code == 0


# ---------------------------------------------------------------------------------------------
# JAFFE
# ---------------------------------------------------------------------------------------------

def make_jaffe(root: Path) -> Path:
    n = 0
    for subj in ("KA", "KL", "YM", "NA"):
        for code in ("AN", "HA", "NE", "SU"):
            n += 1
            put(root / "jaffe" / f"{subj}.{code}1.{n}.tiff", img_bytes(n, (32, 32), "TIFF", grey=True))
    put(root / "jaffe" / "README.txt", "not an image")
    put(root / "jaffe" / "KA.XX1.99.tiff", img_bytes(99, fmt="TIFF"))        # unknown expression code
    put(root / "jaffe" / "holiday.png", img_bytes(98))                          # not JAFFE naming
    tif = img_bytes(100, (32, 32), fmt="TIFF")
    put(root / "jaffe" / "KM.DI1.100.tiff", tif[: len(tif) // 2])               # truncated
    put(root / "jaffe" / "KM.FE1.101.tiff", b"this is text, not a tiff")       # not an image
    put(root / "png" / "KA.AN1.1.tiff.png", img_bytes(1, (32, 32)))             # same image again
    return root


def test_jaffe_manifest_labels_split_and_rerun(tmp_path, capsys):
    src, out = make_jaffe(tmp_path / "src"), tmp_path / "out"
    assert run_cli("jaffe", "--src", src, "--out", out, "--n-test-subjects", "1") == 0
    df = read_manifest(out)
    assert len(df) == 16
    assert set(df.subject) == {"KA", "KL", "YM", "NA"}
    assert dict(df.expression.value_counts()) == {"anger": 4, "happiness": 4, "natural": 4, "surprise": 4}
    assert set(df.expression_orig) == {"AN", "HA", "NE", "SU"}
    assert df.groupby("subject").split.nunique().max() == 1          # split by subject
    assert (df.split == "test").sum() == 4 and df[df.split == "test"].subject.nunique() == 1
    text = capsys.readouterr().out
    assert "kept 16, skipped 5" in text and "duplicate" in text
    assert "corrupt or truncated image" in text and "not an image" in text and "JAFFE naming" in text
    ds = FaceFolder(out, split="train")
    assert len(ds) == 12 and ds[0]["image"].shape == (3, 32, 32)
    # re-run: finished images are not decoded or written again, same manifest
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    calls = []
    orig = prepare_writing.decode_image
    prepare_writing.decode_image = lambda b: calls.append(1) or orig(b)
    try:
        assert run_cli("jaffe", "--src", src, "--out", out, "--n-test-subjects", "1") == 0
    finally:
        prepare_writing.decode_image = orig
    assert len(calls) == 2 and read_manifest(out).equals(df)          # only the 2 broken files are retried
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    # a different split is different settings: a fresh manifest
    assert run_cli("jaffe", "--src", src, "--out", out, "--test-subjects", "KA", "KL") == 0
    df2 = read_manifest(out)
    assert len(df2) == 16 and set(df2[df2.split == "test"].subject) == {"KA", "KL"}


# ---------------------------------------------------------------------------------------------
# CK+
# ---------------------------------------------------------------------------------------------

def make_ckplus(root: Path, n_frames=6) -> Path:
    base = root / "CK+"
    seqs = {("S005", "001"): 3, ("S010", "002"): 5, ("S011", "001"): None, ("S014", "003"): 7, ("S022", "001"): 1}
    for k, ((s, q), emo) in enumerate(seqs.items()):
        for f in range(1, n_frames + 1):
            stem = f"{s}_{q}_{f:08d}"
            put(base / "cohn-kanade-images" / s / q / f"{stem}.png", img_bytes(100 * k + f, (40, 30), grey=True))
            lm = np.stack([np.linspace(5, 35, 68), np.linspace(5, 25, 68)], 1) + f
            put(base / "Landmarks" / s / q / f"{stem}_landmarks.txt",
                "\n".join(f"   {x:.7e}   {y:.7e}" for x, y in lm) + "\n")
        last = f"{s}_{q}_{n_frames:08d}"
        if emo is not None:
            put(base / "Emotion" / s / q / f"{last}_emotion.txt", f"   {emo:.7e}\n")
        put(base / "FACS" / s / q / f"{last}_facs.txt",
            "   1.0000000e+00   3.0000000e+00\n   2.0000000e+00   0.0000000e+00\n   2.7000000e+01   2.0000000e+00\n")
    put(base / "cohn-kanade-images" / "S005" / "001" / "S005_001_00000099.png", b"\x89PNG\r\n\x1a\n broken")
    put(base / "cohn-kanade-images" / "stray.png", img_bytes(7))
    put(base / "cohn-kanade-images" / "S030" / "001" / "S030_001_00000001.png", img_bytes(9, (40, 30), grey=True))
    put(base / "Emotion" / "S030" / "001" / "S030_001_00000001_emotion.txt", "happy\n")    # not a number
    return root


def test_ckplus_training_and_recognition_sets(tmp_path, capsys):
    src, out = make_ckplus(tmp_path / "src"), tmp_path / "out"
    rc = run_cli("ckplus", "--src", src, "--out", out, "--frames-per-sequence", "3", "--recognition-frames", "2",
                 "--test-subjects", "S010")
    assert rc == 0
    tr, rec = read_manifest(out / "training"), read_manifest(out / "recognition")
    # 5 sequences x 3 frames at equal intervals (+ S030's single frame); S005's 7th file is broken
    assert tr.sequence.nunique() == 6 and len(tr) == 15
    assert sorted(tr[tr.sequence == "S010/002"].frame) == [0, 2, 5]
    assert sorted(tr[tr.sequence == "S005/001"].frame) == [0, 3]
    # recognition: labelled sequences only (S011 has no Emotion file), their last 2 frames
    assert set(rec.sequence) == {"S005/001", "S010/002", "S014/003", "S022/001"}
    s010 = rec[rec.sequence == "S010/002"]
    assert list(s010.frame) == [4, 5] and set(s010.expression) == {"happiness"}
    assert set(rec.set_index("sequence").expression.to_dict().values()) == {"disgust", "happiness", "surprise", "anger"}
    assert set(rec[rec.sequence == "S005/001"].expression_orig) == {"disgust"}
    assert set(tr[tr.subject == "S010"].split) == {"test"} and set(tr[tr.subject != "S010"].split) == {"train"}
    # AUs on the apex (last) frame only: AU1 intensity 3 (C), AU2 coded without intensity -> 1.0
    last = tr[(tr.sequence == "S014/003") & (tr.frame == 5)].iloc[0]
    assert last.AU01 == 3.0 and last.AU02 == 1.0 and last.AU12 == 0.0 and last.facs == "1C+2+27B"
    assert np.isnan(tr[(tr.sequence == "S014/003") & (tr.frame == 0)].iloc[0].AU01)
    # 68 landmarks per frame from Landmarks/
    row = tr[(tr.sequence == "S014/003") & (tr.frame == 0)].iloc[0]
    assert row.x0 == pytest.approx(6.0) and row.y67 == pytest.approx(26.0)
    text = capsys.readouterr().out
    assert "outside the Sxxx/yyy/" in text and "not an image" in text and "without an expression label" in text
    assert "bad CK+ emotion file (unparsable annotation file)" in text
    item = FaceFolder(out / "training")[0]
    assert item["landmarks"].shape == (68, 2) and not np.isnan(item["landmarks"].numpy()).any()
    assert no_temp_files(out)


def test_ckplus_wrong_layout_is_refused_and_leaves_nothing(tmp_path, capsys):
    src = tmp_path / "src"
    put(src / "images" / "S005" / "001" / "a.png", img_bytes(1))
    out = tmp_path / "out"
    assert run_cli("ckplus", "--src", src, "--out", out) == 2
    assert "cohn-kanade-images" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# MUG
# ---------------------------------------------------------------------------------------------

def test_mug_layout_sessions_and_middle_frames(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    k = 0
    for subj, session in (("001", ""), ("002", ""), ("045", "session1"), ("045", "session2")):
        for emo in ("anger", "happiness", "neutral"):
            for f in range(1, 10):
                k += 1
                parts = ["subjects3", subj] + ([session] if session else []) + [emo, "take000", f"img_{f:04d}.jpg"]
                put(src.joinpath(*parts), img_bytes(k, fmt="JPEG"))
    put(src / "subjects3" / "001" / "notes" / "img.jpg", img_bytes(0, fmt="JPEG"))   # no expression folder
    assert run_cli("mug", "--src", src, "--out", out, "--frames-per-sequence", "4", "--recognition-frames", "3",
                   "--n-test-subjects", "1", "--seed", "3") == 0
    tr, rec = read_manifest(out / "training"), read_manifest(out / "recognition")
    assert set(tr.subject) == {"001", "002", "045"}
    assert tr.sequence.nunique() == 12 and len(tr) == 12 * 4
    assert set(tr.session.dropna()) == {"session1", "session2"}
    assert sorted(set(rec.frame)) == [3, 4, 5]                        # around the middle of 9 frames
    assert set(rec.expression) == {"anger", "happiness", "natural"}
    assert rec.groupby("subject").split.nunique().max() == 1 and (rec.split == "test").any()
    f = rec.file.iloc[0]
    assert f.endswith(".jpg")                                          # JPEG source stays JPEG (auto)


# ---------------------------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------------------------

def write_video(path: Path, n=12, size=(32, 24)):
    import cv2
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "mp4v" if path.suffix == ".mp4" else "MJPG"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, size)
    assert w.isOpened(), f"no {fourcc} video writer in this OpenCV build"
    for i in range(n):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:, :, 2] = 20 * i                                        # red ramp (BGR) tells the frame
        w.write(frame)
    w.release()


def test_ravdess_videos_sampled_at_equal_intervals(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    write_video(src / "Actor_01" / "01-01-03-01-01-01-01.mp4")
    write_video(src / "Actor_01" / "02-01-03-01-01-01-01.mp4")              # its video-only twin
    write_video(src / "Actor_02" / "02-02-02-02-01-02-02.mp4")              # calm: no course name
    write_video(src / "Actor_04" / "01-01-05-01-02-01-04.avi")
    vid = tmp_path / "v.mp4"
    write_video(vid)
    with zipfile.ZipFile(src / "Video_Speech_Actor_03.zip", "w") as z:      # archives as downloaded
        z.write(vid, "Actor_03/01-01-08-02-01-01-03.mp4")
    put(src / "Actor_01" / "03-01-03-01-01-01-01.wav", b"RIFF....")         # audio only: ignored
    put(src / "Actor_01" / "01-01-04-01-01-01-01.mp4", b"not a video at all")
    put(src / "Actor_01" / "clip.mp4", b"x")
    assert run_cli("ravdess", "--src", src, "--out", out, "--frames-per-sequence", "4",
                   "--test-subjects", "Actor_02") == 0
    assert not (out / "recognition").exists()                            # seed 004 did not use RAVDESS there
    df = read_manifest(out / "training")
    assert set(df.subject) == {"Actor_01", "Actor_02", "Actor_03", "Actor_04"}
    assert len(df) == 16 and sorted(df[df.subject == "Actor_01"].frame) == [0, 4, 7, 11]
    a2 = df[df.subject == "Actor_02"].iloc[0]
    assert pd_isna(a2.expression) and a2.expression_orig == "calm" and a2.channel == "song"
    assert a2.intensity == "strong" and a2.split == "test" and a2.gender == "female"
    assert set(df[df.subject == "Actor_03"].expression) == {"surprise"}
    # frames really are the sampled ones: the red channel ramps 20 per frame
    for _, r in df[df.subject == "Actor_01"].iterrows():
        red = np.asarray(Image.open(out / "training" / r.file))[:, :, 0].mean()
        assert abs(red - 20 * r.frame) < 8
    text = capsys.readouterr()
    assert "empty or unreadable sequence/video" in text.out and "RAVDESS naming" in text.out
    assert "video-only copy" in text.out
    assert "no recognition set" in text.out
    assert no_temp_files(out)


def pd_isna(v) -> bool:
    import pandas as pd
    return pd.isna(v)


# ---------------------------------------------------------------------------------------------
# CelebA, CelebA-HQ, FFHQ
# ---------------------------------------------------------------------------------------------

ATTRS = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
         "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
         "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
         "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
         "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
         "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young"]


def celeba_tables(folder: Path, n: int, csv_landmarks=False):
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    rows = [f"{nm} " + " ".join(("1" if (a == "Smiling") == (i % 2 == 0) else "-1") for a in ATTRS)
            for i, nm in enumerate(names, 1)]
    put(folder / "list_attr_celeba.txt", f"{202599}\n" + " ".join(ATTRS) + " \n" + "\n".join(rows) + "\n")
    put(folder / "identity_CelebA.txt", "\n".join(f"{nm} {100 + i % 3}" for i, nm in enumerate(names)) + "\n")
    put(folder / "list_eval_partition.txt", "\n".join(f"{nm} {i % 3}" for i, nm in enumerate(names)) + "\n")
    cols = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    if csv_landmarks:
        put(folder / "list_landmarks_align_celeba.csv", "image_id," + cols.replace(" ", ",") + "\n" + "\n".join(
            f"{nm},8,9,16,9,12,13,9,16,15,16" for nm in names) + "\n")
    else:
        put(folder / "list_landmarks_align_celeba.txt", f"{n}\n{cols}\n" + "\n".join(
            f"{nm}  8  9 16  9 12 13  9 16 15 16" for nm in names) + "\n")
    return names


def test_celeba_from_zip_with_tables(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    names = celeba_tables(src / "Anno", 6)
    with zipfile.ZipFile(src / "img_align_celeba.zip", "w") as z:
        for i, nm in enumerate(names):
            z.writestr(f"img_align_celeba/{nm}", img_bytes(i, (24, 30), "JPEG"))
        z.writestr("img_align_celeba/000007.jpg", b"\xff\xd8\xff garbage")            # corrupt
        z.writestr(zipfile.ZipInfo("img_align_celeba/000008.jpg"), img_bytes(8, fmt="JPEG"))  # stored
    raw = bytearray((src / "img_align_celeba.zip").read_bytes())
    at = raw.find(img_bytes(8, fmt="JPEG"))
    raw[at + 100: at + 110] = b"X" * 10                                   # damaged member: CRC fails
    (src / "img_align_celeba.zip").write_bytes(bytes(raw))
    assert run_cli("celeba", "--src", src, "--out", out) == 0
    text = capsys.readouterr().out
    assert "unreadable file or archive member (BadZipFile)" in text and "img_align_celeba/000008.jpg" in text
    assert "not an image" in text
    df = read_manifest(out)
    assert len(df) == 6
    assert list(df.smiling) == [0, 1, 0, 1, 0, 1] and list(df.Smiling) == list(df.smiling)
    assert all(a in df.columns for a in ATTRS) and set(df.Male.unique()) <= {0, 1}
    assert list(df.split) == ["train", "val", "test"] * 2
    assert list(df.subject) == ["100", "101", "102"] * 2
    assert list(df.lefteye_x) == [8.0] * 6 and list(df.rightmouth_y) == [16.0] * 6
    with zipfile.ZipFile(src / "img_align_celeba.zip") as z:       # JPEG bytes copied unchanged
        assert (out / df.file[0]).read_bytes() == z.read("img_align_celeba/000001.jpg")
    assert int(FaceFolder(out, split="val")[0]["smiling"]) == 1


def test_celeba_center_crop_moves_landmarks_and_kaggle_csv(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    names = celeba_tables(src, 2, csv_landmarks=True)
    for i, nm in enumerate(names):
        put(src / "img_align_celeba" / nm, img_bytes(i, (24, 30), "JPEG"))
    put(src / "img_align_celeba" / "notes.txt", "x")
    assert run_cli("celeba", "--src", src, "--out", out, "--crop", "center", "--size", "48", "--format", "png") == 0
    df = read_manifest(out)
    assert len(df) == 2 and set(df.width) == {48} and df.file[0].endswith(".png")
    # 24x30 -> centre 24x24 square starting at y=3, scaled x2
    assert df.lefteye_x[0] == pytest.approx(16.0) and df.lefteye_y[0] == pytest.approx(12.0)
    assert Image.open(out / df.file[0]).size == (48, 48)


def test_celeba_truncated_zip_refused_and_download_offline(tmp_path, capsys, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    celeba_tables(src, 2)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("img_align_celeba/000001.jpg", img_bytes(1, fmt="JPEG"))
    put(src / "img_align_celeba.zip", buf.getvalue()[: len(buf.getvalue()) // 2])     # truncated download
    assert run_cli("celeba", "--src", src, "--out", out) == 2
    cap = capsys.readouterr()
    assert "unreadable zip archive" in cap.out and "img_align_celeba" in cap.err
    assert not out.exists()
    # --src pointing at the truncated zip itself
    assert run_cli("celeba", "--src", src / "img_align_celeba.zip", "--out", out) == 2
    assert "cannot read the archive" in capsys.readouterr().err
    # --download without internet: a clear message, nothing written
    import types

    class Offline:                          # torchvision's CelebA as it fails without internet
        def __init__(self, *a, **k):
            raise RuntimeError("Failed to resolve 'drive.google.com'")
    fake = types.ModuleType("torchvision.datasets")
    fake.CelebA = Offline
    pkg = types.ModuleType("torchvision")
    pkg.datasets = fake
    monkeypatch.setitem(sys.modules, "torchvision", pkg)       # (importing the real one takes seconds)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake)
    assert run_cli("celeba", "--src", tmp_path / "dl", "--out", out, "--download") == 2
    err = capsys.readouterr().err
    assert "CelebA download failed" in err and "--src" in err and not out.exists()


def test_celeba_hq_mapping_joins_celeba(tmp_path):
    src, celeba, out = tmp_path / "hq", tmp_path / "celeba", tmp_path / "out"
    celeba_tables(celeba, 6)
    for i in range(3):
        put(src / "CelebA-HQ-img" / f"{i}.jpg", img_bytes(i, (16, 16), "JPEG"))
    put(src / "CelebA-HQ-to-CelebA-mapping.txt",
        "idx         orig_idx        orig_file\n0 1 000002.jpg\n1 3 000004.jpg\n2 4 000005.jpg\n")
    put(src / "CelebAMask-HQ-mask-anno" / "0" / "00000_hair.png", img_bytes(5))   # masks are not faces
    assert run_cli("celeba-hq", "--src", src, "--out", out, "--celeba", celeba) == 0
    df = read_manifest(out)
    assert list(df.celeba_hq_idx) == [0, 1, 2] and list(df.celeba_file) == ["000002.jpg", "000004.jpg", "000005.jpg"]
    assert list(df.smiling) == [1, 1, 0] and list(df.subject) == ["101", "100", "101"]
    assert list(df.split) == ["val", "train", "val"]
    # CelebAMask-HQ's own attribute file (keyed 0.jpg, 1.jpg, ...) is used when present
    put(src / "CelebAMask-HQ-attribute-anno.txt", "3\n" + " ".join(ATTRS) + "\n" + "\n".join(
        f"{i}.jpg " + " ".join("1" if a == "Bald" else "-1" for a in ATTRS) for i in range(3)) + "\n")
    out2 = tmp_path / "out2"
    assert run_cli("celeba-hq", "--src", src, "--out", out2) == 0        # no --celeba: no identities
    df2 = read_manifest(out2)
    assert list(df2.Bald) == [1, 1, 1] and list(df2.smiling) == [0, 0, 0] and "subject" not in df2.columns


def test_ffhq_metadata_landmarks_scaled(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    meta = {}
    for i in range(3):
        put(src / "images1024x1024" / "00000" / f"{i:05d}.png", img_bytes(i, (32, 32)))
        lm = (np.arange(136).reshape(68, 2) * 7.0).tolist()
        meta[str(i)] = {"category": "training" if i < 2 else "validation",
                        "image": {"file_path": f"images1024x1024/00000/{i:05d}.png", "pixel_size": [1024, 1024],
                                  "face_landmarks": lm}}
    put(src / "ffhq-dataset-v2.json", json.dumps(meta))
    put(src / "json" / "00001.json", json.dumps([{"faceAttributes": {"smile": 0.9, "emotion": {
        "happiness": 0.8, "neutral": 0.2}, "age": 30.0, "gender": "female"}}]))
    assert run_cli("ffhq", "--src", src, "--out", out) == 0
    df = read_manifest(out)
    assert list(df.split) == ["train", "train", "val"]
    assert df.x1[0] == pytest.approx(14 * 32 / 1024, rel=1e-4)
    assert df.y67[2] == pytest.approx(135 * 7 * 32 / 1024, rel=1e-4)
    r1 = df[df.ffhq_idx == 1].iloc[0]
    assert r1.smiling == 1 and r1.expression == "happiness" and r1.age == 30.0


# ---------------------------------------------------------------------------------------------
# EmotioNet
# ---------------------------------------------------------------------------------------------

def test_emotionet_urls_and_download_log(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    urls = [f"http://example.com/img/{i}.jpg" for i in range(4)]
    key = lambda u: hashlib.sha1(u.encode()).hexdigest()[:20]          # data_scripts.download_urls naming
    for i, u in enumerate(urls[:3]):
        put(src / "images" / key(u)[:2] / f"{key(u)}.jpg", img_bytes(i, fmt="JPEG"))
    lst = put(tmp_path / "list.csv", "URL,AU1,AU2,AU12,AU43\n" + "\n".join(
        f"{u},1,0,{999 if i == 1 else 1},1" for i, u in enumerate(urls)) + "\n")
    assert run_cli("emotionet", "--src", src, "--out", out, "--urls", lst) == 0
    df = read_manifest(out)
    assert len(df) == 3 and set(df.AU01) == {1.0} and set(df.AU02) == {0.0}
    assert df.AU12.isna().sum() == 1 and "AU43" in df.columns           # 999 = unknown; AU43 kept aside
    assert "listed URL not downloaded" in capsys.readouterr().out
    # without --urls, a download log with the list's columns (download_urls' index.csv) is used
    put(src / "index.csv", "file,url,bytes,AU12\n" + "\n".join(
        f"images/{key(u)[:2]}/{key(u)}.jpg,{u},10,{i % 2}" for i, u in enumerate(urls[:3])) + "\n")
    out2 = tmp_path / "out2"
    assert run_cli("emotionet", "--src", src, "--out", out2) == 0
    df2 = read_manifest(out2)
    assert len(df2) == 3 and sorted(df2.AU12.tolist()) == [0.0, 0.0, 1.0]


# ---------------------------------------------------------------------------------------------
# Crop hook, bad input, interruption
# ---------------------------------------------------------------------------------------------

def test_face_crop_hook_with_injected_detector(tmp_path, capsys):
    src, out = make_ckplus(tmp_path / "src", n_frames=3), tmp_path / "out"
    calls = []

    def detector(img):                  # stands in for helpers.faces.detect.detect_faces (dlib)
        calls.append(img.shape)
        if len(calls) % 4 == 0:
            return []                   # every 4th image: no face
        return [(10, 5, 30, 25), (0, 0, 4, 4)]     # the larger box wins
    cropper = Cropper("face", size=16, margin=0.0, detector=detector)
    assert run_cli("ckplus", "--src", src, "--out", out, "--sets", "all", cropper=cropper) == 0
    df = read_manifest(out / "all")
    n_images = 5 * 3 + 1                # the broken S005 file never reaches the detector
    assert len(calls) == n_images and len(df) == n_images - n_images // 4
    assert set(df.width) == {16} and set(df.height) == {16}
    assert calls[0] == (30, 40, 3)      # detector sees uint8 RGB HxWx3 (grey CK+ converted)
    for _, r in df.iterrows():          # landmarks moved with the crop: (p - box origin) * 16 / 20
        lm_src = np.stack([np.linspace(5, 35, 68), np.linspace(5, 25, 68)], 1) + (r.frame + 1)
        assert r.x0 == pytest.approx((lm_src[0, 0] - 10) * 0.8, abs=1e-3)
        assert r.y67 == pytest.approx((lm_src[67, 1] - 5) * 0.8, abs=1e-3)
    assert f"skipped {n_images // 4:6d}  no face found" in capsys.readouterr().out


def test_bad_arguments_and_empty_sources(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    for ds in ("jaffe", "mug", "ravdess", "ckplus", "celeba", "celeba-hq", "ffhq", "emotionet"):
        assert run_cli(ds, "--src", empty, "--out", out) == 2, ds
        assert not out.exists(), ds
    err = capsys.readouterr().err
    assert "no JAFFE images" in err and "MUG layout" in err and "RAVDESS videos" in err
    assert run_cli("jaffe", "--src", tmp_path / "missing", "--out", out) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli("jaffe", "--src", empty, "--out", empty / "inside") == 2
    assert "inside --src" in capsys.readouterr().err
    make_jaffe(empty)
    assert run_cli("jaffe", "--src", empty, "--out", out, "--size", "64") == 2
    assert "--size needs --crop" in capsys.readouterr().err
    not_zip = put(tmp_path / "data.zip", b"PK\x03\x04 truncated")
    assert run_cli("jaffe", "--src", not_zip, "--out", out) == 2 and not out.exists()


def test_interrupted_run_keeps_finished_rows_and_resumes(tmp_path, monkeypatch):
    src, out = make_jaffe(tmp_path / "src"), tmp_path / "out"
    orig, n = prepare_writing.decode_image, {"calls": 0}

    def flaky(b):
        n["calls"] += 1
        if n["calls"] == 6:
            raise KeyboardInterrupt
        return orig(b)
    monkeypatch.setattr(prepare_writing, "decode_image", flaky)
    assert run_cli("jaffe", "--src", src, "--out", out) == 130
    part = read_manifest(out)
    assert 1 <= len(part) < 16 and all((out / f).is_file() for f in part.file)
    assert no_temp_files(out)
    stale = put(out / "KA" / ".KA.AN1.1.png.x1y2.tmp", b"half")       # as a SIGKILL mid-write leaves it
    monkeypatch.setattr(prepare_writing, "decode_image", orig)
    assert run_cli("jaffe", "--src", src, "--out", out) == 0
    assert len(read_manifest(out)) == 16 and not stale.exists()


def test_combine_prepared_sets_seed004(tmp_path, capsys):
    ck, ja, out = tmp_path / "ck", tmp_path / "ja", tmp_path / "all"
    assert run_cli("ckplus", "--src", make_ckplus(tmp_path / "s1", n_frames=3), "--out", ck, "--sets", "training") == 0
    assert run_cli("jaffe", "--src", make_jaffe(tmp_path / "s2"), "--out", ja) == 0
    n_ck, n_ja = len(read_manifest(ck / "training")), len(read_manifest(ja))
    assert run_cli("combine", ck / "training", ja, "--out", out) == 0
    df = read_manifest(out)
    assert len(df) == n_ck + n_ja and set(df.dataset) == {"ckplus", "jaffe"}
    assert {"ckplus:S005", "jaffe:KA"} <= set(df.subject)
    assert all((out / f).is_file() for f in df.file)
    assert len(FaceFolder(out)) == len(df)
    assert run_cli("combine", ck / "training", ja, "--out", out) == 0          # re-run: same result
    assert read_manifest(out).equals(df)
    assert run_cli("combine", tmp_path / "s2", "--out", tmp_path / "x") == 2    # not a prepared folder
    assert "not a prepared folder" in capsys.readouterr().err

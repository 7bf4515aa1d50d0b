"""Prepare known face data sets (downloaded by the user) in the project's on-disk format.

    python -m data_scripts.prepare <dataset> --src PATH --out PATH [options]

Data sets: celeba, celeba-hq, ffhq, ckplus, jaffe, mug, ravdess, emotionet, 300w. Their licences forbid
redistribution: download them yourself (only ``celeba --download`` fetches anything, through
torchvision). ``--src`` may be the unpacked folder or the folder of the archives as downloaded.

Every run writes ``OUT/manifest.csv`` + images (CK+, MUG and RAVDESS: one such folder per set,
``OUT/training`` and ``OUT/recognition``, the identity/expression VAE paper), prints a summary of what was kept and what was
skipped and why, writes atomically and can be re-run: finished images are reused, not decoded again.

Examples::

    python -m data_scripts.prepare jaffe  --src ~/Downloads/jaffe --out data/jaffe --crop face --size 128
    python -m data_scripts.prepare ckplus --src ~/Downloads/CK+ --out data/ckplus --frames-per-sequence 10
    python -m data_scripts.prepare celeba --src data/raw/celeba --out data/celeba --download

This module is the command line, ``combine`` and the dispatch; the preparers live beside it:
``prepare_celeba`` (CelebA, CelebA-HQ, FFHQ), ``prepare_jaffe``, ``prepare_ckplus``, ``prepare_mug`` and
``prepare_ravdess`` (their sequences -> ``prepare_sequences``, the training/recognition sets),
``prepare_emotionet``, ``prepare_300w``; what they share: ``prepare_sources`` (folders, zip archives,
image bytes), ``prepare_labels`` (expression names, AU columns, subject splits, frame sampling) and
``prepare_writing`` (crops, resumable writing).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from data_scripts import prepare_300w as p300w
from data_scripts import prepare_celeba as pc
from data_scripts.common import Summary, atomic_write_bytes, inside, safe_filename
from data_scripts.prepare_ckplus import ckplus_sequences
from data_scripts.prepare_emotionet import prepare_emotionet
from data_scripts.prepare_jaffe import prepare_jaffe
from data_scripts.prepare_mug import mug_sequences
from data_scripts.prepare_ravdess import ravdess_sequences, ravdess_subjects
from data_scripts.prepare_sequences import write_sequence_sets
from data_scripts.prepare_sources import PrepareError, SourceTree, TempDir, report_bad_archives
from data_scripts.prepare_writing import Cropper, check_out
from helpers.faces.data import read_manifest

DATASETS = ("celeba", "celeba-hq", "ffhq", "ckplus", "jaffe", "mug", "ravdess", "emotionet", "combine")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m data_scripts.prepare", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Run `python -m data_scripts.prepare <dataset> --help` for each data set.")
    sub = p.add_subparsers(dest="dataset", required=True, metavar="dataset")

    def common(sp, fmt_default="auto"):
        sp.add_argument("--src", required=True, help="downloaded data: a folder (archives inside are read) or a zip")
        sp.add_argument("--out", required=True, help="output folder (manifest.csv + images); must be outside --src")
        sp.add_argument("--crop", choices=("none", "center", "face"), default="none",
                        help="none; center = largest centred square (the ConvNeXt GANimation thesis v0); face = dlib face box made "
                             "square (the ConvNeXt GANimation thesis v2, needs the faces extra)")
        sp.add_argument("--size", type=int, default=None,
                        help="output side in pixels after --crop (face default 128)")
        sp.add_argument("--margin", type=float, default=0.2, help="--crop face: box enlarged by this fraction")
        sp.add_argument("--format", dest="fmt", choices=("auto", "png", "jpg"), default=fmt_default,
                        help="auto: JPEG sources stay JPEG (copied unchanged without crop), others PNG")

    def split_opts(sp):
        sp.add_argument("--n-test-subjects", type=int, default=None,
                        help="subjects held out as split=test (the identity/expression VAE paper: 2-3 per data set; default 3 CK+, else 2)")
        sp.add_argument("--test-subjects", nargs="+", default=None, help="explicit test subjects instead")
        sp.add_argument("--seed", type=int, default=0, help="seed of the test-subject draw")

    def seq_opts(sp):
        sp.add_argument("--sets", nargs="+", default=["training", "recognition"],
                        choices=("training", "recognition", "all"),
                        help="training: frames at equal intervals; recognition: frames showing the label "
                             "(CK+ last, MUG middle); all: every frame. Each goes to OUT/<set>/")
        sp.add_argument("--frames-per-sequence", type=int, default=10,
                        help="training set: frames sampled at equal intervals per sequence (0 = all)")
        sp.add_argument("--recognition-frames", type=int, default=3,
                        help="recognition set: frames per sequence (CK+ last K, MUG K around the middle)")

    sp = sub.add_parser("celeba", help="CelebA aligned images + attributes, identities, landmarks, partition")
    common(sp)
    sp.add_argument("--download", action="store_true",
                    help="fetch CelebA into --src with torchvision first (Google Drive; needs internet)")
    sp.add_argument("--limit", type=int, default=None, help="only the first N images (a quick look)")

    sp = sub.add_parser("celeba-hq", help="CelebA-HQ images (+ mapping to CelebA for identity/attributes)")
    common(sp)
    sp.add_argument("--celeba", default=None, help="folder with CelebA's annotation files (identity, attributes)")
    sp.add_argument("--mapping", default=None, help="CelebA-HQ-to-CelebA-mapping.txt or image_list.txt")

    sp = sub.add_parser("ffhq", help="FFHQ images (+ ffhq-dataset-v2.json, ffhq-features json)")
    common(sp)
    sp.add_argument("--metadata", default=None, help="ffhq-dataset-v2.json if it is not inside --src")

    sp = sub.add_parser("ckplus", help="CK+: cohn-kanade-images/, Emotion/, FACS/, Landmarks/ (the identity/expression VAE paper sets)")
    common(sp)
    split_opts(sp)
    seq_opts(sp)
    sp.add_argument("--au-unknown-intensity", type=float, default=1.0,
                    help="value of an AU that FACS codes without an intensity letter")

    sp = sub.add_parser("jaffe", help="JAFFE: KA.AN1.39.tiff names -> subject, expression")
    common(sp)
    split_opts(sp)

    sp = sub.add_parser("mug", help="MUG: <subject>/[session*/]<expression>/[take*/]*.jpg (the identity/expression VAE paper sets)")
    common(sp)
    split_opts(sp)
    seq_opts(sp)

    sp = sub.add_parser("ravdess", help="RAVDESS videos 02-01-05-01-02-01-12.mp4 -> frames (the identity/expression VAE paper training set)")
    common(sp)
    split_opts(sp)
    seq_opts(sp)

    sp = sub.add_parser("emotionet", help="EmotioNet: downloaded images + URL lists with AU annotations")
    common(sp)
    sp.add_argument("--urls", nargs="*", default=(), help="URL list files (CSV/TSV/text/xlsx) with AU columns")
    p300w.add_parser(sub)
    sp = sub.add_parser("combine", help="merge prepared folders (e.g. CK+, MUG, RAVDESS training sets, the identity/expression VAE paper)")
    sp.add_argument("inputs", nargs="+", help="prepared folders (each with a manifest.csv)")
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--link", choices=("hard", "copy"), default="hard", help="hard-link images (default) or copy")
    return p


def combine(inputs, out, summary: Summary, link: str = "hard") -> int:
    """Merge prepared folders into one (the identity/expression VAE paper trained on CK+, MUG and RAVDESS together).

    Images go to ``out/<name>/<file>`` (``name`` = the input's ``source`` column, else its folder
    name), hard-linked where possible (``link="copy"`` copies); subjects become ``<name>:<subject>``
    so they stay distinct; all columns are kept. Re-runnable: files already there are kept.
    """
    out = Path(out)
    frames, names = [], []
    for root in map(Path, inputs):
        try:
            df = read_manifest(root)
        except (FileNotFoundError, ValueError) as e:
            raise PrepareError(f"combine: {root} is not a prepared folder: {e}") from e
        if not len(df):
            summary.skip("empty input manifest", root)
            continue
        src = df["source"].dropna() if "source" in df.columns else pd.Series([], dtype=str)
        name = safe_filename(src.iloc[0] if len(src) and src.nunique() == 1 else root.name)
        while name in names:
            name += "_"
        names.append(name)
        check_out(root, out)
        df = df.copy()
        df["file"] = name + "/" + df["file"]
        if "subject" in df.columns:
            df["subject"] = df["subject"].map(lambda v, n=name: v if pd.isna(v) else f"{n}:{v}")
        df["dataset"] = name
        for old, new in zip(read_manifest(root)["file"], df["file"]):
            dst = inside(out, out / new)
            srcf = root / old
            if not srcf.is_file():
                summary.skip("image listed but missing", srcf)
                df = df[df["file"] != new]
                continue
            if not (dst.is_file() and dst.stat().st_size == srcf.stat().st_size):
                dst.parent.mkdir(parents=True, exist_ok=True)
                tmp = dst.with_name(f".{dst.name}.tmp")
                try:
                    if link == "hard":
                        try:
                            os.link(srcf, tmp)
                        except OSError:  # another file system: copy instead
                            shutil.copyfile(srcf, tmp)
                    else:
                        shutil.copyfile(srcf, tmp)
                    os.replace(tmp, dst)
                finally:
                    tmp.unlink(missing_ok=True)
            summary.keep()
        frames.append(df)
    if not frames:
        raise PrepareError("combine: no rows to combine")
    merged = pd.concat(frames, ignore_index=True)
    atomic_write_bytes(out / "manifest.csv", merged.to_csv(index=False).encode("utf-8"))
    read_manifest(out)  # the result must be a valid face folder
    return len(merged)


def prepare_sequences(kind: str, src, out, summary: Summary, cropper: Cropper, *, sets=("training", "recognition"),
                      frames_per_sequence=10, recognition_frames=3, n_test_subjects=None, test_subjects=None,
                      seed=0, fmt="png", au_unknown_intensity=1.0) -> dict[str, int]:
    """CK+ (``ckplus``), MUG (``mug``) or RAVDESS (``ravdess``) -> ``out/training``, ``out/recognition``."""
    if n_test_subjects is None:  # the identity/expression VAE paper: 7 test subjects over the three sets
        n_test_subjects = {"ckplus": 3, "mug": 2, "ravdess": 2}[kind]
    out = Path(out)
    common = dict(source=kind, frames_per_sequence=frames_per_sequence, recognition_frames=recognition_frames,
                  n_test_subjects=n_test_subjects, test_subjects=test_subjects, seed=seed, fmt=fmt)
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        if kind == "ravdess":
            subjects = ravdess_subjects(tree)
            if not subjects:
                raise PrepareError("expected RAVDESS videos named like 02-01-05-01-02-01-12.mp4 "
                                   f"(Actor_xx/ folders or the Video_*_Actor_xx.zip archives); none under {src}")
            if "recognition" in sets:
                print("ravdess: no recognition set (the identity/expression VAE paper could not locate the expression apex in its videos)")
                sets = tuple(s for s in sets if s != "recognition")
            with TempDir() as tmp:
                first = sets[0] if sets else None
                return write_sequence_sets(
                    lambda w: ravdess_sequences(tree, summary if w == first else Summary("rescan"), tmp,
                                                frames_per_sequence, w),
                    subjects, out, summary, cropper, sets=tuple(sets), **common)
        seqs = (ckplus_sequences(tree, summary, au_unknown_intensity) if kind == "ckplus"
                else mug_sequences(tree, summary))
        return write_sequence_sets(lambda w: seqs, {s.subject for s in seqs}, out, summary, cropper, sets=tuple(sets),
                                   **common)


def run(args: argparse.Namespace, summary: Summary, cropper: Cropper | None = None):
    """Dispatch one parsed command; returns the preparer's counts. Raises PrepareError on refusal."""
    if args.dataset == "combine":
        return combine(args.inputs, args.out, summary, link=args.link)
    if args.dataset != "celeba" or not getattr(args, "download", False):
        if not Path(args.src).exists():
            raise PrepareError(f"--src {args.src} does not exist")
    check_out(args.src, args.out)
    cropper = cropper or Cropper(args.crop, args.size, args.margin)
    kw = dict(fmt=args.fmt)
    ds = args.dataset
    if ds == "celeba":
        return pc.prepare_celeba(args.src, args.out, summary, cropper, download=args.download, limit=args.limit, **kw)
    if ds == "celeba-hq":
        return pc.prepare_celeba_hq(args.src, args.out, summary, cropper, celeba=args.celeba, mapping=args.mapping,
                                    **kw)
    if ds == "ffhq":
        return pc.prepare_ffhq(args.src, args.out, summary, cropper, metadata=args.metadata, **kw)
    if ds == "emotionet":
        return prepare_emotionet(args.src, args.out, summary, cropper, urls=args.urls, **kw)
    split = dict(n_test_subjects=args.n_test_subjects, test_subjects=args.test_subjects, seed=args.seed)
    if ds == "jaffe":
        if split["n_test_subjects"] is None:
            split["n_test_subjects"] = 2
        return prepare_jaffe(args.src, args.out, summary, cropper, **split, **kw)
    extra = {"au_unknown_intensity": args.au_unknown_intensity} if ds == "ckplus" else {}
    return prepare_sequences(ds, args.src, args.out, summary, cropper, sets=tuple(dict.fromkeys(args.sets)),
                             frames_per_sequence=args.frames_per_sequence,
                             recognition_frames=args.recognition_frames, **split, **extra, **kw)


def main(argv=None, cropper: Cropper | None = None) -> int:
    """CLI entry point; ``cropper`` lets tests inject a face detector. Returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.dataset == "300w":                  # its own summary and exit codes (data_scripts.prepare_300w)
        return p300w.run(args)
    summary = Summary(f"prepare {args.dataset} -> {args.out}")
    try:
        counts = run(args, summary, cropper)
    except PrepareError as e:
        summary.report()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        summary.report()
        print("interrupted: finished images and their manifest rows are kept; run again to continue",
              file=sys.stderr)
        return 130
    summary.report()
    if isinstance(counts, dict):
        for which, n in counts.items():
            print(f"  {which}: {n} rows in {args.out}/{which}/manifest.csv")
    else:
        print(f"  {counts} rows in {args.out}/manifest.csv")
    if summary.kept == 0:
        print("error: nothing was written (see the skipped reasons above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The commands beyond ``train | evaluate | release | bench``: ``ablation``, ``real`` and ``remeasure``.

::

    python -m helpers.lafin ablation --profile demo --threads 2 --json benchmarks/lafin_ablation.json
    python -m helpers.lafin real --data data/helen68 --release lafin_300w --json benchmarks/lafin_real.json
    python -m helpers.lafin remeasure lafin_baseline128 lafin_ours128
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys

import pandas as pd
import torch

from helpers.core import release as rel, runtime
from helpers.core.config import parse_set
from helpers.core.files import atomic_write_bytes
from helpers.lafin.ablation import ROWS, ablation, ablation_table
from helpers.lafin.real import real_measures
from helpers.lafin.train import load_predictor, remeasure

__all__ = ["ablation_main", "real_main", "remeasure_main"]


def _command(name: str, argv) -> str:
    return f"python -m helpers.lafin {name} " + " ".join(shlex.quote(a) for a in argv)


def ablation_main(argv=None) -> int:
    """``python -m helpers.lafin ablation``: train and measure every row (:func:`helpers.lafin.ablation.ablation`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m helpers.lafin ablation",
                                description="the ablation of the landmark-and-label paper's additions, every row with the same budget")
    p.add_argument("--profile", choices=runtime.PROFILES, default=None)
    p.add_argument("--steps", type=int, default=None, help="steps per row (default: ablation.STEPS[profile])")
    p.add_argument("--rows", nargs="*", default=list(ROWS))
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--run-root", default=None)
    p.add_argument("--json", default=None, help="write the result here")
    args = p.parse_args(argv)
    over = parse_set(args.set)
    if args.threads:
        over["threads"] = args.threads
        torch.set_num_threads(args.threads)
    res = ablation(runtime.profile(args.profile), args.rows, args.steps, over, args.run_root)
    res["command"] = _command("ablation", argv)
    res["data"] = dict(rel.SYNTHFACES)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(ablation_table(res).round(2))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(res, indent=1, default=str).encode())
        print(f"wrote {args.json}")
    return 0


def real_main(argv=None) -> int:
    """``python -m helpers.lafin real``: re-measure a real-face predictor release (:mod:`helpers.lafin.real`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m helpers.lafin real", description="real-face measures of a predictor")
    p.add_argument("--data", required=True, help="face folder in the on-disk format with 68 landmarks and a test split")
    p.add_argument("--release", default="lafin_300w")
    p.add_argument("--n", type=int, default=None, help="only the first N test faces")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    res = real_measures(load_predictor(args.release), args.data, args.n)
    res["command"] = _command("real", argv)
    if args.json:
        atomic_write_bytes(args.json, json.dumps(res, indent=1, default=str).encode())
        print(f"wrote {args.json}")
    return 0


def remeasure_main(argv=None) -> int:
    """``python -m helpers.lafin remeasure NAME...``: recompute the ``check`` block of releases as the
    tests draw it and rewrite their manifests (:func:`helpers.lafin.train.remeasure`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m helpers.lafin remeasure",
                                description="recompute the check block of releases")
    p.add_argument("names", nargs="+")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.names:
        man = remeasure(name, _command("remeasure", argv))
        print(name, man["metrics"]["check"])
    return 0

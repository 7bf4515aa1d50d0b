"""``python -m helpers.stylegan2 train | evaluate | release | bench | seed-eval`` (see :mod:`helpers.core.cli`).

``seed-eval NAME`` runs every measurement of notebook 04 on a committed release and writes the
tables to ``checkpoints/NAME.results.json`` (or ``--out``)::

    python -m helpers.stylegan2 seed-eval stylegan2_64 --scenes 8 --steps 300

``bench`` also measures rosinality/stylegan2-pytorch at the same configuration when
``STYLEGAN2_REFERENCE`` names a local checkout of it (its model.py is imported, nothing is copied).
"""
import argparse
import os
import shlex
import sys

import torch

from helpers.core import cli
from helpers.stylegan2.bench import bench
from helpers.stylegan2.pipeline import INPAINTERS
from helpers.stylegan2.project import DEMO_LR
from helpers.stylegan2.train import METHOD, write_seed_evaluation


def _bench(profiles, repeats):
    return bench(profiles, repeats, reference=os.environ.get("STYLEGAN2_REFERENCE"))


def _seed_eval(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.stylegan2 seed-eval",
                                description="notebook 04's evaluation of a release, written as JSON")
    p.add_argument("name")
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--space", default="w+", choices=("w", "w+"))
    p.add_argument("--lr", type=float, default=DEMO_LR,
                   help=f"projection learning rate (default {DEMO_LR}: the demo generator diverges at the reference 0.1)")
    p.add_argument("--convention", default="stylegan", choices=("stylegan", "conv"))
    p.add_argument("--inpaint-first", default="glcic_mouth64", choices=INPAINTERS)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cmd = "python -m helpers.stylegan2 seed-eval " + " ".join(shlex.quote(x) for x in argv)
    out = write_seed_evaluation(a.name, cmd, a.out, scenes=a.scenes, steps=a.steps, space=a.space, lr=a.lr,
                                convention=a.convention, inpaint_first=a.inpaint_first)
    print(f"wrote {out}")
    return 0


if len(sys.argv) > 1 and sys.argv[1] == "seed-eval":
    raise SystemExit(_seed_eval(sys.argv[2:]))
raise SystemExit(cli.main(METHOD, module="helpers.stylegan2", bench=_bench))

"""``python -m helpers.stylegan2 train | evaluate | release | bench | seed-eval`` (see :mod:`helpers.core.cli`).

``seed-eval NAME`` runs every measurement of notebook 04 on a committed release and writes the
tables to ``checkpoints/NAME.results.json`` (or ``--out``)::

    python -m helpers.stylegan2 seed-eval stylegan2_64 --scenes 8 --steps 300

``bench --reference PATH`` also measures rosinality/stylegan2-pytorch at the same configuration
(PATH: a local checkout of it; its model.py is imported, nothing is copied). Without the flag the
``STYLEGAN2_REFERENCE`` environment variable names the checkout, if set.
"""
import argparse
import os

import torch

from helpers.core import cli
from helpers.stylegan2.bench import bench
from helpers.stylegan2.evaluate import write_seed_evaluation
from helpers.stylegan2.pipeline import INPAINTERS
from helpers.stylegan2.project import DEMO_LR
from helpers.stylegan2.train import METHOD, load_release


def _bench(profiles, repeats, reference=None):
    return bench(profiles, repeats, reference=reference or os.environ.get("STYLEGAN2_REFERENCE"))


def _seed_eval_args(p: argparse.ArgumentParser) -> None:
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


def _seed_eval(a: argparse.Namespace, command: str) -> int:
    if a.threads:
        torch.set_num_threads(a.threads)
    out = write_seed_evaluation(load_release(a.name), command, a.out, scenes=a.scenes, steps=a.steps, space=a.space,
                                lr=a.lr, convention=a.convention, inpaint_first=a.inpaint_first)
    print(f"wrote {out}")
    return 0


SEED_EVAL = cli.Command("seed-eval", "notebook 04's evaluation of a release, written as JSON", _seed_eval_args,
                        _seed_eval)

raise SystemExit(cli.main(METHOD, module="helpers.stylegan2", bench=_bench, commands=[SEED_EVAL]))

"""DCGAN on SynthFaces (notebook 01): the model, its training through the shared loop, its release.

Files (the roles of ``helpers/README.md``): ``model.py`` (config, networks, sampling and
interpolation), ``losses.py`` (the training step: one D and one G update), ``train.py`` (the method
for :func:`helpers.core.loop.train`, ``release`` and ``load_release``), ``evaluate.py`` (the
SynthFaces bank it trains on, quality proxies, findings), ``bench.py`` (speed), ``exercises.py``
(notebook 01's checks), ``__main__.py`` (``python -m helpers.dcgan train | evaluate | release | bench``).
No ``data.py``: the faces are drawn by :mod:`helpers.synthfaces` (:func:`~helpers.dcgan.evaluate.face_bank`).
"""
from helpers.dcgan.evaluate import evaluate, face_bank, findings, quality
from helpers.dcgan.losses import train_step
from helpers.dcgan.model import (LOSSES, Config, Discriminator, Generator, build, init_weights, interpolate,
                                 lerp, sample, slerp)
from helpers.dcgan.train import DCGAN, METHOD, load_release, release, train

__all__ = ["LOSSES", "Config", "Discriminator", "Generator", "build", "init_weights", "interpolate", "lerp",
           "sample", "slerp", "train_step", "evaluate", "face_bank", "findings", "quality", "DCGAN",
           "METHOD", "load_release", "release", "train"]

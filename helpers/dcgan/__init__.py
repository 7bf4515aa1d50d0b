"""DCGAN on SynthFaces (notebook 01): the model, its training through the shared loop, its release.

Files: ``model.py`` (config, networks, the step, sampling), ``evaluate.py`` (quality proxies,
findings), ``train.py`` (the method for :func:`helpers.core.loop.train`, releases), ``bench.py``,
``__main__.py`` (``python -m helpers.dcgan train | evaluate | release | bench``).
"""
from helpers.dcgan.evaluate import evaluate, face_bank, findings, quality
from helpers.dcgan.model import (LOSSES, Config, Discriminator, Generator, build, init_weights, interpolate,
                                 lerp, sample, slerp, train_step)
from helpers.dcgan.train import DCGAN, METHOD, load_release, release, train

__all__ = ["LOSSES", "Config", "Discriminator", "Generator", "build", "init_weights", "interpolate", "lerp",
           "sample", "slerp", "train_step", "evaluate", "face_bank", "findings", "quality", "DCGAN",
           "METHOD", "load_release", "release", "train"]

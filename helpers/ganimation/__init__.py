"""GANimation with ConvNeXt bottleneck blocks: AU-controlled expression editing (the ConvNeXt GANimation thesis, notebook 05).

Files: ``model.py`` (config, blocks, G and D, the composition, ``edit``), ``losses.py`` (one function
per loss, the critic and generator steps), ``data.py`` (training faces with AUs, test edits with
their exact truth), ``effects.py`` (the thesis' AU sweeps, morphing), ``evaluate.py`` (measures,
the thesis' tables, claims, findings), ``figures.py`` (figures, the interactive editor),
``exercises.py`` (checkers of the notebook's exercises), ``train.py`` (the method for the shared
loop, releases), ``bench.py`` (speed), ``__main__.py`` (``python -m helpers.ganimation
train | evaluate | release | bench``).
"""
from helpers.ganimation import data, effects, evaluate, exercises, figures
from helpers.ganimation.model import (BOTTLENECKS, N_AUS, NORM_ACTS, VARIANTS, Config, ConvNeXtBlock, Discriminator,
                                      Generator, ResidualBlock, build, compose, edit, init_weights,
                                      variant_name)
from helpers.ganimation.losses import (attention_mean_loss, attention_stats, attention_tv_loss, au_regression_loss,
                                       critic_loss, cycle_loss, d_step, g_step, generator_adv_loss, gradient_penalty,
                                       lr_factor)
from helpers.ganimation.train import HEADLINE, METHOD, GANimation, load_release, release, train, train_command

__all__ = ["data", "effects", "evaluate", "exercises", "figures", "BOTTLENECKS", "N_AUS", "NORM_ACTS", "VARIANTS",
           "Config", "ConvNeXtBlock", "Discriminator", "Generator", "ResidualBlock", "build", "compose",
           "edit", "init_weights", "variant_name", "attention_mean_loss", "attention_stats", "attention_tv_loss",
           "au_regression_loss", "critic_loss", "cycle_loss", "d_step", "g_step", "generator_adv_loss",
           "gradient_penalty", "lr_factor", "HEADLINE", "METHOD", "GANimation", "load_release", "release", "train",
           "train_command"]

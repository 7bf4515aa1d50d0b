"""GANimation with ConvNeXt bottleneck blocks: AU-controlled expression editing (the ConvNeXt GANimation thesis, notebook 05).

Files: ``model.py`` (config, blocks, G and D, the composition, ``edit``, the variants), ``losses.py``
(one function per loss, the critic and generator steps), ``data.py`` (training faces with AUs, test
edits with their exact truth), ``sweeps.py`` (the thesis' AU sweeps, morphing: targets, edits and
their truth), ``evaluate.py`` (measuring edits and sweeps: what a release stores), ``claims.py``
(the thesis' tables beside ours, claims, findings from release metrics), ``figures.py`` (figures,
the interactive editor), ``exercises.py`` (checkers of the notebook's exercises), ``train.py`` (the
method for the shared loop, ``release``, ``load_release``), ``bench.py`` (speed), ``__main__.py``
(``python -m helpers.ganimation train | evaluate | release | bench``).
"""
from helpers.ganimation import claims, data, evaluate, exercises, figures, sweeps
from helpers.ganimation.model import (BOTTLENECKS, N_AUS, NORM_ACTS, VARIANT_LABELS, VARIANTS, Config, ConvNeXtBlock,
                                      Discriminator, Generator, ResidualBlock, build, compose, edit, init_weights,
                                      variant_name)
from helpers.ganimation.losses import (attention_mean_loss, attention_stats, attention_tv_loss, au_regression_loss,
                                       critic_loss, cycle_loss, d_step, g_step, generator_adv_loss, gradient_penalty,
                                       lr_factor)
from helpers.ganimation.train import HEADLINE, METHOD, GANimation, load_release, release, train, train_command

__all__ = ["claims", "data", "evaluate", "exercises", "figures", "sweeps", "BOTTLENECKS", "N_AUS", "NORM_ACTS",
           "VARIANT_LABELS", "VARIANTS", "Config", "ConvNeXtBlock", "Discriminator", "Generator", "ResidualBlock", "build", "compose",
           "edit", "init_weights", "variant_name", "attention_mean_loss", "attention_stats", "attention_tv_loss",
           "au_regression_loss", "critic_loss", "cycle_loss", "d_step", "g_step", "generator_adv_loss",
           "gradient_penalty", "lr_factor", "HEADLINE", "METHOD", "GANimation", "load_release", "release", "train",
           "train_command"]

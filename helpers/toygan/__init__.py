"""A 2-D toy GAN you can watch learn (notebook 01 §2); see :mod:`helpers.toygan.model`."""
from helpers.core.losses import LOSSES, d_loss, g_loss, r1_penalty
from helpers.toygan.model import (ToyConfig, ToyD, ToyG, ToyRun, centres, d_surface, findings, g_grad_vs_d, mlp,
                                  mode_coverage, plot_curves, plot_progress, progress_frames, sample_real,
                                  train_toy)

__all__ = ["LOSSES", "d_loss", "g_loss", "r1_penalty", "ToyConfig", "ToyD", "ToyG", "ToyRun", "centres",
           "d_surface", "findings", "g_grad_vs_d", "mlp", "mode_coverage", "plot_curves", "plot_progress",
           "progress_frames", "sample_real", "train_toy"]

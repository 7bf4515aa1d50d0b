"""Weakly supervised identity / expression disentanglement with a two-encoder VAE (the identity/expression VAE paper, notebook 06).

Files: ``model.py`` (the config and the networks of Tables 1-2), ``data.py`` (the training and
recognition sets: SynthFaces sequences or folders from ``data_scripts.prepare``), ``losses.py``
(the losses of Eqs. 1-5, the stage schedule and one step per stage), ``train.py`` (the method for
the shared loop, ``release()``, ``load_release()``), ``evaluate.py`` (measuring a model or a
release: latents, Table 3, Fig. 3, probes, swaps measured by the analysis network, claims,
findings), ``recognition.py`` (the label-free measures on features: k-means accuracy, Eq. 6,
linear probes), ``swaps.py`` (swapping and interpolation), ``figures.py`` (swap grids,
interpolation rows, the widget), ``diagnose.py`` (why z_e can fail: pixel references, what the
decoder draws), ``bench.py``, ``exercises.py`` (the notebook's checkers), ``__main__.py``
(``python -m helpers.idvae train | evaluate | release | bench``).
"""
from helpers.idvae import diagnose, evaluate, exercises, figures, losses, recognition, swaps
from helpers.idvae.data import FaceSet, Sets, folder_sets, load_sets, synth_sets
from helpers.idvae.losses import (expression_stage_loss, expression_step, gan_d_loss, gan_g_loss, identity_stage_loss,
                                  identity_step, kl_divergence, reconstruction_nll, stages, switch_loss,
                                  total_expression_loss, vae_step)
from helpers.idvae.model import VAE, Config, Decoder, Discriminator, Encoder, IdExpVAE, build
from helpers.idvae.train import METHOD, IdVAE, load_release, release, train

__all__ = ["diagnose", "evaluate", "exercises", "figures", "losses", "recognition", "swaps", "FaceSet", "Sets",
           "folder_sets", "load_sets", "synth_sets", "VAE", "Config", "Decoder", "Discriminator", "Encoder",
           "IdExpVAE", "build", "expression_stage_loss", "gan_d_loss", "gan_g_loss", "identity_stage_loss",
           "kl_divergence", "reconstruction_nll", "switch_loss", "total_expression_loss", "expression_step",
           "identity_step", "stages", "vae_step", "METHOD", "IdVAE", "load_release", "release", "train"]

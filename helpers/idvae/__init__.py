"""Weakly supervised identity / expression disentanglement with a two-encoder VAE (the identity/expression VAE paper, notebook 06).

Files: ``model.py`` (config, networks of Tables 1-2, the losses of Eqs. 1-5), ``data.py`` (the
training and recognition sets: SynthFaces sequences or folders from ``data_scripts.prepare``),
``steps.py`` (the stage schedule and one step per stage), ``recognition.py`` (k-means accuracy,
Eq. 6, linear probes), ``diagnose.py`` (why z_e can fail: pixel references, what the decoder draws), ``generation.py`` (swapping and interpolation, measured by the analysis
network; the widget), ``evaluate.py`` (Table 3, Fig. 3, claims, findings), ``train.py`` (the
method for the shared loop, releases), ``exercises.py`` (the notebook's checkers), ``bench.py``,
``__main__.py`` (``python -m helpers.idvae train | evaluate | release | bench``).
"""
from helpers.idvae import diagnose, evaluate, exercises, generation, recognition
from helpers.idvae.data import FaceSet, Sets, folder_sets, load_sets, synth_sets
from helpers.idvae.model import (VAE, Config, Decoder, Discriminator, Encoder, IdExpVAE, build, expression_stage_loss,
                                 gan_d_loss, gan_g_loss, identity_stage_loss, kl_divergence, reconstruction_nll,
                                 switch_loss, total_expression_loss)
from helpers.idvae.steps import expression_step, identity_step, stages, vae_step
from helpers.idvae.train import METHOD, IdVAE, load_release, release, train

__all__ = ["diagnose", "evaluate", "exercises", "generation", "recognition", "FaceSet", "Sets", "folder_sets", "load_sets",
           "synth_sets", "VAE", "Config", "Decoder", "Discriminator", "Encoder", "IdExpVAE", "build",
           "expression_stage_loss", "gan_d_loss", "gan_g_loss", "identity_stage_loss", "kl_divergence",
           "reconstruction_nll", "switch_loss", "total_expression_loss", "expression_step", "identity_step",
           "stages", "vae_step", "METHOD", "IdVAE", "load_release", "release", "train"]

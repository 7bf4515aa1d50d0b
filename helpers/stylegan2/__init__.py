"""StyleGAN2 projection and style mixing for masked faces, with Poisson blending (notebook 04, the StyleGAN2 masked-face paper).

Files (imports run downwards): ``model.py`` (config, blocks, generator, discriminator, the w+ layer
table), ``losses.py`` (the losses and the training step), ``official.py`` (NVIDIA .pkl and
rosinality .pt weights, safely), ``data.py`` (FFHQ alignment, training faces, the paper's scenes),
``project.py`` (the projector), ``pipeline.py`` (mixing, Poisson blending, inpaint first),
``measures.py`` and ``evaluate.py`` (the paper's measures, claims, findings), ``train.py`` (the
shared loop, releases, the committed evaluation), ``exercises.py``, ``bench.py``, ``__main__.py``
(``python -m helpers.stylegan2 train | evaluate | release | bench | seed-eval``).
"""
from helpers.stylegan2 import evaluate, measures, official
from helpers.stylegan2.data import (TEST_IDENTITIES, Scene, align_batch, align_face, draw_mole, make_scenes,
                                    training_faces, unalign)
from helpers.stylegan2.losses import (d_logistic_loss, g_nonsaturating_loss, mixed_ws, path_length_penalty,
                                      r1_loss, train_step)
from helpers.stylegan2.model import (Config, Discriminator, Generator, MappingNetwork, ModulatedConv2d, StyledConv,
                                     SynthesisBlock, ToRGB, build, upfirdn2d)
from helpers.stylegan2.styles import LAYER_CONVENTIONS, layer_table, mix_styles, style_indices
from helpers.stylegan2.pipeline import (INPAINTERS, VARIANTS, MixConfig, complete, inpainter, mix_latents, paste,
                                        poisson_blend)
from helpers.stylegan2.project import DEMO_LR, ProjectConfig, Projection, noise_regularisation, project, synthesize
from helpers.stylegan2.train import METHOD, StyleGAN2, load_release, load_run, release, train

__all__ = ["evaluate", "measures", "official", "TEST_IDENTITIES", "Scene", "align_batch", "align_face", "draw_mole",
           "make_scenes", "training_faces", "unalign", "d_logistic_loss", "g_nonsaturating_loss", "mixed_ws",
           "path_length_penalty", "r1_loss", "train_step", "LAYER_CONVENTIONS", "Config", "Discriminator",
           "Generator", "MappingNetwork", "ModulatedConv2d", "StyledConv", "SynthesisBlock", "ToRGB", "build",
           "layer_table", "mix_styles", "style_indices", "upfirdn2d", "INPAINTERS", "VARIANTS", "MixConfig",
           "complete", "inpainter", "mix_latents", "paste", "poisson_blend", "ProjectConfig", "Projection",
           "DEMO_LR", "noise_regularisation", "project", "synthesize", "METHOD", "StyleGAN2", "load_release", "load_run",
           "release", "train"]

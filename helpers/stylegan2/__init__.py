"""StyleGAN2 projection and style mixing for masked faces, with Poisson blending (notebook 04, the StyleGAN2 masked-face paper).

Files (imports run downwards): ``model.py`` (config, blocks, generator, discriminator),
``losses.py`` (the losses and the training step), ``official.py`` (NVIDIA .pkl and rosinality .pt
weights, safely), ``data.py`` (FFHQ alignment, training faces, the paper's scenes), ``styles.py``
(the w+ layer table, layer groups, style mixing), ``project.py`` (the projector), ``pipeline.py``
(mixing, Poisson blending, inpaint first), ``claims.py`` (the paper's claims table and the findings
from measured tables), ``evaluate.py`` (the release's numbers and curve, the instruments that read
generated faces, notebook 04's whole evaluation of a release), ``train.py`` (the method for the
shared loop, ``release``, ``load_release``), ``exercises.py``, ``bench.py`` (speed), ``__main__.py``
(``python -m helpers.stylegan2 train | evaluate | release | bench | seed-eval``).
"""
from helpers.stylegan2 import claims, evaluate, official
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

__all__ = ["claims", "evaluate", "official", "TEST_IDENTITIES", "Scene", "align_batch", "align_face", "draw_mole",
           "make_scenes", "training_faces", "unalign", "d_logistic_loss", "g_nonsaturating_loss", "mixed_ws",
           "path_length_penalty", "r1_loss", "train_step", "LAYER_CONVENTIONS", "Config", "Discriminator",
           "Generator", "MappingNetwork", "ModulatedConv2d", "StyledConv", "SynthesisBlock", "ToRGB", "build",
           "layer_table", "mix_styles", "style_indices", "upfirdn2d", "INPAINTERS", "VARIANTS", "MixConfig",
           "complete", "inpainter", "mix_latents", "paste", "poisson_blend", "ProjectConfig", "Projection",
           "DEMO_LR", "noise_regularisation", "project", "synthesize", "METHOD", "StyleGAN2", "load_release", "load_run",
           "release", "train"]

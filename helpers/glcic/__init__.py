"""GLCIC with the GLCIC course study's random vs mouth holes (notebook 02).

Files (the roles of ``helpers/README.md``): ``model.py`` (config, networks, holes, ``complete`` with
the paper's post-processing), ``data.py`` (training images: SynthFaces, toy images, face folders;
the fixed test sets), ``losses.py`` (the completion and discriminator losses, the optimisers, one
step per training phase), ``train.py`` (the method for the shared loop, the study's curve by
sessions, ``release`` and ``load_release``), ``evaluate.py`` (baselines, the study's measures and
curve, face measures, seam/checkerboard, claims, findings), ``figures.py`` (completions side by
side, curves), ``diagnose.py`` (the diagnoses: the joint phase's fixes and where the checkerboard
comes from), ``survey.py`` (the blind A/B survey widget), ``bench.py`` (speed), ``exercises.py``
(notebook 02's checks), ``__main__.py`` (``python -m helpers.glcic train | evaluate | release |
bench | diagnose``).
"""
from helpers.glcic import data, diagnose, evaluate, figures, survey
from helpers.glcic.losses import completion_loss, completion_step, discriminator_step, joint_step, make_optimizer
from helpers.glcic.model import (BLENDS, blend_dilate, HOLES, PHASES, UPSAMPLES, CompletionNet, Config, ContextDiscriminator, boxes_to_masks, check_inputs,
                                 build_models, complete, crop_boxes, local_boxes, masks_to_boxes, net_input,
                                 paste, phase_at, poisson_blend, random_local_boxes, sample_boxes)
from helpers.glcic.train import GLCIC, METHOD, curve_by_training, load_release, load_run, release, train

__all__ = ["data", "diagnose", "evaluate", "figures", "survey", "BLENDS", "blend_dilate", "HOLES", "PHASES",
           "UPSAMPLES", "CompletionNet", "Config", "ContextDiscriminator",
           "boxes_to_masks", "check_inputs", "build_models", "complete", "completion_loss", "completion_step", "crop_boxes",
           "discriminator_step", "joint_step", "local_boxes", "make_optimizer", "masks_to_boxes", "net_input", "paste",
           "phase_at", "poisson_blend", "random_local_boxes", "sample_boxes", "GLCIC", "METHOD",
           "curve_by_training", "load_release", "load_run", "release", "train"]

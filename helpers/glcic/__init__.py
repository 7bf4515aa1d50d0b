"""GLCIC with the GLCIC course study's random vs mouth holes (notebook 02).

Files: ``model.py`` (config, networks, holes, ``complete`` with the paper's post-processing, one
step per training phase), ``survey.py`` (the blind A/B survey widget), ``evaluate.py`` (test sets,
baselines, the study's measures and curve, seam/checkerboard, claims, findings), ``train.py`` (the
method for the shared loop, releases), ``ablation.py`` (the diagnoses: the joint phase's fixes and
where the checkerboard comes from), ``bench.py`` (speed), ``__main__.py``
(``python -m helpers.glcic train | evaluate | release | bench``).
"""
from helpers.glcic import evaluate, survey
from helpers.glcic.model import (BLENDS, blend_dilate, HOLES, PHASES, UPSAMPLES, CompletionNet, Config, ContextDiscriminator, boxes_to_masks, check_inputs,
                                 build_models, complete, completion_loss, completion_step, crop_boxes,
                                 discriminator_step, joint_step, local_boxes, masks_to_boxes, net_input,
                                 paste, phase_at, poisson_blend, random_local_boxes, sample_boxes)
from helpers.glcic.train import GLCIC, METHOD, curve_by_training, load_release, load_run, release, train

__all__ = ["evaluate", "survey", "BLENDS", "blend_dilate", "HOLES", "PHASES", "UPSAMPLES", "CompletionNet", "Config", "ContextDiscriminator",
           "boxes_to_masks", "check_inputs", "build_models", "complete", "completion_loss", "completion_step", "crop_boxes",
           "discriminator_step", "joint_step", "local_boxes", "masks_to_boxes", "net_input", "paste",
           "phase_at", "poisson_blend", "random_local_boxes", "sample_boxes", "GLCIC", "METHOD",
           "curve_by_training", "load_release", "load_run", "release", "train"]

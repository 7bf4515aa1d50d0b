"""The landmark-and-label paper (notebook 03): landmark-guided inpainting of masked faces, with a Smiling label.

Files: ``model.py`` (config, the label channel, LaFIn's MobileNetV2 predictor, the four predictor
losses, holes from landmarks, the landmark map, the predictor step), ``inpainter.py`` (LaFIn's
generator and discriminator, their losses and step), ``data.py`` (faces with landmarks, test
sets), ``measures.py`` (landmark errors by label, the label as a control, inpainting quality and
expression fidelity), ``pipeline.py`` (offline face detectors, photo -> landmarks -> inpainting),
``real.py`` (real-face measures beside dlib), ``evaluate.py`` (paired comparisons, tables, claims,
findings), ``figures.py`` (the paper's figure, the widget), ``exercises.py`` (the notebook's
checkers), ``train.py`` (the method for the shared loop, releases), ``ablation.py``, ``bench.py``,
``commands.py`` and ``__main__.py`` (``python -m helpers.lafin train | evaluate | release | bench |
ablation | real``).
"""
from helpers.lafin import evaluate, exercises, figures
from helpers.lafin.ablation import ROWS, ablation, ablation_table
from helpers.lafin.data import FaceBank, TestFaces, folder_testset, make_testset, synth_faces, training_data
from helpers.lafin.inpainter import (AutoAttention, FeatureMaps, InpaintGenerator, PatchDiscriminator, ResnetBlock,
                                     build_inpainter, hole_l1_loss, inpaint, inpainter_step, lsgan_d_loss, lsgan_g_loss,
                                     perceptual_loss, style_loss, tv_loss)
from helpers.lafin.measures import inpaint_measures, label_control, landmark_table, nme, predictor_measures
from helpers.lafin.model import (DAMAGES, NETS, VARIANTS, Config, LabelChannel, LandmarkHead, LandmarkPredictor,
                                 build_predictor, damage, damage_masks, landmark_loss, landmark_map, lip_distance_loss,
                                 mouth_corner_loss, predict, predictor_loss, predictor_step, state_loss)
from helpers.lafin.pipeline import DETECTORS, MaskedFacePipeline, detect_faces, detector_available
from helpers.lafin.train import DEMO_RELEASES, METHOD, LaFIn, load_inpainter, load_predictor, release, train

__all__ = ["evaluate", "exercises", "figures", "ROWS", "ablation", "ablation_table", "FaceBank", "TestFaces",
           "folder_testset", "make_testset", "synth_faces", "training_data", "AutoAttention", "FeatureMaps",
           "InpaintGenerator", "PatchDiscriminator", "ResnetBlock", "build_inpainter", "hole_l1_loss", "inpaint",
           "inpainter_step", "lsgan_d_loss", "lsgan_g_loss", "perceptual_loss", "style_loss", "tv_loss",
           "inpaint_measures", "label_control", "landmark_table", "nme", "predictor_measures", "DAMAGES", "NETS",
           "VARIANTS", "Config", "LabelChannel", "LandmarkHead", "LandmarkPredictor", "build_predictor", "damage",
           "damage_masks", "landmark_loss", "landmark_map", "lip_distance_loss", "mouth_corner_loss", "predict",
           "predictor_loss", "predictor_step", "state_loss", "DETECTORS", "MaskedFacePipeline", "detect_faces",
           "detector_available", "DEMO_RELEASES", "METHOD", "LaFIn", "load_inpainter", "load_predictor", "release",
           "train"]

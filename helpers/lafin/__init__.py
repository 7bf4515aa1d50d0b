"""The landmark-and-label paper (notebook 03): landmark-guided inpainting of masked faces, with a Smiling label.

Files (the roles of ``helpers/README.md``):

``model.py``
    the fields both networks share (``SharedConfig``), the predictor's config (``PredictorConfig``),
    the label channel, LaFIn's MobileNetV2 predictor, holes from landmarks, the landmark map;
``losses.py``
    the predictor's four losses (landmark, mouth corner, lip distance, state), its augmentation
    and training step;
``inpainter.py``
    the second network: LaFIn's generator and discriminator, ``InpainterConfig``, their losses and step;
``data.py``
    faces with landmarks (SynthFaces or a folder), the fixed test sets;
``train.py``
    the run's ``Config`` (shared + predictor + inpainter fields, ``net`` selects), the ``LaFIn``
    method for the shared loop, ``release()`` and ``load_release`` / ``load_predictor`` /
    ``load_inpainter`` (each a ``helpers.core.release.Release``);
``evaluate.py``
    measuring a run or a release: landmark errors by label, the label as a control, inpainting
    quality and expression fidelity, the release metrics and their ``check`` blocks;
``claims.py``
    paired comparisons, tables, the claims table and findings built from those numbers;
``diagnose.py``
    the ablation of the paper's additions;
``pipeline.py``
    offline face detectors, photo -> landmarks -> inpainting;
``crops.py``
    cached detector boxes of a face folder and the detector-style training crops built from them;
``real.py``
    measures on real photo folders beside dlib (detectors, the whole pipeline);
``figures.py``, ``bench.py``, ``exercises.py``
    the notebook's figures, speed, the exercises' checks;
``__main__.py``
    ``python -m helpers.lafin train | evaluate | release | bench | ablation | label-study | real | fit-diagnosis | remeasure | same-holes``.
"""
from helpers.lafin import claims, evaluate, exercises, figures, losses, model, real
from helpers.lafin.data import FaceBank, TestFaces, folder_testset, make_testset, synth_faces, training_data
from helpers.lafin.claims import choose_weight, label_study_table
from helpers.lafin.diagnose import ROWS, ablation, ablation_table, label_study
from helpers.lafin.evaluate import inpaint_by_label, inpaint_measures, label_control, landmark_table, nme, predictor_measures
from helpers.lafin.inpainter import (AutoAttention, FeatureMaps, InpaintGenerator, InpainterConfig, PatchDiscriminator,
                                     ResnetBlock, build_inpainter, hole_l1_loss, inpaint, inpainter_step, lsgan_d_loss,
                                     lsgan_g_loss, perceptual_loss, style_loss, tv_loss)
from helpers.lafin.losses import (landmark_loss, lip_distance_loss, mouth_corner_loss, predictor_loss, predictor_step,
                                  state_loss)
from helpers.lafin.model import (DAMAGES, NETS, VARIANTS, LabelChannel, LandmarkHead, LandmarkPredictor,
                                 PredictorConfig, SharedConfig, build_predictor, damage, damage_masks, landmark_map,
                                 predict)
from helpers.lafin.pipeline import DETECTORS, MaskedFacePipeline, detect_faces, detector_available
from helpers.lafin.train import (DEMO_RELEASES, METHOD, Config, LaFIn, load_inpainter, load_predictor, load_release,
                                 release, train)

__all__ = ["claims", "evaluate", "exercises", "figures", "losses", "model", "real", "ROWS", "ablation", "ablation_table", "choose_weight", "label_study",
           "label_study_table", "FaceBank",
           "TestFaces", "folder_testset", "make_testset", "synth_faces", "training_data", "AutoAttention",
           "FeatureMaps", "InpaintGenerator", "InpainterConfig", "PatchDiscriminator", "ResnetBlock",
           "build_inpainter", "hole_l1_loss", "inpaint", "inpainter_step", "lsgan_d_loss", "lsgan_g_loss",
           "perceptual_loss", "style_loss", "tv_loss", "inpaint_by_label", "inpaint_measures", "label_control", "landmark_table", "nme",
           "predictor_measures", "DAMAGES", "NETS", "VARIANTS", "Config", "SharedConfig", "PredictorConfig",
           "LabelChannel", "LandmarkHead", "LandmarkPredictor", "build_predictor", "damage", "damage_masks",
           "landmark_loss", "landmark_map", "lip_distance_loss", "mouth_corner_loss", "predict", "predictor_loss",
           "predictor_step", "state_loss", "DETECTORS", "MaskedFacePipeline", "detect_faces", "detector_available",
           "DEMO_RELEASES", "METHOD", "LaFIn", "load_inpainter", "load_predictor", "load_release", "release", "train"]

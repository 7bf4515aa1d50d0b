"""The SynthFaces face-analysis network: training, measures, release (``python -m helpers.analysis``).

The network and its reading API live in :mod:`helpers.faces.analysis` (so every method can use
them); this package trains them on SynthFaces. Files: ``model.py`` (config, data, augmentation,
losses, the step), ``evaluate.py`` (accuracy on unseen people, FID sanity, speed, the notebook
figures), ``train.py`` (the method for :func:`helpers.core.loop.train`, the release),
``bench.py``, ``__main__.py`` (``python -m helpers.analysis train | evaluate | release | bench``).
"""
from helpers.faces.analysis import (AnalysisNet, analyse, feature_extractor, identity_distance, load,
                                    perceptual_distance, perceptual_loss, style_loss)
from helpers.analysis.evaluate import (accuracy_table, au_table, check_metrics, degradation, demo_figures,
                                       findings, measure, speed, summary_table, verification)
from helpers.analysis.model import Config, CosFaceHead, augment, build, multitask_loss, train_step
from helpers.analysis.train import METHOD, Analysis, release, train

__all__ = ["AnalysisNet", "analyse", "feature_extractor", "identity_distance", "load", "perceptual_distance",
           "perceptual_loss", "style_loss", "accuracy_table", "au_table", "check_metrics", "degradation",
           "demo_figures", "findings", "measure", "speed", "summary_table", "verification", "Config",
           "CosFaceHead", "augment", "build", "multitask_loss", "train_step", "METHOD", "Analysis", "release",
           "train"]

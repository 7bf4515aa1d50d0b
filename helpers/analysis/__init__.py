"""The SynthFaces face-analysis network: training, measures, release (``python -m helpers.analysis``).

The network and its reading API live in :mod:`helpers.faces.analysis` (so every method can use
them; ``helpers.faces.analysis.load(name)`` is the cached, frozen network every measure reads
faces with); this package trains them on SynthFaces. Files (the roles of ``helpers/README.md``):
``model.py`` (config, the training-only CosFace head), ``data.py`` (labelled SynthFaces,
augmentation, the unseen-people test sets and the check set), ``losses.py`` (the multi-task loss,
the learning-rate schedule, the step), ``train.py`` (the method for :func:`helpers.core.loop.train`,
``release`` and ``load_release``), ``evaluate.py`` (accuracy on unseen people, FID sanity, speed),
``figures.py`` (what notebook 00 shows), ``bench.py`` (speed), ``__main__.py``
(``python -m helpers.analysis train | evaluate | release | bench``).
"""
from helpers.faces.analysis import (AnalysisNet, analyse, feature_extractor, identity_distance, load,
                                    perceptual_distance, perceptual_loss, style_loss)
from helpers.analysis.data import augment
from helpers.analysis.evaluate import (accuracy_table, au_table, check_metrics, degradation, findings, measure,
                                       speed, summary_table, verification)
from helpers.analysis.figures import demo_figures
from helpers.analysis.losses import multitask_loss, train_step
from helpers.analysis.model import Config, CosFaceHead, build
from helpers.analysis.train import METHOD, Analysis, load_release, release, train

__all__ = ["AnalysisNet", "analyse", "feature_extractor", "identity_distance", "load", "perceptual_distance",
           "perceptual_loss", "style_loss", "accuracy_table", "au_table", "check_metrics", "degradation",
           "demo_figures", "findings", "measure", "speed", "summary_table", "verification", "Config",
           "CosFaceHead", "augment", "build", "multitask_loss", "train_step", "METHOD", "Analysis", "load_release",
           "release", "train"]

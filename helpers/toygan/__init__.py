"""A 2-D toy GAN you can watch learn (notebook 01 §2): 8 Gaussians on a ring (or a 5x5 grid), small MLPs.

Why a toy first: in two dimensions the whole story of a GAN fits in one picture. The real data
are a few tight clusters ("modes"); the generator maps noise z to points; the discriminator is a
function of the plane whose value D(x) in (0, 1) we can draw as a background colour. Training
alternates (1) a discriminator step and (2) a generator step, exactly as for faces (the GLCIC course study), but
it takes seconds, and failure modes such as *mode collapse* (the generator covers only some
clusters) are visible and measurable with :func:`mode_coverage`.

The defaults follow the classic benchmark of Metz et al. (Unrolled GANs, 2017) and Srivastava et
al. (VEEGAN, 2017): 8 modes on a circle of radius 2, or a 5x5 grid with spacing 2. A mode counts
as *covered* when enough samples fall within ``radius`` of its centre (default: 3 standard
deviations); *quality* is the fraction of all samples that are within ``radius`` of some mode.

Files (the roles of ``helpers/README.md``): ``model.py`` (the MLPs G and D), ``data.py`` (mode
centres, sampling the mixture), ``losses.py`` (one D + G step with :mod:`helpers.core.losses`, the
analytic generator gradient), ``train.py`` (``ToyConfig``, ``ToyRun``, ``train_toy``: its own
seconds-long loop, not :mod:`helpers.core.loop`, so no releases), ``evaluate.py`` (mode coverage,
findings), ``figures.py`` (snapshots, animation frames, curves).
"""
from helpers.toygan.data import centres, sample_real
from helpers.toygan.evaluate import findings, mode_coverage
from helpers.toygan.figures import plot_curves, plot_progress, progress_frames
from helpers.toygan.losses import LOSSES, d_loss, g_grad_vs_d, g_loss, r1_penalty, toy_step
from helpers.toygan.model import ToyD, ToyG, mlp
from helpers.toygan.train import ToyConfig, ToyRun, d_surface, train_toy

__all__ = ["LOSSES", "d_loss", "g_loss", "r1_penalty", "ToyConfig", "ToyD", "ToyG", "ToyRun", "centres",
           "d_surface", "findings", "g_grad_vs_d", "mlp", "mode_coverage", "plot_curves", "plot_progress",
           "progress_frames", "sample_real", "toy_step", "train_toy"]

"""Why does the demo's expression latent cluster at chance? The evidence (notebook 06 §8).

Two questions, each answered by measurement on the held-out test subjects' recognition images:

* :func:`feature_table` — *is the expression there to be found?* The same k-means accuracy and the
  same linear probes as Table 3 and §8, on z_e and z_i, and on two references that need no
  training: the raw pixels (16 x 16, 64 principal components) and the pixels with each subject's
  mean removed (Eq. 6 applied to pixels), and the exact AUs where known (the ceiling). If the pixels minus the
  subject mean cluster well above chance but z_e does not, the expression is in the images and the
  model did not put it into z_e.
* :func:`reconstruction_table` — *does the decoder draw the expression?* Dec(z_i, z_e) and
  Dec(z_i, 0) against the input (MSE), and the AUs the analysis network reads from the input and
  from both reconstructions: their error to the truth and their spread over the set. If the
  reconstructions' AU spread is a fraction of the input's and z_e lowers the error little, the
  decoder does not draw expressions and z_e has nothing expression-specific to carry.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from helpers.core.loop import evaluating
from helpers.faces.analysis import analyse
from helpers.idvae.data import FaceSet
from helpers.idvae.evaluate import latents
from helpers.idvae.model import IdExpVAE
from helpers.idvae.recognition import cluster_accuracy, probe_accuracy, subtract_subject_mean

__all__ = ["pixel_features", "feature_table", "reconstructions", "reconstruction_table", "findings"]


def pixel_features(images: torch.Tensor, side: int = 16, components: int = 64) -> np.ndarray:
    """Area-downsampled pixels of uint8 ``images`` projected on their first ``components`` principal
    components: a training-free reference feature (N, components)."""
    from sklearn.decomposition import PCA

    flat = F.interpolate(images.float() / 127.5 - 1.0, size=(side, side), mode="area").flatten(1).numpy()
    return PCA(min(components, *flat.shape), random_state=0).fit_transform(flat)


def feature_table(G: IdExpVAE, faces: FaceSet, k: int = 9, runs: int = 10) -> pd.DataFrame:
    """k-means accuracy (``runs`` runs, ``k`` clusters) and linear-probe accuracies (expression,
    subject; grouped folds) of each feature on ``faces`` (a recognition set), with chance levels."""
    if not isinstance(G, IdExpVAE):
        raise ValueError(f"the diagnosis needs a two-encoder IdExpVAE, got {type(G).__name__}")
    expr, subj = faces.expression.numpy(), faces.subject.numpy()
    pix = pixel_features(faces.images)
    z_e = latents(G, faces.images, "expression")
    feats = {"pixels (16x16, 64 PCs)": pix, "pixels - subject mean": subtract_subject_mean(pix, subj),
             "z_e": z_e, "z_e - subject mean": subtract_subject_mean(z_e, subj),
             "z_i": latents(G, faces.images, "identity")}
    if torch.isfinite(faces.aus).all():           # SynthFaces knows them; real data sets do not
        feats["exact AUs (ceiling)"] = faces.aus.numpy()
    rows = []
    for name, f in feats.items():
        pe, ps = probe_accuracy(f, expr, subj), probe_accuracy(f, subj, expr)
        rows.append({"feature": name, "k-means acc": cluster_accuracy(f, expr, k, runs)["mean"],
                     "probe: expression": pe["accuracy"], "probe: subject": ps["accuracy"]})
    out = pd.DataFrame(rows).set_index("feature")
    out.attrs["chance"] = {"expression": pe["chance"], "subject": ps["chance"]}
    return out


@torch.no_grad()
def reconstructions(G: IdExpVAE, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Inputs and the decoder's drawings from the posterior means: {"input", "Dec(z_i, z_e)",
    "Dec(z_i, 0)"}, float in [-1, 1]."""
    x = images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()
    dev = next(G.parameters()).device
    with evaluating(G):
        mu_i, mu_e = G.identity(x.to(dev))[0], G.expression(x.to(dev))[0]
        both = G.decode(mu_i, mu_e).float().cpu().clamp(-1, 1)
        ident = G.decode(mu_i, torch.zeros_like(mu_e)).float().cpu().clamp(-1, 1)
    return {"input": x, "Dec(z_i, z_e)": both, "Dec(z_i, 0)": ident}


def reconstruction_table(G: IdExpVAE, faces: FaceSet, net=None) -> pd.DataFrame:
    """Per image kind (input, both reconstructions): MSE to the input, the analysis network's AU
    error to the exact AUs (mean over AUs and images) and the spread of the AUs it reads (mean over
    AUs of the standard deviation over images; the exact AUs' spread is in ``attrs``)."""
    imgs = reconstructions(G, faces.images)
    truth = faces.aus.float()
    known = bool(torch.isfinite(truth).all())      # real data sets have no exact AUs: error is NaN
    rows = []
    for name, x in imgs.items():
        aus = analyse(x, net)["aus"]
        rows.append({"image": name, "MSE to input": float((x - imgs["input"]).pow(2).mean()),
                     "AU error (read vs exact)": float((aus - truth).abs().mean()) if known else float("nan"),
                     "AU spread (read)": float(aus.std(0).mean())})
    out = pd.DataFrame(rows).set_index("image")
    out.attrs["exact_au_spread"] = float(truth.std(0).mean()) if known else float("nan")
    return out


def findings(features: pd.DataFrame, recon: pd.DataFrame) -> list[str]:
    """Sentences from the two tables (nothing hard-coded): where the expression is, where it is lost."""
    ch = features.attrs.get("chance", {}).get("expression", float("nan"))
    px, ze = features.loc["pixels - subject mean"], features.loc["z_e"]
    out = [f"Pixels with each subject's mean removed cluster at {px['k-means acc']:.0%} and a linear probe reads "
           f"the expression from them at {px['probe: expression']:.0%} (chance {ch:.0%}): the expression is in the images."]
    verdict = ("no better than chance" if ze["probe: expression"] < ch + 0.1 else "above chance")
    out.append(f"z_e clusters at {ze['k-means acc']:.0%}; a probe reads the expression from it at "
               f"{ze['probe: expression']:.0%} ({verdict}) and the subject at {ze['probe: subject']:.0%}.")
    inp, both, ident = (recon.loc[k] for k in ("input", "Dec(z_i, z_e)", "Dec(z_i, 0)"))
    gain = 1 - both["MSE to input"] / ident["MSE to input"]
    out.append(f"Adding z_e lowers the reconstruction error by {gain:.0%} (MSE {ident['MSE to input']:.3f} -> "
               f"{both['MSE to input']:.3f}); the AUs read from Dec(z_i, z_e) spread {both['AU spread (read)']:.2f} "
               f"against {inp['AU spread (read)']:.2f} from the inputs, with AU error {both['AU error (read vs exact)']:.2f} "
               f"vs {inp['AU error (read vs exact)']:.2f}.")
    if both["AU spread (read)"] < 0.5 * inp["AU spread (read)"]:
        out.append("So the decoder does not yet draw expressions: the reconstructions carry less than half of "
                   "the inputs' AU variation, and z_e, trained only through the decoder, has nothing "
                   "expression-specific to encode. It encodes what lowers the pixel error most instead: the "
                   "subject's look that Dec(z_i, 0) still misses.")
    return out

"""AU sweeps with their truth: the thesis' joint effects (synergy, competition), morphing, intensity.

The seed showed three things by pictures only (its Figs. 2.1-2.3, 1.3): raising AU6 + AU12 + AU25
together from 0 to 2.0 in steps of 0.4 makes a smoother smile (*synergy*); raising AU23 (lips
tight, 1.0 -> 2.0 in steps of 0.2) with AU25 (lips part, 0 -> 2.0) breaks the mouth
(*competition*); and edits break above an intensity of about 2.0. Each sweep here is a sequence of
target AU vectors for one test face; the same face rendered with each target is the truth, so
every step is measured: PSNR to the truth over the image and over the mouth, and (with the
analysis network) the AUs and the smile probability read back from the edit and from the truth.

Shown in notebook 05 §6.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from helpers.core import metrics as M
from helpers.faces import analysis as A
from helpers.faces.masks import polygon_mask
from helpers.ganimation.data import EditSet, au_index, preset_aus
from helpers.ganimation.model import Generator, edit

__all__ = ["STEPS", "SYNERGY", "COMPETITION", "targets", "synergy_targets", "competition_targets",
           "single_targets", "intensity_targets", "run_sweep", "joint_effects", "morph", "morph_targets",
           "INTENSITIES"]

#: the thesis' sweep: 0 -> 2.0 in steps of 0.4
STEPS = (0.0, 0.4, 0.8, 1.2, 1.6, 2.0)
SYNERGY = {6: STEPS, 12: STEPS, 25: STEPS}
COMPETITION = {23: (1.0, 1.2, 1.4, 1.6, 1.8, 2.0), 25: STEPS}
INTENSITIES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def targets(base, changes: dict) -> torch.Tensor:
    """(T, 17) targets: ``base`` (17,) with AU ``k`` set to ``changes[k][t]`` at step t (equal lengths)."""
    lengths = {len(v) for v in changes.values()}
    if len(lengths) != 1:
        raise ValueError(f"every AU of a sweep needs the same number of steps, got {changes}")
    T = lengths.pop()
    out = torch.as_tensor(np.asarray(base, np.float32)).clone().repeat(T, 1)
    for au, values in changes.items():
        out[:, au_index(au)] = torch.as_tensor(values, dtype=torch.float32)
    return out


def synergy_targets(base) -> torch.Tensor:
    """AU6, AU12 and AU25 together from 0 to 2.0 in steps of 0.4 (seed Fig. 2.2)."""
    return targets(base, SYNERGY)


def competition_targets(base) -> torch.Tensor:
    """AU23 from 1.0 to 2.0 (steps 0.2) with AU25 from 0 to 2.0 (steps 0.4) (seed Fig. 2.3)."""
    return targets(base, COMPETITION)


def single_targets(base, au: int = 25, steps=STEPS, off: tuple = (23,)) -> torch.Tensor:
    """One AU swept alone (the AUs in ``off`` at 0): the yardstick of the competition sweep."""
    b = np.asarray(base, np.float32).copy()
    for a in off:
        b[au_index(a)] = 0.0
    return targets(b, {au: steps})


def intensity_targets(expression: str, intensities=INTENSITIES) -> torch.Tensor:
    """An expression of Table 2.2 at growing intensities (up to 3.0, beyond the usual 2.0)."""
    return torch.stack([torch.from_numpy(preset_aus(expression, float(v))) for v in intensities])


def morph_targets(aus_from, aus_to, steps: int = 12) -> torch.Tensor:
    """(steps, 17) straight line from one AU vector to another: the frames of a morph."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    a, b = (torch.as_tensor(np.asarray(v, np.float32)) for v in (aus_from, aus_to))
    t = torch.linspace(0, 1, steps)[:, None]
    return (1 - t) * a + t * b


@torch.no_grad()
def morph(G: Generator, image: torch.Tensor, aus_from, aus_to, steps: int = 12) -> dict:
    """Edits of one ``image`` (3, S, S) along :func:`morph_targets`: dict(image (T, 3, S, S), attention, targets)."""
    tg = morph_targets(aus_from, aus_to, steps)
    res = edit(G, image[None].expand(len(tg), -1, -1, -1), tg)
    return {"image": res["image"], "attention": res["attention"], "targets": tg}


def run_sweep(G: Generator, es: EditSet, i: int, tg: torch.Tensor, net=None) -> dict:
    """Edit face ``i`` of ``es`` to each target of ``tg`` (T, 17), render the truths, measure each step."""
    T, size = len(tg), es.images.shape[-1]
    res = edit(G, es.images[i:i + 1].expand(T, -1, -1, -1), tg)
    truths, lms = zip(*(es.render(i, tg[t].numpy(), landmarks=True) for t in range(T)))
    truth = torch.stack(truths)
    ones = torch.ones(T, 1, size, size)
    mouth = torch.stack([torch.maximum(polygon_mask(lm[48:60], size), polygon_mask(es.landmarks[i, 48:60], size))
                         for lm in lms])
    mouth = F.max_pool2d(mouth, 3, 1, 1)
    out = {"edits": res["image"], "attention": res["attention"], "truth": truth, "targets": tg,
           "psnr": M.hole_psnr(res["image"], truth, ones), "mouth_psnr": M.hole_psnr(res["image"], truth, mouth)}
    if net is not None:
        r = A.analyse(torch.cat([res["image"], truth]), net)
        out["aus_edit"], out["aus_truth"] = r["aus"][:T], r["aus"][T:]
        out["smile_edit"], out["smile_truth"] = r["smiling_prob"][:T], r["smiling_prob"][T:]
    return out


def _spearman(y: np.ndarray) -> float:
    x = np.arange(len(y))
    ry = np.argsort(np.argsort(y))
    if np.std(ry) == 0:
        return 0.0
    return float(np.corrcoef(x, ry)[0, 1])


def _mean(rows: list[dict], key: str) -> list[float]:
    return [round(float(v), 4) for v in torch.stack([r[key] for r in rows]).mean(0)]


def joint_effects(G: Generator, es: EditSet, faces=range(8), net=None) -> dict:
    """The thesis' three sweeps on ``faces`` of ``es``, averaged per step (JSON-able numbers).

    ``synergy``/``competition``/``single25``: per step PSNR and mouth PSNR to the truth and, with a
    net, the smile probability and the swept AUs read back from edit and truth, and the mean
    Spearman correlation of the edit's smile probability with the step (synergy: should be ~1).
    ``intensity``: happiness and surprise at 0.5 .. 3.0: PSNR to the truth and AU read-back error
    of edit and truth per intensity.
    """
    out: dict = {"faces": list(faces)}
    sweeps = {"synergy": synergy_targets, "competition": competition_targets, "single25": single_targets}
    for name, fn in sweeps.items():
        rows = [run_sweep(G, es, i, fn(es.aus[i].numpy()), net) for i in faces]
        d = {"psnr": _mean(rows, "psnr"), "mouth_psnr": _mean(rows, "mouth_psnr")}
        if net is not None:
            d["smile_edit"], d["smile_truth"] = _mean(rows, "smile_edit"), _mean(rows, "smile_truth")
            d["smile_monotonic"] = round(float(np.mean([_spearman(r["smile_edit"].numpy()) for r in rows])), 4)
            swept = sorted(SYNERGY if name == "synergy" else COMPETITION if name == "competition" else {25: 0})
            for au in swept:
                k = au_index(au)
                d[f"AU{au:02d}_edit"] = [round(float(v), 4) for v in torch.stack([r["aus_edit"][:, k] for r in rows]).mean(0)]
                d[f"AU{au:02d}_truth"] = [round(float(v), 4) for v in torch.stack([r["aus_truth"][:, k] for r in rows]).mean(0)]
        out[name] = d
    inten = {}
    for expr in ("happiness", "surprise"):
        tg = intensity_targets(expr)
        rows = [run_sweep(G, es, i, tg, net) for i in faces]
        d = {"intensity": list(INTENSITIES), "psnr": _mean(rows, "psnr")}
        if net is not None:
            t = tg.clamp(0, 3)
            d["au_mae_edit"] = [round(float(v), 4) for v in torch.stack([(r["aus_edit"] - t).abs().mean(1) for r in rows]).mean(0)]
            d["au_mae_truth"] = [round(float(v), 4) for v in torch.stack([(r["aus_truth"] - t).abs().mean(1) for r in rows]).mean(0)]
        inten[expr] = d
    out["intensity"] = inten
    return out

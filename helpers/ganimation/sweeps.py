"""AU sweeps with their truth: the thesis' joint effects (synergy, competition), morphing, intensity.

The seed showed three things by pictures only (its Figs. 2.1-2.3, 1.3): raising AU6 + AU12 + AU25
together from 0 to 2.0 in steps of 0.4 makes a smoother smile (*synergy*); raising AU23 (lips
tight, 1.0 -> 2.0 in steps of 0.2) with AU25 (lips part, 0 -> 2.0) breaks the mouth
(*competition*); and edits break above an intensity of about 2.0. Each sweep here is a sequence of
target AU vectors for one test face; the same face rendered with each target is the truth, so
every step can be measured (:func:`helpers.ganimation.evaluate.run_sweep`,
:func:`helpers.ganimation.evaluate.joint_effects`): PSNR to the truth over the image and over the
mouth, and (with the analysis network) the AUs and the smile probability read back from the edit
and from the truth. This file makes the targets, the edits and their truth.

Shown in notebook 05 §6.
"""
from __future__ import annotations

import numpy as np
import torch

from helpers.ganimation.data import EditSet, au_index, preset_aus
from helpers.ganimation.model import Generator, edit

__all__ = ["STEPS", "SYNERGY", "COMPETITION", "targets", "synergy_targets", "competition_targets",
           "single_targets", "intensity_targets", "sweep", "morph", "morph_targets", "INTENSITIES"]

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


def sweep(G: Generator, es: EditSet, i: int, tg: torch.Tensor) -> dict:
    """Edit face ``i`` of ``es`` to each target of ``tg`` (T, 17) and render the truth of each step:
    dict(edits, attention, truth (T, 3, S, S), truth_landmarks (T, 68, 2), targets).
    :func:`helpers.ganimation.evaluate.run_sweep` measures each step."""
    T = len(tg)
    res = edit(G, es.images[i:i + 1].expand(T, -1, -1, -1), tg)
    truths, lms = zip(*(es.render(i, tg[t].numpy(), landmarks=True) for t in range(T)))
    return {"edits": res["image"], "attention": res["attention"], "truth": torch.stack(truths),
            "truth_landmarks": torch.stack(lms), "targets": tg}

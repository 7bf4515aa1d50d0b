"""Identity / expression swaps and interpolation (Figs. 4 and 5 of the identity/expression VAE paper).

* :func:`swap`: Dec(z_i of face A, z_e of face B): A's identity with B's expression; :func:`swap_grid`
  makes Fig. 4's grid of identity donors x expression donors.
* :func:`interpolate`: z_e moving from one expression to another on one identity (Fig. 5, joy ->
  sadness, the "sad smile").
* :func:`find` picks the image of a subject with an expression; :func:`swap_pairs` draws the (A, B)
  pairs that :func:`helpers.idvae.evaluate.measure_swaps` measures.

The paper judged these by eye; :mod:`helpers.idvae.evaluate` measures them with the face-analysis
network, :mod:`helpers.idvae.figures` draws them. Shown in notebook 06 §6 and §8 (the widget).
"""
from __future__ import annotations

import numpy as np
import torch

from helpers.core.loop import evaluating
from helpers.faces.data import EXPRESSION_NAMES
from helpers.idvae.data import FaceSet
from helpers.idvae.model import IdExpVAE

__all__ = ["check_model", "find", "swap", "swap_grid", "interpolate", "swap_pairs"]


def check_model(G) -> IdExpVAE:
    if not isinstance(G, IdExpVAE):
        raise ValueError(f"swapping needs the two-encoder model (IdExpVAE), got {type(G).__name__}")
    return G


def find(faces: FaceSet, subject: int, expression: int | str, apex: bool = True) -> int:
    """Row of ``faces`` showing ``subject`` (index) with ``expression`` (id or name); the frame
    nearest the apex (``apex``) or the first one."""
    e = EXPRESSION_NAMES.index(expression) if isinstance(expression, str) else int(expression)
    rows = torch.nonzero((faces.subject == subject) & (faces.expression == e)).flatten()
    if not len(rows):
        raise ValueError(f"no image of subject {subject} with expression {EXPRESSION_NAMES[e]!r}")
    pos = faces.position[rows]
    if torch.isnan(pos).all():
        return int(rows[-1] if apex else rows[0])
    k = int(torch.argmax(torch.nan_to_num(pos, -1.0))) if apex else int(torch.argmin(torch.nan_to_num(pos, 2.0)))
    return int(rows[k])


@torch.no_grad()
def swap(G: IdExpVAE, x_identity: torch.Tensor, x_expression: torch.Tensor) -> torch.Tensor:
    """Dec(mu_i(x_identity), mu_e(x_expression)) in eval mode (images in [-1, 1], (N, 3, S, S))."""
    G = check_model(G)
    with evaluating(G):
        return G.swap(x_identity, x_expression).float()


@torch.no_grad()
def swap_grid(G: IdExpVAE, identities: torch.Tensor, expressions: torch.Tensor) -> torch.Tensor:
    """Fig. 4's grid as images ((1 + E) x (1 + I), blank corner): top row the identity donors,
    left column the expression donors, cell (e, i) = swap(identity i, expression e)."""
    G = check_model(G)
    n_i, n_e = len(identities), len(expressions)
    cells = [torch.ones_like(identities[0])]
    cells += list(identities)
    for e in range(n_e):
        out = swap(G, identities, expressions[e:e + 1].expand(n_i, -1, -1, -1))
        cells += [expressions[e]] + list(out)
    return torch.stack(cells)


@torch.no_grad()
def interpolate(G: IdExpVAE, x_identity: torch.Tensor, x_source: torch.Tensor, x_target: torch.Tensor,
                steps: int = 7) -> torch.Tensor:
    """Fig. 5: Dec(z_i, (1 - t) z_e(source) + t z_e(target)) for t = 0 .. 1; (steps, 3, S, S)."""
    G = check_model(G)
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    for name, x in (("x_identity", x_identity), ("x_source", x_source), ("x_target", x_target)):
        if x.ndim != 3:
            raise ValueError(f"{name} must be one image (3, S, S), got {tuple(x.shape)}")
    with evaluating(G):
        z_i = G.identity(x_identity[None])[0]
        a, b = G.expression(x_source[None])[0], G.expression(x_target[None])[0]
        t = torch.linspace(0, 1, steps)[:, None]
        return G.decode(z_i.expand(steps, -1), (1 - t) * a + t * b).float()


def swap_pairs(faces: FaceSet, n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` (A, B) row pairs of apex faces of two different subjects, B not neutral (reproducible)."""
    rng = np.random.default_rng(seed)
    apex = faces.expression.numpy() > 0
    rows = np.flatnonzero(apex)
    subj = faces.subject.numpy()
    if len(np.unique(subj[rows])) < 2:
        raise ValueError("swap_pairs needs apex faces of at least two subjects")
    a = rng.choice(rows, n)
    b = np.empty(n, np.int64)
    for k in range(n):
        cand = rows[subj[rows] != subj[a[k]]]
        b[k] = rng.choice(cand)
    return torch.from_numpy(a), torch.from_numpy(b)

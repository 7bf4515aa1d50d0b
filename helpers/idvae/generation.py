"""Evaluation 2 — generation: expression swapping and interpolation, shown *and measured*.

The paper judged Fig. 4 (swapping) and Fig. 5 (joy -> sadness, the "sad smile") by eye. Here the
face-analysis network (:mod:`helpers.faces.analysis`) reads every generated face:

* swap: Dec(z_i of face A, z_e of face B) should look like A (identity) with B's expression. We
  measure the identity distance to A and to B, whether the expression read from the output is B's
  label (and how often it is A's), and the AU error against B's true AUs (SynthFaces) or B's read
  AUs (else), each next to the same reading of the real face B (the instrument's own error).
* interpolation: z_e moving from one expression to another; the readings (smiling, AU12 against
  AU1/AU4/AU15, the expression probabilities) along the way show whether the middle mixes both.

Shown in notebook 06 §6 and §8 (the widget).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from helpers.core.images import to_uint8
from helpers.core.loop import evaluating
from helpers.faces import analysis
from helpers.faces.data import AUS, EXPRESSION_NAMES
from helpers.idvae.data import FaceSet
from helpers.idvae.model import IdExpVAE

__all__ = ["instrument", "find", "swap", "swap_grid", "interpolate", "swap_pairs", "measure_swaps", "measure_interpolation",
           "swap_figure", "interpolation_figure", "swap_widget"]


def instrument(name: str = analysis.DEFAULT_RELEASE):
    """The released face-analysis network, or None (with a note) where it is not in checkpoints/ yet."""
    try:
        return analysis.load(name)
    except FileNotFoundError as e:
        print(f"the analysis network is not available ({e}); the generated faces are shown, not measured")
        return None


def _check_model(G) -> IdExpVAE:
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
    G = _check_model(G)
    with evaluating(G):
        return G.swap(x_identity, x_expression).float()


@torch.no_grad()
def swap_grid(G: IdExpVAE, identities: torch.Tensor, expressions: torch.Tensor) -> torch.Tensor:
    """Fig. 4's grid as images ((1 + E) x (1 + I), blank corner): top row the identity donors,
    left column the expression donors, cell (e, i) = swap(identity i, expression e)."""
    G = _check_model(G)
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
    G = _check_model(G)
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


def _ids(x):
    return x["expression_logits"].argmax(1).numpy()


@torch.no_grad()
def measure_swaps(G: IdExpVAE, faces: FaceSet, net=None, n: int = 64, seed: int = 0) -> dict:
    """The swap of Fig. 4, measured by the analysis network on ``n`` pairs of ``faces``.

    Keys: ``id_dist_to_identity_donor`` / ``id_dist_to_expression_donor`` (mean cosine distance of
    the analysis embeddings, lower = more alike), ``id_closer_to_identity_donor`` (share of swaps
    nearer A than B), ``expr_is_expression_donor`` / ``expr_is_identity_donor`` (share whose read
    expression is B's / A's label), ``au_err_expression_donor`` / ``au_err_identity_donor`` (mean
    |AU| error against B's / A's AUs, truth where known), and the instrument's own readings of the
    real B: ``real_expr_accuracy``, ``real_au_err``; ``n``.
    """
    G = _check_model(G)
    net = analysis.load() if net is None else net
    a, b = swap_pairs(faces, n, seed)
    xa, xb = faces.float_images(a), faces.float_images(b)
    out = swap(G, xa, xb)
    r_out, r_a, r_b = (analysis.analyse(v, net) for v in (out, xa, xb))
    d_a = 1.0 - (r_out["identity"] * r_a["identity"]).sum(1)
    d_b = 1.0 - (r_out["identity"] * r_b["identity"]).sum(1)
    la, lb = faces.expression[a].numpy(), faces.expression[b].numpy()
    true_a, true_b = faces.aus[a], faces.aus[b]
    known = bool(torch.isfinite(true_b).all() and torch.isfinite(true_a).all())
    au_a = true_a if known else r_a["aus"]
    au_b = true_b if known else r_b["aus"]
    return {
        "n": n,
        "id_dist_to_identity_donor": float(d_a.mean()), "id_dist_to_expression_donor": float(d_b.mean()),
        "id_closer_to_identity_donor": float((d_a < d_b).float().mean()),
        "expr_is_expression_donor": float(np.mean(_ids(r_out) == lb)),
        "expr_is_identity_donor": float(np.mean(_ids(r_out) == la)),
        "au_err_expression_donor": float((r_out["aus"] - au_b).abs().mean()),
        "au_err_identity_donor": float((r_out["aus"] - au_a).abs().mean()),
        "real_expr_accuracy": float(np.mean(_ids(r_b) == lb)),
        "real_au_err": float((r_b["aus"] - au_b).abs().mean()) if known else float("nan"),
        "au_truth": "SynthFaces ground truth" if known else "analysis readings of the real faces",
    }


@torch.no_grad()
def measure_interpolation(G: IdExpVAE, faces: FaceSet, subject: int = 0, source: str = "happiness",
                          target: str = "sadness", steps: int = 7, net=None) -> tuple[torch.Tensor, pd.DataFrame]:
    """Fig. 5 for one subject: the images and a table of the analysis readings along t.

    Columns: t, p(source), p(target) (softmax of the read expression), smiling, and the AUs that
    tell joy (AU6, AU12) from sadness (AU1, AU4, AU15).
    """
    net = analysis.load() if net is None else net
    xs = faces.float_images(torch.tensor([find(faces, subject, source), find(faces, subject, target)]))
    imgs = interpolate(G, xs[0], xs[0], xs[1], steps)
    r = analysis.analyse(imgs, net)
    p = torch.softmax(r["expression_logits"], 1)
    rows = {"t": np.linspace(0, 1, steps), f"p({source})": p[:, EXPRESSION_NAMES.index(source)].numpy(),
            f"p({target})": p[:, EXPRESSION_NAMES.index(target)].numpy(), "smiling": r["smiling_prob"].numpy()}
    for au in (6, 12, 1, 4, 15):
        rows[f"AU{au:02d}"] = r["aus"][:, AUS.index(au)].numpy()
    return imgs, pd.DataFrame(rows)


def _show(ax, img):
    ax.imshow(to_uint8(img))
    ax.set_xticks([])
    ax.set_yticks([])


def swap_figure(grids: dict[str, torch.Tensor], n_cols: int, title: str = ""):
    """Several :func:`swap_grid` results (one per model) stacked: a figure."""
    import matplotlib.pyplot as plt

    n_rows = sum(len(g) // n_cols for g in grids.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.15 * n_cols, 1.15 * n_rows + 0.4), squeeze=False)
    r = 0
    for name, g in grids.items():
        rows = len(g) // n_cols
        for i in range(rows):
            for j in range(n_cols):
                _show(axes[r + i, j], g[i * n_cols + j])
        axes[r, 0].set_title(name, fontsize=7, loc="left")
        r += rows
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def interpolation_figure(rows: dict[str, torch.Tensor], title: str = ""):
    """One row of interpolated faces per model (dict name -> (steps, 3, S, S))."""
    import matplotlib.pyplot as plt

    steps = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), steps, figsize=(1.2 * steps, 1.3 * len(rows) + 0.3), squeeze=False)
    for i, (name, imgs) in enumerate(rows.items()):
        for j in range(steps):
            _show(axes[i, j], imgs[j])
        axes[i, 0].set_ylabel(name, fontsize=7)
    for j, t in enumerate(np.linspace(0, 1, steps)):
        axes[0, j].set_title(f"t={t:.2f}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def swap_widget(G: IdExpVAE, faces: FaceSet, steps: int = 5):
    """Pick two subjects and two expressions: the faces, both swaps and the interpolation between
    the two expressions on subject A (ipywidgets; returns the widget)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    G = _check_model(G)
    subjects = sorted(set(faces.subject.tolist()))
    present = sorted(set(faces.expression.tolist()) - {-1})
    names = [EXPRESSION_NAMES[e] for e in present]
    out = W.Output()
    w = {"subject_a": W.Dropdown(options=subjects, value=subjects[0], description="subject A"),
         "subject_b": W.Dropdown(options=subjects, value=subjects[min(1, len(subjects) - 1)], description="subject B"),
         "expr_a": W.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="expr. A"),
         "expr_b": W.Dropdown(options=names, value=names[min(2, len(names) - 1)], description="expr. B")}

    def draw(_=None):
        with out:
            out.clear_output(wait=True)
            try:
                ra = find(faces, w["subject_a"].value, w["expr_a"].value)
                rb = find(faces, w["subject_b"].value, w["expr_b"].value)
            except ValueError as e:
                print(e)
                return
            xa, xb = faces.float_images(torch.tensor([ra])), faces.float_images(torch.tensor([rb]))
            ab, ba = swap(G, xa, xb)[0], swap(G, xb, xa)[0]
            line = interpolate(G, xa[0], xa[0], xb[0], steps)
            imgs = [xa[0], xb[0], ab, ba] + list(line)
            titles = ["A", "B", "A's identity,\nB's expression", "B's identity,\nA's expression"] + \
                     [f"A, t={t:.2f}" for t in np.linspace(0, 1, steps)]
            fig, axes = plt.subplots(1, len(imgs), figsize=(1.25 * len(imgs), 1.7))
            for ax, im, ti in zip(axes, imgs, titles):
                _show(ax, im)
                ax.set_title(ti, fontsize=6)
            plt.show()

    for v in w.values():
        v.observe(draw, names="value")
    draw()
    box = W.VBox([W.HBox(list(w.values())[:2]), W.HBox(list(w.values())[2:]), out])
    display(box)
    return box

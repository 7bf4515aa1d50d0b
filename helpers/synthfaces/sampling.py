"""The random draw of a data set's faces: :class:`SynthFaces`, deterministic by (seed, index).

:meth:`SynthFaces.params` draws a sample's identity, expression and AUs, pose, framing and mask
(cheap, no drawing); :meth:`SynthFaces.sample` renders it with :func:`helpers.synthfaces.face.render`'s
drawing step (see the package docstring, "Sampling").
"""
from __future__ import annotations

import numpy as np

from helpers.synthfaces import geometry as geo
from helpers.synthfaces.face import EXPRESSION_NAMES, EXPRESSIONS, MASK_STYLES, check_size, draw, expression_aus
from helpers.synthfaces.geometry import AUS, check_aus, identity_params
from helpers.synthfaces.render import sample_scene

__all__ = ["SynthFaces"]


class SynthFaces:
    """A virtual data set of ``length`` faces, deterministic by (seed, index).

    ``expression``: "random" (a preset drawn per sample), a preset name (always that one), or
    None (independent random AUs, expression id -1). ``intensity``: range of the preset scale.
    ``identities``: optional explicit list of person ids to draw from (e.g. disjoint splits);
    otherwise ``range(n_identities)``. ``mask_prob``: chance of a face mask. ``pose_range``: r
    in degrees (see the module docstring). ``jitter``: random framing scale/shift.
    ``sample(i)`` returns the dict of :func:`render` plus ``index`` and ``intensity``.
    """

    def __init__(self, seed: int = 0, size: int = 128, n_identities: int = 10_000,
                 expression: str | None = "random", mask_prob: float = 0.0, pose_range: float = 20.0,
                 *, intensity=(0.6, 2.0), au_jitter: float = 0.3, mask_styles=MASK_STYLES,
                 identities=None, jitter: bool = True, length: int = 1_000_000, identity_seed: int = 0):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.seed, self.size = int(seed), check_size(size)
        if expression not in (None, "random") and expression not in EXPRESSIONS:
            raise ValueError(f"expression must be 'random', None or one of {EXPRESSION_NAMES}, got {expression!r}")
        if not 0.0 <= mask_prob <= 1.0:
            raise ValueError(f"mask_prob must be in [0, 1], got {mask_prob}")
        if not 0.0 <= pose_range <= 45.0:
            raise ValueError(f"pose_range must be in [0, 45] degrees, got {pose_range}")
        if not (len(intensity) == 2 and 0 <= intensity[0] <= intensity[1] <= geo.AU_MAX):
            raise ValueError(f"intensity must be (low, high) within [0, {geo.AU_MAX}], got {intensity}")
        if any(s not in MASK_STYLES for s in mask_styles) or not mask_styles:
            raise ValueError(f"mask_styles must be a non-empty subset of {MASK_STYLES}, got {mask_styles}")
        if identities is not None:
            identities = np.asarray(identities, dtype=np.int64)
            if identities.ndim != 1 or len(identities) == 0 or identities.min() < 0:
                raise ValueError("identities must be a non-empty 1-D list of ints >= 0")
        elif n_identities < 1:
            raise ValueError(f"n_identities must be >= 1, got {n_identities}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.n_identities, self.identities = int(n_identities), identities
        self.expression, self.mask_prob, self.pose_range = expression, float(mask_prob), float(pose_range)
        self.intensity, self.au_jitter, self.mask_styles = tuple(intensity), float(au_jitter), tuple(mask_styles)
        self.jitter, self.length, self.identity_seed = bool(jitter), int(length), int(identity_seed)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        return self.sample(index)

    def __repr__(self) -> str:
        return (f"SynthFaces(seed={self.seed}, size={self.size}, n_identities={self.n_identities}, "
                f"expression={self.expression!r}, mask_prob={self.mask_prob}, pose_range={self.pose_range})")

    def params(self, index: int) -> dict:
        """The random choices of sample ``index`` (cheap: no drawing)."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.length:
            raise IndexError(f"index must be an int in [0, {self.length}), got {index!r}")
        r = np.random.default_rng((self.seed, int(index)))
        ids = self.identities
        ident = int(ids[r.integers(len(ids))]) if ids is not None else int(r.integers(self.n_identities))
        inten = float(r.uniform(*self.intensity))
        if self.expression is None:
            aus = np.where(r.uniform(size=len(AUS)) < 0.3, r.uniform(0, 2, len(AUS)), 0.0)
            expr = -1
        else:
            expr = int(r.integers(8)) if self.expression == "random" else EXPRESSION_NAMES.index(self.expression)
            aus = expression_aus(expr, inten).astype(np.float64)
            aus += np.where(r.uniform(size=len(AUS)) < 0.25, r.uniform(0, self.au_jitter, len(AUS)), 0.0)
        pr = self.pose_range
        pose = (r.uniform(-pr, pr), r.uniform(-0.6 * pr, 0.6 * pr), r.uniform(-0.5 * pr, 0.5 * pr))
        masked = r.uniform() < self.mask_prob
        style = self.mask_styles[int(r.integers(len(self.mask_styles)))]
        sc = r.uniform(0.92, 1.04) if self.jitter else 1.0
        sh = r.uniform(-0.03, 0.03, 2) if self.jitter else np.zeros(2)
        return dict(identity=ident, aus=check_aus(aus), expression=expr, intensity=inten, pose=pose,
                    mask=style if masked else None, scale=sc, shift=sh, seed=int(r.integers(1 << 31)))

    def _fit(self, P, pose, sc, sh):
        """Clamp the framing so that every landmark lies inside the image (1 px margin)."""
        P = P[:68]
        n = self.size
        for _ in range(8):
            lm = geo.project(P, pose, n, sc, (0.0, 0.0))
            lo, hi = (1.0 - lm.min(0)) / n, (n - 2.0 - lm.max(0)) / n
            if np.all(lo <= hi):
                return sc, np.clip(sh, lo, hi)
            sc *= 0.95
        return sc, sh

    def sample(self, index: int) -> dict:
        """Render sample ``index``: the dict of :func:`render` plus ``index`` and ``intensity``."""
        q = self.params(index)
        ident = identity_params(q["identity"], self.identity_seed)
        scene = sample_scene(np.random.default_rng((q["seed"], 0xBEEF)))
        P = geo.face_points(ident, q["aus"], scene["gaze"])
        sc, sh = self._fit(P, q["pose"], q["scale"], q["shift"])
        out = draw(ident, P, q["aus"], np.asarray(q["pose"]), self.size, q["mask"], scene, sc,
                    tuple(sh), q["expression"])
        out.update(index=int(index), intensity=q["intensity"])
        return out

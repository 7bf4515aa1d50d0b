"""Checkers for the coding exercises of notebook 00 (measuring faces from their landmarks).

Each checker takes the student's function, prints ``not done yet`` while the stub still raises
``NotImplementedError`` (so the notebook runs top to bottom), says what is wrong otherwise, and
returns True only when the function agrees with the package's reference on several faces.
``tests/test_exercises_00_01.py`` passes the solutions in ``notebooks/solutions/00_*.py`` through
the same checkers.

- Exercise 1, :func:`check_eye_aspect_ratio`: the eye aspect ratio from the 68 landmarks
  (reference :func:`helpers.faces.landmarks.eye_openness`).
- Exercise 2, :func:`check_au_effect`: how much one AU changes a landmark measure, read from
  SynthFaces' exact landmarks; the checker then ranks all 17 AUs with the student's function.
"""
from __future__ import annotations

import numpy as np

from helpers.core.exercises import attempt
from helpers.faces.landmarks import eye_openness, lip_distance, mouth_corner_distance
from helpers.synthfaces import AU_NAMES, AUS, check_aus, landmarks, render

__all__ = ["check_eye_aspect_ratio", "check_au_effect", "MEASURES"]

#: the landmark measures of notebook 00 (name -> function of (68, 2) landmarks)
MEASURES = {"mouth width (48-54)": mouth_corner_distance, "lip gap (62-66)": lip_distance,
            "eye aspect ratio": eye_openness}



def _as_float(name: str, value):
    try:
        v = float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        print(f"✗ {name}: expected one number, got {type(value).__name__} "
              f"{getattr(value, 'shape', '')}".rstrip())
        return None
    if not np.isfinite(v):
        print(f"✗ {name}: got {v} (not a finite number)")
        return None
    return v


def _reference_effect(person: int, au: int, measure, intensity: float, size: int) -> float:
    zero = landmarks(person, check_aus({}), size=size)
    moved = landmarks(person, check_aus({au: intensity}), size=size)
    return float(measure(moved)) - float(measure(zero))


def check_eye_aspect_ratio(fn) -> bool:
    """Exercise 1: ``fn(lm)`` with ``lm`` (68, 2) -> the eye aspect ratio, averaged over both eyes."""
    # turned heads: the two eyes differ, so one eye alone is not the mean
    cases = [(3, {}, (0, 0, 0)), (16, {45: 1.0}, (18, 0, 0)), (19, {45: 1.8}, (-15, 5, 0)),
             (23, {5: 2.0}, (12, -8, 6)), (4, {6: 1.5, 12: 2.0}, (-20, 0, -5))]
    for person, aus, pose in cases:
        lm = render(person, aus, pose=pose, size=128)["landmarks"]
        ok, got = attempt(fn, lm.copy())
        if not ok:
            return False
        what = f"person {person}, AUs {aus or 'none'}, pose {pose}"
        got = _as_float(what, got)
        if got is None:
            return False
        want = float(eye_openness(lm))
        if abs(got - want) > 1e-4 * max(1.0, abs(want)):
            right, left = (float(v) for v in eye_openness(lm, "both"))
            if min(abs(got - right), abs(got - left)) < 1e-4:
                hint = "that is one eye only: average the right (36-41) and the left (42-47) eye"
            elif want and abs(got - 2 * want) < 1e-4:
                hint = "twice the expected value: the denominator is 2 |p1 - p4|"
            elif want and abs(got - want / 2) < 1e-4:
                hint = "half the expected value: the numerator adds two vertical distances"
            else:
                hint = ("use p1..p6 = the six points of each eye in iBUG order (36..41 and 42..47): "
                        "(|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)")
            print(f"✗ {what}: expected {want:.4f}, got {got:.4f}; {hint}")
            return False
    sweep = [float(fn(landmarks(3, check_aus({45: v}), size=128))) for v in (0.0, 0.5, 1.0, 1.5, 2.0)]
    print("✓ correct: your eye aspect ratio equals helpers.faces.landmarks.eye_openness on 5 faces.")
    print("  AU45 (blink) 0 -> 2 on person 3:", " ".join(f"{v:.3f}" for v in sweep),
          "(open eyes ~0.3, closed ~0)")
    return True


def check_au_effect(fn, person: int = 3) -> bool:
    """Exercise 2: ``fn(person, au, measure, intensity, size)`` -> measure at the AU minus measure at 0.

    On success, ranks all 17 AUs by their effect on each of :data:`MEASURES` for ``person``,
    computed with the student's function.
    """
    cases = [(3, 12, mouth_corner_distance, 2.0, 128), (16, 26, lip_distance, 1.5, 128),
             (19, 45, eye_openness, 2.0, 64), (23, 14, mouth_corner_distance, 1.0, 256),
             (4, 1, mouth_corner_distance, 2.0, 128)]           # AU1 does not move the mouth: 0
    for p, au, measure, intensity, size in cases:
        ok, got = attempt(fn, p, au, measure, intensity, size)
        if not ok:
            return False
        what = f"person {p}, AU{au} at {intensity}, {measure.__name__}, {size} px"
        got = _as_float(what, got)
        if got is None:
            return False
        want = _reference_effect(p, au, measure, intensity, size)
        if abs(got - want) > 1e-3 * max(1.0, abs(want)):
            at = float(measure(landmarks(p, check_aus({au: intensity}), size=size)))
            if abs(got - at) < 1e-3 * max(1.0, abs(at)):
                hint = "that is the measure at the AU; subtract the measure of the neutral face (all AUs 0)"
            elif abs(got + want) < 1e-3 * max(1.0, abs(want)):
                hint = "the sign is flipped: return measure(with the AU) - measure(neutral)"
            else:
                hint = (f"render person {p} twice at {size} px, frontal, all other AUs 0: once neutral, once "
                        f"with AU{au} = {intensity} (sf.render(...)['landmarks'] or sf.landmarks)")
            print(f"✗ {what}: expected {want:+.4f}, got {got:+.4f}; {hint}")
            return False
    print("✓ correct: your function measures an AU's effect exactly as the reference does.")
    print(f"  With your function, person {person}, each AU 0 -> 2.0 at 128 px:")
    for name, measure in MEASURES.items():
        eff = {au: float(fn(person, au, measure, 2.0, 128)) for au in AUS}
        up, down = max(eff, key=eff.get), min(eff, key=eff.get)
        more = f"AU{up} {AU_NAMES[up]} ({eff[up]:+.3f})" if eff[up] > 1e-6 else "no AU"
        less = f"AU{down} {AU_NAMES[down]} ({eff[down]:+.3f})" if eff[down] < -1e-6 else "no AU"
        print(f"  {name:20s} most increased by {more}, most decreased by {less}")
    return True

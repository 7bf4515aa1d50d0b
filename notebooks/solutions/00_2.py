"""Notebook 00, exercise 2: the effect of one Action Unit on a landmark measure, from exact landmarks."""
from helpers import synthfaces as sf


def au_effect(person: int, au: int, measure, intensity: float = 2.0, size: int = 128) -> float:
    """measure(landmarks with AU `au` at `intensity`) - measure(landmarks of the neutral face).

    Same person, frontal pose, every other AU at 0, rendered at `size` px.
    """
    neutral = sf.render(person, {}, size=size)["landmarks"]
    moved = sf.render(person, {au: intensity}, size=size)["landmarks"]
    return float(measure(moved)) - float(measure(neutral))

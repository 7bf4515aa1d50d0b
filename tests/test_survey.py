"""helpers.survey: order un-flipping, the seed's aggregation, atomic CSV, the widget's logic."""
import numpy as np
import pandas as pd
import pytest
import torch

from helpers.glcic import survey


def _answers(rows):
    return pd.DataFrame(rows, columns=["respondent", "question", "top", "score"])


def test_unflip_orientation():
    # 5 = bottom more similar; mouth at bottom -> 5 stays 5, mouth on top -> 5 becomes 1
    assert survey.mouth_score([5, 5, 1, 3], ["random", "mouth", "mouth", "mouth"]).tolist() == [5, 1, 5, 3]
    with pytest.raises(ValueError):
        survey.mouth_score([6], ["mouth"])
    with pytest.raises(ValueError):
        survey.mouth_score([3], ["left"])


def test_aggregate_counts_wins_like_the_seed():
    # q0: mouth on top, answers "top more similar" -> mouth wins
    # q1: mouth at bottom, answers "top" (=random) -> random wins
    # q2: one says mouth much better, the other random much better -> mean 3 -> tie
    rows = [("a", 0, "mouth", 1), ("b", 0, "mouth", 2),
            ("a", 1, "random", 1), ("b", 1, "random", 2),
            ("a", 2, "random", 5), ("b", 2, "mouth", 5)]
    per, summary = survey.aggregate(_answers(rows))
    assert per.set_index("question")["winner"].to_dict() == {0: "mouth", 1: "random", 2: "tie"}
    assert per.set_index("question")["mean_score"].tolist() == [4.5, 1.5, 3.0]
    assert (summary["random"], summary["mouth"], summary["tie"]) == (1, 1, 1)
    assert summary["mean_score"] == pytest.approx(3.0)


def test_scripted_respondents_reproduce_seed_numbers():
    """A scripted 10x10 survey with a known preference per question gives the seed's 320k counts."""
    qs = survey.make_questions(10, seed=3)
    assert {q.top for q in qs} == {"random", "mouth"}          # both orders occur
    pref = np.array([2, 2, 2, 2, 2, 2, 2, -2, -2, 0], float)   # 7 mouth, 2 random, 1 tie
    ans = survey.scripted_answers(qs, pref, respondents=10, noise=0.0)
    assert len(ans) == 100
    per, s = survey.aggregate(ans)
    assert {k: s[k] for k in ("random", "mouth", "tie")} == survey.SEED_RESULTS[320_000]
    assert s["mean_score"] > 3
    # flipping the preference flips the result: order is really un-flipped
    _, s2 = survey.aggregate(survey.scripted_answers(qs, -pref, noise=0.0))
    assert (s2["random"], s2["mouth"]) == (7, 2)


def test_widget_records_answers_atomically(tmp_path):
    n = 3
    orig = torch.zeros(n, 3, 16, 16)
    comp = {"random": torch.full((n, 3, 16, 16), -0.5), "mouth": torch.full((n, 3, 16, 16), 0.5)}
    qs = survey.make_questions(n, seed=1)
    csv = tmp_path / "answers.csv"
    w = survey.SurveyWidget(orig, comp, qs, csv, respondent="tester")
    w.widget()                      # builds the ipywidgets UI
    for q in qs:
        _, top, bottom = w.current()
        # respondent who always prefers the brighter (mouth) completion, whatever its position
        w.answer(1 if top.mean() > bottom.mean() else 5)
    assert w.done and not list(tmp_path.glob(".*.tmp"))
    saved = survey.load_answers(csv)
    assert len(saved) == n and set(saved["respondent"]) == {"tester"}
    _, s = survey.aggregate(saved)
    assert s["mouth"] == n and s["mean_score"] == 5.0
    with pytest.raises(ValueError):
        w.answer(3)
    # a second respondent appends
    w2 = survey.SurveyWidget(orig, comp, qs, csv, respondent="second")
    w2.answer(3)
    assert len(survey.load_answers(csv)) == n + 1


def test_widget_rejects_bad_input(tmp_path):
    orig = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError):
        survey.SurveyWidget(orig, {"random": orig}, survey.make_questions(2), tmp_path / "a.csv")
    w = survey.SurveyWidget(orig, {"random": orig, "mouth": orig}, survey.make_questions(2), tmp_path / "a.csv")
    with pytest.raises(ValueError):
        w.answer(0)

"""The sentences the notebooks print: built from the tables by the experiment modules, by the
rule each notebook states before its numbers."""
from __future__ import annotations

import pandas as pd

from coordlib.experiments import e0_quickstart, e1_theory, e4_learning_curves, e10_sweeps


def _e0_table(gain, lo, hi):
    return pd.DataFrame({"scenario": "tiny", "method": ["Siloed", "Coordinated"],
                         "profit": [20.0, 20.0 + gain], "gain": [0.0, gain],
                         "gain_lo": [0.0, lo], "gain_hi": [0.0, hi]})


def test_e0_verdict_follows_the_paired_interval():
    assert e0_quickstart.gain_verdicts(_e0_table(0.2, 0.1, 0.3))["verdict"].tolist() == ["higher"]
    assert e0_quickstart.gain_verdicts(_e0_table(-0.2, -0.3, -0.1))["verdict"].tolist() == ["lower"]
    found = e0_quickstart.gain_verdicts(_e0_table(0.05, -0.1, 0.2))
    assert found["verdict"].tolist() == ["no difference detected"]
    assert found["gain_pct"].iloc[0] == 0.25
    text = e0_quickstart.verdict_sentences(_e0_table(0.05, -0.1, 0.2))
    assert "Coordinated is not distinguishable from Siloed" in text and "+0.050" in text


def test_e0_trajectory_sentence_says_when_the_firms_coincide():
    chosen = {"firms": ["siloed", "coordinated"], "differ_periods": 0, "periods": 30,
              "differ_share": 0.0, "start": 0, "stop": 5, "differ_in_window": 0}
    assert "the same in all 30" in e0_quickstart.trajectory_sentence(chosen)
    chosen.update(differ_periods=3, differ_share=0.1, start=10, stop=15, differ_in_window=2)
    text = e0_quickstart.trajectory_sentence(chosen)
    assert "3 of 30" in text and "10.00%" in text and "periods 10-14" in text


def test_e1_check_sentence_counts_by_the_family_interval():

    frame = pd.DataFrame({"z": [2.1, -0.5, 0.3, 0.2], "poisson_in_ci": [False, True, True, True],
                          "poisson_in_family_ci": [True, True, True, True]})
    text = e1_theory.check_sentence(frame, "poisson", "B1")
    assert "agrees with" in text and "4 of 4 inside the family" in text and "3 of 4" in text
    assert "largest |z| 2.10" in text and "combined z +1.05" in text
    frame["poisson_in_family_ci"] = [False, True, True, True]
    assert "does not agree" in e1_theory.check_sentence(frame, "poisson", "B1")
    assert "Bonferroni" in e1_theory.FAMILY_RULE


def test_e1_convexity_and_closed_form_sentences_come_from_the_tables():
    conv = pd.DataFrame({"instance": ["a", "a", "b"],
                         "model": ["normal, one-period", "poisson, one-period", "poisson, stationary"],
                         "negative_second_differences": [0, 5, 3], "best_share": [0.0, 0.5, 0.0],
                         "interior_gain": [0.0, 0.25, 0.0], "best_is_extreme": [True, False, True]})
    text = e1_theory.convexity_sentence(conv)
    assert "1 of 1 curves" in text and "1 of 3 rows" in text and "x = 0.50, by 0.2500" in text
    checks = pd.DataFrame({"instance": ["a", "b"], "system": ["one-period"] * 2,
                           "value_closed_form": [1.1, 0.0], "value_poisson_exact": [1.0, 0.0]})
    text = e1_theory.closed_form_sentence(checks)
    assert "+10.0%" in text and "exact value 0 (GMV-greedy already optimal) on `b`" in text


def test_e10_growth_verdict_needs_separated_intervals_at_every_lead_time():

    gain = pd.DataFrame({"lift": [0.5, 4.0, 0.5, 4.0], "lead_time": [0, 0, 2, 2],
                         "profit": [1.0, 5.0, 1.0, 1.5], "profit_lo": [0.5, 4.0, 0.5, 0.9],
                         "profit_hi": [1.5, 6.0, 1.5, 2.1]})
    text = e10_sweeps.growth_verdict(gain, "tiny-margin")
    assert "`tiny-margin`" in text and "at 1 of 2 lead times" in text
    assert "(intervals not separated)" in text and "5.00 [4.00, 6.00] at lift 4" in text
    assert "every lead time" in e10_sweeps.growth_verdict(gain[gain.lead_time == 0], "x")


def test_e4_reading_sentences_hold_the_learner_against_the_reference_lines():

    final = pd.DataFrame({"scenario": ["tiny"], "config": ["mtma"],
                          e4_learning_curves.ROLLOUT: [18.0]})
    evaluated = pd.DataFrame({"scenario": ["tiny"], "config": ["mtma"], "profit": [19.0],
                              "profit_lo": [18.5], "profit_hi": [19.5]})
    refs = pd.DataFrame({"scenario": ["tiny", "tiny"], "reference": ["best heuristic (x)", "DP optimum g*"],
                         "profit": [19.0, 20.0], "kind": ["heuristic", "DP"]})
    text = e4_learning_curves.reading_sentences(final, evaluated, refs)
    assert "last rollout 18.00" in text and "evaluated 19.00 [18.50, 19.50]" in text
    assert "+0.0% vs best heuristic (x)" in text and "-5.0% vs DP optimum g*" in text
    verdicts = pd.DataFrame({"scenario": ["tiny"], "config": ["mtma"], "stationary": [False],
                             "slope": [0.1], "verdict": ["still changing"]})
    text = e4_learning_curves.reading_sentences(final, evaluated, refs, verdicts)
    assert text.startswith("**Convergence: 1 of 1 curves still changing**")
    assert "curve still changing" in text

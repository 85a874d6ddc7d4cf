"""Claim C7's rule (coordlib.experiments.claims.decide_convergence) with E8's within-run rows."""
import pandas as pd
import pytest

from coordlib.experiments import claims, e8_convergence


def _table(ratio_last=None, floor=None, first=0.05, last=0.5):
    values = {"learning curve (profit) stationary": "yes",
              "iterates (parameter norms) stationary": "yes",
              "schedules Robbins-Monro (fast, slow)": "yes", "slow/fast step ratio -> 0": "yes",
              claims.E8_TRACKING[0]: first, claims.E8_TRACKING[1]: last}
    if ratio_last is not None:
        values[claims.E8_RATIO_LAST] = ratio_last
    if floor is not None:
        values[claims.E8_NOISE_FLOOR] = floor
    return {"e8_diagnostics": pd.DataFrame({"check": list(values), "value": list(values.values())})}


def test_separation_within_the_run_is_a_condition():
    assert claims.decide_convergence(_table(ratio_last=0.03, last=0.06)).verdict == claims.SUPPORTED
    assert claims.decide_convergence(_table(ratio_last=0.2, last=0.06)).verdict \
        == claims.NOT_SUPPORTED


def test_a_growing_distance_within_the_noise_floor_still_tracks():
    assert claims.decide_convergence(_table(floor=0.1)).verdict == claims.PARTLY
    assert claims.decide_convergence(_table(floor=0.6)).verdict == claims.SUPPORTED
    assert "noise floor 0.600" in claims.decide_convergence(_table(floor=0.6)).evidence


def test_window_means_average_each_end_of_the_records():
    x = [1.0, 3.0, 0, 0, 0, 0, 10.0, 20.0]
    m = e8_convergence.window_means(x)
    assert (m["early"], m["late"]) == (2.0, 15.0)
    assert m["late_se"] == pd.Series([10.0, 20.0]).std() / 2 ** 0.5
    rows = e8_convergence.tracking_checks(pd.DataFrame({"exposure_distance": x}))
    labels = {r["check"]: r["value"] for r in rows}
    assert labels[claims.E8_POLICY_TRACKING[1]] == 15.0 and len(rows) == 4
    assert e8_convergence.window_means([1.0, 2.0, 3.0, 5.0])["late"] == 4.0   # 2 records at least
    with pytest.raises(ValueError, match="too few"):
        e8_convergence.window_means([1.0, 2.0, 3.0])

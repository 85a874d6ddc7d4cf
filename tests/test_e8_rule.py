"""Claim C7's rule (coordlib.experiments.claims.decide_convergence) with E8's within-run rows."""
import pandas as pd

from coordlib.experiments import claims


def _table(ratio_last=None, floor=None, first=0.05, last=0.5):
    values = {"learning curve (profit) stationary": "yes",
              "iterates (parameter norms) stationary": "yes",
              "schedules Robbins-Monro (fast, slow)": "yes", "slow/fast step ratio -> 0": "yes",
              "tracking: relative parameter distance, first record": first,
              "tracking: relative parameter distance, last record": last}
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

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


def _rows(first=0.05, last=0.06, iterates="yes", robbins_monro="yes"):
    values = {"learning curve (profit) stationary": "yes",
              "iterates (parameter norms) stationary": iterates,
              "schedules Robbins-Monro (fast, slow)": robbins_monro,
              "slow/fast step ratio -> 0": "yes",
              claims.E8_RATIO_LAST: 0.03, claims.E8_TRACKING[0]: first, claims.E8_TRACKING[1]: last}
    return [{"check": k, "value": v} for k, v in values.items()]


def _verdict(**scenarios):
    table = e8_convergence.diagnostics_table(scenarios)
    return claims.decide_convergence({"e8_diagnostics": table})


def test_the_rule_decides_each_scenario_and_combines_them():
    teaching = [{"check": "teaching example, right ordering: slow iterate stationary", "value": False}]
    table = e8_convergence.diagnostics_table({"a": _rows(), "b": _rows(),
                                              e8_convergence.TEACHING: teaching})
    assert list(table.columns) == ["scenario", "check", "value"]
    assert list(table["scenario"].unique()) == ["a", "b", e8_convergence.TEACHING]
    found = claims.decide_convergence({"e8_diagnostics": table})
    assert found.verdict == claims.SUPPORTED                # the teaching rows are not evidence
    assert found.evidence.startswith("a: step-size conditions hold") and "; b: " in found.evidence
    growing, broken = _rows(iterates="no", last=0.5), _rows(robbins_monro="no")
    assert _verdict(a=_rows(), b=growing).verdict == claims.PARTLY
    assert _verdict(a=growing, b=growing).verdict == claims.PARTLY
    assert _verdict(a=broken, b=broken).verdict == claims.NOT_SUPPORTED
    assert _verdict(a=_rows(), b=broken).verdict == claims.PARTLY
    assert claims.decide_convergence({"e8_diagnostics": e8_convergence.diagnostics_table(
        {e8_convergence.TEACHING: teaching})}).verdict == claims.NOT_MEASURED


def test_the_ledger_reads_the_scenario_column_from_the_csv(tmp_path):
    table = e8_convergence.diagnostics_table({"a": _rows(), "b": _rows(robbins_monro="no")})
    table.to_csv(tmp_path / "e8_diagnostics.csv", index=False)
    claim = next(c for c in claims.CLAIMS if c.key == "C7")
    found = claims.assess(claim, tmp_path)
    assert found.verdict == claims.PARTLY
    assert "a: step-size conditions hold" in found.evidence
    assert "b: step-size conditions fail" in found.evidence


def test_shown_values_read_back_by_the_rule():
    import numpy as np
    assert [e8_convergence.shown(v) for v in (True, False, np.bool_(True), None, 0.12345678,
                                              "yes")] \
        == ["yes", "no", "yes", "not tested (curve too short)", 0.123457, "yes"]
    assert claims._true(e8_convergence.shown(np.bool_(True)))
    assert not claims._true(e8_convergence.shown(None))


def test_learner_checks_of_a_short_study(tmp_path):
    from coordlib.pipeline.results import ResultStore
    store = ResultStore(tmp_path)
    study = e8_convergence.cached_study(store, "tiny-margin", iterations=6, branch_at=2, seed=0,
                                        n_envs=4)
    assert set(study) == set(e8_convergence.STUDY_FRAMES) and len(study["tracking"]) == 4
    rows = {r["check"]: r["value"] for r in e8_convergence.learner_checks(study)}
    assert rows[claims.E8_ITERATES] is None                 # six iterations: too short to test
    assert rows[claims.E8_RATIO_LAST] == pytest.approx(0.1 * (1 + 5 / 10.0) ** -0.3, rel=1e-6)
    assert claims.E8_POLICY_TRACKING[1] in rows and claims.E8_POLICY_FLOOR in rows
    assert (store.hits, store.misses) == (0, 1)
    again = e8_convergence.cached_study(store, "tiny-margin", iterations=6, branch_at=2, seed=0,
                                        n_envs=4)
    assert (store.hits, store.misses) == (1, 1)              # read back, not trained again
    pd.testing.assert_frame_equal(again["tracking"], study["tracking"])

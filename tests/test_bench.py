"""The benchmark report (coordlib.bench): its machinery, and every section on a tiny budget.

No timing is asserted (the machine is shared); what is checked is how the figures are put
together: the alternation of the timed functions, the interval of a difference, the systems
compared being the same system, the budgets being equal, the rows being well formed, and a
section that cannot run yet being reported as skipped.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib import bench, scenarios
from coordlib.bench import (
    MET,
    ROW_FIELDS,
    LearnerBudget,
    OneProduct,
    SB3Policy,
    SectionResult,
    difference_ci,
    fmt,
    report,
    row,
    run_sections,
    side_by_side,
    time_to_reach,
    write_report,
)
from coordlib.envs import CoordinationEnv
from coordlib.exact import dp


def check_rows(rows, section, count=None):
    """Every row has the report's fields, a known verdict and a positive ratio (or none)."""
    assert rows, f"{section}: no rows"
    if count is not None:
        assert len(rows) == count
    for r in rows:
        assert set(ROW_FIELDS) <= set(r), set(ROW_FIELDS) - set(r)
        assert r["section"] == section
        assert r["met"] in MET
        assert r["measured"] and r["target"]
        assert isinstance(r["ratio"], float)
        assert math.isnan(r["ratio"]) or r["ratio"] > 0      # nan: no ratio (e.g. not reached)


# ---- machinery ----------------------------------------------------------------------------------
def test_side_by_side_alternates_the_functions_round_by_round():
    calls = []
    seconds = side_by_side(lambda: calls.append("a"), lambda: calls.append("b"),
                           lambda: calls.append("c"), rounds=3, min_seconds=0)
    # one warm-up call each, then one call per function per round, in turn
    assert calls == ["a", "b", "c"] + ["a", "b", "c"] * 3
    assert len(seconds) == 3 and all(s >= 0 for s in seconds)


def test_side_by_side_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one function"):
        side_by_side()
    with pytest.raises(ValueError, match="rounds"):
        side_by_side(lambda: None, rounds=0)


def test_difference_ci_is_welchs_interval():
    rng = np.random.default_rng(7)
    a, b = rng.normal(2.0, 1.0, 12), rng.normal(2.3, 3.0, 7)
    diff, lo, hi = difference_ci(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert (lo, hi) == pytest.approx((reference.low, reference.high), rel=1e-9)
    with pytest.raises(ValueError, match="two values"):
        difference_ci([1.0], [1.0, 2.0])


def test_time_to_reach_takes_the_first_checkpoint_at_or_above():
    curve = pd.DataFrame({"train_seconds": [1.0, 2.0, 3.0, 4.0], "profit": [5.0, 9.0, 8.0, 12.0]})
    assert time_to_reach(curve, 9.0) == 2.0
    assert time_to_reach(curve, 10.0) == 4.0
    assert math.isnan(time_to_reach(curve, 13.0))


def test_row_and_format():
    with pytest.raises(ValueError, match="met"):
        row("x", "m", "1", "2", 0.5, ">= 1", "maybe")
    assert fmt(1234.5, "s") == "1.23e+03 s"
    assert fmt(0.25) == "0.25"
    assert fmt(float("nan"), "s") == "n/a s"
    assert "cores" in bench.machine()


def test_write_report_lists_the_targets_not_met(tmp_path):
    rows = [row("demo", "fast thing", "10 /s", "1 /s", 10.0, ">= 5", "yes"),
            row("demo", "slow thing", "1 /s", "10 /s", 0.1, ">= 5", "no"),
            bench.skipped_row("later", "coordlib.later is not available yet")]
    for r in rows:
        r["machine"], r["command"] = "2 cores, test CPU", "python -m coordlib bench --only demo"
    table = pd.DataFrame({"x": [1, 2]})
    results = {"demo": SectionResult(table, rows[:2], {"demo_curve": table}),
               "later": SectionResult(pd.DataFrame(), rows[2:])}
    path = write_report(results, tmp_path, "python -m coordlib bench")
    text = path.read_text()
    missed = text.split("## Targets not met")[1]
    assert "slow thing" in missed and "fast thing" not in missed
    assert "coordlib.later is not available yet" in text
    assert "2 cores, test CPU" in text and "`python -m coordlib bench --only demo`" in text
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary.columns) == list(ROW_FIELDS) and len(summary) == 3
    assert (tmp_path / "demo.csv").is_file() and (tmp_path / "demo_curve.csv").is_file()
    assert not (tmp_path / "later.csv").exists()


def test_cli_rejects_an_unknown_section(capsys):
    with pytest.raises(SystemExit) as exc:
        report.cli(["--only", "simulator,nope"])
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err


def test_cli_writes_the_report(tmp_path):
    assert report.cli(["--only", "reproduce", "--out", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["command"]) == {"python -m coordlib bench --only reproduce"}
    assert (tmp_path / "report.md").is_file()


# ---- sections whose optional dependency is missing ----------------------------------------------------------------
@pytest.mark.parametrize("section, missing", [("learner", "stable_baselines3"),
                                               ("stockpyl", "stockpyl")])
def test_a_missing_module_gives_a_skipped_row(monkeypatch, section, missing):
    monkeypatch.setitem(sys.modules, missing, None)       # import of it now fails
    result = run_sections([section], echo=lambda _: None)[section]
    assert len(result.rows) == 1
    (r,) = result.rows
    assert r["met"] == "skipped"
    assert "not available yet" in r["note"] and missing in r["note"]
    assert r["command"] == f"python -m coordlib bench --only {section}"


# ---- each section on a tiny budget ----------------------------------------------------------------
def test_simulator_section_rows():
    result = bench.simulator_section(scenarios=("tiny",), product_copies=(1, 10), rounds=1,
                                     min_seconds=0)
    assert list(result.table["batch"]) == [1, 5]
    check_rows(result.rows, "simulator", count=2)
    big = result.table.iloc[-1]
    for r, ratio in zip(result.rows, (big.ratio, big.ratio_vs_bn)):
        assert r["ratio"] == ratio
        assert r["met"] == ("yes" if ratio >= 0.5 else "no")


def test_simulator_target_must_hold_at_every_large_batch():
    table = pd.DataFrame({"scenario": "tiny", "N": 2, "K": 1, "batch": [5, 50_000, 500_000],
                          "product_copies": [10, 100_000, 1_000_000],
                          "step_product_periods_per_s": 1.0, "floor_product_periods_per_s": 2.0,
                          "bn_floor_product_periods_per_s": 3.0,
                          "ratio": [0.1, 0.6, 0.45], "ratio_vs_bn": [0.1, 0.55, 0.7]})
    own, bn = bench.simulator_rows(table)
    assert (own["ratio"], own["met"]) == (0.45, "no")     # 0.6 at 100,000 does not rescue it
    assert (bn["ratio"], bn["met"]) == (0.55, "yes")      # the small batch does not count
    assert "1,000,000 product copies" in own["measured"]


def test_wrappers_section_rows():
    result = bench.wrappers_section(scenarios=("tiny",), steps=20, repeats=1)
    check_rows(result.rows, "wrappers", count=len(bench.WRAPPERS))
    assert set(result.table["variant"]) == set(bench.WRAPPERS)
    assert np.allclose(result.table["ratio"],
                       result.table["us_per_step"] / result.table["raw_us_per_step"])


def test_one_product_system_is_the_same_in_both_simulators():
    """Mean demand mu exactly (MNL with v_0 = v, no lift), and stockpyl's lead time L + 1."""
    system = OneProduct(mean_demand=6.0, lead_time=1)
    s = system.scenario()
    assert s.backlog and s.n_products == 1 and s.n_segments == 1
    assert s.demand_rate(s.uniform_exposure())[0] == pytest.approx(6.0, rel=1e-12)
    assert system.stockpyl_lead_time == 2
    # the optimal backlog base-stock level: smallest S with P(Poisson(12) <= S) >= 2 / 2.5
    cdf = stats.poisson.cdf(np.arange(40), 12.0)
    assert system.base_stock_level == int(np.argmax(cdf >= 0.8))


def test_stockpyl_section_both_costs_match_the_exact_cost():
    pytest.importorskip("stockpyl")
    result = bench.stockpyl_section(replications=4, periods=600, warmup=100, batch=500,
                                    batch_periods=300, batch_rounds=2)
    check_rows(result.rows, "stockpyl", count=3)
    cost_row, *speed_rows = result.rows
    agree = cost_row["met"] == "yes"
    assert all(r["met"] in (("yes", "no") if agree else ("void",)) for r in speed_rows)
    table = result.table.set_index("system")
    exact = OneProduct().exact_cost()
    assert table.loc["exact (stockpyl newsvendor_poisson_cost, (L+1) mu)", "cost"] == exact
    # each simulator's mean within 4 standard errors of the exact cost (a wrong lead-time
    # mapping would put stockpyl at the cost of L periods of demand, 2.19 instead of 2.50)
    for name in ("stockpyl sim.simulation", "coordlib.evaluate"):
        for _, r in table.loc[[name]].iterrows():
            n = int(r.replications)
            se = (r.cost_hi - r.cost_lo) / (2 * stats.t.ppf(0.975, n - 1))
            assert abs(r.cost - exact) < 4 * se, (name, r.batch, r.cost, exact, se)


def test_dp_section_reports_the_state_and_action_counts():
    """tiny capped at M = Qmax = 3, L = 1: the reduced state is A_i in 0..3 per product (16
    states), the full state (I_i, o_i0) has 16 values per product (256), and the joint action is
    4 x 4 orders x 11 exposures (176)."""
    result = bench.dp_section(instances=["tiny"], max_inventory=3)
    check_rows(result.rows, "dp", count=2)
    (record,) = result.table.to_dict("records")
    assert (record["reduced_states"], record["full_states"], record["actions"]) == (16, 256, 176)
    assert record["state_actions_per_s"] == pytest.approx(
        record["iterations"] * 16 * 176 / record["seconds"], rel=1e-12)


def test_dp_instances_pick_the_largest_variant_within_the_limit():
    """Post-decision table per product (M + 1)(Qmax + 1)^L: L = (1, 2) gives 441 x 9261 x 11
    = 4.5e7 entries, within the default limit of 2e8; L = (2, 2) gives 9261^2 x 11 = 9.4e8."""
    tiny, largest = bench.dp_instances()
    assert tiny.name == "tiny" and largest.lead_time.tolist() == [1, 2]
    assert dp.problem_size(largest)["post_decision_table"] == 441 * 9261 * 11
    assert 441 * 9261 * 11 <= dp.DEFAULT_MAX_TABLE < 9261 ** 2 * 11


class _HalfModel:
    """A stand-in for an SB3 model: every entry of the joint action is 0.5."""

    def predict(self, observation, deterministic=True):
        return np.full((observation.shape[0], 4), 0.5, dtype=np.float32), None


def test_sb3_policy_sees_what_the_env_shows_and_acts_as_the_env_decodes():
    s = scenarios.get("tiny")
    env = CoordinationEnv(s, max_periods=50)
    policy = SB3Policy(_HalfModel(), max_periods=50)
    policy.reset(s, 1, np.random.default_rng(0))
    flat, _ = env.reset(seed=3)
    rng = np.random.default_rng(1)
    for _ in range(12):
        assert np.array_equal(policy.flat_observation(env.simulator.observation)[0], flat)
        flat, *_ = env.step(rng.random(4).astype(np.float32))
    action = policy.act(env.simulator.observation)
    assert action.orders.tolist() == [[10, 10]]          # floor(0.5 x 20 + 1/2)
    assert np.allclose(action.exposure, 0.5)


def test_learner_section_gives_both_learners_the_same_budget():
    pytest.importorskip("stable_baselines3")
    budget = LearnerBudget(env_steps=128, n_envs=8, rollout_length=8, sb3_envs=2, checkpoints=1,
                           replications=2, periods=20, warmup=5)
    result = bench.learner_section({"tiny": budget}, peers=("sb3_ppo",))
    check_rows(result.rows, "learner", count=4)
    curves = result.extra["learner_curves"]
    assert set(curves["learner"]) == {"mtma", "sb3_ppo"}
    final = curves.groupby("learner")["env_steps"].max()
    assert final["mtma"] == final["sb3_ppo"] == 128
    assert (curves["train_seconds"] > 0).all()


def test_reproduce_section_reads_the_stamps(tmp_path):
    for profile, stamps in (("smoke", {"E0": 1.5, "E1": 2.0}), ("paper", {"E0": 30.0})):
        folder = tmp_path / "build" / profile / "stamps"
        folder.mkdir(parents=True)
        for name, seconds in stamps.items():
            (folder / f"{name}.json").write_text(json.dumps({"notebook": f"{name}.ipynb",
                                                             "seconds": seconds}))
    result = bench.reproduce_section(tmp_path)
    check_rows(result.rows, "reproduce", count=3)
    assert result.table.groupby("profile")["seconds"].sum().to_dict() == {"paper": 30.0,
                                                                           "smoke": 3.5}
    assert result.rows[-1]["ratio"] == pytest.approx(30.0 / 3.5)


def test_reproduce_section_without_stamps_is_skipped(tmp_path):
    result = bench.reproduce_section(tmp_path)
    assert [r["met"] for r in result.rows] == ["skipped", "skipped"]
    assert all("not available yet" in r["measured"] for r in result.rows)


def test_readme_bench_block_quotes_the_rows_with_a_target(tmp_path):
    from coordlib import bench as b

    summary = tmp_path / "summary.csv"
    summary.write_text("section,measured,ours,reference,ratio,target,met,note,machine,command\n"
                       "s,step vs floor,1 /s,2 /s,0.5,>= 0.5,yes,,m,c\n"
                       "w,wrapper,3 us,1 us,3.0,none (reported),n/a,,m,c\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{report.README_START}\nold\n{report.README_END}\nz\n")
    assert b.update_readme(readme, summary)
    text = readme.read_text()
    assert "| step vs floor | 1 /s | 2 /s | 0.5 | >= 0.5 | yes |" in text
    assert "wrapper" not in text and "old" not in text and text.endswith("z\n")
    assert not b.update_readme(readme, summary)

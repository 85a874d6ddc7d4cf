"""E7 at scale: every method in one table against the bound, the rules, and the figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from coordlib.experiments import e7_scalability


def _baselines(scenario, n, optimum=float("nan")):
    row = {"scenario": scenario, "N": n, "K": 3, "bound_fluid": 12.0, "bound_newsvendor": 11.0,
           "static": 10.0, "optimum": optimum}
    for key, value in (("siloed", 8.0), ("margin-greedy", 9.0), ("coordinated", 9.5),
                       ("static_sim", 10.0)):
        row.update({key: value, f"{key}_lo": value - 0.2, f"{key}_hi": value + 0.2})
    return row


def _learners(scenario, profits, config="mtma", credit="firm"):
    method = e7_scalability.LEARNERS[config]
    return pd.DataFrame({"scenario": scenario, "config": config, "seed": range(len(profits)),
                         "method": method, "credit": credit,
                         "profit": profits, "iterations": 5, "train_seconds": 2.0,
                         "steps_per_second": 100.0, "product_steps_per_second": 100.0 * 2,
                         "parameters": 321})


def test_table_gaps_use_the_exact_optimum_where_it_exists_else_the_tightest_bound():
    baselines = pd.DataFrame([_baselines("small", 2, optimum=10.5), _baselines("big", 200)])
    learners = pd.concat([_learners("small", [10.0, 10.2, 10.1]),
                          _learners("big", [10.4, 10.6, 10.5])])
    table = e7_scalability.scalability_table(learners, baselines)
    small = table[table["scenario"] == "small"].set_index("method")
    big = table[table["scenario"] == "big"].set_index("method")
    assert small.loc["MTMA", "bound"] == 10.5
    assert big.loc["MTMA", "bound"] == 11.0                      # min(fluid, newsvendor)
    assert big.loc["MTMA", "gap_bound_pct"] == pytest.approx(100 * (10.5 / 11.0 - 1))
    assert big.loc["MTMA", "gap_best_pct"] == pytest.approx(100 * (10.5 / 10.0 - 1))
    assert big.loc["siloed firm", "gap_best_pct"] == pytest.approx(-20.0)
    assert list(table["N"]) == sorted(table["N"])               # sizes ascending
    mean, lo, hi = big.loc["MTMA", ["profit", "profit_lo", "profit_hi"]]
    assert lo < mean < hi and mean == pytest.approx(10.5)


def test_scale_checks_read_only_large_scenarios_and_separate_intervals():
    baselines = pd.DataFrame([_baselines("small", 2), _baselines("big", 200)])
    learners = pd.concat([_learners("small", [1.0, 1.1]), _learners("big", [9.0, 9.05, 9.1])])
    checks = e7_scalability.scale_checks(e7_scalability.scalability_table(learners, baselines))
    assert list(checks["scenario"]) == ["big"]
    row = checks.iloc[0]
    assert row["above_siloed"] and not row["reaches_best"] and not row["reaches_static"]
    text = e7_scalability.verdict_text(e7_scalability.scalability_table(learners, baselines))
    assert "does not scale (not supported)" in text and "1 of 1" in text and "-9.5%" in text


def test_figure_gives_every_method_its_own_saturated_colour():
    baselines = pd.DataFrame([_baselines("small", 2, optimum=10.5), _baselines("big", 200)])
    learners = pd.concat([_learners(s, [10.0, 10.2]) for s in ("small", "big")]
                         + [_learners(s, [9.0, 9.2], "siloed") for s in ("small", "big")])
    table = e7_scalability.scalability_table(learners, baselines)
    curves = pd.DataFrame({"scenario": "big", "config": "mtma", "method": "MTMA", "seed": 0,
                           "iteration": [1, 2, 3], "profit": [8.0, 9.0, 9.5]})
    fig = e7_scalability.plot_scalability(table, curves)
    colours = {tuple(np.round(c.get_color() if isinstance(c.get_color(), tuple)
                              else to_rgb(c.get_color()), 3))
               for c in fig.axes[0].get_lines() if c.get_linestyle() == "None"}
    assert len(colours) == 6                     # 4 baselines + 2 learners
    assert all(min(c) < 0.6 for c in colours)   # no pale marker
    assert "bound" in fig.axes[0].get_ylabel()


def test_scenario_for_rejects_a_bad_size():
    with pytest.raises(ValueError, match="N and K"):
        e7_scalability.scenario_for("random-N0-K2")


def test_credit_ablation_trains_mtma_with_the_other_credit_beside_the_learners(tmp_path):
    learners, baselines, curves = e7_scalability.scalability(
        ["tiny"], [0], 1, tmp_path, configs=["mtma", "siloed"],
        settings={"n_envs": 4, "rollout_length": 4, "eval_replications": 2, "eval_periods": 20,
                  "eval_warmup": 4},
        baseline_budget={"replications": 2, "periods": 20, "warmup": 4,
                         "tuning": {"replications": 2, "periods": 20, "warmup": 4}},
        workers=1, scenario_settings={"tiny": {"replenisher_credit": "firm"}},
        credit_ablation=["tiny"])
    methods = dict(zip(learners["method"], learners["credit"]))
    assert methods == {"MTMA": "firm", "siloed learner": "firm", "MTMA, product credit": "product"}
    assert set(curves["method"]) == set(methods)
    table = e7_scalability.scalability_table(learners, baselines)
    learned = table[table["kind"] == "learner"]["method"].tolist()
    assert learned == ["MTMA", "siloed learner", "MTMA, product credit"]
    assert e7_scalability.scale_checks(table).empty          # N = 2 < SCALE_SIZE
    # the split of the gap reads the run where scalability wrote it
    run = e7_scalability.learner_run_dir(
        tmp_path, "tiny", "mtma", 0, {"n_envs": 4, "rollout_length": 4, "eval_replications": 2,
                                      "eval_periods": 20, "eval_warmup": 4},
        {"tiny": {"replenisher_credit": "firm"}})
    assert (run / "checkpoint.pt").is_file()
    split = e7_scalability.gap_split("tiny", run, replications=2, periods=30, warmup=5,
                                     tuning={"replications": 2, "periods": 20, "warmup": 4,
                                             "offsets": range(-1, 2)})
    assert list(split["method"]) == ["MTMA (both departments learned)",
                                     "learned recommender + tuned base-stock",
                                     "static-optimal exposures + learned replenisher",
                                     "static-coordination optimum"]
    assert split["gap_static_pct"].iloc[-1] == 0
    assert "**tiny**" in e7_scalability.split_text(split)


def test_split_text_names_the_department_that_loses_more():
    split = pd.DataFrame({"scenario": "family-100", "method": ["a", "b", "c", "d"],
                          "gap_static_pct": [-11.5, -11.8, -9.4, 0.0]})
    text = e7_scalability.split_text(split)
    assert "MTMA is at -11.5%" in text and "The learned recommender is the larger part" in text
    assert "each department alone loses" in text
    assert "nothing to split" in e7_scalability.split_text(pd.DataFrame())


@pytest.mark.parametrize("argument, message", [
    ({"scenario_settings": {"medium": {"n_envs": 4}}}, "scenario_settings: \\['medium'\\]"),
    ({"credit_ablation": ["medium"]}, "credit_ablation: \\['medium'\\]"),
    ({"scenario_settings": {"tiny": {"replenisher_credit": "segment"}}}, "replenisher_credit on tiny"),
])
def test_scalability_names_a_bad_setting_before_training(tmp_path, argument, message):
    with pytest.raises(ValueError, match=message):
        e7_scalability.scalability(["tiny"], [0], 1, tmp_path, **argument)
    assert not any(tmp_path.rglob("*.json"))                   # nothing was trained


def test_credit_text_compares_the_profiles_credit_with_the_other_where_both_ran():
    baselines = pd.DataFrame([_baselines("big", 200)])
    mtma = _learners("big", [10.4, 10.6, 10.5], credit="product")
    other = _learners("big", [8.0, 8.2, 8.1]).assign(method="MTMA, firm credit")
    table = e7_scalability.scalability_table(pd.concat([mtma, other]), baselines)
    text = e7_scalability.credit_text(table)
    assert "MTMA with product credit 10.50" in text and "with firm credit 8.10" in text
    assert "above it, intervals apart" in text
    assert "replenisher's credit" in e7_scalability.verdict_text(table)
    assert e7_scalability.credit_text(e7_scalability.scalability_table(mtma, baselines)) == ""


def test_figure_colours_methods_in_every_panel_and_scenarios_by_line_style():
    baselines = pd.DataFrame([_baselines("small", 2, optimum=10.5), _baselines("big", 200)])
    learners = pd.concat([_learners(s, [10.0, 10.2]) for s in ("small", "big")]
                         + [_learners(s, [9.0, 9.2], "siloed") for s in ("small", "big")])
    table = e7_scalability.scalability_table(learners, baselines)
    curves = pd.concat([pd.DataFrame({"scenario": s, "config": c, "method": m, "seed": 0,
                                      "iteration": [1, 2, 3], "profit": [8.0, 9.0, 9.5]})
                        for s in ("small", "big")
                        for c, m in (("mtma", "MTMA"), ("siloed", "siloed learner"))])
    fig = e7_scalability.plot_scalability(table, curves)

    def rgb(line):
        return tuple(np.round(to_rgb(line.get_color()), 3))
    left = {bars.get_label(): tuple(np.round(to_rgb(bars.lines[0].get_color()), 3))
            for bars in fig.axes[0].containers}
    middle = {rgb(line) for line in fig.axes[1].get_lines() if len(line.get_xdata()) == 3}
    assert middle == {left["MTMA"], left["siloed learner"]}  # two scenarios, two colours
    styles = {line.get_linestyle() for line in fig.axes[1].get_lines()
              if len(line.get_xdata()) == 3}
    assert len(styles) == 2                                   # one line style per scenario

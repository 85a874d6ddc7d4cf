"""The learner-quality benchmark (coordlib.bench.learner_quality): gaps, comparison, gate.

The gap arithmetic and the comparison are checked on made-up runs whose answers are known;
the section itself runs on a two-iteration panel (its numbers are not judged, its shape and
its determinism are).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib.bench import learner_quality as lq
from coordlib.bench import report, run_sections, write_report
from coordlib.bench.common import row
from coordlib.exact import dp
from coordlib.exact.single_product import solve, zipkin_instance
from coordlib.model import scenarios

ZIPKIN = lq.PanelRow("z", "zipkin:2:9", "zipkin", iterations=2, n_envs=8, seeds=(0, 1, 2))
MEDIUM = lq.PanelRow("m", "medium", "best-heuristic", iterations=2, n_envs=8, seeds=(0, 1))


def _learners(name, profits):
    return pd.DataFrame({"row": name, "seed": range(len(profits)), "learner": profits,
                         "train_seconds": 1.0})


def test_zipkin_gap_is_the_cost_above_the_optimal_cost_in_percent():
    optimal_cost = solve(**zipkin_instance(9, 2)).cost
    refs = pd.DataFrame(
        [{"row": "z", "seed": s, "reference": "optimum", "profit": -optimal_cost + e,
          "exact": -optimal_cost} for s, e in enumerate((0.01, -0.02, 0.0))]
        + [{"row": "z", "seed": s, "reference": "best base-stock S=19", "profit": -6.3,
            "exact": -6.316} for s in range(3)])
    learner_costs = np.array([6.20, 6.25, 6.30])
    runs = lq.panel_runs([ZIPKIN], _learners("z", -learner_costs), refs)
    on_stream = -refs[refs.reference == "optimum"]["profit"].to_numpy()
    # same stream: the learner's cost minus the optimum's cost on it, over the optimal cost
    expected = 100 * (learner_costs - on_stream) / optimal_cost
    np.testing.assert_allclose(runs["gap_pct"], expected, rtol=1e-12)
    assert (runs["reference_value"] == -optimal_cost).all()
    assert (runs["base_stock"] == -6.3).all()
    # cost 6.2-6.3 against base-stock's 6.3: below it on the mean, but the gap is above 2%
    assert expected.mean() > 2 and not lq.target_met(ZIPKIN, runs)


def test_best_heuristic_rows_take_the_best_mean_on_the_same_streams():
    refs = pd.DataFrame([
        {"row": "m", "seed": s, "reference": name, "profit": value + 0.5 * s, "exact": exact}
        for s in (0, 1)
        for name, value, exact in (("static-coordination optimum", 240.0, 241.4),
                                   ("siloed", 238.0, None), ("margin-greedy", 242.0, None))])
    runs = lq.panel_runs([MEDIUM], _learners("m", [241.0, 241.5]), refs)
    assert set(runs["reference"]) == {"margin-greedy"}
    # no exact value for a firm: the reference value is its mean over the streams
    assert runs["reference_value"].iloc[0] == pytest.approx(242.25)
    np.testing.assert_allclose(runs["gap_pct"], 100 * np.array([1.0, 1.0]) / 242.25)


def _runs(name, gaps, iterations=2, n_envs=8):
    return pd.DataFrame({"row": name, "seed": range(len(gaps)), "gap_pct": gaps,
                         "iterations": iterations, "n_envs": n_envs, "reference": "optimum",
                         "reference_value": -6.0, "reference_profit": -6.0,
                         "learner": -6.0 - 0.06 * np.asarray(gaps), "base_stock": -6.3,
                         "train_seconds": 1.0, "code_version": "old"})


def test_compare_names_a_row_that_got_worse_beyond_its_interval():
    previous = _runs("z", [1.0, 1.1, 0.9])
    worse = lq.compare(_runs("z", [3.0, 3.2, 2.9]), previous, [ZIPKIN]).iloc[0]
    assert worse["verdict"] == "worse" and worse["change"] == pytest.approx(2.0333, abs=1e-3)
    assert worse["change_lo"] > 0
    level = lq.compare(_runs("z", [1.5, 0.2, 1.6]), previous, [ZIPKIN]).iloc[0]
    assert level["verdict"] == "level" and level["change_lo"] < 0 < level["change_hi"]
    better = lq.compare(_runs("z", [0.1, 0.2, 0.15]), previous, [ZIPKIN]).iloc[0]
    assert better["verdict"] == "better"
    lines = lq.summary_lines(lq.compare(_runs("z", [3.0, 3.2, 2.9]), previous, [ZIPKIN]))
    assert lines[-2] == ("rows that got worse beyond their intervals (one-sided 5%): "
                         "z (+2.03 points)")
    assert lines[-1].endswith("a single seed is undetermined): z")


def test_compare_holds_a_row_against_its_previous_budget_and_says_so():
    previous = _runs("z", [1.0, 1.1, 0.9], iterations=300)
    table = lq.compare(_runs("z", [3.0, 3.2, 2.9]), previous, [ZIPKIN])
    assert table.iloc[0]["verdict"] == "worse"
    assert table.iloc[0]["previous_budget"] == "300 iterations x 8 copies"
    assert "previous 1.00% at 300 iterations x 8 copies" in lq.summary_lines(table)[0]
    assert lq.compare(_runs("z", [3.0]), None, [ZIPKIN]).iloc[0]["verdict"] == "new"


def test_targets_follow_the_reference_kind():
    assert lq.target_met(dataclasses.replace(ZIPKIN, reference="optimum"),
                         _runs("t", [0.3, 0.4, 0.5]))
    assert not lq.target_met(dataclasses.replace(ZIPKIN, reference="optimum"),
                             _runs("t", [0.3, 0.4, 1.5]))
    # an interval that reaches zero only because the seeds disagree wildly is not enough
    assert not lq.target_met(MEDIUM, _runs("m", [-20.0, 40.0]))
    assert lq.target_met(MEDIUM, _runs("m", [-0.5, 0.8]))
    with pytest.raises(ValueError, match="reference must be one of"):
        lq.PanelRow("x", "tiny", "dp", iterations=1, n_envs=8)


def test_the_panel_covers_what_past_changes_broke():
    names = {r.name for r in lq.PANEL}
    assert {"tiny", "tiny-margin", "tiny-personal", "tiny-capacity", "medium",
            "family-100"} <= names
    zipkin = [r for r in lq.PANEL if r.reference == "zipkin"]
    assert len(zipkin) >= 4 and any(r.build().lead_time[0] == 4 for r in zipkin)
    # the capacity-binding instance: storage and orders below the newsvendor level
    s = scenarios.get("tiny-capacity")
    assert (s.capacity < 10).all() and (s.max_order < 6).all()
    assert dp.problem_size(s)["full_states"] < 10_000
    assert all(len(r.seeds) >= 3 for r in lq.PANEL)


def test_the_section_runs_and_is_deterministic(tmp_path):
    panel = report.QUICK["learner-quality"]["panel"]
    first = lq.run_panel(panel, workers=1, echo=lambda m: None)
    again = lq.run_panel(panel, workers=2, echo=lambda m: None)
    pd.testing.assert_frame_equal(first.drop(columns="train_seconds"),
                                  again.drop(columns="train_seconds"))
    assert len(first) == sum(len(r.seeds) for r in panel)
    results = run_sections(["learner-quality"], quick=True, echo=lambda m: None)
    rows = results["learner-quality"].rows
    assert [r["met"] in ("yes", "no") for r in rows] == [True] * len(rows)
    assert len(rows) == len(panel) + 1           # one per panel row, and the wall time
    path = write_report(results, tmp_path)
    assert (tmp_path / "learner-quality-runs.csv").is_file() and path.is_file()


def test_a_partial_report_keeps_the_other_sections(tmp_path):
    def section(name, value):
        r = row(name, f"{name} figure", value, "-", float("nan"), "-", "n/a")
        r["machine"], r["command"] = "test", f"python -m coordlib bench --only {name}"
        return {name: lq.SectionResult(pd.DataFrame({"x": [value]}), [r])}

    write_report({**section("simulator", "1"), **section("dp", "2")}, tmp_path)
    text = write_report(section("simulator", "3"), tmp_path).read_text()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["section"]) == ["simulator", "dp"]
    assert list(summary["ours"].astype(str)) == ["3", "2"]
    assert "the rows of dp are from an earlier run" in text and "## dp" in text


def test_compare_cannot_pass_a_change_it_cannot_measure():
    previous = _runs("z", [1.0, 1.1, 0.9])
    # one seed on either side: no interval, so the gate fails whatever the numbers say
    for new, old in ((_runs("z", [50.0]), previous), (_runs("z", [1.0, 1.1]), _runs("z", [1.0]))):
        r = lq.compare(new, old, [ZIPKIN]).iloc[0]
        assert r["verdict"] == "undetermined" and r["fails_gate"]
    # every seed alike on both sides: any increase is worse, none is level
    same = lq.compare(_runs("z", [2.0, 2.0]), _runs("z", [1.0, 1.0]), [ZIPKIN]).iloc[0]
    assert same["verdict"] == "worse" and same["p_worse"] == 0 and same["fails_gate"]
    level = lq.compare(_runs("z", [1.0, 1.0]), _runs("z", [1.0, 1.0]), [ZIPKIN]).iloc[0]
    assert level["verdict"] == "level" and not level["fails_gate"]
    with pytest.raises(ValueError, match="at least two distinct seeds"):
        lq.PanelRow("x", "tiny", "optimum", iterations=1, n_envs=8, seeds=(0,))
    with pytest.raises(ValueError, match="zipkin:L:p"):
        lq.PanelRow("x", "zipkin:two:9", "zipkin", iterations=1, n_envs=8)
    with pytest.raises(ValueError, match="zipkin:L:p"):
        lq.PanelRow("x", "tiny", "zipkin", iterations=1, n_envs=8)


def test_the_gate_corrects_the_rows_for_their_number_and_not_the_groups():
    rows = [dataclasses.replace(ZIPKIN, name=f"z{i}") for i in range(10)]
    base = np.array([1.0, 1.2, 0.8, 1.1, 0.9])
    previous = pd.concat([_runs(r.name, base) for r in rows])
    # one row worse at about p = 0.01: printed worse, but not below 0.05 / 10
    moved = pd.concat([_runs(r.name, base + (0.26 if i == 0 else 0.0))
                       for i, r in enumerate(rows)])
    table = lq.compare(moved, previous, rows).set_index("row")
    p = stats.ttest_ind(base + 0.26, base, equal_var=False, alternative="greater").pvalue
    assert table.loc["z0", "p_worse"] == pytest.approx(p, rel=1e-9)
    assert 0.005 < p < 0.05
    assert table.loc["z0", "verdict"] == "worse" and not table.loc["z0", "fails_gate"]
    # far worse: below 0.05 / 10 as well
    far = pd.concat([_runs(r.name, base + (1.0 if i == 0 else 0.0)) for i, r in enumerate(rows)])
    assert lq.compare(far, previous, rows).set_index("row").loc["z0", "fails_gate"]
    # a shift of every row fails the gate through the group, at 5%
    shifted = pd.concat([_runs(r.name, base[::-1] + 0.12) for r in rows])
    table = lq.compare(shifted, previous, rows).set_index("row")
    assert not table.loc[[r.name for r in rows], "fails_gate"].any()
    assert table.loc["all Zipkin rows", "fails_gate"]


def test_gate_fails_the_command_and_keeps_the_committed_result(monkeypatch, tmp_path, capsys):
    table = pd.DataFrame({"row": ["tiny"], "verdict": ["worse"], "fails_gate": [True]})
    written = []

    def fake(names, quick=False, overrides=None, echo=print):
        return {"learner-quality": lq.SectionResult(table, [])}

    monkeypatch.setattr(report, "run_sections", fake)
    monkeypatch.setattr(report, "write_report",
                        lambda results, out, *a, **k: written.append(out) or out / "report.md")
    monkeypatch.setattr(report, "update_readme", lambda *a: pytest.fail("README rewritten"))
    assert report.cli(["--only", "learner-quality", "--gate"]) == 1
    assert written == [report.GATE_OUT]
    assert "worse than the committed result on tiny" in capsys.readouterr().err
    table["fails_gate"] = False
    assert report.cli(["--only", "learner-quality", "--out", str(tmp_path), "--gate"]) == 0
    assert written[-1] == tmp_path
    # a gate that would compare nothing is refused before anything runs
    for argv, message in ((["--gate", "--quick", "--only", "learner-quality"], "--quick"),
                          (["--gate", "--only", "dp"], "add it to --only")):
        with pytest.raises(SystemExit):
            report.cli(argv)
        assert message in capsys.readouterr().err
    monkeypatch.setattr(report, "QUALITY_RUNS", tmp_path / "none.csv")
    with pytest.raises(SystemExit):
        report.cli(["--gate", "--only", "learner-quality", "--out", str(tmp_path)])
    assert "is missing" in capsys.readouterr().err


def test_a_shift_on_every_row_shows_in_the_group_row_before_any_single_row():
    rows = [dataclasses.replace(ZIPKIN, name=f"z{i}") for i in range(5)]
    rng = np.random.default_rng(4)
    noise = [rng.normal(0, 1.0, 3) for _ in rows]
    previous = pd.concat([_runs(r.name, 2.0 + e) for r, e in zip(rows, noise)])
    shifted = pd.concat([_runs(r.name, 3.5 + e[::-1]) for r, e in zip(rows, noise)])
    table = lq.compare(shifted, previous, rows).set_index("row")
    assert (table.loc[[r.name for r in rows], "verdict"] != "worse").sum() >= 3
    group = table.loc["all Zipkin rows"]
    assert group["verdict"] == "worse" and group["change"] == pytest.approx(1.5)
    assert group["seeds"] == 15 and group["target"] == "mean gap <= 1%" and not group["met"]
    # the interval of the rows' mean: strata of three seeds each
    parts = [np.var(2.0 + e, ddof=1) / 3 for e in noise]
    mean, lo, hi = lq._stratified([2.0 + e for e in noise])
    assert mean == pytest.approx(np.mean([np.mean(2.0 + e) for e in noise]))
    assert (hi - lo) / 2 > stats.norm.ppf(0.975) * np.sqrt(sum(parts)) / 5


def test_a_trial_panel_keeps_the_named_rows_with_its_seeds_and_settings_over_their_own():
    zipkin = next(r for r in lq.PANEL if r.scenario.startswith("zipkin"))
    trial = lq.trial_panel(rows=["tiny", zipkin.name], seeds=[7, 8],
                           settings={"entropy_decay": 50.0})
    assert [r.name for r in trial] == ["tiny", zipkin.name]
    assert all(r.seeds == (7, 8) for r in trial)
    # the row's own settings stay unless the trial names them (Zipkin's 64 levels)
    assert trial[1].settings == {**zipkin.settings, "entropy_decay": 50.0}
    assert lq.trial_panel(rows=[zipkin.name], settings={"order_levels": 48})[0].settings[
        "order_levels"] == 48
    assert [r.iterations for r in lq.trial_panel()] == [r.iterations for r in lq.PANEL]
    with pytest.raises(ValueError, match=r"rows \['nope'\] are not in the panel"):
        lq.trial_panel(rows=["nope"])
    with pytest.raises(ValueError, match="lr_fast"):
        lq.trial_panel(settings={"lr_fast": 5.0})
    longer = lq.trial_panel(rows=["tiny"], settings={"iterations": 300, "gamma": 0.995})[0]
    assert (longer.iterations, longer.n_envs, longer.settings) == (300, 64, {"gamma": 0.995})
    with pytest.raises(ValueError, match="eval_periods, seed: set by the panel"):
        lq.trial_panel(settings={"seed": 3, "eval_periods": 10})


@pytest.mark.parametrize("args, message", [
    (["--rows", "tiny", "--gate"], "a trial (--rows, --seeds, --set) is compared with it"),
    (["--set", "nofield=1"], "unknown TrainConfig field 'nofield'"),
    (["--seeds", "0,x"], "--seeds: whole numbers"),
    (["--seeds", "0"], "needs at least two distinct seeds"),
    (["--rows", "tiny", "--out", "data/benchmarks"], "a trial never replaces the committed"),
])
def test_a_trial_with_bad_options_is_refused_in_one_line(args, message, capsys, monkeypatch):
    monkeypatch.chdir(report.REPO_DIR)
    with pytest.raises(SystemExit):
        report.cli(["--only", "learner-quality", *args])
    assert message in capsys.readouterr().err


def test_a_trial_trains_only_its_rows_and_seeds_and_never_touches_the_committed_result(tmp_path):
    committed = report.QUALITY_RUNS.read_bytes()
    rc = report.cli(["--only", "learner-quality", "--quick", "--rows", "tiny", "--seeds", "3,4",
                     "--set", "entropy_decay=50", "--workers", "1", "--out", str(tmp_path)])
    assert rc == 0
    runs = pd.read_csv(tmp_path / "learner-quality-runs.csv")
    assert set(runs["row"]) == {"tiny"} and sorted(runs["seed"]) == [3, 4]
    assert "--set 'entropy_decay=50'" in (tmp_path / "report.md").read_text()
    assert report.QUALITY_RUNS.read_bytes() == committed


def test_the_panel_trains_at_the_paper_profiles_budgets():
    """A change the panel passes must not move the published tables the other way: its rows
    train as E3 (two-product instances, medium) and E11 (Zipkin's instances) do."""
    from coordlib.pipeline.reproduce import load_manifest

    paper = {e.id: e.parameters["paper"] for e in load_manifest()}
    by_name = {r.name: r for r in lq.PANEL}
    for name, iterations in paper["E3"]["iterations"].items():
        assert (by_name[name].iterations, by_name[name].n_envs) == (iterations,
                                                                    paper["E3"]["n_envs"])
    zipkin = [r for r in lq.PANEL if r.reference == "zipkin"]
    assert len(zipkin) >= 4
    assert {r.iterations for r in zipkin} == {paper["E11"]["learner_iterations"]}


def test_the_panel_records_the_code_that_trained_it_not_the_code_at_its_end(monkeypatch):
    trained = []                                  # echo is told of each run as it finishes
    monkeypatch.setattr(lq, "code_version", lambda: "after" if trained else "before")
    runs = lq.run_panel([dataclasses.replace(ZIPKIN, seeds=(0, 1))], workers=1,
                        echo=trained.append)
    assert len(trained) == 2 and set(runs["code_version"]) == {"before"}

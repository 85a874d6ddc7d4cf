"""The learner's cost model and its benchmark section: memory linear in N x copies, a clear
error before an iteration that cannot fit, and the section's figures and targets."""
from __future__ import annotations

import math
import subprocess

import pandas as pd
import pytest

from coordlib import scenarios
from coordlib.bench.learner_speed import (
    SpeedCase,
    compare_budget_shapes,
    compare_families,
    crowded_cpu_seconds,
    crowding_row,
    measure,
    run_at_once,
    speed_rows,
)
from coordlib.learning.agents import AgentSet
from coordlib.learning.config import config_for
from coordlib.learning.footprint import training_bytes
from coordlib.learning.mtma import Learner
from coordlib.model.scenario import random_scenario


@pytest.mark.parametrize("architecture", ["compact", "reference"])
def test_training_memory_is_linear_in_products_times_copies(architecture):
    agents = AgentSet(architecture=architecture)
    sizes = {}
    for n, copies in [(50, 16), (100, 16), (50, 32), (200, 64)]:
        s = random_scenario(n, 3, seed=0)
        sizes[n, copies] = training_bytes(agents, s, config_for("mtma", n_envs=copies,
                                                                architecture=architecture))
    per_unit = {k: v / (k[0] * k[1]) for k, v in sizes.items()}
    assert max(per_unit.values()) / min(per_unit.values()) == pytest.approx(1, abs=1e-9)


def test_an_iteration_that_cannot_fit_is_refused_before_allocating():
    config = config_for("mtma", n_envs=40_000_000, iterations=1)
    with pytest.raises(MemoryError, match="lower n_envs or rollout_length"):
        Learner(scenarios.get("tiny"), config)


def test_measure_reports_both_throughputs_from_one_process():
    out = measure(SpeedCase("tiny", n_envs=4, rollout_length=4, iterations=1,
                            simulator_copies=10))
    assert out["learner_product_steps_per_s"] > 0 and out["simulator_product_periods_per_s"] > 0
    # one thread on the CPU: the ratio is of CPU-time rates, each at least the wall-time rate
    assert out["clock"] == "CPU"
    assert out["learner_over_simulator"] == pytest.approx(
        out["learner_product_steps_per_cpu_s"] / out["simulator_product_periods_per_cpu_s"])
    assert out["learner_product_steps_per_cpu_s"] >= 0.9 * out["learner_product_steps_per_s"]
    assert out["peak_rss_gb"] > 0.05 and out["N"] == 2


STAGGERED = """
import sys, time
from pathlib import Path
from coordlib.bench.learner_speed import await_start
folder, i, gap = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
while i > 0 and not (folder / f"ready-{i - 1}").exists():
    time.sleep(0.01)
time.sleep(gap)
ready = time.time()
await_start(folder, i)
print(ready, time.time())
"""


def test_processes_run_at_once_start_timing_only_when_all_are_ready():
    # process i gets ready 0.4 s after process i - 1, however long each took to start
    lines = run_at_once(STAGGERED, [0.4], 3, timeout=3600)
    ready, go = zip(*(map(float, line.split()) for line in lines))
    assert min(go) >= max(ready)                        # all started after the last was ready
    assert go[0] - ready[0] > 0.6                       # so the first one waited for the others


def test_a_process_that_fails_or_hangs_is_named_and_nothing_is_left_running(monkeypatch):
    # no deadline here that a loaded machine could miss: a failure is seen as soon as the
    # process ends, and the one deadline (3 s) is one the hanging process must miss anyway
    fails = ("import sys; from pathlib import Path; "
             "from coordlib.bench.learner_speed import await_start; "
             "i = int(sys.argv[2]); "
             "(_ for _ in ()).throw(ValueError('boom')) if i == 1 else "
             "await_start(Path(sys.argv[1]), i)")
    started, popen = [], subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen",
                        lambda *a, **k: started.append(popen(*a, **k)) or started[-1])
    with pytest.raises(RuntimeError, match="process 2 of 2 failed before it was ready: .*boom"):
        run_at_once(fails, [], 2, timeout=3600)
    hang = "import time; time.sleep(600)"
    with pytest.raises(RuntimeError, match="not every process was ready within 3 s"):
        run_at_once(hang, [], 1, timeout=3)
    assert len(started) == 3 and all(run.returncode is not None for run in started)  # reaped
    with pytest.raises(RuntimeError, match="crowded no-such-scenario run: process 1 of 1 failed"):
        crowded_cpu_seconds(SpeedCase("no-such-scenario", iterations=1), 1)


def test_crowded_learners_give_cpu_seconds_and_the_row_is_their_ratio(monkeypatch):
    case = SpeedCase("tiny", n_envs=4, rollout_length=4, iterations=2)
    assert 0 < crowded_cpu_seconds(case, 2) < 5
    seen = []
    monkeypatch.setattr("coordlib.bench.learner_speed.crowded_cpu_seconds",
                        lambda c, processes: seen.append(processes) or 0.1 * processes)
    row = crowding_row(case, cpus=2)
    assert seen == [2, 4] and row["ratio"] == pytest.approx(2.0)
    assert row["ours"] == "0.4000 s" and row["reference"] == "0.2000 s"


def _case(scenario, architecture, rate, threads=1, n=120, sim=3e6, rss=1.0):
    return {"scenario": scenario, "architecture": architecture, "threads": threads,
            "device": "cpu", "n_envs": 64, "simulator_copies": 1000, "N": n,
            "learner_rate": rate, "simulator_rate": sim, "clock": "CPU",
            "learner_over_simulator": rate / sim, "peak_rss_gb": rss, "peak_cuda_gb": math.nan}


def test_speed_rows_state_each_target_from_the_numbers():
    table = pd.DataFrame([_case("large", "compact", 150_000), _case("large", "reference", 12_000),
                          _case("random-1000", "compact", 120_000, n=1000, rss=5.0)])
    rows = {r["measured"]: r for r in speed_rows(table)}
    speedup = rows["large: compact / reference learner, product-steps per CPU-second (1 thread)"]
    assert speedup["ratio"] == pytest.approx(12.5) and speedup["met"] == "no"      # 12.5 < 15
    ratio = next(r for k, r in rows.items() if k.startswith("large on cpu"))
    assert ratio["ratio"] == pytest.approx(0.05) and ratio["met"] == "yes"
    big = next(r for k, r in rows.items() if "peak memory" in k)
    assert big["met"] == "no"                       # fast enough, but 5 GB is over the limit


def test_compare_families_trains_and_evaluates_each_family_on_one_stream():
    table = compare_families("tiny", seeds=(0,), iterations=1, families=("compact", "reference"),
                             replications=2, periods=30, warmup=5)
    assert list(table.family) == ["compact", "reference"]
    assert (table.profit_lo <= table.profit).all() and (table.profit <= table.profit_hi).all()
    assert (table.cpu_seconds > 0).all()


def test_budget_shapes_trade_copies_for_iterations_on_one_stream():
    shapes = ("16 copies, all iterations", "32 copies, 1/2 of them")
    table = compare_budget_shapes("tiny", iterations=2, seeds=(0,), shapes=shapes,
                                  replications=2, periods=30, warmup=5)
    assert list(table["shape"]) == list(shapes)
    assert list(table["n_envs"]) == [16, 32] and list(table["iterations"]) == [2, 1]
    assert (table.profit_lo <= table.profit).all() and (table.profit <= table.profit_hi).all()
    with pytest.raises(ValueError, match="unknown budget shape"):
        compare_budget_shapes("tiny", iterations=2, shapes=("many copies",))


def test_the_crowding_learner_trains_as_the_paper_profiles_e5_does():
    """The crowding row measures the learner E5 trains at the paper profile: medium (one of
    E5's scenarios) at E5's simulator copies; the manifest sets that budget."""
    from coordlib.bench.learner_speed import CROWDING_CASE
    from coordlib.pipeline.reproduce import budget

    e5 = budget("E5", "paper")
    assert CROWDING_CASE.scenario in e5["scenarios"] and CROWDING_CASE.n_envs == e5["n_envs"]

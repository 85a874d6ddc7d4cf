"""Sweeps (coordlib.pipeline.sweep): grids, the three back-ends, fault tolerance, resumption, aggregation.

The back-ends are real: a process pool, a ``distributed.LocalCluster`` with process workers,
and a ``dask scheduler`` and ``dask worker`` started as separate processes on 127.0.0.1.
Jobs are tiny so the file runs in well under a minute on two cores.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from coordlib import evaluate, policies, scenarios
from coordlib.common import files
from coordlib.experiments import e10_sweeps
from coordlib.pipeline import sweep
from coordlib.pipeline.sweep import SweepError
from coordlib.policies import firms

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).parent / "dask"

# A small evaluate_heuristic grid shared by the back-end tests: 2 x 2 x 2 seeds = 8 jobs.
HEURISTIC_GRID = {
    "name": "tiny-lift",
    "experiment": "evaluate_heuristic",
    "fixed": {"scenario": "tiny", "replications": 4, "periods": 40, "warmup": 10,
              "tune_replications": 4, "tune_periods": 30, "tune_warmup": 5},
    "axes": {"policy": ["siloed", "coordinated"], "lift": [1.0, 4.0]},
    "seeds": [0, 1],
}

# Experiments for the fault-tolerance tests: importable by every worker through PYTHONPATH.
PROBE_MODULE = textwrap.dedent('''
    import os, time, uuid
    from pathlib import Path

    def probe(x, seed, calls_dir, sleep=0.0, fail_on=None, healed=None):
        """value = 10 x + seed; every call leaves a file in calls_dir (a call counter)."""
        (Path(calls_dir) / f"{x}-{seed}-{uuid.uuid4().hex}").touch()
        time.sleep(sleep)
        if x == fail_on and not (healed and os.path.exists(healed)):
            raise RuntimeError(f"probe failure at x={x}")
        return {"value": 10 * x + seed, "half": x / 2}

    def not_a_dict(x, seed):
        return [x, seed]
''')


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory):
    """A folder holding ``sweep_probe.py``, on sys.path here and on PYTHONPATH for children."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "sweep_probe.py").write_text(PROBE_MODULE)
    sys.path.insert(0, str(folder))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), old]))
    yield folder
    sys.path.remove(str(folder))
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


def probe_grid(calls_dir, xs, seeds=(0,), **fixed):
    return {"name": "probe", "experiment": "sweep_probe.probe",
            "fixed": {"calls_dir": str(calls_dir), **fixed}, "axes": {"x": list(xs)},
            "seeds": list(seeds)}


def calls(calls_dir) -> dict:
    """How many times each (x, seed) ran, from the probe's call files."""
    out: dict = {}
    for f in Path(calls_dir).iterdir():
        key = tuple(int(v) for v in f.name.split("-")[:2])
        out[key] = out.get(key, 0) + 1
    return out


def metric_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The deterministic part of a results table (no timings), in job-id order."""
    return frame.drop(columns="elapsed_s").sort_values("job_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    """HEURISTIC_GRID run by the default back-end: a pool of two local processes."""
    out = tmp_path_factory.mktemp("local")
    report = sweep.run_sweep(HEURISTIC_GRID, out, workers=2, progress=False)
    assert report.ok and report.backend == "2 local processes"
    return sweep.collect(out)


# ---- grids ----------------------------------------------------------------------------------
def test_shipped_grid_expands_to_the_cartesian_product_times_seeds():
    grid = sweep.load_grid(ROOT / "data" / "sweeps" / "lift-lead-time.yaml")
    jobs = grid.jobs()
    assert len(jobs) == len(grid) == 2 * 6 * 4 * 10
    assert len({j.id for j in jobs}) == len(jobs)
    # first axis slowest, seeds fastest
    assert [j.seed for j in jobs[:11]] == [*range(10), 0]
    assert jobs[0].parameters["policy"] == jobs[239].parameters["policy"] == "siloed"
    assert jobs[240].parameters["policy"] == "coordinated"
    assert jobs[0].parameters["lift"] == 0 and jobs[40].parameters["lift"] == 0.5
    assert grid.experiment == "coordlib.experiments.e10_sweeps.evaluate_heuristic"
    # the id is the documented hash of (experiment, parameters, seed), whatever the key order
    job = jobs[123]
    text = json.dumps({"experiment": job.experiment, "parameters": job.parameters,
                       "seed": job.seed}, sort_keys=True, separators=(",", ":"))
    assert job.id == hashlib.sha256(text.encode()).hexdigest()[:16]
    shuffled = dict(reversed(list(job.parameters.items())))
    assert sweep.job_id(job.experiment, shuffled, job.seed) == job.id
    smoke = sweep.load_grid(ROOT / "data" / "sweeps" / "lift-lead-time-smoke.yaml")
    assert len(smoke) == 16


def test_seed_forms():
    base = {"experiment": "evaluate_heuristic"}
    assert sweep.load_grid({**base, "seeds": 3}).seeds == (0, 1, 2)
    assert sweep.load_grid({**base, "seeds": [7, 3]}).seeds == (7, 3)
    assert sweep.load_grid({**base, "seeds": {"start": 100, "count": 2}}).seeds == (100, 101)
    assert sweep.load_grid(base).seeds == (0,)


@pytest.mark.parametrize("spec, message", [
    ({"experiment": "evaluate_heuristic", "axis": {"lift": [1]}}, "unknown keys ['axis']"),
    ({"experiment": "evaluate_heuristic", "axes": {"lift": []}}, "axes.lift: expected a non-empty list"),
    ({"experiment": "evaluate_heuristic", "axes": {"lift": [1, 2, 1]}}, "axes.lift: repeated values"),
    ({"experiment": "evaluate_heuristic", "seeds": -2}, "seeds: the number of seeds must be at least 1"),
    ({"experiment": "evaluate_heuristic", "seeds": [1, -1]}, "seeds: must not be negative"),
    ({"experiment": "evaluate_heuristic", "seeds": [1, 1]}, "seeds: repeated values"),
    ({"experiment": "evaluate_heuristic", "fixed": {"seed": 3}}, "parameter 'seed': reserved"),
    ({"experiment": "evaluate_heuristic", "fixed": {"lift": 1}, "axes": {"lift": [2]}},
     "axes.lift: also given as a fixed parameter (in 'fixed')"),
    ({"experiment": "no_such_experiment"}, "experiment 'no_such_experiment': cannot import it"),
    ({"experiment": "coordlib.pipeline.sweep.no_such_function"}, "has no 'no_such_function'"),
    ({"experiment": "coordlib.model.evaluation.mean_ci", "fixed": {"values": [1, 2]}},
     "cannot take the grid's parameters"),
    ({"experiment": "evaluate_heuristic", "notebook": "x.ipynb"}, "exactly one of 'experiment'"),
    ({"notebook": "no/such/notebook.ipynb"}, "notebook: file not found"),
    ({"experiment": "evaluate_heuristic", "fixed": {"scenario": object()}},
     "fixed.scenario: a parameter must be a number"),
])
def test_bad_grid_is_refused_naming_the_problem(spec, message):
    with pytest.raises(SweepError) as info:
        sweep.load_grid(spec)
    assert message in str(info.value)


# ---- the built-in experiment ----------------------------------------------------------------
def test_evaluate_heuristic_is_the_direct_evaluation_of_the_overridden_scenario():
    kw = dict(replications=6, periods=60, warmup=10)
    tune = dict(replications=8, periods=40, warmup=10)
    got = e10_sweeps.evaluate_heuristic("tiny", "coordinated", seed=3, **kw, tune_replications=8,
                                   tune_periods=40, tune_warmup=10, lift=4.0, lead_time=2)
    # the same firm built by hand: scalars spelled out per segment / per product
    model = scenarios.get("tiny").replace(lift=[4.0], lead_time=[2, 2])
    tune_seed = firms.tuning_seed(3)
    assert tune_seed != 3
    levels = policies.tune_base_stock(model, policies.inventory_aware(), seed=tune_seed, **tune)
    frame = evaluate(model, policies.joint(policies.base_stock(levels), policies.inventory_aware()),
                     seed=3, **kw)
    assert got["profit"] == frame["profit"].mean()
    assert got["fill_rate"] == frame["fill_rate"].mean()
    assert [got["base_stock_1"], got["base_stock_2"]] == levels.tolist()
    parts = got["revenue"] - got["purchase_cost"] - got["holding_cost"] - got["penalty_cost"]
    assert got["profit"] == pytest.approx(parts, abs=1e-9)
    assert all(isinstance(v, (int, float)) for v in got.values())
    with pytest.raises(ValueError, match="unknown heuristic firm 'greedy'"):
        e10_sweeps.evaluate_heuristic("tiny", "greedy")
    with pytest.raises(ValueError, match="unknown field 'lifts'"):
        e10_sweeps.evaluate_heuristic("tiny", "siloed", lifts=2.0)


def test_without_lift_every_heuristic_firm_is_the_same_firm():
    # beta = 0: P_ki(j) = v_ki / (v_k0 + sum_l v_kl) whatever product j is shown (MODEL.md 3.3),
    # so demand does not depend on the exposure, and with common seeds every recommender meets
    # the same demand draws and tunes the same levels: equal numbers, exactly
    kw = dict(seed=4, replications=4, periods=60, warmup=10, tune_replications=4,
              tune_periods=40, tune_warmup=10, lift=0.0)
    runs = [e10_sweeps.evaluate_heuristic("tiny-margin", name, **kw) for name in firms.FIRMS]
    assert all(run == runs[0] for run in runs[1:])
    lifted = {name: e10_sweeps.evaluate_heuristic("tiny-margin", name, **{**kw, "lift": 4.0})["profit"]
              for name in ("siloed", "coordinated")}
    assert lifted["siloed"] != lifted["coordinated"]     # the lift is what makes them differ


# ---- back-ends: identical numbers -----------------------------------------------------------
def test_local_default_results_table(local_results):
    frame = local_results
    assert len(frame) == 8
    assert frame.attrs["parameters"] == ["scenario", "replications", "periods", "warmup",
                                         "tune_replications", "tune_periods", "tune_warmup",
                                         "policy", "lift"]
    assert frame.attrs["metrics"][:2] == ["profit", "revenue"]
    assert list(frame["seed"]) == [0, 1] * 4          # the grid's order
    # each row is exactly the direct call with the same parameters and seed
    row = frame.iloc[5]
    direct = e10_sweeps.evaluate_heuristic(**{p: row[p] for p in frame.attrs["parameters"]},
                                      seed=int(row["seed"]))
    assert {m: row[m] for m in direct} == direct


def test_local_cluster_with_process_workers_gives_identical_results(local_results, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        report = sweep.run_sweep(HEURISTIC_GRID, tmp_path, scheduler=cluster, progress=False)
    assert report.ok and report.failed == [] and "Dask at tcp://" in report.backend
    pd.testing.assert_frame_equal(metric_table(sweep.collect(tmp_path)),
                                  metric_table(local_results), check_exact=True)


@pytest.fixture
def dask_processes(tmp_path):
    """A ``dask scheduler`` and a ``dask worker`` as separate processes; yields the address."""
    scheduler_file = tmp_path / "scheduler.json"
    procs = []
    log = open(tmp_path / "dask.log", "w")
    try:
        procs.append(subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)], stdout=log, stderr=subprocess.STDOUT))
        deadline, address = time.monotonic() + 600, None     # a hang guard, not a speed test
        while address is None and time.monotonic() < deadline:  # the file may be half-written
            assert procs[0].poll() is None, (tmp_path / "dask.log").read_text()
            try:
                address = json.loads(scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        assert address is not None, "the dask scheduler wrote no address within 600 s"
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--local-directory", str(tmp_path / "worker")],
            stdout=log, stderr=subprocess.STDOUT))
        from distributed import Client
        with Client(address, timeout=600) as client:
            client.wait_for_workers(1, timeout=600)
        yield address
    finally:
        for proc in reversed(procs):      # worker first, then the scheduler
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_dask_scheduler_and_worker_processes_given_by_address(local_results, dask_processes,
                                                              tmp_path, monkeypatch):
    # the address through the environment variable, as on a cluster's login node
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_processes)
    report = sweep.run_sweep(HEURISTIC_GRID, tmp_path / "out", progress=False)
    assert report.ok and report.backend == f"Dask at {dask_processes}"
    pd.testing.assert_frame_equal(metric_table(sweep.collect(tmp_path / "out")),
                                  metric_table(local_results), check_exact=True)
    # and through the command line's --scheduler, reusing the finished folder
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text(yaml.safe_dump(HEURISTIC_GRID))
    rc = sweep.cli([str(grid_file), "--out", str(tmp_path / "out"), "--scheduler",
                    dask_processes, "--no-progress"])
    assert rc == 0
    assert (tmp_path / "out" / "summary.csv").is_file()


# ---- fault tolerance ------------------------------------------------------------------------
def test_failing_job_is_isolated_reported_and_retried(probe_dir, tmp_path, capsys):
    calls_dir, healed = tmp_path / "calls", tmp_path / "healed"
    calls_dir.mkdir()
    grid = probe_grid(calls_dir, xs=[1, 2, 3], seeds=[0, 1], fail_on=2, healed=str(healed))
    out = tmp_path / "out"
    report = sweep.run_sweep(grid, out, workers=2, progress=True)
    assert "finished=4, failed=2, remaining=0" in capsys.readouterr().err   # the progress bar
    bad = {j.id for j in sweep.load_grid(grid).jobs() if j.parameters["x"] == 2}
    assert set(report.failed) == bad and report.finished == 4 and not report.ok
    for jid in bad:
        record = json.loads((out / "jobs" / f"{jid}.error.json").read_text())
        assert record["error"] == "RuntimeError: probe failure at x=2"
        assert "in probe" in record["traceback"] and record["status"] == "failed"
        assert not (out / "jobs" / f"{jid}.json").exists()
    with pytest.warns(UserWarning, match="2 of 6 jobs .* have no result \\(2 failed"):
        partial = sweep.collect(out)
    assert sorted(partial["x"]) == [1, 1, 3, 3]

    healed.touch()                                    # the cause is fixed: run again
    report = sweep.run_sweep(grid, out, workers=0, progress=True)
    assert "finished=6, failed=0, remaining=0" in capsys.readouterr().err
    assert report.ok and report.skipped == 4 and report.failed == []
    assert calls(calls_dir) == {(1, 0): 1, (1, 1): 1, (3, 0): 1, (3, 1): 1, (2, 0): 2, (2, 1): 2}
    assert not list((out / "jobs").glob("*.error.json"))
    frame = sweep.collect(out)
    assert list(frame["value"]) == [10, 11, 20, 21, 30, 31]   # 10 x + seed, grid order


def test_experiment_returning_something_else_is_a_failed_job(probe_dir, tmp_path):
    grid = {"experiment": "sweep_probe.not_a_dict", "axes": {"x": [1]}}
    report = sweep.run_sweep(grid, tmp_path, workers=0, progress=False)
    record = json.loads((tmp_path / "jobs" / f"{report.failed[0]}.error.json").read_text())
    assert "returned list; expected a flat dict of numbers" in record["error"]


def test_interrupted_sweep_resumes_without_redoing_finished_jobs(probe_dir, tmp_path):
    calls_dir, out = tmp_path / "calls", tmp_path / "out"
    calls_dir.mkdir()
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text(yaml.safe_dump(probe_grid(calls_dir, xs=range(10), sleep=0.5)))
    proc = subprocess.Popen([sys.executable, "-m", "coordlib", "sweep", str(grid_file), "--out",
                             str(out), "--workers", "2", "--no-progress", "--module",
                             "sweep_probe"], cwd=ROOT,
                            start_new_session=True, stderr=subprocess.PIPE, text=True,
                            # a test runner's worker may ignore SIGINT, and children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600                 # a hang guard, not a speed test
    while len(list(out.glob("jobs/*.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)                # Ctrl-C in a terminal: the whole group
    stderr = proc.communicate(timeout=600)[1]
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Run the same command again to resume" in stderr

    files = list((out / "jobs").iterdir())
    assert not [f for f in files if f.name.endswith(".tmp")]
    done = {f: f.stat().st_mtime_ns for f in files}
    assert all(json.loads(f.read_text())["status"] == "finished" for f in done)  # all whole
    assert 2 <= len(done) < 10
    finished_x = {json.loads(f.read_text())["parameters"]["x"] for f in done}

    report = sweep.run_sweep(grid_file, out, workers=0, progress=False)
    assert report.ok and report.skipped == len(done) and report.finished == 10
    assert {f: f.stat().st_mtime_ns for f in done} == done          # not rewritten
    counts = calls(calls_dir)
    assert all(counts[(x, 0)] == 1 for x in finished_x)             # not run again
    assert set(counts) == {(x, 0) for x in range(10)}
    assert list(sweep.collect(out)["value"]) == [10 * x for x in range(10)]


def test_atomic_write_interrupted_keeps_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "jobs" / "abc.json"
    files.atomic_write_json(path, {"metrics": {"profit": 1.5}})

    def dump_then_interrupt(data, f, **kw):
        f.write('{"metrics": {"pro')                   # half of the new content, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(files.json, "dump", dump_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write_json(path, {"metrics": {"profit": 2.5}})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"metrics": {"profit": 1.5}}
    assert [p.name for p in path.parent.iterdir()] == ["abc.json"]


# ---- aggregation ----------------------------------------------------------------------------
def test_aggregate_gives_means_and_student_t_intervals(probe_dir, tmp_path):
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    sweep.run_sweep(probe_grid(calls_dir, xs=[1, 3], seeds=[0, 1, 2]), tmp_path / "out",
                    workers=0, progress=False)
    frame = sweep.collect(tmp_path / "out")
    assert (tmp_path / "out" / "results.csv").is_file()
    assert pd.read_csv(tmp_path / "out" / "results.csv")["value"].tolist() == [10, 11, 12, 30, 31, 32]
    table = sweep.aggregate(frame, by="x")
    # values 10 x + {0, 1, 2}: mean 10 x + 1, sample sd 1, half-width t_{0.975, 2} / sqrt(3),
    # t_{0.975, 2} = 4.3027 (the published table value)
    assert stats.t.ppf(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    half = stats.t.ppf(0.975, 2) / np.sqrt(3)
    assert table["x"].tolist() == [1, 3] and table["n"].tolist() == [3, 3]
    np.testing.assert_allclose(table["value"], [11, 31], rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["value_lo"], [11 - half, 31 - half], rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["value_hi"], [11 + half, 31 + half], rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["half"], [0.5, 1.5], rtol=0, atol=1e-12)
    assert sweep.t_interval([10, 11, 12]) == pytest.approx((11 - half, 11 + half), abs=1e-12)
    # the paired difference x = 3 minus x = 1, seed by seed: exactly 20 every time
    diff = sweep.paired_difference(frame, "x", 3, 1, metrics=["value", "half"])
    assert diff["seed"].tolist() == [0, 1, 2] and diff["value"].tolist() == [20, 20, 20]
    assert diff["half"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(SweepError, match="no metrics to average"):
        sweep.aggregate(pd.read_csv(tmp_path / "out" / "results.csv"), by="x")


def test_cli_lists_jobs_and_refuses_a_bad_grid(tmp_path, capsys):
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(yaml.safe_dump(HEURISTIC_GRID))
    assert sweep.cli([str(grid_file), "--out", str(tmp_path / "o"), "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and all("to do" in line for line in lines)
    grid_file.write_text(yaml.safe_dump({**HEURISTIC_GRID, "seeds": 0}))
    assert sweep.cli([str(grid_file)]) == 2
    assert "seeds: the number of seeds must be at least 1" in capsys.readouterr().err


def test_scheduler_address_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.1.2.3:8786")
    assert sweep._scheduler_address(None) == "tcp://10.1.2.3:8786"
    assert sweep._scheduler_address("tcp://127.0.0.1:9999") == "tcp://127.0.0.1:9999"
    assert sweep._scheduler_address("local") is None
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    import dask
    with dask.config.set({"scheduler-address": None}):
        assert sweep._scheduler_address(None) is None


# ---- notebooks ------------------------------------------------------------------------------
def test_notebook_sweep_runs_papermill_and_reads_the_metrics_it_writes(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0\nseed = 0\nsweep_result_path = None",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "import json\nif x < 0:\n    raise ValueError('x must not be negative')\n"
                    "json.dump({'double': 2 * x + seed}, open(sweep_result_path, 'w'))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "double.ipynb")
    grid = {"notebook": {"path": str(tmp_path / "double.ipynb"), "parameters": {"x": 0}},
            "axes": {"x": [3, -1]}, "seeds": [5]}
    with pytest.raises(SweepError, match="axes.x: also given as a fixed parameter .*notebook"):
        sweep.load_grid(grid)
    grid["notebook"]["parameters"] = {}
    report = sweep.run_sweep(grid, tmp_path / "out", workers=0, progress=False)
    assert report.finished == 1 and len(report.failed) == 1
    with pytest.warns(UserWarning, match="1 of 2 jobs"):
        frame = sweep.collect(tmp_path / "out")
    assert frame["double"].tolist() == [11] and frame["experiment"][0].startswith("notebook:")
    error = json.loads((tmp_path / "out" / "jobs" / f"{report.failed[0]}.error.json").read_text())
    assert "x must not be negative" in error["error"]
    executed = sorted(p.stem for p in (tmp_path / "out" / "notebooks").glob("*.ipynb"))
    assert executed == sorted([frame["job_id"][0], report.failed[0]])  # the failed one too


def test_a_script_without_a_main_guard_gets_a_message_that_says_so(tmp_path):
    # spawned workers import the script; unguarded, each worker starts the sweep again and dies
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from coordlib.pipeline import sweep

        grid = {{"name": "g", "experiment": "coordlib.experiments.e10_sweeps.evaluate_heuristic",
                 "fixed": {{"replications": 2, "periods": 20, "warmup": 5}},
                 "axes": {{"scenario": ["tiny"], "policy": ["siloed"]}}, "seeds": [0, 1]}}
        report = sweep.run_sweep(grid, {str(tmp_path / "out")!r}, workers=2)
        print("FAILED", len(report.failed))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=1200, cwd=tmp_path)                # a hang guard
    assert "FAILED 2" in done.stdout, done.stdout + done.stderr
    errors = sorted((tmp_path / "out" / "jobs").glob("*.error.json"))
    assert len(errors) == 2
    for path in errors:
        record = json.loads(path.read_text())
        assert 'if __name__ == "__main__":' in record["error"]
        assert record["traceback"].count("\n") <= 2          # the exception, not a pile of frames


def test_a_grid_file_runs_a_notebook_only_when_the_command_line_allows_it(tmp_path, capsys):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("seed = 0\nsweep_result_path = None",
                                          metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "any.ipynb")
    grid_file = tmp_path / "g.yaml"
    grid_file.write_text(f"name: g\nnotebook: {tmp_path / 'any.ipynb'}\nseeds: 1\n")
    assert sweep.cli([str(grid_file), "--out", str(tmp_path / "o"), "--list"]) == 2
    assert "runs a notebook's code only when the command line allows it: --notebook" \
        in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert sweep.cli([str(grid_file), "--out", str(tmp_path / "o"), "--list", "--notebook"]) == 0
    # a grid built in Python is code already: it may name a notebook
    assert sweep.load_grid({"notebook": str(tmp_path / "any.ipynb")}).notebook is not None


def test_a_sweep_holds_its_folder_until_its_results_are_written(probe_dir, tmp_path, monkeypatch):
    from coordlib.common.files import FolderLock

    held, real = [], sweep.collect

    def collect(out_dir, *args, **kwargs):
        held.append(FolderLock(out_dir, ".sweep.lock").holds())
        return real(out_dir, *args, **kwargs)

    monkeypatch.setattr(sweep, "collect", collect)
    grid = probe_grid(tmp_path / "calls", xs=[1, 2])
    (tmp_path / "calls").mkdir()
    sweep.cached_sweep(grid, tmp_path / "cached", workers=0)
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text(yaml.safe_dump(grid))
    assert sweep.cli([str(grid_file), "--out", str(tmp_path / "cli"), "--workers", "0",
                      "--no-progress", "--module", "sweep_probe"]) == 0
    assert held == [True, True]
    assert not FolderLock._held                      # and released after

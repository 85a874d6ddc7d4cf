"""Benchmark section ``learner-speed``: the learner's training throughput beside its simulator's.

Each measurement runs in a fresh process (so its peak memory is its own): one MTMA learner
(:class:`coordlib.learning.mtma.Learner`, ``n_envs`` copies x ``rollout_length`` periods per
iteration) trains one warm-up iteration and then ``iterations`` timed ones; between the timed
iterations the simulator alone steps ``simulator_copies`` copies of the same scenario, so the
two figures of a ratio are taken in alternating rounds under the same load. The figures:

- **learner product-steps per second**: N x copies x periods of one iteration (rollout and
  update) over its time, the best of the timed iterations;
- **simulator product-periods per second**: a full batched step (unchecked, uniform exposure,
  small fixed orders), the best of its rounds.

Both are timed in wall seconds and in CPU seconds of the process; the rows use CPU seconds
for one-thread runs on the CPU (a shared machine's load inflates them far less) and wall
seconds otherwise (several threads, or a GPU);
- **peak memory**: the process's peak resident set (``ru_maxrss``), and on CUDA the peak of
  ``torch.cuda.max_memory_allocated``.

The compact networks with two PPO epochs (the default) and the reference networks with four
(a GRU memory, an MLP per (segment, product) pair: the learner before the compact design)
are measured one after the other; their ratio is the speed-up. Targets: on ``large`` the compact learner at 15 times the
reference and at 0.05 of the simulator stepping 1,000 copies; at N = 1,000 (a generated
scenario) 100,000 product-steps per second or more with peak memory under 4 GB.

One more row, without a target: the CPU seconds per iteration of one-thread learners when
twice as many run at once as there are CPUs, against as many as CPUs
(:func:`crowding_row`); it is why reproduce gives each notebook running beside others its
share of the CPUs as training processes.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch

from ..learning.config import config_for
from ..learning.mtma import Learner
from ..learning.training import train
from ..model import scenarios
from ..model.scenario import random_scenario
from ..model.simulator import Simulator
from ..pipeline.sweep import available_cpus
from .common import SectionResult, fmt, row, yes_no

GENERATED = {"random-1000": dict(n_products=1000, n_segments=5, seed=0)}
"""Generated scenarios of the section: name -> :func:`coordlib.model.scenario.random_scenario` arguments."""


@dataclass(frozen=True)
class SpeedCase:
    """One measurement: a scenario, a network family and the size of an iteration."""

    scenario: str
    architecture: str = "compact"
    n_envs: int = 64
    rollout_length: int = 32
    iterations: int = 2
    threads: int = 1
    device: str = "cpu"
    simulator_copies: int = 1000
    epochs: int = 0
    """PPO epochs per iteration; 0: the configuration's default"""


def _scenario(name: str):
    if name in GENERATED:
        return random_scenario(**GENERATED[name]).replace(name=name)
    return scenarios.get(name)


def _learner(case: SpeedCase, scenario) -> Learner:
    """An MTMA learner of ``case`` on ``scenario`` (seed 0)."""
    return Learner(scenario, config_for("mtma", architecture=case.architecture,
                                        n_envs=case.n_envs, rollout_length=case.rollout_length,
                                        threads=case.threads, device=case.device, seed=0,
                                        **({"epochs": case.epochs} if case.epochs else {})))


def measure(case: SpeedCase) -> dict:
    """Time ``case`` in this process (see the module docstring); one dict of figures."""
    # deferred: POSIX only, needed by the measuring process alone
    import resource

    s = _scenario(case.scenario)
    learner = _learner(case, s)
    learner.iterate()                                              # warm-up
    sim = Simulator(s, batch_size=case.simulator_copies, seed=1, validate=False)
    sim.reset()
    x = np.broadcast_to(s.uniform_exposure(), (case.simulator_copies, s.n_segments,
                                               s.n_products)).copy()
    orders = np.broadcast_to(np.minimum(s.max_order, 2), (case.simulator_copies,
                                                          s.n_products)).copy()
    product_steps = s.n_products * case.n_envs * case.rollout_length
    learner_s, simulator_s, learner_cpu, simulator_cpu = [], [], [], []
    for _ in range(case.iterations):
        if case.device.startswith("cuda"):
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        learner.iterate()
        if case.device.startswith("cuda"):
            torch.cuda.synchronize()
        learner_s.append(time.perf_counter() - start)
        learner_cpu.append(time.process_time() - cpu)
        steps, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < 0.5:
            sim.step(orders, x)
            steps += 1
        simulator_s.append((time.perf_counter() - start) / steps)
        simulator_cpu.append((time.process_time() - cpu) / steps)
    out = {**asdict(case), "N": s.n_products, "K": s.n_segments,
           "learner_product_steps_per_s": product_steps / min(learner_s),
           "simulator_product_periods_per_s": s.n_products * case.simulator_copies
           / min(simulator_s),
           "learner_product_steps_per_cpu_s": product_steps / min(learner_cpu),
           "simulator_product_periods_per_cpu_s": s.n_products * case.simulator_copies
           / min(simulator_cpu),
           "iteration_seconds": min(learner_s),
           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}
    if case.device.startswith("cuda"):
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2 ** 30
    # one thread: CPU seconds, which a busy shared machine inflates far less than wall time
    key = "per_cpu_s" if case.threads == 1 and case.device == "cpu" else "per_s"
    out["clock"] = "CPU" if key == "per_cpu_s" else "wall"
    out["learner_rate"] = out[f"learner_product_steps_{key}"]
    out["simulator_rate"] = out[f"simulator_product_periods_{key}"]
    out["learner_over_simulator"] = out["learner_rate"] / out["simulator_rate"]
    return out


def measure_in_subprocess(case: SpeedCase, timeout: float = 1800) -> dict:
    """:func:`measure` in a fresh Python process (its own peak memory); the figures as a dict."""
    code = ("import json, sys; from coordlib.bench.learner_speed import SpeedCase, measure; "
            "print(json.dumps(measure(SpeedCase(**json.loads(sys.argv[1])))))")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(asdict(case))],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"learner-speed: {case.scenario} ({case.architecture}) failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def await_start(folder: Path, index: int, timeout: float = 1800) -> None:
    """In a process of :func:`run_at_once`: say it is ready (file ``ready-<index>`` in
    ``folder``) and wait until every process is (file ``go``)."""
    (folder / f"ready-{index}").touch()
    deadline = time.monotonic() + timeout
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no start signal in {folder} within {timeout:.0f} s")
        time.sleep(0.005)


def run_at_once(code: str, args, processes: int, timeout: float = 1800) -> list[str]:
    """Start ``processes`` copies of ``python -c code FOLDER INDEX *args``; each calls
    :func:`await_start` once it is ready to be timed, so all of them time the same stretch.
    The last line each prints, in order. A process that fails or is not ready (or done)
    within ``timeout`` seconds raises ``RuntimeError`` naming it; every process still running
    then is killed."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, runs = Path(tmp), []
        deadline = time.monotonic() + timeout
        try:
            for i in range(processes):
                with open(folder / f"out-{i}", "w") as out, open(folder / f"err-{i}", "w") as err:
                    runs.append(subprocess.Popen([sys.executable, "-c", code, str(folder), str(i),
                                                  *map(str, args)], stdout=out, stderr=err))
            while not all((folder / f"ready-{i}").exists() for i in range(processes)):
                for i, run in enumerate(runs):
                    if run.poll() is not None and not (folder / f"ready-{i}").exists():
                        raise RuntimeError(_failed(folder, i, processes, "failed before it was ready"))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not every process was ready within {timeout:.0f} s")
                time.sleep(0.01)
            (folder / "go").touch()
            lines = []
            for i, run in enumerate(runs):
                try:
                    code_ = run.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise RuntimeError(f"process {i + 1} of {processes} not done within "
                                       f"{timeout:.0f} s") from None
                if code_ != 0:
                    raise RuntimeError(_failed(folder, i, processes, "failed"))
                lines.append(((folder / f"out-{i}").read_text().strip().splitlines() or [""])[-1])
            return lines
        finally:
            for run in runs:
                if run.poll() is None:
                    run.kill()
                    run.wait()


def _failed(folder: Path, i: int, processes: int, what: str) -> str:
    tail = ((folder / f"err-{i}").read_text().strip().splitlines() or ["no output"])[-1]
    return f"process {i + 1} of {processes} {what}: {tail}"


def _cpu_per_iteration(case: SpeedCase, folder: Path, index: int) -> float:
    """Mean CPU seconds of one timed learner iteration of ``case``, in a process of
    :func:`run_at_once`: a warm-up iteration, then :func:`await_start`, then the timed ones;
    no simulator rounds in between, so the processes contend the whole time."""
    learner = _learner(case, _scenario(case.scenario))
    learner.iterate()
    await_start(folder, index)
    cpu = time.process_time()
    for _ in range(case.iterations):
        learner.iterate()
    return (time.process_time() - cpu) / case.iterations


def crowded_cpu_seconds(case: SpeedCase, processes: int, timeout: float = 1800) -> float:
    """Mean CPU seconds per iteration of ``case`` over ``processes`` fresh processes timing
    it at once (:func:`run_at_once`)."""
    code = ("import json, sys; from pathlib import Path; from coordlib.bench.learner_speed "
            "import SpeedCase, _cpu_per_iteration; print(_cpu_per_iteration(SpeedCase("
            "**json.loads(sys.argv[3])), Path(sys.argv[1]), int(sys.argv[2])))")
    try:
        lines = run_at_once(code, [json.dumps(asdict(case))], processes, timeout)
    except RuntimeError as exc:
        raise RuntimeError(f"learner-speed: crowded {case.scenario} run: {exc}") from None
    return float(np.mean([float(line) for line in lines]))


def crowding_row(case: SpeedCase, cpus: int) -> dict:
    """CPU seconds per iteration with twice as many one-thread learners as CPUs at once,
    against as many as CPUs: what a training process beyond the cores costs (why
    :func:`coordlib.pipeline.reproduce.worker_share` gives each notebook its share of the CPUs)."""
    fitting = crowded_cpu_seconds(case, cpus)
    crowded = crowded_cpu_seconds(case, 2 * cpus)
    return row("learner-speed", f"{case.scenario}: CPU-seconds per iteration, {2 * cpus} "
               f"one-thread learners at once / {cpus} (as many as CPUs used)",
               f"{crowded:.4f} s", f"{fitting:.4f} s", crowded / fitting, "-", "n/a",
               "processes beyond the cores: reproduce runs cpus // notebooks training "
               "processes per notebook")


DEFAULT_CASES = (
    SpeedCase("tiny"), SpeedCase("tiny", "reference", epochs=4),
    SpeedCase("medium"), SpeedCase("medium", "reference", epochs=4),
    SpeedCase("large"), SpeedCase("large", "reference", iterations=1, epochs=4),
    SpeedCase("large", threads=2), SpeedCase("random-1000", n_envs=16),
    SpeedCase("random-1000", n_envs=16, threads=2),
)
"""The cases of a full run. The reference is the learner before the compact design: the
reference networks with four PPO epochs; it is not run at N = 1,000 (an iteration takes
minutes there)."""


CROWDING_CASE = SpeedCase("medium", n_envs=16, iterations=40)
"""The learner of :func:`crowding_row`: medium at the simulator copies of the paper profile's
E5 (a test holds it to the manifest's budget)."""
CROWDING_MAX_CPUS = 8
"""At most this many CPUs in :func:`crowding_row` (twice as many learner processes, each a
few hundred MB)."""


def learner_speed_section(cases=DEFAULT_CASES, devices=("cpu", "cuda"),
                          crowding: Optional[SpeedCase] = CROWDING_CASE) -> SectionResult:
    """Measure every case (on every device given, ``cuda`` where torch has it); the table and
    the rows of the targets; then, unless ``crowding`` is None, :func:`crowding_row`."""
    cases = list(cases)
    if "cuda" in devices and torch.cuda.is_available():
        cases += [SpeedCase(**{**asdict(c), "device": "cuda"}) for c in cases
                  if c.architecture == "compact" and c.threads == 1]
    table = pd.DataFrame([measure_in_subprocess(c) for c in cases])
    rows = speed_rows(table)
    if crowding is not None:
        rows.append(crowding_row(crowding, min(available_cpus(), CROWDING_MAX_CPUS)))
    return SectionResult(table, rows)


def speed_rows(table: pd.DataFrame) -> list[dict]:
    """Rows: compact over reference per scenario, learner over simulator, N = 1,000 figures."""
    rows = []
    one = table[(table.threads == 1) & (table.device == "cpu")]
    for name, group in one.groupby("scenario", sort=False):
        by = group.set_index("architecture")
        if {"compact", "reference"} <= set(by.index):
            new, old = (by.loc[a, "learner_rate"] for a in ("compact", "reference"))
            target = "15x on large" if name == "large" else "-"
            met = yes_no(new / old >= 15) if name == "large" else "n/a"
            rows.append(row("learner-speed", f"{name}: compact / reference learner, "
                            "product-steps per CPU-second (1 thread)", fmt(new, "/s"),
                            fmt(old, "/s"),
                            new / old, target, met))
    for _, r in table[table.architecture == "compact"].iterrows():
        label = (f"{r.scenario} on {r.device}, {r.threads} thread(s), {r.n_envs} copies, "
                 f"{r.clock} time")
        is_large = r.scenario == "large"
        rows.append(row("learner-speed", f"{label}: learner / simulator ({r.simulator_copies} "
                        "copies)", fmt(r.learner_rate, "/s"),
                        fmt(r.simulator_rate, "/s"), r.learner_over_simulator,
                        ">= 0.05" if is_large else "-",
                        yes_no(r.learner_over_simulator >= 0.05) if is_large else "n/a",
                        f"peak memory {r.peak_rss_gb:.2f} GB"))
        if r.N >= 1000:
            fast = r.learner_rate >= 1e5
            small = r.peak_rss_gb < 4 and not (math.isfinite(r.get("peak_cuda_gb", math.nan))
                                               and r.peak_cuda_gb >= 4)
            rows.append(row("learner-speed", f"{label}: product-steps/s and peak memory",
                            fmt(r.learner_rate, "/s"),
                            f"{r.peak_rss_gb:.2f} GB", r.learner_rate / 1e5,
                            ">= 100,000 /s, < 4 GB", yes_no(fast and small)))
    return rows


# ---- learning quality of the network families, per iteration and per second ---------------------
FAMILIES = {"reference": dict(architecture="reference", epochs=4),
            "compact-4-epochs": dict(architecture="compact", epochs=4),
            "compact": dict(architecture="compact", epochs=2)}
"""The learners compared by :func:`compare_families`: the reference networks with four PPO
epochs (the learner before the compact design), and the compact networks with four and with
two (the default)."""


def compare_families(scenario: str, seeds=(0, 1, 2), iterations: int = 150,
                     families=tuple(FAMILIES), replications: int = 20, periods: int = 500,
                     warmup: int = 100) -> pd.DataFrame:
    """Train each family with each seed for ``iterations``; evaluate every final policy on
    the same stream (seed 0: common random numbers across the families); one row per run with
    its profit, interval and CPU seconds (wall time on a shared machine is noise, CPU time
    much less)."""
    variants = {family: dict(FAMILIES[family], iterations=iterations) for family in families}
    return _compare(scenario, variants, seeds, replications, periods, warmup) \
        .rename(columns={"variant": "family"})


BUDGET_SHAPES = {"16 copies, all iterations": (16, 1.0), "32 copies, 1/2 of them": (32, 1 / 2),
                 "64 copies, 1/3 of them": (64, 1 / 3)}
"""Shapes of one training budget compared by :func:`compare_budget_shapes`: copies per
rollout and the share of the iterations, at about the same number of simulated periods. At
small N an iteration costs nearly the same with 8 to 64 copies (its time is per-step
overhead, not arithmetic), so more copies and fewer iterations is faster; whether it learns
as well is what the comparison measures."""


def compare_budget_shapes(scenario: str, iterations: int, seeds=(0, 1, 2),
                          shapes=tuple(BUDGET_SHAPES), replications: int = 10,
                          periods: int = 300, warmup: int = 60) -> pd.DataFrame:
    """Train MTMA with each shape of :data:`BUDGET_SHAPES` (``iterations`` is the budget of the
    16-copy shape) and each seed; evaluate on one stream (seed 0); one row per run, as
    :func:`compare_families`, with ``n_envs`` and ``iterations``."""
    variants = {}
    for shape in shapes:
        if shape not in BUDGET_SHAPES:
            raise ValueError(f"unknown budget shape {shape!r}; known: {', '.join(BUDGET_SHAPES)}")
        copies, share = BUDGET_SHAPES[shape]
        variants[shape] = dict(n_envs=copies, iterations=max(1, round(iterations * share)))
    return _compare(scenario, variants, seeds, replications, periods, warmup) \
        .rename(columns={"variant": "shape"})


def _compare(scenario, variants: dict, seeds, replications, periods, warmup) -> pd.DataFrame:
    rows = []
    for name, overrides in variants.items():
        for seed in seeds:
            config = config_for("mtma", seed=seed, eval_seed=0, eval_replications=replications,
                                eval_periods=periods, eval_warmup=warmup, **overrides)
            start = time.process_time()
            run = train(scenario, config, progress=False)
            rows.append({"scenario": scenario, "variant": name, "seed": seed,
                         "n_envs": config.n_envs, "iterations": config.iterations,
                         "cpu_seconds": time.process_time() - start,
                         "profit": run.summary["profit"],
                         "profit_lo": run.summary["profit_ci_low"],
                         "profit_hi": run.summary["profit_ci_high"]})
    return pd.DataFrame(rows)

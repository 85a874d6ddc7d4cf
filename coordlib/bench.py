"""Benchmarks measured side by side: every figure is a ratio of two timings taken in one run.

``python -m coordlib bench`` writes ``data/benchmarks/report.md`` and one CSV per section. Each
row says what was measured, the two numbers, their ratio, the target and whether it was met,
with the machine (cores, CPU model) and the command. The two sides of a ratio are timed in
alternating rounds, so a burst of load on a shared machine hits both.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .scenarios import get as get_scenario
from .simulator import Simulator

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "benchmarks"


def machine() -> str:
    """Cores and CPU model of this machine, as one line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def side_by_side(first: Callable[[], object], second: Callable[[], object], *,
                 rounds: int = 5, min_seconds: float = 0.05) -> tuple[float, float]:
    """Seconds per call of ``first`` and ``second``, timed in alternating rounds (median of rounds).

    Each round calls a function repeatedly for at least ``min_seconds``; the two functions
    alternate round by round, so slow phases of a shared machine fall on both.
    """
    def one_round(fn):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls

    first(), second()  # warm caches and allocators
    a, b = [], []
    for _ in range(rounds):
        a.append(one_round(first))
        b.append(one_round(second))
    return float(np.median(a)), float(np.median(b))


# ---- 1. the simulator against raw Poisson sampling --------------------------------------------
def simulator_vs_poisson(scenarios=("tiny", "medium", "large"),
                         product_copies=(1, 10, 100, 1_000, 10_000, 100_000),
                         rounds: int = 5, min_seconds: float = 0.05) -> pd.DataFrame:
    """Throughput of a full simulator step against drawing its Poisson variates alone.

    A step must draw one Poisson variate per segment and product (the demands D_ki) and one per
    segment (the customers who buy nothing): B K (N + 1) variates. The floor draws exactly
    those, with the same means, from the same generator; ``ratio`` = floor time / step time, so
    1.0 would be a step that costs nothing beyond its random numbers. ``ratio_vs_bn`` compares
    with drawing only B N variates (one per product-period), the narrowest reading of the floor.
    """
    rows = []
    for name in scenarios:
        s = get_scenario(name)
        N, K = s.n_products, s.n_segments
        for copies in product_copies:
            B = max(1, copies // N)
            sim = Simulator(s, batch_size=B, seed=0, validate=False)
            x = np.broadcast_to(s.uniform_exposure(), (B, K, N)).copy()
            mean = s.segment_demand_rates(x)
            rest = np.maximum(s.arrival_rate - mean.sum(axis=-1), 0.0)
            per_product = mean.sum(axis=1)
            orders = np.zeros((B, N), dtype=np.int64)
            rng = np.random.default_rng(1)
            step_s, floor_s = side_by_side(lambda: sim.step(orders, x),
                                           lambda: (rng.poisson(mean), rng.poisson(rest)),
                                           rounds=rounds, min_seconds=min_seconds)
            _, bn_s = side_by_side(lambda: sim.step(orders, x), lambda: rng.poisson(per_product),
                                   rounds=max(1, rounds // 2), min_seconds=min_seconds)
            pp = B * N
            rows.append({"scenario": name, "N": N, "K": K, "batch": B, "product_copies": pp,
                         "step_product_periods_per_s": pp / step_s,
                         "floor_product_periods_per_s": pp / floor_s,
                         "ratio": floor_s / step_s,
                         "ratio_vs_bn": bn_s / step_s})
    return pd.DataFrame(rows)


# ---- the report ---------------------------------------------------------------------------------
SECTIONS: dict[str, Callable[..., pd.DataFrame]] = {"simulator": simulator_vs_poisson}


def _wrappers(**_):
    from .envs import wrapper_overhead
    result = wrapper_overhead()
    return pd.DataFrame([result] if isinstance(result, dict) else result)


SECTIONS["wrappers"] = _wrappers


def simulator_rows(df: pd.DataFrame, command: str) -> list[dict]:
    """Report rows for the simulator section: the largest batch of each scenario carries the target."""
    rows = []
    for name, g in df.groupby("scenario", sort=False):
        big = g.loc[g["product_copies"].idxmax()]
        rows.append({"measured": f"simulator step vs its Poisson draws, {name} "
                                 f"(N={big.N}, K={big.K}), {big.product_copies:,} product copies",
                     "ours": f"{big.step_product_periods_per_s:.3g} product-periods/s",
                     "reference": f"{big.floor_product_periods_per_s:.3g} product-periods/s",
                     "ratio": round(float(big.ratio), 3), "target": ">= 0.5",
                     "met": bool(big.ratio >= 0.5), "command": command})
    return rows


def write_report(tables: dict[str, pd.DataFrame], rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    summary = pd.DataFrame(rows)
    summary.to_csv(out / "summary.csv", index=False)
    lines = ["# Benchmarks", "", f"Machine: {machine()}. Python {platform.python_version()}, "
             f"numpy {np.__version__}.", "",
             "Each ratio compares two timings taken side by side in one run "
             "(alternating rounds, median).", "", "## Summary", "",
             summary.to_markdown(index=False) if len(summary) else "(no rows)", ""]
    for name, table in tables.items():
        lines += [f"## {name}", "", table.to_markdown(index=False, floatfmt=".4g"), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="coordlib bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter rounds (for a check, not for the report)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    command = "python -m coordlib bench --only " + ",".join(chosen)
    kwargs = {"rounds": 2, "min_seconds": 0.02} if args.quick else {}
    tables, rows = {}, []
    for name in chosen:
        print(f"[bench] {name} ...", flush=True)
        tables[name] = SECTIONS[name](**kwargs)
        print(tables[name].to_string(index=False, float_format=lambda v: f"{v:.4g}"), flush=True)
        if name == "simulator":
            rows += simulator_rows(tables[name], command)
    path = write_report(tables, rows, args.out)
    print(f"[bench] report: {path}")
    return 0

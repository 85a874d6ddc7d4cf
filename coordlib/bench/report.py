"""Benchmarks measured side by side: every figure is a ratio of two measurements taken in one run.

``python -m coordlib bench`` (what ``make bench`` runs) writes ``data/benchmarks/report.md``,
``summary.csv`` (one row per figure) and one CSV per section. Each summary row says what was
measured, the two numbers, their ratio, the target, whether it was met, the machine (cores, CPU
model) and the command that measures it again. Timings of the two sides of a ratio are taken
in alternating rounds, so a burst of load on a shared machine falls on both.

Sections (``--only``), after issue 7 and the "Speed" part of issue 2:

``simulator``
    the full batched step (MODEL.md section 3) against raw Poisson sampling of the same size,
    the floor a step cannot beat. Target: 50% of raw or better at large batches.
``wrappers``
    per-step time of the PettingZoo and Gymnasium wrappers against the raw simulator (no target).
``stockpyl``
    the simulator against stockpyl's simulation of the same single-product base-stock system
    with Poisson demand (backlog variant of MODEL.md section 3): average cost of both, which
    must agree within confidence intervals, and periods per second. Target: 100 times faster.
``dp``
    the exact DP (MODEL.md section 5): states times actions per second, time to solve ``tiny``
    and the largest variant of it within the DP's table limit (no peer: absolute figures).
``learner``
    MTMA (MODEL.md section 6) against two peers from standard libraries
    (:mod:`coordlib.bench.peers`): Stable-Baselines3 PPO tuned for continuous control on the
    normalized Gymnasium form, and independent PPO (SuperSuit + SB3) on the PettingZoo form;
    the same budget of environment steps, the same evaluation (:func:`coordlib.evaluate`), on
    tiny, tiny-margin and medium. Target: MTMA ends higher, and reaches a peer's final profit
    in a third of the peer's time or less; the time each peer takes to reach MTMA's final
    profit is reported too.
``learner-speed``
    the learner's training throughput (product-steps per second) beside the simulator's own
    product-periods per second in the same process, and its peak memory, on tiny, medium,
    large and a generated N = 1,000 scenario; compact against reference networks
    (:mod:`coordlib.bench.learner_speed`). Targets: 15 times the reference on large, 0.05 of
    the simulator, 100,000 product-steps per second under 4 GB at N = 1,000.
``learner-quality``
    MTMA's gap to the best known value on a fixed panel (the DP optimum of four two-product
    instances, five of Zipkin's lost-sales instances, the best heuristic on medium, the
    static-coordination optimum on family-100), several seeds each, against the committed
    result of the previous version (:mod:`coordlib.bench.learner_quality`); it names every
    row that got worse beyond its interval, and ``--gate`` fails the command when a group of
    rows did, or a row beyond the level corrected for the number of rows. Every change to the
    learner is judged by it.
``reproduce``
    time of the ``smoke`` and ``paper`` reproductions, read from the stamps that
    :mod:`coordlib.pipeline.reproduce` writes.

A section whose module or optional package is missing gives one row marked ``skipped``
("not available yet") instead of failing the report. Peers used only here (stockpyl,
stable-baselines3, supersuit) are the optional extra ``bench`` (``pip install .[bench]``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from ..common.files import REPO_DIR, atomic_write, atomic_write_text
from ..learning.training import parse_settings
from .common import DEFAULT_OUT, ROW_FIELDS, SectionResult, Unavailable, fmt, machine, skipped_row
from .exact import dp_section
from .learner import LearnerBudget, learner_section
from .learner_quality import PANEL, RUNS_FILE, PanelRow, learner_quality_section, trial_panel
from .learner_speed import SpeedCase, learner_speed_section
from .reproduction import reproduce_section
from .simulator import simulator_section
from .stockpyl_reference import stockpyl_section
from .wrappers import wrappers_section

# ---- sections, budgets and the report -----------------------------------------------------------
SECTIONS: dict[str, Callable[..., SectionResult]] = {
    "simulator": simulator_section, "wrappers": wrappers_section, "stockpyl": stockpyl_section,
    "dp": dp_section, "learner": learner_section, "learner-speed": learner_speed_section,
    "learner-quality": learner_quality_section, "reproduce": reproduce_section}

QUICK = {
    "simulator": dict(product_copies=(1, 1_000, 100_000), rounds=2, min_seconds=0.02),
    "wrappers": dict(scenarios=("tiny",), steps=500, repeats=2),
    "stockpyl": dict(replications=3, periods=600, warmup=100, batch=1000, batch_periods=300,
                     batch_rounds=2),
    "dp": dict(instances=["tiny"], max_inventory=8),
    "learner": dict(budgets={"tiny": LearnerBudget(env_steps=8192, checkpoints=2,
                                                   replications=8, periods=200, warmup=50)}),
    "learner-speed": dict(cases=(SpeedCase("tiny", iterations=1, n_envs=8, rollout_length=8,
                                           simulator_copies=100),),
                          crowding=None),
    "learner-quality": dict(panel=(
        PanelRow("tiny", "tiny", "optimum", iterations=2, n_envs=8, seeds=(0, 1),
                 evaluation=(4, 100, 20)),
        PanelRow("zipkin L=2 p=9", "zipkin:2:9", "zipkin", iterations=2, n_envs=8,
                 seeds=(0, 1), evaluation=(4, 200, 20))), previous=None),
    "reproduce": {},
}
"""Short budgets for ``--quick``: a check that every section runs, not figures to report."""


def run_sections(names: Sequence[str], quick: bool = False, overrides: Optional[dict] = None,
                 echo: Callable[[str], None] = print) -> dict[str, SectionResult]:
    """Run the named sections; a section that cannot run gives a ``skipped`` row."""
    results, host = {}, machine()
    for name in names:
        if name not in SECTIONS:
            raise ValueError(f"unknown section {name!r}; known: {', '.join(SECTIONS)}")
        kwargs = {**(QUICK[name] if quick else {}), **((overrides or {}).get(name, {}))}
        echo(f"[bench] {name} ...")
        start = time.perf_counter()
        try:
            result = SECTIONS[name](**kwargs)
        except Unavailable as exc:
            result = SectionResult(pd.DataFrame(), [skipped_row(name, str(exc))])
        command = f"python -m coordlib bench --only {name}" + (" --quick" if quick else "")
        for r in result.rows:
            r["machine"], r["command"] = host, command
        results[name] = result
        echo(f"[bench] {name}: {time.perf_counter() - start:.1f} s")
        for r in result.rows:
            echo(f"  {r['met']:>7}  {r['measured']}: {r['ours']} vs {r['reference']}, "
                 f"ratio {fmt(r['ratio'])} (target {r['target']})")
    return results


def _versions() -> str:
    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for module in ("torch", "stockpyl", "stable_baselines3"):
        try:
            parts.append(f"{module} {importlib.import_module(module).__version__}")
        except Exception:
            pass
    return ", ".join(parts)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda handle: frame.to_csv(handle, index=False))


def _earlier_rows(out: Path, results: dict) -> pd.DataFrame:
    """The rows of ``out/summary.csv`` of the sections not run now (a partial run keeps them)."""
    path = out / "summary.csv"
    if not path.is_file():
        return pd.DataFrame(columns=list(ROW_FIELDS))
    earlier = pd.read_csv(path, keep_default_na=False)
    earlier = earlier[~earlier["section"].isin(list(results))]
    return earlier.reindex(columns=list(ROW_FIELDS))


def write_report(results: dict[str, SectionResult], out: Path, command: str = "",
                 seconds: Optional[float] = None) -> Path:
    """Write ``report.md``, ``summary.csv`` and each section's tables (CSV) into ``out``.

    Sections not run now keep their rows and tables from the report already in ``out``
    (``--only`` replaces the sections it names, never the others), and the report says which
    sections this run measured.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r for res in results.values() for r in res.rows]
    current = pd.DataFrame(rows, columns=list(ROW_FIELDS))
    earlier = _earlier_rows(out, results)
    summary = pd.concat([f for f in (earlier, current) if len(f)], ignore_index=True) \
        if len(earlier) or len(current) else current
    order = {name: i for i, name in enumerate(SECTIONS)}
    summary = summary.sort_values("section", key=lambda c: c.map(order).fillna(len(order)),
                                  kind="stable").reset_index(drop=True)
    summary["ratio"] = pd.to_numeric(summary["ratio"], errors="coerce")
    _write_csv(summary, out / "summary.csv")
    for name, res in results.items():
        if len(res.table):
            _write_csv(res.table, out / f"{name}.csv")
        for extra, table in res.extra.items():
            _write_csv(table, out / f"{extra}.csv")
    shown = summary.copy()
    shown["command"] = [f"`{c}`" if c else "" for c in summary["command"]]
    shown["ratio"] = [fmt(v) if np.isfinite(v) else "-" for v in summary["ratio"]]
    host = rows[0]["machine"] if rows else machine()
    kept = sorted(set(earlier["section"]), key=lambda n: order.get(n, len(order)))
    lines = ["# Benchmarks", "",
             f"Machine: {host}. {_versions()}. Generated {time.strftime('%Y-%m-%d %H:%M')}"
             + (f" in {seconds:.0f} s" if seconds is not None else "")
             + (f" by `{command}`" if command else "") + ".", ""]
    if kept:
        lines += [f"This run measured {', '.join(results)}; the rows of {', '.join(kept)} "
                  "are from an earlier run (each row's command measures it again).", ""]
    lines += ["Each ratio compares two measurements taken side by side in one run (alternating "
              "rounds, median), so the figures hold on this machine at this load; the absolute "
              "numbers are noisy on a shared machine, the ratios much less.", "",
              "## Summary", "",
              shown.to_markdown(index=False) if len(shown) else "(no rows)", ""]
    missed = summary[summary["met"].isin(["no", "void"])]
    lines += ["## Targets not met", ""]
    lines += ([f"- **{r.measured}**: {r.ours} vs {r.reference}, ratio {fmt(r.ratio)}, target "
               f"{r.target} ({'comparison void' if r.met == 'void' else 'not met'})"
               for r in missed.itertuples()] or ["Every target measured in this run was met."])
    skipped = summary[summary["met"] == "skipped"]
    if len(skipped):
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- {r.section}: {r.note}" for r in skipped.itertuples()]
    for name in sorted({*results, *kept}, key=lambda n: order.get(n, len(order))):
        table = results[name].table if name in results else (
            pd.read_csv(out / f"{name}.csv") if (out / f"{name}.csv").is_file() else None)
        if table is not None and len(table):
            lines += ["", f"## {name}", "", table.to_markdown(index=False, floatfmt=".4g")]
    lines.append("")
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


QUICK_OUT = REPO_DIR / "build" / "bench-quick"
GATE_OUT = REPO_DIR / "build" / "bench-gate"
"""Where a gated run that fails writes its report (the committed result stays)."""
TRIAL_OUT = REPO_DIR / "build" / "bench-trial"
"""Where a trial of the learner-quality panel (``--rows``, ``--seeds``, ``--set``) writes its
report by default; a trial never replaces the committed result."""
QUALITY_RUNS = DEFAULT_OUT / RUNS_FILE
"""The committed learner-quality result a gated run is held against."""
"""Where ``--quick`` writes its report unless ``--out`` names a folder."""
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(readme: Path, summary_csv: Path) -> bool:
    """Quote the report's rows that carry a target in the bench block of RESULTS.md.

    The block is rewritten from ``summary.csv`` (every section at its last run, see
    :func:`write_report`), so the page quotes exactly what the report measured. Returns
    whether the page changed.
    """
    readme, summary_csv = Path(readme), Path(summary_csv)
    if not (readme.is_file() and summary_csv.is_file()):
        return False
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    summary = pd.read_csv(summary_csv, keep_default_na=False)
    rows = summary[summary["met"].isin(["yes", "no", "void"])]
    lines = [README_START, "| measured | ours | reference | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows.itertuples():
        ratio = fmt(float(r.ratio)) if str(r.ratio) not in ("", "nan") else "-"
        lines.append(f"| {r.measured} | {r.ours} | {r.reference} | {ratio} | {r.target} | {r.met} |")
    machine_line = rows["machine"].iloc[0] if len(rows) else machine()
    lines += ["", f"Measured by `make bench` on {machine_line} (each section at its last run); the "
              "full report, with the commands, is "
              "[data/benchmarks/report.md](data/benchmarks/report.md).", README_END]
    head, rest = text.split(README_START, 1)
    new = head + "\n".join(lines) + rest.split(README_END, 1)[1]
    if new == text:
        return False
    atomic_write_text(readme, new)
    return True


def _trial_panel(parser, args, chosen):
    """The panel of a trial (``--rows``, ``--seeds``, ``--set``), or a one-line parser error."""
    if "learner-quality" not in chosen:
        parser.error("--rows, --seeds and --set make a trial of the learner-quality panel; add "
                     "it to --only")
    if args.gate:
        parser.error("--gate holds the whole panel at its own settings against the committed "
                     "result; a trial (--rows, --seeds, --set) is compared with it, not gated")
    if args.out.resolve() == DEFAULT_OUT.resolve():
        parser.error(f"a trial never replaces the committed result: give --out another folder "
                     f"than {DEFAULT_OUT.relative_to(REPO_DIR)}")
    rows = None if args.rows is None else [r.strip() for r in args.rows.split(",") if r.strip()]
    try:
        seeds = None if args.seeds is None else [int(x) for x in args.seeds.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--seeds: whole numbers separated by commas, got {args.seeds!r}")
    panel = QUICK["learner-quality"]["panel"] if args.quick else PANEL
    try:
        return trial_panel(panel, rows, seeds, parse_settings(args.set))
    except ValueError as exc:
        parser.error(str(exc))


def cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="coordlib bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"report folder (default {DEFAULT_OUT.relative_to(REPO_DIR)}; with "
                             f"--quick {QUICK_OUT.relative_to(REPO_DIR)}, so a check never "
                             "replaces the committed report)")
    parser.add_argument("--quick", action="store_true",
                        help="short budgets (a check that each section runs, not for the report)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="learner-quality: training processes side by side (default: the "
                             "CPUs)")
    parser.add_argument("--gate", action="store_true",
                        help="learner-quality: exit with status 1 when the panel got worse "
                             "than the committed result (a group of rows at 5%%, a row at 5%% "
                             "over the rows); a failing run writes its report to "
                             f"{GATE_OUT.relative_to(REPO_DIR)} and keeps the committed one")
    parser.add_argument("--rows", default=None, metavar="NAMES",
                        help="learner-quality trial: only these panel rows (comma-separated, "
                             "e.g. 'tiny,zipkin L=4 p=9')")
    parser.add_argument("--seeds", default=None, metavar="S,S,...",
                        help="learner-quality trial: these training seeds on every row (at "
                             "least two)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="learner-quality trial: a TrainConfig field on every row, over the "
                             "row's own settings (repeatable)")
    args = parser.parse_args(argv)
    trial = args.rows is not None or args.seeds is not None or bool(args.set)
    args.out = args.out or (QUICK_OUT if args.quick else TRIAL_OUT if trial else DEFAULT_OUT)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        parser.error(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    if args.gate:
        if args.quick:
            parser.error("--gate holds the paper-budget panel against the committed result; "
                         "it does not combine with --quick")
        if "learner-quality" not in chosen:
            parser.error("--gate judges the learner-quality section; add it to --only")
        if not QUALITY_RUNS.is_file():
            parser.error(f"--gate needs the committed result to compare with: "
                         f"{os.path.relpath(QUALITY_RUNS, REPO_DIR)} is missing")
    quality_options = {"workers": args.workers} if args.workers else {}
    if trial:
        quality_options["panel"] = _trial_panel(parser, args, chosen)
    command = "python -m coordlib bench" + (f" --only {','.join(chosen)}"
                                            if chosen != list(SECTIONS) else "")
    command += " --quick" if args.quick else ""
    command += "".join(f" {flag} '{value}'" for flag, value in (
        ("--rows", args.rows), ("--seeds", args.seeds)) if value is not None)
    command += "".join(f" --set '{item}'" for item in args.set)
    start = time.perf_counter()
    overrides = {"learner-quality": quality_options} if quality_options else None
    results = run_sections(chosen, quick=args.quick, overrides=overrides,
                           echo=lambda m: print(m, flush=True))
    quality = results.get("learner-quality")
    failing = [] if not args.gate or quality is None or "fails_gate" not in quality.table else \
        list(quality.table.loc[quality.table["fails_gate"].astype(bool), "row"])
    out = GATE_OUT if failing and args.out == DEFAULT_OUT else args.out
    path = write_report(results, out, command, time.perf_counter() - start)
    print(f"[bench] report: {path}")
    if not args.quick and out == DEFAULT_OUT:
        if update_readme(DEFAULT_OUT.parent.parent / "RESULTS.md", path.parent / "summary.csv"):
            print("[bench] quoted the targets in RESULTS.md")
    if failing:
        print(f"[bench] gate: worse than the committed result on {', '.join(failing)}; the "
              f"committed result is kept", file=sys.stderr)
        return 1
    return 0

"""The claims ledger: each claim of the paper's abstract, the experiment that tests it, the rule
that decides it, the evidence and the verdict (MODEL.md section 7; notebook ``12_claims``).

A rule is code, written before the numbers: a function of the tables the experiments write
(``data/tables/*.csv`` for the paper profile) that returns a verdict and the evidence it rests
on, intervals included. Nothing in the ledger is typed in by hand: a table that is missing
gives "not yet measured", and rerunning an experiment changes its verdict. To change a rule,
change its function and its ``rule`` sentence together; the thresholds are the constants below.

A claim tested by several parts (for instance E3 and E7) gets the verdict of
:func:`combine`: supported when every part is, not supported when every part is, partly
otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..common.files import atomic_write_text
from ..pipeline import reporting
from . import e7_scalability, e8_convergence

SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_MEASURED = ("supported", "partly", "not supported",
                                                  "not yet measured")
VERDICTS = (SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_MEASURED)

AGREEMENT_SHARE = 0.9
"""C1: share of exact values that must lie inside the simulator's intervals (the Bonferroni
interval of E1's table where it has one, else the row's 95% interval, which about 5% of exact
values miss by chance alone)."""
CLOSED_FORM_TOLERANCE = 0.10
"""C2: largest relative distance of B5's closed-form value (normal demand) from the exact
Poisson value, on the instances where coordination is worth something."""
OPTIMUM_GAP_PCT = (1.0, 3.0)
"""C4: MTMA's distance to the exact optimum, in percent: within the first, supported; within
the second, partly."""
SCALE_GAP_PCT = e7_scalability.SCALE_GAP_PCT
"""C5: MTMA's mean within this many percent of the best baseline at every N >= 100 is partly
supported."""
TRACKING_GROWTH = 2.0
"""C7: the tracking distance "does not grow" while its mean over the last quarter of the records
is at most this multiple of its mean over the first quarter (:func:`e8_convergence.window_means`)."""
BRIEF_LENGTH = 300
"""Longest rule or evidence, in characters, that the ledger's table shows; the full text of
each goes to the details under it (:func:`ledger_markdown`)."""
LAG_TOLERANCE = 0.5
"""C9: B4 holds for a learned policy when its peak lag (mean over seeds) is this close to the
lead time."""


@dataclass(frozen=True)
class Finding:
    """What a rule concludes: one of :data:`VERDICTS` and the numbers behind it."""

    verdict: str
    evidence: str
    brief: str = ""
    """The evidence in at most :data:`BRIEF_LENGTH` characters, where ``evidence`` is longer."""

    def short(self) -> str:
        """The evidence as the ledger's table shows it: ``brief`` where there is one."""
        return self.brief or self.evidence


@dataclass(frozen=True)
class Claim:
    """One claim of the abstract and how the project decides it."""

    key: str
    """Short name (C1..C9)."""
    quote: str
    """The abstract's words."""
    experiments: str
    """The experiments that test it (notebook ids of ``notebooks/manifest.yaml``)."""
    rule: str
    """The decision rule in words; :attr:`decide` is the same rule in code."""
    tables: tuple
    """The tables the rule reads (names without ``.csv``)."""
    decide: Callable[[dict], Finding]
    """The rule: the tables (name -> DataFrame) in, a :class:`Finding` out."""
    brief: str = ""
    """The rule in at most :data:`BRIEF_LENGTH` characters, where ``rule`` is longer."""

    def short(self) -> str:
        """The rule as the ledger's table shows it: ``brief`` where there is one."""
        return self.brief or self.rule


# --- helpers ------------------------------------------------------------------------------

def by_share(hits: int, total: int, what: str, supported_at: float = 1.0,
             partly_at: float = 0.5) -> Finding:
    """``hits`` of ``total`` checks hold: supported from a share ``supported_at``, partly from
    ``partly_at`` (a share > 0 when ``partly_at`` is 0), not supported below."""
    if total == 0:
        return Finding(NOT_MEASURED, f"{what}: no checks in the table")
    share = hits / total
    if share >= supported_at:
        verdict = SUPPORTED
    elif share >= partly_at and (partly_at > 0 or hits > 0):
        verdict = PARTLY
    else:
        verdict = NOT_SUPPORTED
    return Finding(verdict, f"{what}: {hits} of {total}")


def combine(findings: list[Finding], labels: list[str] | None = None) -> Finding:
    """One verdict from the parts: supported if all are, not supported if all are, not yet
    measured if none is measured, partly otherwise (a part not yet measured caps it there).
    The brief evidence joins the parts' briefs; with ``labels`` (one per part, e.g. its
    scenario), each part is named and, without a brief of its own, given by its verdict."""
    measured = [f.verdict for f in findings if f.verdict != NOT_MEASURED]
    if not measured:
        verdict = NOT_MEASURED
    elif len(measured) == len(findings) and all(v == SUPPORTED for v in measured):
        verdict = SUPPORTED
    elif len(measured) == len(findings) and all(v == NOT_SUPPORTED for v in measured):
        verdict = NOT_SUPPORTED
    else:
        verdict = PARTLY
    if labels is None:
        brief = "; ".join(f.short() for f in findings)
    else:
        brief = "; ".join(f"{label}: {f.brief or f.verdict}" for label, f in zip(labels, findings))
    evidence = "; ".join(f.evidence for f in findings)
    return Finding(verdict, evidence, brief if brief != evidence else "")


def interval(row, column: str = "profit", digits: int = 2) -> str:
    """``mean [lo, hi]`` of ``column`` in a table row (the mean alone where there is no interval)."""
    f = f"{{:.{digits}f}}"
    lo, hi = row.get(f"{column}_lo"), row.get(f"{column}_hi")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return f.format(row[column])
    return f"{f.format(row[column])} [{f.format(lo)}, {f.format(hi)}]"


def _true(value) -> bool:
    """A table's boolean cell (CSV gives bool, or the strings True/False, yes/no)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes")
    return bool(value) if not pd.isna(value) else False


# --- the rules, one per claim ---------------------------------------------------------------

def check_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The verdict column of a table of simulator checks: ``{name}_in_family_ci`` (inside the
    Bonferroni interval of the whole table, E1's rule) where the table has it, else the
    per-row ``{name}_in_ci``."""
    family = f"{name}_in_family_ci"
    return frame[family] if family in frame.columns else frame[f"{name}_in_ci"]


def decide_model(t: dict) -> Finding:
    checks = [("E1 B1", check_column(t["e1_b1_newsvendor_checks"], "poisson")),
              ("E1 B5", check_column(t["e1_b5_value_checks"], "poisson")),
              ("E11", t["e11_simulation_check"]["inside"])]
    inside = sum(int(sum(_true(v) for v in col)) for _, col in checks)
    total = sum(len(col) for _, col in checks)
    parts = ", ".join(f"{name} {sum(_true(v) for v in col)}/{len(col)}" for name, col in checks)
    found = by_share(inside, total, "exact values inside the simulator's intervals (E1: "
                     "Bonferroni family intervals where the table has them)",
                     supported_at=AGREEMENT_SHARE)
    return Finding(found.verdict, f"{found.evidence} ({parts})")


def decide_benchmarks(t: dict) -> Finding:
    b2 = t["e1_b2_convexity"]
    normal = b2[b2["model"].str.startswith("normal")]
    normal_ok = int(sum(_true(v) for v in normal["best_is_extreme"]))
    all_ok = int(sum(_true(v) for v in b2["best_is_extreme"]))
    if all_ok == len(b2):
        verdict = SUPPORTED
    elif normal_ok == len(normal):
        verdict = PARTLY
    else:
        verdict = NOT_SUPPORTED
    b2_found = Finding(verdict, f"B2 best static exposure extreme: normal demand {normal_ok} of "
                                f"{len(normal)}, exact Poisson {all_ok - normal_ok} of "
                                f"{len(b2) - len(normal)}")
    b5 = t["e1_b5_value_checks"]
    worth = b5[b5["value_poisson_exact"].abs() > 1e-9]
    distance = ((worth["value_closed_form"] - worth["value_poisson_exact"]).abs()
                / worth["value_poisson_exact"].abs())
    close = int((distance <= CLOSED_FORM_TOLERANCE).sum())
    b5_found = by_share(close, len(worth), f"B5 closed form within {CLOSED_FORM_TOLERANCE:.0%} of "
                        f"the exact value (largest distance {distance.max():.1%})")
    return combine([b2_found, b5_found])


def decide_synchronized(t: dict) -> Finding:
    b3 = t["e2_b3_summary"]
    exposure = b3[b3["statement"].str.startswith("exposure")]
    orders = b3[b3["statement"].str.startswith("order")]
    lags = t["e2_b4_peak_lags"]
    on_time = int((lags["peak_lag"] == lags["lead_time"]).sum())
    return combine([
        by_share(int(sum(_true(v) for v in exposure["holds"])), len(exposure),
                 "B3 recommend what you stock, DP statements without exception"),
        by_share(int(sum(_true(v) for v in orders["holds"])), len(orders),
                 "B3 stock what you recommend, DP statements without exception"),
        by_share(on_time, len(lags), "B4 DP orders peak at the lead time"),
    ])


def decide_decomposition(t: dict) -> Finding:
    e3 = t["e3_main_table"]
    mtma = e3[(e3["method"] == "learner: mtma") & e3["gap_dp_pct"].notna()]
    e3_gap = float(-mtma["gap_dp_pct"].min()) if len(mtma) else float("nan")
    e11_gap = float(t["e11_learner"]["learner_gap_pct"].mean())
    parts = []
    for what, gap in ((f"E3 MTMA's largest gap to g* over {len(mtma)} DP instances", e3_gap),
                      ("E11 MTMA's mean gap to Zipkin's optimum", e11_gap)):
        if pd.isna(gap):
            parts.append(Finding(NOT_MEASURED, f"{what}: no rows"))
            continue
        verdict = (SUPPORTED if gap <= OPTIMUM_GAP_PCT[0] else
                   PARTLY if gap <= OPTIMUM_GAP_PCT[1] else NOT_SUPPORTED)
        parts.append(Finding(verdict, f"{what} {gap:.2f}%"))
    return combine(parts)


def decide_scalability(t: dict) -> Finding:
    e7 = t["e7_scalability"]
    learned = e7[e7["method"] == "MTMA"]
    fixed = learned["parameters"].nunique() == 1
    checks = e7_scalability.scale_checks(e7)
    if checks.empty:
        return Finding(NOT_MEASURED, f"E7 has no MTMA row with N >= {e7_scalability.SCALE_SIZE}")
    if fixed and checks["reaches_best"].all():
        verdict = SUPPORTED
    elif fixed and (checks["gap_best_pct"] >= -SCALE_GAP_PCT).all():
        verdict = PARTLY
    else:
        verdict = NOT_SUPPORTED
    sizes = "; ".join(f"{r['scenario']} (N = {r['N']}) {interval(r)} vs {r['best_baseline']:.2f} "
                      f"({r['gap_best_pct']:+.1f}%)" for _, r in checks.iterrows())
    return Finding(verdict, f"parameters {'fixed' if fixed else 'not fixed'} over N = "
                            f"{e7['N'].min()}..{e7['N'].max()}; MTMA vs the best baseline: {sizes}")


def decide_timescales(t: dict) -> Finding:
    """C6 per scenario: MTMA against the reversed ordering and a single timescale, on profit
    (not worse: MTMA's interval reaches each of their means), stability (a lower seed-to-seed
    spread and a lower tail std of the learning curve than both) and adaptability (a higher
    mean profit after the demand shift, relative to the level before it, than both: column
    ``adaptation``; with intervals apart, clearly). Supported: not worse, steadier and clearly
    more adaptable; partly: not worse and either steadier or more adaptable on the means; not
    supported otherwise."""
    e5 = t["e5_timescales"]
    parts, labels = [], []
    for scenario, rows in e5.groupby("scenario", sort=False):
        labels.append(scenario)
        def pick(prefix):
            chosen = rows[rows["variant"].str.startswith(prefix)]
            return chosen.iloc[0] if len(chosen) else None
        mtma, others = pick("mtma ("), [pick("reversed"), pick("single timescale")]
        if mtma is None or any(o is None for o in others):
            parts.append(Finding(NOT_MEASURED, f"{scenario}: a variant is missing"))
            continue
        not_worse = all(mtma["profit_hi"] >= o["profit"] for o in others)
        steadier = all(_below(mtma, o, "seed_spread") and _below(mtma, o, "tail_std")
                       for o in others)
        adapts = "adaptation" in rows.columns and not rows["adaptation"].isna().any()
        adaptable = adapts and all(mtma["adaptation"] > o["adaptation"] for o in others)
        clearly = adaptable and all(mtma["adaptation_lo"] > o["adaptation_hi"] for o in others)
        if not_worse and steadier and clearly:
            verdict = SUPPORTED
        elif not_worse and (steadier or adaptable):
            verdict = PARTLY
        else:
            verdict = NOT_SUPPORTED
        recovery = ("; profit after the shift / before it " + ", ".join(
            f"{r['variant'].split(' (')[0]} {interval(r, 'adaptation', 3)}"
            for r in [mtma, *others]) if adapts else "; adaptation not measured")
        spread = ", ".join(f"{r['variant'].split(' (')[0]} {_number(r, 'seed_spread')}/"
                           f"{_number(r, 'tail_std')}" for r in [mtma, *others])
        words = [f"profit {'not worse' if not_worse else 'worse'}",
                 "steadier" if steadier else "not steadier",
                 _adaptable_word(clearly, adaptable) if adapts else "adaptation not measured"]
        parts.append(Finding(verdict, f"{scenario}: MTMA {interval(mtma)}, " + ", ".join(
            f"{o['variant']} {interval(o)}" for o in others)
            + f" ({words[0]}); seed spread/tail std "
              f"{spread} ({words[1]}){recovery}"
            + (f" ({words[2]})" if adapts else ""), f"{verdict} ({', '.join(words)})"))
    return combine(parts, labels) if parts else Finding(NOT_MEASURED, "no rows")


def _adaptable_word(clearly: bool, adaptable: bool) -> str:
    return ("clearly more adaptable" if clearly else "more adaptable" if adaptable
            else "not more adaptable")


def _below(row, other, column) -> bool:
    a, b = row.get(column), other.get(column)
    return a is not None and b is not None and not pd.isna(a) and not pd.isna(b) and a < b


def _number(row, column) -> str:
    value = row.get(column)
    return "n/a" if value is None or pd.isna(value) else f"{value:.3f}"


E8_CONDITIONS = ("schedules Robbins-Monro (fast, slow)", "slow/fast step ratio -> 0")
E8_CURVE, E8_ITERATES = ("learning curve (profit) stationary",
                         "iterates (parameter norms) stationary")
E8_TRACKING = tuple(e8_convergence.tracking_label("relative parameter distance", end)
                    for end in ("early", "late"))
E8_RATIO_LAST = "slow/fast step ratio at the last update (recorded)"
E8_NOISE_FLOOR = e8_convergence.tracking_label("best-response noise floor", "late")
E8_POLICY_TRACKING = tuple(e8_convergence.tracking_label("exposure distance", end)
                           for end in ("early", "late"))
E8_POLICY_FLOOR = e8_convergence.tracking_label("exposure noise floor", "late")
"""Tracking in policy space (:func:`coordlib.experiments.e8_convergence.tracking_study`): where
E8 records it, C7 reads it in place of the parameter distance (weights are not identifiable)."""
SEPARATION_RATIO = 0.1
"""alpha_slow / alpha_fast at the run's last update at most this: the timescales are separated
within the run (when E8 records the ratio)."""


def decide_convergence(t: dict) -> Finding:
    """C7 per scenario of E8 (the table's ``scenario`` column; the teaching example's rows are
    its reference, not evidence), combined over the scenarios (:func:`combine`); a table
    without the column is one scenario."""
    e8 = t["e8_diagnostics"]
    if "scenario" not in e8.columns:
        return _convergence_on(dict(zip(e8["check"], e8["value"])))
    parts, labels = [], []
    for scenario, rows in e8[e8["scenario"] != e8_convergence.TEACHING].groupby("scenario",
                                                                                sort=False):
        found = _convergence_on(dict(zip(rows["check"], rows["value"])))
        parts.append(Finding(found.verdict, f"{scenario}: {found.evidence}", found.brief))
        labels.append(scenario)
    return (combine(parts, labels) if parts
            else Finding(NOT_MEASURED, "E8 diagnostics: no scenario rows"))


def _convergence_on(values: dict) -> Finding:
    missing = [k for k in E8_CONDITIONS + (E8_CURVE, E8_ITERATES) + E8_TRACKING
               if k not in values]
    if missing:
        return Finding(NOT_MEASURED, f"E8 diagnostics lack {missing}")
    conditions = all(_true(values[k]) for k in E8_CONDITIONS)
    notes = []
    if E8_RATIO_LAST in values:
        ratio = float(values[E8_RATIO_LAST])
        conditions = conditions and ratio <= SEPARATION_RATIO
        notes.append(f"ratio at the last update {ratio:.3f} (separated: <= {SEPARATION_RATIO:g})")
    policy = all(k in values for k in E8_POLICY_TRACKING)
    keys, floor_key = ((E8_POLICY_TRACKING, E8_POLICY_FLOOR) if policy
                       else (E8_TRACKING, E8_NOISE_FLOOR))
    first, last = (float(values[k]) for k in keys)
    tracks = last <= TRACKING_GROWTH * first
    label = (f"tracking {'exposure' if policy else 'parameter'} distance (window means) "
             f"{first:.3f} -> {last:.3f} not growing")
    if floor_key in values:
        floor = float(values[floor_key])
        tracks = tracks or last <= floor
        label += f" or within the best response's noise floor {floor:.3f}"
    consequences = {"learning curve stationary": _true(values[E8_CURVE]),
                    "iterates stationary": _true(values[E8_ITERATES]), label: tracks}
    held = [k for k, ok in consequences.items() if ok]
    if conditions and len(held) == len(consequences):
        verdict = SUPPORTED
    elif conditions and held:
        verdict = PARTLY
    else:
        verdict = NOT_SUPPORTED
    short = {"curve": consequences["learning curve stationary"],
             "iterates": consequences["iterates stationary"], "tracking": tracks}
    return Finding(verdict, f"step-size conditions {'hold' if conditions else 'fail'}"
                            + "".join(f" ({n})" for n in notes) + "; "
                            + ", ".join(f"{k}: {'yes' if ok else 'no'}"
                                        for k, ok in consequences.items()),
                   f"{verdict} (conditions {'hold' if conditions else 'fail'}; stationary "
                   + ", ".join(f"{k} {'yes' if ok else 'no'}" for k, ok in short.items()
                               if k != "tracking")
                   + f"; tracking {'holds' if tracks else 'fails'})")


E3_PROFITABILITY_RULE = ("MTMA earns more than the siloed firm on a scenario when the lower end of "
                         "its 95% interval (seeds x evaluation replications) lies above the upper "
                         "end of the siloed firm's (replications); every scenario so, supported; "
                         "some, partly; none, not supported.")
"""The E3 part of C8's rule, in words (:func:`profitability_e3` is the same rule in code)."""


def profitability_e3(e3: pd.DataFrame) -> Finding:
    """The E3 part of C8: :data:`E3_PROFITABILITY_RULE` on the main table."""
    separated, lines = 0, []
    scenarios = list(dict.fromkeys(e3["scenario"]))
    for scenario in scenarios:
        rows = e3[e3["scenario"] == scenario].set_index("method")
        if "learner: mtma" not in rows.index or "siloed" not in rows.index:
            continue
        mtma, siloed = rows.loc["learner: mtma"], rows.loc["siloed"]
        separated += bool(mtma["profit_lo"] > siloed["profit_hi"])
        lines.append(f"{scenario} {interval(mtma)} vs {interval(siloed)}")
    e3_found = by_share(separated, len(lines), "E3 MTMA's interval above the siloed firm's",
                        partly_at=0.0)
    return Finding(e3_found.verdict, f"{e3_found.evidence} ({'; '.join(lines)})",
                   e3_found.evidence)


def decide_profitability(t: dict) -> Finding:
    e3_found = profitability_e3(t["e3_main_table"])
    checks = e7_scalability.scale_checks(t["e7_scalability"])
    e7_found = by_share(int(checks["above_siloed"].sum()) if len(checks) else 0, len(checks),
                        f"E7 MTMA's interval above the siloed firm's at N >= "
                        f"{e7_scalability.SCALE_SIZE}", partly_at=0.0)
    return combine([e3_found, e7_found])


def decide_behaviour(t: dict) -> Finding:
    e6 = t["e6_b3_b4"]
    learned = e6[e6["policy"].str.startswith("learned")]
    b3 = int(sum(_true(v) for v in learned["b3_holds"]))
    b4 = int((learned["b4_peak_vs_lead"].abs() <= LAG_TOLERANCE).sum())
    return combine([by_share(b3, len(learned), "B3 signs of the learned exposure slopes"),
                    by_share(b4, len(learned), f"B4 learned peak lag within {LAG_TOLERANCE} of "
                                               f"the lead time")])


CLAIMS = (
    Claim("C1", "an integrated theoretical model to capture the intricate interplay between "
          "these functions", "E1, E11",
          f"The simulator implements the model that the theory and the exact methods solve: at "
          f"least {AGREEMENT_SHARE:.0%} of the exact values of E1 (B1, B5) and E11 lie inside "
          f"the simulator's intervals (supported), at least half (partly); E1's checks count "
          f"by the Bonferroni interval of their table (``*_in_family_ci``, 95% for the table "
          f"together) where E1 writes it, else by each row's 95% interval.",
          ("e1_b1_newsvendor_checks", "e1_b5_value_checks", "e11_simulation_check"),
          decide_model,
          brief=f"At least {AGREEMENT_SHARE:.0%} of the exact values of E1 (B1, B5) and E11 lie "
                f"inside the simulator's intervals (supported), at least half (partly); E1 "
                f"counts by its table's Bonferroni interval where it has one."),
    Claim("C2", "analytical benchmarks that characterize optimal coordination", "E1",
          f"B2: the best static exposure is extreme on every row of E1 (supported), on every "
          f"normal-demand row only (partly); B5: the closed-form value of coordination is within "
          f"{CLOSED_FORM_TOLERANCE:.0%} of the exact Poisson value wherever it is positive.",
          ("e1_b2_convexity", "e1_b5_value_checks"), decide_benchmarks),
    Claim("C3", "synchronized adjustment patterns across products and over time", "E2",
          "On the exact DP: B3's exposure statements and order statements hold without "
          "exception on every instance, and B4's order-exposure correlation peaks at the lead "
          "time for every product (each part: all, supported; at least half, partly).",
          ("e2_b3_summary", "e2_b4_peak_lags"), decide_synchronized),
    Claim("C4", "decomposes policy components according to departmental functions and assigns "
          "distinct learning speeds", "E3, E11",
          f"The decomposed learner comes close to the exact optimum: MTMA's mean within "
          f"{OPTIMUM_GAP_PCT[0]:g}% of g* on every DP instance of E3, and within "
          f"{OPTIMUM_GAP_PCT[0]:g}% of Zipkin's optimum on average in E11 (supported); within "
          f"{OPTIMUM_GAP_PCT[1]:g}% (partly).",
          ("e3_main_table", "e11_learner"), decide_decomposition),
    Claim("C5", "model-free multi-agent design improves scalability and deployment "
          "flexibility", "E7",
          f"With a parameter count that does not grow with N, MTMA's 95% interval reaches the "
          f"best baseline's profit (siloed firm, margin-greedy, coordinated heuristic, "
          f"static-coordination optimum) on every E7 scenario with N >= "
          f"{e7_scalability.SCALE_SIZE} (supported), or its mean is within {SCALE_GAP_PCT:g}% of "
          f"it on each (partly).",
          ("e7_scalability",), decide_scalability),
    Claim("C6", "multi-timescale updates enhance convergence stability and adaptability across "
          "heterogeneous decisions", "E5",
          "Per E5 scenario, MTMA against the reversed ordering and a single timescale: its "
          "profit is not worse (its 95% interval reaches both means), it is steadier (lower "
          "seed-to-seed spread and lower tail std of the learning curve than both) and more "
          "adaptable (a higher mean rollout profit after an unannounced demand shift, "
          "relative to its level before it, with intervals apart) (supported); not worse and "
          "steadier or more adaptable on the means (partly); otherwise not supported. "
          "Scenarios combine: supported on all, not supported on all, else partly.",
          ("e5_timescales",), decide_timescales,
          brief="Per E5 scenario, MTMA against the reversed ordering and a single timescale: "
                "profit not worse, steadier across seeds and clearly more adaptable to a demand "
                "shift (supported); not worse and steadier or more adaptable (partly)."),
    Claim("C7", "we further establish the asymptotic convergence of the proposed algorithm", "E8",
          f"The theorem's step-size conditions hold (with alpha_slow / alpha_fast at most "
          f"{SEPARATION_RATIO:g} at the run's last update) and all its consequences are observed: "
          f"stationary learning curve, stationary iterates, a tracking distance (between the "
          f"exposures of the fast agent and of its best response on a fixed path of states, "
          f"where recorded; else between their parameters) that does not "
          f"grow (its mean over the last {e8_convergence.WINDOW:.0%} of the records at most "
          f"{TRACKING_GROWTH:g} x its mean over the first {e8_convergence.WINDOW:.0%}) or lies "
          f"within the best response's own noise floor (its mean over the same last records; "
          f"supported); the "
          f"conditions and some consequences (partly); otherwise not supported. Per E8 "
          f"scenario; scenarios combine: supported on all, not supported on all, else partly.",
          ("e8_diagnostics",), decide_convergence,
          brief=f"Per E8 scenario: the step-size conditions hold (alpha_slow / alpha_fast <= "
                f"{SEPARATION_RATIO:g} at the end) and the curve and iterates are stationary and "
                f"the tracking distance does not grow (supported); conditions and some of "
                f"these (partly)."),
    Claim("C8", "significantly improves profitability relative to siloed decision-making "
          "frameworks", "E3, E7",
          f"MTMA's 95% interval lies above the siloed firm's on every scenario of E3 and on "
          f"every E7 scenario with N >= {e7_scalability.SCALE_SIZE} (each part: all, supported; "
          f"some, partly; none, not supported).",
          ("e3_main_table", "e7_scalability"), decide_profitability),
    Claim("C9", "behaviors of the trained RL agents align closely with the managerial insights "
          "from our theoretical model", "E6",
          f"Every learned policy of E6 has B3's signs (exposure rising with own stock, falling "
          f"with the others') and a B4 peak lag within {LAG_TOLERANCE} of the lead time "
          f"(each part: all, supported; at least half, partly).",
          ("e6_b3_b4",), decide_behaviour),
)
"""The claims of the abstract, in its order (the list in ``seed/README.md``)."""


def assess(claim: Claim, tables_dir) -> Finding:
    """Apply ``claim``'s rule to the tables in ``tables_dir``; "not yet measured" if one is missing."""
    folder = Path(tables_dir)
    missing = [name for name in claim.tables if not (folder / f"{name}.csv").is_file()]
    if missing:
        return Finding(NOT_MEASURED, f"table(s) {', '.join(missing)} not written yet")
    finding = claim.decide({name: pd.read_csv(folder / f"{name}.csv") for name in claim.tables})
    if finding.verdict not in VERDICTS:
        raise ValueError(f"{claim.key}: verdict {finding.verdict!r} is not one of {VERDICTS}")
    return finding


def ledger(tables_dir, claims=CLAIMS) -> pd.DataFrame:
    """One row per claim: the quote, the experiments, the rule, the evidence and the verdict,
    and the rule and the evidence in brief (``rule_brief``, ``evidence_brief``: at most
    :data:`BRIEF_LENGTH` characters each, the ledger table's cells)."""
    rows = []
    for claim in claims:
        finding = assess(claim, tables_dir)
        rows.append({"claim": claim.key, "abstract": f'"{claim.quote}"',
                     "experiments": claim.experiments, "rule": claim.rule,
                     "evidence": finding.evidence.replace("|", "/"), "verdict": finding.verdict,
                     "rule_brief": claim.short(),
                     "evidence_brief": finding.short().replace("|", "/")})
    return pd.DataFrame(rows)


def verdict_count(frame: pd.DataFrame) -> str:
    """The ledger's summary line: ``Verdicts: 1 supported, 7 partly, 1 not supported.``
    (verdicts in the order of :data:`VERDICTS`, those with no claim left out)."""
    tally = frame["verdict"].value_counts()
    return "Verdicts: " + ", ".join(f"{tally[v]} {v}" for v in VERDICTS if v in tally) + "."


def ledger_markdown(frame: pd.DataFrame) -> str:
    """The ledger as a page: the verdict count, a table of the verdicts with the rule and the
    evidence in brief, then each claim's full rule and evidence. Each claim's id in the table
    links to its full text below, which opens with an anchor named by the id (``#C1``), as the
    site's ledger row of the claim is (``coordlib.pipeline.site``) and as the README's and
    RESULTS.md's ledger rows link to it (``claims.md#C1``)."""
    columns = {"claim": "claim", "verdict": "verdict", "experiments": "experiments",
               "rule_brief": "rule (brief)", "evidence_brief": "evidence (brief)"}
    rows = [[" ".join(str(row[c]).split()).replace("|", "/") for c in columns]
            for _, row in frame.iterrows()]
    rows = [[f"[{cells[0]}](#{cells[0]})", *cells[1:]] for cells in rows]
    table = "\n".join("| " + " | ".join(cells) + " |"
                      for cells in [list(columns.values()), ["---"] * len(columns), *rows])
    details = [f'<a id="{row.claim}"></a>\n\n### {row.claim}: {row.verdict}\n\n{row.abstract}\n\n'
               f"**Rule.** {row.rule}\n\n**Evidence.** {row.evidence}\n"
               for row in frame.itertuples()]
    return "\n".join([verdict_count(frame), "", table, "",
                      "## Each claim's rule and evidence in full", "", *details])


def write_ledger(tables_dir, claims=CLAIMS) -> pd.DataFrame:
    """Compute the ledger from ``tables_dir`` and write it there as ``claims.csv/.tex`` and as
    the page ``claims.md`` (:func:`ledger_markdown`)."""
    frame = ledger(tables_dir, claims)
    reporting.save_table(frame, tables_dir, "claims")
    atomic_write_text(Path(tables_dir) / "claims.md", ledger_markdown(frame))
    return frame

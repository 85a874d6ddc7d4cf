"""The claims ledger decides each claim from the experiments' tables, by the rule it states."""
import re

import pandas as pd
import pytest

from coordlib.common.files import REPO_DIR
from coordlib.experiments import claims, e7_scalability


def _claim(key):
    return next(c for c in claims.CLAIMS if c.key == key)


def _write(folder, name, rows):
    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)


def _e5(mtma, reversed_, single, spreads=(0.1, 0.2, 0.3), recovery=None):
    rows = []
    for i, (label, (m, h)) in enumerate((("mtma (recommender fast)", mtma),
                                         ("reversed (replenisher fast)", reversed_),
                                         ("single timescale", single))):
        row = {"scenario": "tiny-margin", "variant": label, "seeds": 3, "profit": m,
               "profit_lo": m - h, "profit_hi": m + h, "seed_spread": spreads[i],
               "tail_std": spreads[i]}
        if recovery is not None:
            r, w = recovery[i]
            row.update(adaptation=r, adaptation_lo=r - w, adaptation_hi=r + w)
        rows.append(row)
    return rows


FAST = [(0.95, 0.01), (0.85, 0.02), (0.80, 0.03)]     # MTMA keeps the most, intervals apart
SLOWER = [(0.80, 0.01), (0.85, 0.02), (0.90, 0.03)]   # the others keep more


@pytest.mark.parametrize("table, verdict", [
    (_e5((17.9, 0.05), (17.6, 0.1), (17.1, 0.2), recovery=FAST), "supported"),
    # no worse, steadier, but recovery not measured: at most partly
    (_e5((17.7, 0.2), (17.6, 0.2), (17.1, 0.2)), "partly"),
    # steadier and more adaptable on means only (intervals overlap)
    (_e5((17.7, 0.2), (17.6, 0.2), (17.1, 0.2), recovery=[(0.9, 0.05), (0.88, 0.05), (0.8, 0.03)]),
     "partly"),
    # clearly more adaptable but not steadier: partly
    (_e5((17.7, 0.2), (17.6, 0.2), (17.1, 0.2), spreads=(0.3, 0.2, 0.1), recovery=FAST), "partly"),
    # reversed ahead on profit: not supported however steady
    (_e5((17.47, 0.03), (17.61, 0.23), (17.13, 0.55), recovery=FAST), "not supported"),
    # no worse on profit but neither steadier nor faster
    (_e5((17.6, 0.2), (17.6, 0.2), (17.1, 0.2), spreads=(0.3, 0.2, 0.1), recovery=SLOWER),
     "not supported"),
])
def test_e5_rule_weighs_profit_stability_and_adaptation_against_both_variants(tmp_path, table,
                                                                            verdict):
    _write(tmp_path, "e5_timescales", table)
    finding = claims.assess(_claim("C6"), tmp_path)
    assert finding.verdict == verdict
    assert "[" in finding.evidence  # the evidence carries the intervals
    assert ("adaptation not measured" in finding.evidence) == ("adaptation" not in table[0])


def test_a_missing_table_is_not_yet_measured_and_the_ledger_says_so(tmp_path):
    frame = claims.write_ledger(tmp_path)
    assert list(frame["claim"]) == [f"C{i}" for i in range(1, 10)]
    assert set(frame["verdict"]) == {"not yet measured"}
    assert (tmp_path / "claims.csv").is_file() and (tmp_path / "claims.md").is_file()
    assert "not yet measured" in (tmp_path / "claims.md").read_text()


def _e8(curve="yes", iterates="yes", first=0.05, last=0.06, robbins_monro="yes"):
    values = {"learning curve (profit) stationary": curve,
              "iterates (parameter norms) stationary": iterates,
              "schedules Robbins-Monro (fast, slow)": robbins_monro,
              "slow/fast step ratio -> 0": "yes",
              claims.E8_TRACKING[0]: first, claims.E8_TRACKING[1]: last}
    return [{"check": k, "value": v} for k, v in values.items()]


@pytest.mark.parametrize("table, verdict", [
    (_e8(), "supported"),
    (_e8(iterates="no", first=0.048, last=0.480), "partly"),   # the distance grows tenfold
    (_e8(robbins_monro="no"), "not supported"),                # the theorem's condition fails
    (_e8(curve="no", iterates="no", last=0.2), "not supported"),  # no consequence observed
])
def test_e8_rule_checks_conditions_and_consequences(tmp_path, table, verdict):
    _write(tmp_path, "e8_diagnostics", table)
    assert claims.assess(_claim("C7"), tmp_path).verdict == verdict


def test_e8_rule_reads_the_exposure_distance_where_it_is_recorded(tmp_path):
    # the parameters drift apart tenfold, the policies do not: the policy reading decides
    table = _e8(first=0.048, last=0.480) + [
        {"check": claims.E8_POLICY_TRACKING[0], "value": 0.02},
        {"check": claims.E8_POLICY_TRACKING[1], "value": 0.021}]
    _write(tmp_path, "e8_diagnostics", table)
    finding = claims.assess(_claim("C7"), tmp_path)
    assert finding.verdict == "supported" and "exposure distance (window means) 0.020 -> 0.021" in finding.evidence
    growing = _e8() + [{"check": claims.E8_POLICY_TRACKING[0], "value": 0.02},
                       {"check": claims.E8_POLICY_TRACKING[1], "value": 0.2},
                       {"check": claims.E8_POLICY_FLOOR, "value": 0.05}]
    _write(tmp_path, "e8_diagnostics", growing)
    assert claims.assess(_claim("C7"), tmp_path).verdict == "partly"


def _e3_row(scenario, method, profit, half, gap_dp=float("nan")):
    return {"scenario": scenario, "kind": "learner" if "learner" in method else "heuristic",
            "method": method, "profit": profit, "profit_lo": profit - half,
            "profit_hi": profit + half, "gap_dp_pct": gap_dp}


def _e7(tmp_path, mtma, siloed=9.5, static=10.0, n_products=100, parameters=(500,)):
    """E7's table through e7_scalability.scalability_table: one scenario, MTMA's seeds ``mtma``."""
    base = {"scenario": "s", "N": n_products, "K": 5, "bound_fluid": 20.0, "bound_newsvendor": 15.0,
            "static": static, "optimum": float("nan")}
    for key, value in (("siloed", siloed), ("margin-greedy", siloed), ("coordinated", static - 0.5),
                       ("static_sim", static)):
        base.update({key: value, f"{key}_lo": value - 0.1, f"{key}_hi": value + 0.1})
    learners = pd.DataFrame({"scenario": "s", "config": "mtma", "seed": range(len(mtma)),
                             "profit": mtma, "iterations": 10, "train_seconds": 1.0,
                             "steps_per_second": 1.0, "product_steps_per_second": 1.0,
                             "parameters": parameters[0]})
    table = e7_scalability.scalability_table(learners, pd.DataFrame([base]))
    table.to_csv(tmp_path / "e7_scalability.csv", index=False)
    return table


@pytest.mark.parametrize("mtma, verdict", [
    ([9.9, 10.3], "supported"),        # interval reaches the best baseline (10.0)
    ([9.70, 9.71, 9.72, 9.70, 9.71], "partly"),     # within 5% of it, interval below
    ([8.00, 8.01, 8.02, 8.00, 8.01], "not supported"),
])
def test_scalability_rule_holds_mtma_against_the_best_baseline(tmp_path, mtma, verdict):
    _e7(tmp_path, mtma)
    assert claims.assess(_claim("C5"), tmp_path).verdict == verdict


def test_scalability_rule_ignores_small_scenarios(tmp_path):
    _e7(tmp_path, [1.0, 1.1], n_products=10)
    assert claims.assess(_claim("C5"), tmp_path).verdict == "not yet measured"


def test_profitability_counts_only_separated_intervals(tmp_path):
    _write(tmp_path, "e3_main_table", [
        _e3_row("a", "siloed", 10.0, 0.2), _e3_row("a", "learner: mtma", 11.0, 0.2),
        _e3_row("b", "siloed", 10.0, 0.5), _e3_row("b", "learner: mtma", 10.4, 0.5)])
    _e7(tmp_path, mtma=[9.0, 11.0], siloed=9.5)
    finding = claims.assess(_claim("C8"), tmp_path)
    assert finding.verdict == "partly"
    assert "1 of 2" in finding.evidence and "0 of 1" in finding.evidence
    _write(tmp_path, "e3_main_table", [
        _e3_row("a", "siloed", 10.0, 0.2), _e3_row("a", "learner: mtma", 9.0, 0.2)])
    assert claims.assess(_claim("C8"), tmp_path).verdict == "not supported"


@pytest.mark.parametrize("gaps, e11_gap, verdict", [
    ([-0.5, -0.9], 0.8, "supported"),
    ([-0.5, -1.2], 0.8, "partly"),
    ([-4.0, -5.0], 3.5, "not supported"),
])
def test_decomposition_rule_holds_the_learner_against_the_exact_optimum(tmp_path, gaps, e11_gap,
                                                                       verdict):
    _write(tmp_path, "e3_main_table", [_e3_row(f"s{i}", "learner: mtma", 10.0, 0.1, gap)
                                       for i, gap in enumerate(gaps)])
    _write(tmp_path, "e11_learner", [{"learner_gap_pct": e11_gap}])
    assert claims.assess(_claim("C4"), tmp_path).verdict == verdict


def test_combine_and_by_share():
    s, p, n, m = (claims.Finding(v, v) for v in claims.VERDICTS)
    assert claims.combine([s, s]).verdict == "supported"
    assert claims.combine([n, n]).verdict == "not supported"
    assert claims.combine([s, n]).verdict == "partly"
    assert claims.combine([s, m]).verdict == "partly"   # a part not measured caps the verdict
    assert claims.combine([m, m]).verdict == "not yet measured"
    assert claims.by_share(9, 10, "x", supported_at=0.9).verdict == "supported"
    assert claims.by_share(4, 10, "x").verdict == "not supported"
    assert claims.by_share(1, 10, "x", partly_at=0.0).verdict == "partly"
    assert claims.by_share(0, 10, "x", partly_at=0.0).verdict == "not supported"


def test_model_rule_counts_e1_checks_by_their_family_interval():
    b1 = pd.DataFrame({"poisson_in_ci": [False, False], "poisson_in_family_ci": [True, True]})
    b5 = pd.DataFrame({"poisson_in_ci": [True, True]})
    e11 = pd.DataFrame({"inside": [True, True]})
    found = claims.decide_model({"e1_b1_newsvendor_checks": b1, "e1_b5_value_checks": b5,
                                 "e11_simulation_check": e11})
    assert found.verdict == claims.SUPPORTED and "E1 B1 2/2" in found.evidence
    assert claims.check_column(b5, "poisson").tolist() == [True, True]
    b1 = b1.assign(poisson_in_family_ci=[False, False])
    found = claims.decide_model({"e1_b1_newsvendor_checks": b1, "e1_b5_value_checks": b5,
                                 "e11_simulation_check": e11})
    assert found.verdict == claims.PARTLY and "E1 B1 0/2" in found.evidence


def test_e3_profitability_part_is_one_function_of_the_main_table():
    e3 = pd.DataFrame({"scenario": ["a", "a", "b", "b"],
                       "method": ["siloed", "learner: mtma"] * 2,
                       "profit": [10.0, 12.0, 10.0, 10.5], "profit_lo": [9.5, 11.0, 9.5, 9.8],
                       "profit_hi": [10.5, 13.0, 10.5, 11.2]})
    found = claims.profitability_e3(e3)
    assert found.verdict == claims.PARTLY and "1 of 2" in found.evidence
    assert "interval" in claims.E3_PROFITABILITY_RULE


def test_every_rule_in_brief_fits_the_ledger_table():
    for claim in claims.CLAIMS:
        assert len(claim.short()) <= claims.BRIEF_LENGTH, claim.key
        assert claim.short() == claim.rule or len(claim.rule) > claims.BRIEF_LENGTH, claim.key


def test_ledger_page_of_the_committed_tables_counts_verdicts_and_keeps_cells_short():
    # the ledger of the committed paper tables, rendered afresh; its long texts go to the details
    tables = claims.ledger(REPO_DIR / "data" / "tables")
    page = claims.ledger_markdown(tables)
    first = page.splitlines()[0]
    tally = tables["verdict"].value_counts()
    assert first == "Verdicts: " + ", ".join(
        f"{tally[v]} {v}" for v in claims.VERDICTS if v in tally) + "."
    rows = [line for line in page.splitlines() if line.startswith("| [C")]
    assert len(rows) == len(claims.CLAIMS)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert max(len(c) for c in cells) <= claims.BRIEF_LENGTH, cells[0]
    for full in list(tables["rule"]) + list(tables["evidence"]):
        assert full in page  # the full reasoning stays on the page


def ledger_links(text: str, page: str = "") -> list:
    """The claim anchors that ``text`` links to in ``page`` (this page: ``""``), in order."""
    return re.findall(rf"\]\({re.escape(page)}#(C\d+)\)", text)


def ledger_anchors(text: str) -> list:
    return re.findall(r'<a id="(C\d+)"></a>', text)


def test_each_claims_row_links_to_its_full_text_on_the_same_page():
    frame = pd.read_csv(REPO_DIR / "data" / "tables" / "claims.csv", dtype=str,
                        keep_default_na=False)
    page = (REPO_DIR / "data" / "tables" / "claims.md").read_text()
    assert page == claims.ledger_markdown(frame)      # the committed page is the committed ledger's
    keys = list(frame["claim"])
    assert ledger_links(page) == keys == ledger_anchors(page)
    sections = page.split('<a id="')[1:]
    for key, row, section in zip(keys, frame.itertuples(), sections):
        assert section.startswith(f'{key}"></a>\n\n### {key}: {row.verdict}\n')
        assert row.rule in section and row.evidence in section


@pytest.mark.parametrize("name", ["README.md", "RESULTS.md"])
def test_the_ledger_rows_of_readme_and_results_link_to_each_claims_full_text(name):
    anchors = ledger_anchors((REPO_DIR / "data" / "tables" / "claims.md").read_text())
    links = ledger_links((REPO_DIR / name).read_text(), "data/tables/claims.md")
    assert links and set(links) <= set(anchors)
    assert sorted(set(links)) == sorted(anchors)      # every claim, each row linked


def test_combine_with_labels_names_each_part_by_its_verdict():
    found = claims.combine([claims.Finding("partly", "a long text"),
                            claims.Finding("supported", "another", "brief")], ["x", "y"])
    assert found.verdict == "partly" and found.evidence == "a long text; another"
    assert found.brief == "x: partly; y: brief"

"""The sentences of E2 and E9 come from their tables: each finding reads "holds" or "fails"
from the data, with the numbers formatted as the tables give them; and E1's B1 table keeps
the closed-form z beside the simulator's agreement z."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib.experiments import e1_theory
from coordlib.experiments import e2_dp_structure as e2
from coordlib.experiments import e9_sensitivity as e9
from coordlib.model.scenarios import get


# ---- E2 ---------------------------------------------------------------------------------------
def _map(exposure_1, order_1, prob=None):
    """A 2 x 2 policy map: rows inventory_1 in (0, 1), columns inventory_2 in (0, 1)."""
    rows = []
    for (a1, a2), e, q in zip([(0, 0), (0, 1), (1, 0), (1, 1)], exposure_1, order_1):
        rows.append({"inventory_1": a1, "inventory_2": a2, "exposure_1": e, "order_1": q,
                     "expected_exposure_1": e, "probability": 0.25})
    frame = pd.DataFrame(rows)
    if prob is not None:
        frame["probability"] = prob
    return frame


def test_exposure_map_text_says_whether_the_share_ever_rises_with_the_other_stock():
    good = e2.exposure_map_text({"a": _map([0.6, 0.2, 0.8, 0.4], [3, 2, 2, 1])})
    assert "product 1 gets 0.50 of the exposure" in good
    assert "lowers product 1's share at 2" in good and "never rises" in good
    bad = e2.exposure_map_text({"a": _map([0.2, 0.6, 0.8, 0.4], [3, 2, 2, 1])})
    assert "raises it at 1 of 2" in bad and "sometimes rises" in bad
    # a pair the system never visits is not compared
    unvisited = e2.exposure_map_text({"a": _map([0.2, 0.6, 0.8, 0.4], [3, 2, 2, 1],
                                                prob=[0.0, 0.5, 0.25, 0.25])})
    assert "of 1 neighbouring" in unvisited


def test_order_map_text_reads_the_direction_of_the_order_from_the_map():
    assert "mostly falling" in e2.order_map_text({"a": _map([0.5] * 4, [3, 2, 2, 1])})
    assert "mostly rising" in e2.order_map_text({"a": _map([0.5] * 4, [2, 3, 1, 2])})
    assert "does not depend" in e2.order_map_text({"a": _map([0.5] * 4, [3, 3, 1, 1])})


def test_picture_text_names_the_line_that_dips():
    frame = pd.DataFrame({"inventory_1": [5, 5, 5, 6, 6], "expected_exposure_1":
                          [0.1, 0.2, 0.3, 0.1, 0.4], "order_1": [1, 3, 2, 0, 1],
                          "probability": 0.2})
    text = e2.picture_text(frame, 0.1, "tiny")
    assert "1 of 2 lines" in text and "A_1 = 5 (largest dip 1 units)" in text
    frame.loc[2, "order_1"] = 4
    assert "holds on every line" in e2.picture_text(frame, 0.1, "tiny")


def _b3(own_exceptions, protection_exceptions):
    rows = []
    for product in (1, 2):
        rows.append({"instance": "tiny", "statement": f"exposure of product {product} "
                     "non-decreasing in its own inventory", "product": product, "segment": "1",
                     "comparisons": 420, "exceptions": own_exceptions,
                     "strict_exceptions": own_exceptions, "stationary_mass": 0.0004})
        for reading, e in (("current", 0), ("arrival", 0), ("protection", protection_exceptions)):
            rows.append({"instance": "tiny", "statement": f"order of product {product} "
                         f"non-decreasing in its {reading} exposure", "product": product,
                         "segment": "", "comparisons": 4410, "exceptions": e,
                         "strict_exceptions": e, "stationary_mass": 0.081 if e else 0.0})
    return pd.DataFrame(rows)


def test_b3_text_says_holds_or_fails_with_the_counts():
    text = e2.b3_text(_b3(0, 0), pd.DataFrame())
    assert "*Recommend what you stock*" in text and "fails" not in text
    assert text.count("holds with no exception") == 4
    profile = pd.DataFrame({"instance": "tiny", "product": [1, 2], "exceptions": 11,
                            "other_inventory_high_max": 2, "share_other_low": 1.0,
                            "statement": [f"order of product {i} non-decreasing in its "
                                          "protection exposure" for i in (1, 2)]})
    text = e2.b3_text(_b3(1, 11), profile)
    assert "fails at 2 of 840 comparisons (2 strict)" in text
    assert "fails at 11 and 11 of 4410 comparisons" in text and "8.1% and 8.1%" in text
    assert "at least 3 units" in text and "100% and 100%" in text
    assert "protection reading:\n  - `tiny`: fails" in text
    assert "arrival reading:\n  - `tiny`: holds" in text


def test_b4_text_compares_the_peak_lag_with_the_lead_time():
    peaks = pd.DataFrame({"instance": "tiny", "product": [1, 2], "lead_time": 1,
                          "peak_lag": [1, 0], "peak_correlation": [0.115, 0.075]})
    cross = pd.DataFrame({"instance": "tiny", "product": [1, 2], "lag": 0,
                          "correlation": [-0.261, 0.075]})
    text = e2.b4_text(peaks, cross)
    assert "product 1 (L = 1): the correlation peaks at lag 1 (+0.115); at lag 0 it is " \
           "-0.261: B4 holds" in text
    assert "product 2 (L = 1): the correlation peaks at lag 0 (+0.075): B4 fails" in text
    assert "for 1 of 2 products" in text
    assert "not checked" in e2.b4_text(pd.DataFrame(), pd.DataFrame())


def _gains(**kw):
    row = dict(instance="tiny", g_star=20.154, g_coordinated=19.75, g_siloed=19.71,
               static_part=0.0, ordering_part=0.053, exposure_part=0.392, total=0.444)
    row.update(kw)
    return pd.DataFrame([row])


def test_b5_text_reads_the_parts_and_the_heuristic_from_the_gains():
    text = e2.b5_text(_gains())
    assert "value of coordination 0.44 per period (2.2% of g*), mostly dynamic" in text
    assert "inventory-aware exposure 0.39" in text and "captures 9% of it" in text
    text = e2.b5_text(_gains(static_part=4.761, ordering_part=0.04, exposure_part=0.026,
                             total=4.827))
    assert "mostly static: static 4.76" in text
    text = e2.b5_text(_gains(total=1e-8, g_coordinated=19.0, g_siloed=20.154))
    assert "siloed firm is already optimal" in text
    assert "worse than the siloed firm (19.00 against 20.15)" in text


# ---- E9 ---------------------------------------------------------------------------------------
def _exact(factor, static, exposure, total=None, percent=None, shares=None):
    n = len(static)
    return pd.DataFrame({"base": "tiny", "factor": factor, "value": np.arange(n, dtype=float),
                         "static_part": static, "exposure_part": exposure,
                         "ordering_part": [0.05] * n,
                         "total": total if total is not None else np.add(static, exposure),
                         "total_percent": percent if percent is not None else [1.0] * n,
                         "static_share_1": shares or ["[0.0]"] * n})


def test_trend_words():
    assert e9.trend([0, 1, 2], [0, 1, 2]) == "grows"
    assert e9.trend([2, 1, 1], [0, 1, 2]) == "falls"
    assert e9.trend([1, 1, 1], [0, 1, 2]).startswith("stays")
    assert e9.trend([0, 3, 1], [0, 1, 2]) == "is not monotone: it peaks at 1"


def test_exact_text_says_whether_b5_holds_per_factor():
    text = e9.exact_text(_exact("lift", [0.0, 1.65, 4.76], [0.0, 0.39, 0.5]))
    assert "the static part grows (0.000 at 0, 4.760 at 2)" in text
    assert "holds here" in text and "fails here" not in text
    text = e9.exact_text(_exact("lift", [0.0, 1.65, 4.76], [0.0, 0.39, 0.22]))
    assert "the inventory-aware part is not monotone: it peaks at 1" in text
    assert "fails here" in text
    # along the arrival rate uncertainty falls: B5 wants the parts to fall
    falling = e9.exact_text(_exact("arrival_rate", [0.3, 0.2, 0.1], [0.5, 0.4, 0.2]))
    assert "holds here" in falling
    assert "fails here" in e9.exact_text(_exact("arrival_rate", [0.1, 0.2, 0.3], [0.2, 0.4, 0.5]))
    assert "between 0.050 and 0.050" in text
    assert "extreme (all on one product) on every row" in text
    inner = e9.exact_text(_exact("lift", [0, 1, 2], [0, 1, 2], shares=["[0.0]", "[0.9]", "[1.0]"]))
    assert "`tiny` lift = 1 (share of product 1: 0.9)" in inner


def test_simulation_text_reads_the_sign_from_the_interval():
    sim = pd.DataFrame({"factor": "arrival_scale", "value": [0.25, 1.0, 2.0],
                        "gain": [0.72, 1.87, -10.22], "gain_lo": [-0.06, 0.68, -11.89],
                        "gain_hi": [1.51, 3.06, -8.54], "gain_percent": [1.5, 0.8, -2.0]})
    text = e9.simulation_text(sim)
    assert "0.25: +0.72 [-0.06, +1.51] (+1.5%), not distinguishable from zero" in text
    assert "1: +1.87 [+0.68, +3.06] (+0.8%), above zero" in text
    assert "2: -10.22 [-11.89, -8.54] (-2.0%), below zero" in text
    assert "loses to the siloed firm at 1 of 3 values" in text
    sim["gain"], sim["gain_lo"], sim["gain_hi"] = [1.0, 2.0, 3.0], [0.5, 1.0, 2.0], [1.5, 3.0, 4.0]
    text = e9.simulation_text(sim)
    assert "the mean gain grows" in text and "loses" not in text and "below zero" not in text
    assert "skipped" in e9.simulation_text(pd.DataFrame())


# ---- E1: the z column of b1_table -------------------------------------------------------------
def test_b1_table_keeps_the_closed_form_z_beside_the_agreement_z(tmp_path):
    """``z_normal`` is the closed-form standardized stock Phi^-1(fractile); ``z`` the simulator's
    agreement statistic. The old table wrote the first under ``z`` and then overwrote it."""
    settings = dataclasses.replace(
        e1_theory.e1_settings("smoke", figures_dir=str(tmp_path / "f"),
                              tables_dir=str(tmp_path / "t")),
        n_mc=2000, stationary_replications=50, periods=31)
    b1 = e1_theory.b1_table(get("tiny-margin"), 1.0, settings)
    np.testing.assert_allclose(b1["z_normal"], stats.norm.ppf(b1["fractile"]), atol=1e-9)
    np.testing.assert_allclose(b1["z"], (b1["mc_mean"] - b1["profit_poisson"]) / b1["mc_se"])
    assert not np.allclose(b1["z"], b1["z_normal"])
    mu = b1["mu"].to_numpy(float)
    assert b1["stock_normal"].to_numpy() == pytest.approx(mu + b1["z_normal"] * np.sqrt(mu))

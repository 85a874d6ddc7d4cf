"""The static-coordination optimum (coordlib.exact.static_coordination) against E2's exact
g_static and g_static_dp, the one-product chains of coordlib.exact.single_product, and the
simulator."""
from __future__ import annotations

import pandas as pd
import pytest

from coordlib import evaluate, scenarios
from coordlib.common.files import REPO_DIR
from coordlib.exact import dp, single_product
from coordlib.exact.static_coordination import (
    StaticCoordinationError,
    base_stock_gain_fast,
    static_coordination,
)
from coordlib.model.variants import scenario_variant

E2 = pd.read_csv(REPO_DIR / "data" / "tables" / "e2_gains.csv").set_index("instance")
INSTANCES = {"tiny": ("tiny", None), "tiny-margin": ("tiny-margin", None),
             "tiny-personal": ("tiny-personal", None), "tiny L=0": ("tiny", 0),
             "tiny L=2": ("tiny", 2)}


def _instance(name):
    base, lead = INSTANCES[name]
    s = scenarios.get(base) if lead is None else scenario_variant(base, "lead_time", lead)
    return dp.reduce_scenario(s, 10 if lead == 2 else None)[0]


@pytest.mark.parametrize("args", [
    (5.0, 10, 5, 0.5, 2, 1, 20, 20, 8), (3.6, 10, 5, 0.5, 2, 2, 10, 10, 9),
    (4.0, 10, 7, 0.5, 2, 3, 30, 30, 17), (6.0, 10, 7, 0.5, 2, 0, 8, 30, 7),
    (2.5, 10, 7, 0.5, 2, 4, 10, 30, 14), (5.0, 10, 5, 0.5, 2, 3, 12, 30, 25)])
def test_reduced_base_stock_chain_matches_the_full_chain(args):
    full = single_product.evaluate_base_stock(*args)
    assert full.closed_classes == 1
    assert base_stock_gain_fast(*args) == pytest.approx(full.gain, abs=1e-9)


@pytest.mark.parametrize("name", list(INSTANCES))
def test_reproduces_e2_g_static_and_g_static_dp(name):
    s = _instance(name)
    base = static_coordination(s, "base-stock", grid_points=4)
    assert base.gain == pytest.approx(E2.loc[name, "g_static"], rel=2e-3)
    optimal = static_coordination(s, "optimal", grid_points=4)
    assert optimal.gain == pytest.approx(E2.loc[name, "g_static_dp"], rel=2e-3)
    assert optimal.gain >= base.gain - 1e-9


@pytest.mark.slow
def test_capped_lies_between_base_stock_and_optimal():
    s = _instance("tiny L=2")
    base, capped, optimal = (static_coordination(s, p) for p in ("base-stock", "capped", "optimal"))
    assert base.gain - 1e-9 <= capped.gain <= optimal.gain + 1e-9
    assert capped.gain > base.gain + 0.05          # the cap is worth something at L = 2


@pytest.mark.parametrize("product_policy", ["base-stock", "optimal"])
def test_static_firm_simulates_to_its_exact_gain(product_policy):
    result = static_coordination("tiny-margin", product_policy, grid_points=4)
    frame = evaluate("tiny-margin", result.policy(), replications=40, periods=500, warmup=100,
                     seed=3)
    se = frame.profit.std(ddof=1) / 40 ** 0.5
    assert abs(frame.profit.mean() - result.gain) < 3 * se, (frame.profit.mean(), result.gain)


@pytest.mark.slow
def test_static_optimum_beats_the_siloed_exposure_on_medium():
    result = static_coordination("medium", grid_points=6)
    # the siloed (GMV-greedy) firm's simulated profit in the main table
    assert result.gain > 239.73
    assert result.exposure.sum(axis=1) == pytest.approx(1.0)


def test_bad_inputs_are_named():
    with pytest.raises(StaticCoordinationError, match="product_policy"):
        static_coordination("tiny", "newsvendor")
    with pytest.raises(StaticCoordinationError, match="seasonality"):
        static_coordination("seasonal")
    with pytest.raises(StaticCoordinationError, match="grid_points"):
        static_coordination("tiny", grid_points=1)

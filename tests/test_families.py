"""Scenario families (coordlib.model.families): the recipe's knobs do what they say."""
from __future__ import annotations

import numpy as np
import pytest

from coordlib.model.families import FamilyRecipe, family_scenario
from coordlib.model.scenario import ScenarioError


def test_same_recipe_same_scenario_and_types_share_parameters():
    a = family_scenario(n_products=60, n_segments=5, seed=3)
    b = family_scenario(n_products=60, n_segments=5, seed=3)
    assert a.to_dict() == b.to_dict()
    keys = {(p, c, L, M) for p, c, L, M in zip(a.price, a.unit_cost, a.lead_time, a.capacity)}
    assert len(keys) <= FamilyRecipe().n_types


def test_knobs_set_what_they_name():
    s = family_scenario(n_products=50, n_segments=4, lift=3.0, demand_level=2.0,
                        lead_times=(0, 4), margin_spread=0.0, taste_heterogeneity=0.0)
    assert np.all(s.lift == 3.0)
    assert s.arrival_rate.sum() == pytest.approx(100.0, rel=1e-3)
    assert set(s.lead_time.tolist()) == {0, 4}
    assert np.allclose((s.price - s.unit_cost) / s.price, 0.4, atol=0.01)
    # identical tastes: every segment ranks the products the same way
    assert np.allclose(s.attraction / s.attraction[0], 1.0, atol=1e-3)


def test_capacity_tightness_halves_capacity():
    loose = family_scenario(n_products=40, capacity_tightness=1.0)
    tight = family_scenario(n_products=40, capacity_tightness=2.0)
    assert np.all(tight.capacity <= np.ceil(loose.capacity / 2) + 1)


def test_bad_knob_is_named():
    with pytest.raises(ScenarioError, match="margin_spread"):
        family_scenario(margin_spread=1.5)
    with pytest.raises(ScenarioError, match="lead_times"):
        family_scenario(lead_times=(-1,))

"""The scenario (MODEL.md sections 1-2 and 8): named scenarios, the MNL model, validation."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from coordlib import Scenario, ScenarioError, scenarios
from coordlib.model.scenario import random_scenario
from coordlib.model.scenarios import LARGE_RECIPE

TINY_SPEC = {
    "products": {"price": [10, 10], "unit_cost": [5, 5], "holding_cost": [0.5, 0.5],
                 "lost_sale_penalty": [2, 2], "lead_time": [1, 1], "capacity": [20, 20],
                 "max_order": [20, 20]},
    "segments": {"arrival_rate": [6], "outside_attraction": [1], "attraction": [[1, 1]],
                 "lift": [2]},
    "review_period": 1,
    "initial_on_hand": [10, 10],
}


DELETE = object()


def spec(**edits) -> dict:
    """A copy of the tiny spec with ``section__key=value`` (or top-level ``key=value``) edits;
    the value ``DELETE`` removes the key."""
    out = copy.deepcopy(TINY_SPEC)
    for key, value in edits.items():
        where, field = (out[key.split("__")[0]], key.split("__")[1]) if "__" in key else (out, key)
        if value is DELETE:
            del where[field]
        else:
            where[field] = value
    return out


def same_scenario(a: Scenario, b: Scenario) -> bool:
    return a.to_dict() == b.to_dict()


# ---- MODEL.md section 8, field by field ------------------------------------------------------
MODEL_TINY = dict(
    n_products=2, n_segments=1, arrival_rate=[6], outside_attraction=[1], attraction=[[1, 1]],
    lift=[2], price=[10, 10], unit_cost=[5, 5], holding_cost=[0.5, 0.5],
    lost_sale_penalty=[2, 2], lead_time=[1, 1], capacity=[20, 20], max_order=[20, 20],
    review_period=1, season_amplitude=[0], initial_on_hand=[10, 10], backlog=False)


@pytest.mark.parametrize("name, changes", [("tiny", {}),
                                           ("tiny-margin", {"price": [10, 8], "unit_cost": [7, 3]})])
def test_named_tiny_scenarios_match_model_section_8(name, changes):
    s = scenarios.get(name)
    expected = {**MODEL_TINY, **changes}
    for field, value in expected.items():
        got = getattr(s, field)
        assert np.array_equal(np.asarray(got), np.asarray(value)), (name, field, got, value)
    assert not s.seasonal
    # "no outstanding orders": every pipeline entry is zero
    assert s.initial_pipeline.shape == (2, 1) and not s.initial_pipeline.any()
    assert s.name == name


def test_shipped_scenarios_cover_issue_2():
    names = scenarios.names()
    for required in ("tiny", "tiny-margin", "medium", "large", "seasonal"):
        assert required in names
    loaded = {n: scenarios.get(n) for n in names}
    medium = loaded["medium"]
    assert 8 <= medium.n_products <= 12 and medium.n_segments == 3
    assert medium.lead_time.min() == 1 and medium.lead_time.max() == 3
    # segments with different tastes: no two attraction rows proportional
    rows = medium.attraction / medium.attraction.sum(axis=1, keepdims=True)
    assert all(not np.allclose(rows[a], rows[b]) for a in range(3) for b in range(a + 1, 3))
    assert loaded["large"].n_products >= 100 and loaded["large"].n_segments >= 5
    assert loaded["seasonal"].seasonal
    assert any(s.review_period > 1 for s in loaded.values())
    assert all(not s.backlog for s in loaded.values())      # lost sales in every named scenario


def test_large_yaml_is_made_by_its_recipe():
    shipped = scenarios.get("large").to_dict()
    remade = random_scenario(**LARGE_RECIPE).to_dict()
    shipped.pop("description"), remade.pop("description")
    assert shipped == remade


# ---- the MNL demand model (MODEL.md 3.3) -----------------------------------------------------
def test_purchase_probabilities_of_tiny_by_hand():
    # v0 = 1, v = (1, 1), beta = 2. Shown product 1: denominator 1 + 2 + 2 * 1 = 5, so
    # P(buy 1) = 1 * 3 / 5, P(buy 2) = 1 / 5, P(no purchase) = 1 / 5. Symmetric when shown 2.
    P = scenarios.get("tiny").purchase_probabilities        # [k, j (shown), i (bought)]
    assert P.shape == (1, 2, 2)
    np.testing.assert_allclose(P[0], [[3 / 5, 1 / 5], [1 / 5, 3 / 5]], rtol=1e-12)
    # uniform exposure: mu_i = 6 * (0.5 * 3/5 + 0.5 * 1/5) = 2.4
    s = scenarios.get("tiny")
    np.testing.assert_allclose(s.demand_rate(s.uniform_exposure()), [2.4, 2.4], rtol=1e-12)
    np.testing.assert_allclose(s.demand_rate([[1.0, 0.0]]), [3.6, 1.2], rtol=1e-12)


def test_purchase_probabilities_general_formula():
    products = {"price": [10, 9, 8], "unit_cost": [5, 5, 5], "holding_cost": [0.5] * 3,
                "lost_sale_penalty": [2] * 3, "lead_time": [1] * 3, "capacity": [20] * 3,
                "max_order": [20] * 3}
    s = Scenario.from_dict(spec(products=products, initial_on_hand=[1, 1, 1],
                                segments__attraction=[[0.5, 2.0, 1.0]], segments__lift=[1.5],
                                segments__outside_attraction=[0.7]))
    v0, v, beta = 0.7, [0.5, 2.0, 1.0], 1.5
    for j in range(3):
        denom = v0 + sum(v) + beta * v[j]
        for i in range(3):
            expected = v[i] * (1 + beta * (i == j)) / denom
            assert s.purchase_probabilities[0, j, i] == pytest.approx(expected, rel=1e-12)
        assert s.purchase_probabilities[0, j].sum() < 1          # the outside option remains


def test_seasonal_arrival_rate_formula():
    s = scenarios.get("seasonal")
    for t in (0, 3, 7, 12):
        for k in range(s.n_segments):
            expected = s.arrival_rate[k] * (1 + s.season_amplitude[k]
                                            * np.sin(2 * np.pi * t / s.season_period[k]
                                                     + s.season_phase[k]))
            assert s.arrival_rates(t)[k] == pytest.approx(expected, rel=1e-12)


# ---- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "tiny-margin", "medium", "seasonal", "weekly-review",
                                  "tiny-personal"])
def test_round_trip_through_dict_and_yaml(name, tmp_path):
    s = scenarios.get(name)
    assert same_scenario(Scenario.from_dict(s.to_dict()), s)
    path = tmp_path / "copy.yaml"
    s.to_yaml(path)
    again = Scenario.from_yaml(path)
    assert same_scenario(again, s)
    for field in ("price", "attraction", "lead_time", "initial_pipeline", "season_phase"):
        assert np.array_equal(getattr(again, field), getattr(s, field))
        assert getattr(again, field).dtype == getattr(s, field).dtype


def test_round_trip_keeps_backlog_pipeline_and_random_values(tmp_path):
    s = random_scenario(5, 3, seed=7, max_lead_time=3, review_period=2, seasonal=True)
    L = s.lead_time
    pipe = np.zeros((5, s.max_lead_time), dtype=int)
    for i in range(5):
        pipe[i, :L[i]] = np.arange(1, L[i] + 1)
    s = s.replace(backlog=True, initial_pipeline=pipe.tolist())
    s.to_yaml(tmp_path / "r.yaml")
    again = Scenario.from_yaml(tmp_path / "r.yaml")
    assert same_scenario(again, s) and again.backlog and again.review_period == 2
    assert np.array_equal(again.initial_pipeline, pipe)


def test_scenario_arrays_are_read_only():
    s = scenarios.get("tiny")
    with pytest.raises(ValueError):
        s.price[0] = 1.0


# ---- validation: each error names the field ----------------------------------------------------
@pytest.mark.parametrize("edits, words", [
    # shapes that disagree
    ({"products__unit_cost": [5, 5, 5]}, ["products.unit_cost", "2"]),
    ({"segments__lift": [2, 2]}, ["segments.lift", "1"]),
    ({"segments__attraction": [[1, 1, 1]]}, ["segments.attraction", "shape"]),
    ({"segments__attraction": [[1, 1], [1, 1]]}, ["segments.attraction", "shape"]),
    ({"initial_on_hand": [1, 2, 3]}, ["initial_on_hand"]),
    ({"initial_pipeline": [[1, 2], [0, 0]]}, ["initial_pipeline", "shape"]),
    # negative costs, lead times and other signs
    ({"products__unit_cost": [5, -1]}, ["products.unit_cost", "negative"]),
    ({"products__holding_cost": [-0.5, 0.5]}, ["products.holding_cost", "negative"]),
    ({"products__lost_sale_penalty": [2, -2]}, ["products.lost_sale_penalty", "negative"]),
    ({"products__lead_time": [1, -1]}, ["products.lead_time", "negative"]),
    ({"products__price": [10, 0]}, ["products.price", "positive"]),
    ({"products__capacity": [0, 20]}, ["products.capacity", "positive"]),
    ({"products__max_order": [-1, 20]}, ["products.max_order", "negative"]),
    ({"segments__arrival_rate": [-6]}, ["segments.arrival_rate", "negative"]),
    ({"segments__outside_attraction": [0]}, ["segments.outside_attraction", "positive"]),
    ({"segments__lift": [-0.1]}, ["segments.lift", "negative"]),
    ({"segments__attraction": [[1, -1]]}, ["segments.attraction", "negative"]),
    ({"segments__season_amplitude": [1.5]}, ["segments.season_amplitude", "[0, 1]"]),
    ({"segments__season_period": [0]}, ["segments.season_period", "positive"]),
    ({"initial_on_hand": [-1, 0]}, ["initial_on_hand", "negative"]),
    ({"initial_pipeline": [[-1], [0]]}, ["initial_pipeline", "negative"]),
    # whole numbers
    ({"products__lead_time": [1.5, 1]}, ["products.lead_time", "whole"]),
    ({"products__capacity": [20.5, 20]}, ["products.capacity", "whole"]),
    ({"initial_on_hand": [1.5, 1]}, ["initial_on_hand", "whole"]),
    ({"review_period": 0}, ["review_period", ">= 1"]),
    ({"review_period": 1.5}, ["review_period", "whole"]),
    # attraction rows all zero
    ({"segments__attraction": [[0, 0]]}, ["segments.attraction", "row", "zero"]),
    # NaN and inf
    ({"products__price": [10, float("nan")]}, ["products.price", "NaN"]),
    ({"products__holding_cost": [float("inf"), 0.5]}, ["products.holding_cost", "inf"]),
    ({"segments__arrival_rate": [float("inf")]}, ["segments.arrival_rate", "inf"]),
    ({"segments__attraction": [[1, float("nan")]]}, ["segments.attraction", "NaN"]),
    ({"initial_on_hand": [float("nan"), 1]}, ["initial_on_hand", "NaN"]),
    # not numbers at all
    ({"products__price": ["ten", 10]}, ["products.price", "numbers"]),
    # unknown keys, top level and in sections
    ({"colour": "blue"}, ["unknown", "colour"]),
    ({"products__colour": [1, 2]}, ["products", "unknown", "colour"]),
    ({"segments__loyalty": [1]}, ["segments", "unknown", "loyalty"]),
    # missing fields and sections
    ({"products__holding_cost": DELETE}, ["products.holding_cost", "missing"]),
    ({"products": None}, ["products", "missing"]),
    ({"segments": [1, 2]}, ["segments", "mapping"]),
    # initial on-hand above capacity, pipeline beyond the lead time, other types
    ({"initial_on_hand": [21, 0]}, ["initial_on_hand", "capacity"]),
    ({"products__lead_time": [1, 0], "initial_pipeline": [[0], [3]]}, ["initial_pipeline", "L_i"]),
    ({"backlog": "yes"}, ["backlog", "true or false"]),
    ({"name": 3}, ["name"]),
])
def test_validation_error_names_the_field(edits, words):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(spec(**edits))
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), (word, message)


@pytest.mark.parametrize("edits", [{"products__price": []}, {"segments__arrival_rate": []}])
def test_empty_scenario_is_rejected(edits):
    with pytest.raises(ScenarioError, match="at least one product and one segment"):
        Scenario.from_dict(spec(**edits))


def test_required_fields_that_fix_the_sizes():
    for key in ("products__price", "segments__arrival_rate", "segments__attraction"):
        with pytest.raises(ScenarioError, match=key.replace("__", r"\.") + ": missing"):
            Scenario.from_dict(spec(**{key: DELETE}))
    with pytest.raises(ScenarioError, match="mapping"):
        Scenario.from_dict([1, 2, 3])


def test_defaults_fill_optional_fields():
    s = Scenario.from_dict(spec(segments__lift=DELETE, segments__outside_attraction=DELETE,
                                products__lead_time=DELETE))
    assert s.lift.tolist() == [0.0] and s.outside_attraction.tolist() == [1.0]
    assert s.lead_time.tolist() == [0, 0] and s.initial_pipeline.shape == (2, 0)


def test_unknown_scenario_name_lists_the_known_ones():
    with pytest.raises(ScenarioError) as info:
        scenarios.get("huge")
    message = str(info.value)
    assert "huge" in message
    for known in scenarios.names():
        assert known in message
    with pytest.raises(ScenarioError, match="name or a path"):
        scenarios.get(42)


def test_missing_file_and_invalid_yaml(tmp_path):
    with pytest.raises(ScenarioError, match="not found") as info:
        Scenario.from_yaml(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in str(info.value)
    with pytest.raises(ScenarioError, match="not found"):
        scenarios.get(str(tmp_path / "nowhere.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("products: [1, 2\nsegments: {")
    with pytest.raises(ScenarioError, match="not valid YAML") as info:
        Scenario.from_yaml(broken)
    assert "broken.yaml" in str(info.value)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="mapping"):
        Scenario.from_yaml(listing)


def test_yaml_file_takes_its_name_from_the_file(tmp_path):
    d = spec()
    path = tmp_path / "my-shop.yaml"
    Scenario.from_dict(d).to_yaml(path)
    text = path.read_text().replace("name: custom", "")
    path.write_text(text)
    assert Scenario.from_yaml(path).name == "my-shop"
    assert scenarios.get(path).name == "my-shop"


def test_replace_validates_and_rejects_unknown_fields():
    s = scenarios.get("tiny")
    assert s.replace(lift=[4.0]).lift.tolist() == [4.0]
    assert s.lift.tolist() == [2.0]                          # the original is unchanged
    with pytest.raises(ScenarioError, match="colour"):
        s.replace(colour=1)
    with pytest.raises(ScenarioError, match="products.unit_cost"):
        s.replace(unit_cost=[-1, 5])
    longer = s.replace(lead_time=[3, 0])                     # the pipeline follows the lead time
    assert longer.initial_pipeline.shape == (2, 3)


# ---- actions checked against a scenario ----------------------------------------------------------
@pytest.mark.parametrize("x, words", [
    ([[0.5, 0.6]], ["exposure", "simplex", "1.1"]),
    ([[1.2, -0.2]], ["exposure", "simplex", "negative"]),
    ([[0.5, 0.5, 0.0]], ["exposure", "shape"]),
    ([[np.nan, 1.0]], ["exposure", "NaN"]),
    ([[0.0, 0.0]], ["exposure", "simplex"]),
    (np.full((3, 1, 2), 0.4), ["exposure", "simplex"]),
])
def test_exposure_not_in_the_simplex_is_rejected(x, words):
    with pytest.raises(ScenarioError) as info:
        scenarios.get("tiny").check_exposure(x)
    for word in words:
        assert word.lower() in str(info.value).lower(), (word, str(info.value))


def test_valid_exposures_pass():
    s = scenarios.get("tiny-personal")
    x = np.array([[0.25, 0.75], [1.0, 0.0]])
    assert np.array_equal(s.check_exposure(x), x)
    assert s.check_exposure(np.broadcast_to(x, (4, 2, 2))).shape == (4, 2, 2)


@pytest.mark.parametrize("q, words", [
    ([21, 0], ["orders", "max_order"]),
    ([-1, 0], ["orders", "max_order"]),
    ([1.5, 0], ["orders", "whole"]),
    ([np.nan, 0], ["orders", "NaN"]),
    ([1, 2, 3], ["orders", "shape"]),
    (np.array(["a", "b"]), ["orders", "integers"]),
])
def test_orders_out_of_bounds_or_fractional_are_rejected(q, words):
    with pytest.raises(ScenarioError) as info:
        scenarios.get("tiny").check_orders(q)
    for word in words:
        assert word.lower() in str(info.value).lower(), (word, str(info.value))


def test_valid_orders_pass_as_integers():
    q = scenarios.get("tiny").check_orders(np.array([[20.0, 0.0], [3.0, 4.0]]))
    assert q.dtype == np.int64 and q.tolist() == [[20, 0], [3, 4]]

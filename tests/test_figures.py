"""The experiment modules' figures: E0's window rule, and what each figure must say (reference
lines, zoomed axes, defined symbols, the base scenario, visible markers), on small frames.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from coordlib.experiments import (  # noqa: E402
    e0_quickstart,
    e1_theory,
    e4_learning_curves,
    e5_timescales,
    e6_behaviour,
    e8_convergence,
    e10_sweeps,
    e11_lost_sales,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _two_firms(differ_at, periods=30):
    """Trajectories of two firms whose exposures differ exactly in the periods ``differ_at``."""
    rows = []
    for name in ("siloed", "coordinated"):
        for t in range(periods):
            x1 = 0.0 if (name == "coordinated" and t in differ_at) else 1.0
            for i, x in ((1, x1), (2, 1.0 - x1)):
                rows.append({"period": t, "product": i, "available": 5, "exposure": x,
                             "firm": name})
    return pd.DataFrame(rows)


def test_e0_window_holds_the_most_differing_periods_and_centres_them():
    traj = _two_firms({3, 14, 16, 25})
    w = e0_quickstart.divergence_window(traj, window=5)
    # windows of 5 holding two of the periods: starts 12..14 hold {14, 16}; 14 centres them
    assert (w["start"], w["stop"], w["differ_in_window"]) == (13, 18, 2)
    assert w["differ_periods"] == 4 and w["differ_share"] == pytest.approx(4 / 30)
    assert w["firms"] == ["siloed", "coordinated"]
    fig = e0_quickstart.plot_trajectories(traj, w)
    assert "13-17" in fig._suptitle.get_text() and "4 of 30" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="window"):
        e0_quickstart.divergence_window(traj, window=31)
    with pytest.raises(ValueError, match="two firms"):
        e0_quickstart.divergence_window(traj[traj.firm == "siloed"])


def test_e0_profit_figure_is_zoomed_to_the_intervals_and_labels_the_gap():
    table = pd.DataFrame({"scenario": "tiny", "method": ["siloed (a)", "coordinated (b)"],
                          "profit": [19.66, 19.73], "profit_lo": [19.53, 19.61],
                          "profit_hi": [19.79, 19.85], "gain": [0.0, 0.07],
                          "gain_lo": [0.0, -0.02], "gain_hi": [0.0, 0.16]})
    ax = e0_quickstart.plot_comparison(table).axes[0]
    lo, hi = ax.get_ylim()
    assert 19.0 < lo < 19.53 and 19.85 < hi < 20.5          # not from 0
    texts = [t.get_text() for t in ax.texts]
    assert any("+0.07 [-0.02, +0.16]" in t and "(+0.4%)" in t for t in texts)


def test_e4_figure_draws_g_star_best_heuristic_and_the_evaluated_profit():
    bands = pd.DataFrame({"scenario": "tiny", "config": "mtma", "env_steps": [10, 20],
                          "profit": [18.0, 19.0], "profit_lo": [17.0, 18.5],
                          "profit_hi": [19.0, 19.5]})
    final = pd.DataFrame({"scenario": ["tiny"], "config": ["mtma"], "steps_per_s": [100.0],
                          "steps_per_s_lo": [90.0], "steps_per_s_hi": [110.0]})
    heur = pd.DataFrame({"scenario": "tiny", "method": ["siloed", "coordinated"],
                         "profit": [19.66, 19.73]})
    refs = e4_learning_curves.reference_lines(
        heur, pd.DataFrame({"scenario": ["tiny"], "gain": [20.15]}))
    assert refs.set_index("kind")["profit"].to_dict() == {"heuristic": 19.73, "DP": 20.15}
    evaluated = pd.DataFrame({"scenario": ["tiny"], "config": ["mtma"], "profit": [19.5],
                              "profit_lo": [19.2], "profit_hi": [19.8]})
    fig = e4_learning_curves.plot_learning_curves(bands, final, evaluated, refs)
    ax = fig.axes[0]
    flat = {round(line.get_ydata()[0], 2) for line in ax.get_lines()
            if len(set(np.asarray(line.get_ydata(), dtype=float))) == 1}
    assert {19.73, 20.15} <= flat
    assert "rollout" in fig._suptitle.get_text() and "deterministic" in fig._suptitle.get_text()


def test_e4_panels_follow_the_runs_order_not_the_alphabet():
    order = ["tiny", "tiny-margin", "medium"]
    bands = pd.DataFrame({"scenario": sorted(order * 2), "config": "mtma",
                          "env_steps": [10, 20] * 3, "profit": 1.0, "profit_lo": 0.5,
                          "profit_hi": 1.5})
    final = pd.DataFrame({"scenario": order, "config": "mtma", "steps_per_s": 100.0,
                          "steps_per_s_lo": 90.0, "steps_per_s_hi": 110.0})
    fig = e4_learning_curves.plot_learning_curves(bands, final)
    assert [fig.axes[i].get_title() for i in range(3)] == order


def test_e1_square_root_figure_defines_its_symbols():
    mu = np.linspace(1, 10, 5)
    mismatch = pd.concat([pd.DataFrame({"mu": mu, "system": system, "demand": demand,
                                        "mismatch_cost": k * np.sqrt(mu), "per_sqrt_mu": k})
                          for system, k in (("one-period", 4.9), ("stationary", 1.0))
                          for demand in ("normal", "poisson")], ignore_index=True)
    fig = e1_theory.plot_square_root_law(mismatch, 10.0, 5.0, 0.5, 2.0)
    title = fig._suptitle.get_text()
    for definition in ("m = p - c", r"\Pi^*(\mu)", "price", "holding cost"):
        assert definition in title
    assert "mu" in fig.axes[0].get_xlabel()


def test_e8_tracking_label_fits_and_the_distance_is_defined():
    tracking = pd.DataFrame({"iteration": [5, 6], "parameter_distance": [0.05, 0.07]})
    curve = pd.DataFrame({"iteration": [1, 2, 3], "profit": [1.0, 2.0, 3.0]})
    fig = e8_convergence.plot_tracking(tracking, curve, curve, 2)
    fig.canvas.draw()
    label = fig.axes[0].yaxis.label.get_window_extent()
    assert label.y0 >= 0 and label.y1 <= fig.bbox.height     # inside the figure
    assert r"\theta" in fig.axes[0].get_title()


def test_e10_figure_names_its_base_scenario_and_static_share():
    results = pd.DataFrame({"lift": [0.5, 0.5, 4, 4] * 2, "lead_time": [0, 2] * 4,
                            "policy": ["siloed"] * 4 + ["coordinated"] * 4,
                            "profit": [1.0, 2, 3, 4, 2, 3, 5, 6]})
    gain = pd.DataFrame({"lift": [0.5, 0.5, 4, 4], "lead_time": [0, 2, 0, 2],
                         "profit": [1.0, 1, 2, 2]})
    static = {"static": 4.8, "total": 4.84, "share": 4.8 / 4.84}
    fig = e10_sweeps.plot_sensitivity(results, gain, "tiny-margin", static)
    title = fig._suptitle.get_text()
    assert "tiny-margin" in title and "99%" in title and "lead time L = 1" in title


def _e5_frames():
    variants = ["mtma (recommender fast)", "reversed (replenisher fast)", "single timescale"]
    scenarios, level = ["tiny-margin", "medium"], {"tiny-margin": 17.0, "medium": 230.0}
    table = pd.DataFrame([{"scenario": s, "variant": v, "profit": level[s] * (1 + 0.01 * j),
                           "profit_lo": level[s] * (0.996 + 0.01 * j),
                           "profit_hi": level[s] * (1.004 + 0.01 * j), "tail_std": 1.0 + j}
                          for s in scenarios for j, v in enumerate(variants)])
    curves = pd.DataFrame([{"scenario": s, "variant": v, "seed": seed, "iteration": i,
                            "profit": level[s] * (0.8 + 0.01 * i),
                            "phase": "after the shift" if i > 10 else "training"}
                           for s in scenarios for v in variants for seed in (0, 1)
                           for i in range(1, 24)])
    shifted = e5_timescales.shift_summary(curves)
    return table, curves, shifted, variants


def test_e5_figure_colours_the_variant_in_every_panel_and_never_the_scenario():
    table, curves, shifted, variants = _e5_frames()
    fig = e5_timescales.plot_timescales(table, curves, shifted)
    left = {bars.get_label(): matplotlib.colors.to_rgb(bars.lines[0].get_color())
            for bars in fig.axes[0].containers}
    assert list(left) == variants                   # the left panel's colours name variants
    for ax in fig.axes[1:]:
        drawn = {tuple(matplotlib.colors.to_rgb(line.get_color())) for line in ax.get_lines()
                 if len(line.get_xdata()) > 2}  # the curves, not the reference line
        assert drawn == set(left.values())
    assert len(set(left.values())) == len(variants)


def test_e5_leaders_are_named_per_scenario_not_over_tenfold_profits():
    table, *_ = _e5_frames()
    found = e5_timescales.leaders(table).set_index("scenario")
    assert list(found.index) == ["tiny-margin", "medium"]
    assert set(found["highest_profit"]) == {"single timescale"}     # +2% on each scenario
    assert found.loc["tiny-margin", "profit"] == pytest.approx(17.0 * 1.02)
    assert set(found["steadiest"]) == {"mtma (recommender fast)"}
    assert found.loc["medium", "apart_from_mtma"]  # 0.996 + 0.02 > 1.004: apart by construction


def test_e6_figure_shows_the_most_exposed_product_and_the_tables_peak_lag():
    table = pd.DataFrame({"scenario": "medium", "policy": "learned (mtma)", "product": [1, 2],
                          "lead_time": 1, "mean_exposure": [0.003, 0.6],
                          "peak_lag": [0.0, -1.33]})
    assert e6_behaviour.shown_product(table, "medium") == 2
    points = pd.DataFrame({"scenario": "medium", "policy": "learned (mtma)",
                           "product": [1, 1, 2, 2], "available": [0, 1, 0, 1],
                           "exposure": [0.0, 0.01, 0.4, 0.8]})
    lags = np.arange(-3, 4)
    b4 = pd.concat([pd.DataFrame({"scenario": "medium", "policy": "learned (mtma)",
                                  "product": product, "lead_time": 1, "lag": lags,
                                  "correlation": np.where(lags == peak, 0.5, 0.0)})
                    for product, peak in ((1, 0), (2, -1))])
    fig = e6_behaviour.plot_behaviour(points, b4, table, ["medium"])
    top, bottom = fig.axes[0], fig.axes[1]
    assert "product 2" in top.get_title() and "exposure 60%" in top.get_title()
    verticals = {round(float(line.get_xdata()[0]), 2) for line in bottom.get_lines()
                 if line.get_linestyle() == "--"}
    assert verticals == {-1.33}                     # the table's mean peak lag, drawn
    assert "-1.33" in bottom.get_title()


def test_e8_teaching_figure_gives_each_design_its_own_panel_and_the_text_its_numbers():
    paths = e8_convergence.teaching_paths(2000, seed=0)
    fig = e8_convergence.plot_teaching(paths, (1.5, 1.0))
    designs = list(dict.fromkeys(paths["design"]))
    assert [ax.get_title() for ax in fig.axes[:len(designs)]] == designs
    summary = e8_convergence.teaching_summary(paths).set_index("design")
    right = summary.loc[designs[0]]
    # the right ordering's distance shrinks and stays off the bound; the other two run off
    assert right["shrink"] < 1 and not right["hit_bound"]
    assert summary.loc[designs[1:], "hit_bound"].all()
    text = e8_convergence.teaching_sentence(paths)
    assert "approaches the limit without reaching it" in text
    assert f"{right['late']:.3g} over the last" in text


def test_e1_b2_figure_puts_every_model_on_the_chord_scale():
    share = np.linspace(0, 1, 11)
    curves = pd.concat([pd.DataFrame({"instance": "tiny", "model": model, "share": share,
                                      "profit": level + bump * (share - 0.5) ** 2})
                        for model, level, bump in (("one-period", 9.0, 1.0),
                                                   ("stationary", 20.0, -0.4))])
    gap = e1_theory.chord_gap(curves)
    # y = level + k (x - 1/2)^2 has chord level + k/4, so its gap is k ((x - 1/2)^2 - 1/4)
    expected = np.concatenate([k * ((share - 0.5) ** 2 - 0.25) for k in (1.0, -0.4)])
    np.testing.assert_allclose(gap.to_numpy(), expected, atol=1e-12)
    fig = e1_theory.plot_profit_vs_split(curves)
    assert max(abs(v) for v in fig.axes[0].get_ylim()) < 1   # not the 9..20 profit levels
    assert "chord" in fig.axes[0].get_ylabel()


def test_e11_figure_draws_the_learner_mean_gap_that_c4_reads():
    combined = pd.DataFrame({"lead_time": [1, 2], "lost_sale_penalty": [4, 9],
                             "base_stock_gap_pct": [3.0, 5.0], "capped_gap_pct": [0.5, 0.7],
                             "seeds": 3, "learner_gap_pct": [1.0, 2.1],
                             "learner_gap_lo": [0.5, 1.5], "learner_gap_hi": [1.5, 2.7]})
    ax = e11_lost_sales.plot_gaps(combined).axes[0]
    flat = {round(float(line.get_ydata()[0]), 3): line.get_label() for line in ax.get_lines()
            if len(set(np.asarray(line.get_ydata(), dtype=float))) == 1}
    assert "1.55%" in flat[1.55] and "C4" in flat[1.55]   # (1.0 + 2.1) / 2

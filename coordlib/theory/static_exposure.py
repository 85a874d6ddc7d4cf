"""B2 and the static part of B5 (MODEL.md section 5): the square-root law, the profit as a function
of a static exposure split, and the value of coordination over GMV-greedy in closed form.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import sympy as sp
from scipy import stats

from ..model.scenario import Scenario, ScenarioError
from .derivation import (
    DEMAND_MODELS,
    Derivation,
    Pi_f,
    _lambdify,
    arrival_rate,
    dispersion,
    exposure,
    holding_cost,
    lift,
    lost_sale_penalty,
    margin,
    mean_demand,
    outside_attraction,
    overage,
    price,
    product_symbols,
    standard_normal_pdf,
    underage,
    unit_cost,
)
from .lost_sales import lost_sales_base_stock_optimum
from .newsvendor import (
    _check_system,
    _cost_values,
    _normal_profit_by_quadrature,
    derive_newsvendor_normal,
    newsvendor_costs,
    newsvendor_normal,
    newsvendor_poisson,
)


# ---- B2: static exposure split ------------------------------------------------------------------
def mnl_demand_rates_two_products():
    """(mu_1(x), mu_2(x)) for one segment shown product 1 with probability x (MODEL.md 3.3).

    mu_i(x) = lambda (x P_i(1) + (1 - x) P_i(2)), P_i(j) = v_i (1 + beta [i = j]) /
    (v_0 + v_1 + v_2 + beta v_j).
    """
    v1, v2 = product_symbols(1)["attraction"], product_symbols(2)["attraction"]
    lam, v0, beta, x = arrival_rate, outside_attraction, lift, exposure
    D1, D2 = v0 + v1 + v2 + beta * v1, v0 + v1 + v2 + beta * v2
    P = {(1, 1): v1 * (1 + beta) / D1, (2, 1): v2 / D1,
         (1, 2): v1 / D2, (2, 2): v2 * (1 + beta) / D2}
    return (lam * (x * P[1, 1] + (1 - x) * P[1, 2]), lam * (x * P[2, 1] + (1 - x) * P[2, 2]))


@functools.lru_cache(maxsize=None)
def derive_static_exposure() -> Derivation:
    """B2: with newsvendor-optimal stock (normal approximation), the firm's profit is convex in
    a static exposure split x (share of product 1), for any margins; strictly iff beta > 0.

    Pi(x) = sum_i [m_i mu_i(x) - k_i sqrt(theta mu_i(x))], k_i = (c_o,i + c_u,i) phi(z_i*) > 0.
    Results: ``profit`` (generic affine mu_i = alpha_i + delta_i x), ``second_derivative`` and
    ``second_derivative_readable`` (``second_derivative_in_mu``: the same with mu_i > 0
    symbols), ``d_mu1_dx``, ``d_mu2_dx`` (MNL, factored: both carry the factor beta), ``mu1``,
    ``mu2`` (MNL).
    """
    a1, a2 = sp.symbols("alpha_1 alpha_2", positive=True)
    d1, d2 = sp.symbols("delta_1 delta_2", real=True)
    m1, m2 = sp.symbols("m_1 m_2", real=True)
    k1, k2 = sp.symbols("k_1 k_2", positive=True)
    x = exposure
    mus = (a1 + d1 * x, a2 + d2 * x)
    profit = sum(m * mu - k * sp.sqrt(dispersion * mu) for m, k, mu in zip((m1, m2), (k1, k2), mus))
    second = sp.diff(profit, x, 2)
    M1, M2 = sp.symbols("mu_1 mu_2", positive=True)  # mean demands are positive
    readable_mu = sum(k * sp.sqrt(dispersion) * d ** 2 / (4 * M ** sp.Rational(3, 2))
                      for k, d, M in zip((k1, k2), (d1, d2), (M1, M2)))
    readable = readable_mu.subs({M1: mus[0], M2: mus[1]})
    if sp.simplify(second - readable) != 0:
        raise AssertionError("B2 second derivative: readable form differs")
    if not readable_mu.is_nonnegative:
        raise AssertionError("B2: SymPy cannot confirm convexity")
    mu1, mu2 = mnl_demand_rates_two_products()
    if sp.diff(mu1, x, 2) != 0 or sp.simplify(sp.diff(mu2, x, 2)) != 0:
        raise AssertionError("MNL demand is not linear in exposure")
    dmu1, dmu2 = sp.factor(sp.diff(mu1, x)), sp.factor(sp.diff(mu2, x))
    mu_f = sp.Function("mu")
    steps = [
        ("Two products, one segment, product 1 shown with probability x: MNL demand is "
         "linear in x (second derivative 0, checked):",
         sp.Tuple(sp.Eq(mu_f(1, x), mu1), sp.Eq(mu_f(2, x), mu2))),
        ("Exposure moves demand from one product to the other at rates proportional to the "
         "lift beta:",
         sp.Tuple(sp.Eq(sp.Derivative(mu_f(1, x), x), dmu1),
                  sp.Eq(sp.Derivative(mu_f(2, x), x), dmu2))),
        ("With newsvendor-optimal stock, profit is margin minus mismatch cost, "
         "k_i = (c_o,i + c_u,i) phi(z_i*):",
         sp.Eq(Pi_f(x), profit.subs({a1 + d1 * x: mu_f(1, x), a2 + d2 * x: mu_f(2, x)}),
               evaluate=False)),
        ("The mismatch cost is concave in mu (square-root law) and mu is linear in x, so the "
         "profit is convex in x (a sum of positive terms, checked by SymPy):",
         sp.Eq(sp.Derivative(Pi_f(x), (x, 2)),
               readable.subs({a1 + d1 * x: mu_f(1, x), a2 + d2 * x: mu_f(2, x),
                              d1: sp.Derivative(mu_f(1, x), x), d2: sp.Derivative(mu_f(2, x), x)}),
               evaluate=False)),
        ("Convex on [0, 1], so the best static split is extreme: show one product only. "
         "Margins enter linearly and only tilt which extreme wins; with beta = 0 demand does "
         "not depend on x and every split is as good.",
         sp.Eq(sp.Symbol("x^*"), sp.Symbol(r"\{0, 1\}"), evaluate=False)),
    ]
    return Derivation(
        "B2: profit is convex in a static exposure split (normal approximation)",
        "Two products, one segment (MNL, MODEL.md 3.3); newsvendor-optimal stock in either "
        "system; sigma_i = sqrt(theta mu_i). The same holds per segment for K > 1 (profit is "
        "convex in each segment's exposure row, so some vertex is optimal).",
        tuple(steps),
        {"profit": profit, "second_derivative": second, "second_derivative_readable": readable,
         "second_derivative_in_mu": readable_mu,
         "mu1": mu1, "mu2": mu2, "d_mu1_dx": dmu1, "d_mu2_dx": dmu2})


# ---- B5 (static part): value of coordination over the GMV-greedy recommender ---------------------
@functools.lru_cache(maxsize=None)
def derive_value_of_coordination(system: str = "one-period") -> Derivation:
    """Static value of coordination, two products, one segment, normal approximation.

    The siloed firm: marketing shows the GMV-greedy product (highest sum_i p_i P_i(j); ties to
    product 1 as :class:`coordlib.policies.recommendation.Greedy`), operations stock newsvendor-optimally
    for the demand it gets. The coordinated static firm shows the product maximizing the
    newsvendor-optimal profit (an extreme by B2). Results:

    * ``profit_show_1``, ``profit_show_2``: Pi_j = sum_i [m_i mu_ij - (c_o,i + c_u,i)
      phi(z_i*) sqrt(theta mu_ij)] (from :func:`derive_newsvendor_normal`),
    * ``gmv_1``, ``gmv_2``, ``margin_1``, ``margin_2``: each recommender's score,
    * ``value``: V = max(Pi_1, Pi_2) - Pi_GMV; ``value_margin`` (margin-greedy over GMV-greedy)
      and ``value_mismatch`` (coordinated over margin-greedy): V = value_margin + value_mismatch,
    * symmetric attractions (v_1 = v_2 = v, p_1 >= p_2 so GMV shows product 1):
      ``gap_symmetric`` W = Pi_2 - Pi_1 = Dm Dmu - Dk sqrt(theta) Dsqrt(mu), V = max(0, W),
      with Dm = m_2 - m_1, Dk = k_2 - k_1, Dmu = mu_H - mu_L, Dsqrt(mu) = sqrt(mu_H) - sqrt(mu_L),
    * comparative statics of W: ``dW_d_margin_spread``, ``dW_d_dispersion``, ``dW_d_lift``,
      ``dW_d_arrival_rate``, and ``d_Dmu_d_lift`` > 0, ``d_Dsqrt_d_u`` > 0 (u = sqrt(1 + beta)).

    All arguments of the lambdified results are symbols of this module and
    :func:`product_symbols`; see :func:`static_value_of_coordination` for the numbers.
    """
    _check_system(system)
    nv = derive_newsvendor_normal()
    prod = [product_symbols(1), product_symbols(2)]
    mu1, mu2 = mnl_demand_rates_two_products()
    costs = newsvendor_costs(system)

    # per product, the optimal profit is m mu - k sqrt(theta mu) with k = (c_o + c_u) phi(z*)
    k_of_costs = (overage + underage) * standard_normal_pdf(nv["z_star"])
    per_product = margin * mean_demand - k_of_costs * sp.sqrt(dispersion * mean_demand)
    if sp.simplify(per_product - nv["optimal_profit_theta"]) != 0:
        raise AssertionError("value of coordination: per-product optimal profit differs")
    m1, m2 = sp.symbols("m_1 m_2", real=True)
    k1, k2 = sp.symbols("k_1 k_2", positive=True)
    ms, ks = (m1, m2), (k1, k2)
    mus = {1: (mu1.subs(exposure, 1), mu2.subs(exposure, 1)),
           2: (mu1.subs(exposure, 0), mu2.subs(exposure, 0))}
    Pi = {j: sum(ms[i] * mus[j][i] - ks[i] * sp.sqrt(dispersion * mus[j][i]) for i in range(2))
          for j in (1, 2)}
    gmv = {j: prod[0]["price"] * mus[j][0] + prod[1]["price"] * mus[j][1] for j in (1, 2)}
    mar = {j: m1 * mus[j][0] + m2 * mus[j][1] for j in (1, 2)}
    pi_gmv = sp.Piecewise((Pi[1], gmv[1] >= gmv[2]), (Pi[2], True))
    pi_margin = sp.Piecewise((Pi[1], mar[1] >= mar[2]), (Pi[2], True))
    pi_coord = sp.Max(Pi[1], Pi[2])
    # m_i and k_i in terms of the product's p, c, h, b (substituted for the numbers)
    product_values = {}
    for i, s in enumerate(prod):
        sub = {price: s["price"], unit_cost: s["unit_cost"], holding_cost: s["holding_cost"],
               lost_sale_penalty: s["lost_sale_penalty"]}
        c = {kk: vv.subs(sub) for kk, vv in costs.items()}
        product_values[ms[i]] = c[margin]
        product_values[ks[i]] = k_of_costs.subs(c)

    # symmetric attractions: the closed form and its comparative statics
    v = sp.Symbol("v", positive=True)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    D = outside_attraction + 2 * v + lift * v
    mu_H, mu_L = arrival_rate * v * (1 + lift) / D, arrival_rate * v / D
    W = dm * (mu_H - mu_L) - dk * sp.sqrt(dispersion) * (sp.sqrt(mu_H) - sp.sqrt(mu_L))
    sym = {prod[0]["attraction"]: v, prod[1]["attraction"]: v}
    general_gap = (Pi[2] - Pi[1]).subs(sym)
    if sp.simplify(general_gap - W.subs({dm: m2 - m1, dk: k2 - k1})) != 0:
        raise AssertionError("value of coordination: symmetric closed form differs")
    Dmu, Dsqrt = sp.simplify(mu_H - mu_L), sp.sqrt(mu_H) - sp.sqrt(mu_L)
    u = sp.Symbol("u", positive=True)
    Dsqrt_u = sp.sqrt(arrival_rate * v) * (u - 1) / sp.sqrt(outside_attraction + v + u ** 2 * v)
    if sp.simplify(Dsqrt.subs(lift, u ** 2 - 1) - Dsqrt_u) != 0:
        raise AssertionError("value of coordination: u-substitution differs")
    d_Dmu = sp.factor(sp.diff(Dmu, lift))
    d_Dsqrt_u = sp.factor(sp.simplify(sp.diff(Dsqrt_u, u)))
    for name, e in (("d Dmu / d beta", d_Dmu), ("d Dsqrt / d u", d_Dsqrt_u)):
        if not e.is_positive:
            raise AssertionError(f"value of coordination: SymPy cannot confirm {name} > 0")
    dW = {"dW_d_margin_spread": sp.factor(sp.diff(W, dm)),
          "dW_d_dispersion": sp.factor(sp.diff(W, dispersion)),
          "dW_d_lift": sp.diff(W, lift), "dW_d_arrival_rate": sp.simplify(sp.diff(W, arrival_rate))}
    Dmu_s, Dsq_s = sp.Symbol(r"\Delta\mu", positive=True), sp.Symbol(r"\Delta\sqrt{\mu}", positive=True)
    readable_lam = (dm * Dmu_s - dk * sp.sqrt(dispersion) * Dsq_s / 2) / arrival_rate
    if sp.simplify(readable_lam.subs({Dmu_s: Dmu, Dsq_s: Dsqrt}) - dW["dW_d_arrival_rate"]) != 0:
        raise AssertionError("dW/dlambda: readable form differs")
    gmv_gap = sp.factor((gmv[1] - gmv[2]).subs(sym))
    if sp.simplify(gmv_gap - arrival_rate * v * lift * (prod[0]["price"] - prod[1]["price"]) / D) != 0:
        raise AssertionError("value of coordination: symmetric GMV gap differs")
    mu_f = sp.Function("mu")
    i_, j_ = sp.Symbol("i"), sp.Symbol("j")
    mu_ij = mu_f(i_, j_)
    steps = [
        ("Profit when product j is shown to everyone (newsvendor-optimal stock of both):",
         sp.Eq(sp.Symbol(r"\Pi_j"), sp.Sum(sp.Symbol("m_i") * mu_ij
                                           - sp.Symbol("k_i") * sp.sqrt(dispersion * mu_ij),
                                           (i_, 1, 2)), evaluate=False)),
        ("GMV-greedy (siloed marketing) shows the product with more purchase intent revenue; "
         "with symmetric attractions that is the higher-priced product:",
         sp.Tuple(sp.Eq(sp.Symbol(r"\mathrm{GMV}_j"), sp.Sum(sp.Symbol("p_i") * mu_ij, (i_, 1, 2)),
                        evaluate=False),
                  sp.Eq(sp.Symbol(r"\mathrm{GMV}_1 - \mathrm{GMV}_2"), gmv_gap, evaluate=False))),
        ("Value of coordination: the coordinated static optimum (an extreme, by B2) over the "
         "product GMV-greedy shows; it splits into a margin part (margin-greedy over GMV-greedy) "
         "and a mismatch part (the square-root law over margin-greedy).",
         sp.Eq(sp.Symbol("V"), sp.Max(sp.Symbol(r"\Pi_1"), sp.Symbol(r"\Pi_2"))
               - sp.Symbol(r"\Pi_{\mathrm{GMV}}"), evaluate=False)),
        ("Symmetric attractions (v_1 = v_2 = v) and p_1 >= p_2, so GMV-greedy shows product 1; "
         "shown product demand mu_H, the other mu_L (checked against the general form):",
         sp.Eq(sp.Symbol("V"), sp.Max(0, dm * Dmu_s - dk * sp.sqrt(dispersion) * Dsq_s),
               evaluate=False)),
        ("where", sp.Tuple(sp.Eq(Dmu_s, Dmu), sp.Eq(Dsq_s, Dsqrt),
                           sp.Eq(dm, sp.Symbol("m_2") - sp.Symbol("m_1")),
                           sp.Eq(dk, sp.Symbol("k_2") - sp.Symbol("k_1")))),
        ("Margin spread: V grows one for one with Dm times the demand the lift moves:",
         sp.Eq(sp.Derivative(sp.Symbol("W"), dm), dW["dW_d_margin_spread"], evaluate=False)),
        ("Demand uncertainty theta: V grows with it iff the product GMV ignores has the lower "
         "mismatch coefficient (Dk < 0):",
         sp.Eq(sp.Derivative(sp.Symbol("W"), dispersion), dW["dW_d_dispersion"], evaluate=False)),
        ("Lift beta: both gaps widen with beta (u = sqrt(1 + beta)); so V grows with beta "
         "whenever Dm >= 0 >= Dk:",
         sp.Tuple(sp.Eq(sp.Derivative(Dmu_s, lift), d_Dmu),
                  sp.Eq(sp.Derivative(Dsq_s, u), d_Dsqrt_u))),
        ("Arrival rate lambda: the margin part grows like lambda, the mismatch part like "
         "sqrt(lambda):",
         sp.Eq(sp.Derivative(sp.Symbol("W"), arrival_rate), readable_lam, evaluate=False)),
    ]
    results = {"profit_show_1": Pi[1], "profit_show_2": Pi[2], "gmv_1": gmv[1], "gmv_2": gmv[2],
               "margin_1": mar[1], "margin_2": mar[2], "profit_gmv": pi_gmv,
               "profit_margin_greedy": pi_margin, "profit_coordinated": pi_coord,
               "value": pi_coord - pi_gmv, "value_margin": pi_margin - pi_gmv,
               "value_mismatch": pi_coord - pi_margin, "gap_symmetric": W,
               "mismatch_coefficient": k_of_costs,
               "d_Dmu_d_lift": d_Dmu, "d_Dsqrt_d_u": d_Dsqrt_u, **dW}
    return Derivation(
        f"B5 (static part): the value of coordination over GMV-greedy, two products ({system})",
        "One segment, two products (MNL); newsvendor-optimal stock for the demand each "
        "recommendation produces; normal approximation with sigma_i = sqrt(theta mu_i); "
        "m_i = p_i - c_i and k_i = (c_o,i + c_u,i) phi(z_i*) (``product_values``).",
        tuple(steps), results, product_values)


def comparative_statics_signs(system: str = "one-period") -> pd.DataFrame:
    """Signs of the derivatives of W (symmetric family), from SymPy's assumption system.

    One row per parameter: the derivative (LaTeX), its sign in the aligned case (the product
    GMV-greedy ignores has the higher margin and the lower mismatch coefficient: Dm > 0 > Dk)
    and in general, with the condition.
    """
    der = derive_value_of_coordination(system)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    a, b_ = sp.symbols("a b", positive=True)
    aligned = {dm: a, dk: -b_}
    rows = []
    general = {
        "dW_d_margin_spread": "> 0 always (beta > 0)",
        "dW_d_dispersion": "sign of -Dk",
        "dW_d_lift": "> 0 if Dm >= 0 >= Dk; otherwise either sign",
        "dW_d_arrival_rate": "> 0 if Dm >= 0 >= Dk, or if V > 0 and Dk >= 0; otherwise either sign",
    }
    # beta = w^2 + 2w with w = sqrt(1 + beta) - 1 > 0: SymPy then sees sqrt(1 + beta) - 1 = w > 0
    w = sp.Symbol("w", positive=True)
    for key, cond in general.items():
        e = der[key]
        if key == "dW_d_lift":
            # through d Dmu / d beta > 0 and d Dsqrt / d beta > 0 (proved in the derivation):
            # dW/dbeta = Dm (+) - Dk sqrt(theta) (+)
            pos = sp.symbols("P Q", positive=True)
            sign_aligned = (a * pos[0] + b_ * sp.sqrt(dispersion) * pos[1]).is_positive
        else:
            sign_aligned = sp.factor(e.subs(aligned).subs(lift, (w + 1) ** 2 - 1)).is_positive
        rows.append({"parameter": key.replace("dW_d_", ""), "derivative": sp.latex(e),
                     "positive_when_aligned": bool(sign_aligned), "general": cond})
    return pd.DataFrame(rows)


# ---- numbers: two products, static exposure ------------------------------------------------------
def _two_product_arrays(scenario: Scenario) -> dict:
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: expected a coordlib.Scenario, got {type(scenario).__name__}")
    if scenario.n_products != 2 or scenario.n_segments != 1:
        raise ScenarioError(f"the two-product closed forms need N = 2 and K = 1, got "
                            f"N = {scenario.n_products}, K = {scenario.n_segments} ({scenario.name})")
    if scenario.seasonal:
        raise ScenarioError(f"{scenario.name}: the static theory assumes constant arrival rates "
                            "(no seasonality)")
    if scenario.backlog:
        raise ScenarioError(f"{scenario.name}: the theory is for lost sales (backlog: false)")
    s = scenario
    return {"lam": float(s.arrival_rate[0]), "v0": float(s.outside_attraction[0]),
            "v": s.attraction[0].astype(float), "beta": float(s.lift[0]),
            "p": s.price.astype(float), "c": s.unit_cost.astype(float),
            "h": s.holding_cost.astype(float), "b": s.lost_sale_penalty.astype(float)}


def demand_rates(scenario: Scenario, share) -> np.ndarray:
    """(len(share), 2): mu_i(x) of a two-product, one-segment scenario shown product 1 with
    probability ``share`` [x_k1] (lambdified from :func:`mnl_demand_rates_two_products`)."""
    a = _two_product_arrays(scenario)
    x = np.atleast_1d(np.asarray(share, dtype=float))
    if np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"share: must lie in [0, 1], got {share}")
    fn = _mnl_function()
    mu1, mu2 = fn(x, a["lam"], a["v0"], a["v"][0], a["v"][1], a["beta"])
    return np.stack(np.broadcast_arrays(mu1, mu2), axis=-1)


@functools.lru_cache(maxsize=None)
def _mnl_function():
    v1, v2 = product_symbols(1)["attraction"], product_symbols(2)["attraction"]
    return _lambdify((exposure, arrival_rate, outside_attraction, v1, v2, lift),
                     sp.Tuple(*mnl_demand_rates_two_products()))


def static_profit_curve(scenario: Scenario, shares=None, *, demand: str = "normal",
                        system: str = "one-period", lead_time: int = 0,
                        dispersion: float = 1.0) -> pd.DataFrame:
    """The firm's profit per period against a static split x (share shown product 1), with
    each product stocked optimally for the demand x produces (B2).

    ``demand="normal"``: closed form, continuous stock (convex in x by B2).
    ``demand="poisson"``: exact, integer stock. With ``system="stationary"`` and
    ``lead_time`` > 0 the stock policy is base-stock with lead time L under lost sales, solved
    exactly per product (:func:`coordlib.theory.lost_sales.lost_sales_base_stock`), the best level for each x.
    Returns columns ``share``, ``mu_1``, ``mu_2``, ``stock_1``, ``stock_2``, ``profit_1``,
    ``profit_2``, ``profit``, ``demand``, ``system``, ``lead_time``.
    """
    if demand not in DEMAND_MODELS:
        raise ValueError(f"demand: must be one of {DEMAND_MODELS}, got {demand!r}")
    _check_system(system)
    if lead_time and (system != "stationary" or demand != "poisson"):
        raise ValueError("lead_time > 0 needs system='stationary' and demand='poisson' "
                         "(no closed form under lost sales)")
    a = _two_product_arrays(scenario)
    shares = np.linspace(0, 1, 101) if shares is None else np.asarray(shares, dtype=float)
    mu = demand_rates(scenario, shares)
    out = {"share": shares, "mu_1": mu[:, 0], "mu_2": mu[:, 1]}
    for i in range(2):
        args = (mu[:, i], a["p"][i], a["c"][i], a["h"][i], a["b"][i])
        if demand == "normal":
            r = newsvendor_normal(*args, system=system, dispersion=dispersion)
            S, prof = r["stock"], r["optimal_profit"]
        elif lead_time == 0:
            r = newsvendor_poisson(*args, system=system)
            S, prof = r["stock"], r["optimal_profit"]
        else:
            best = [lost_sales_base_stock_optimum(m, lead_time, a["p"][i], a["c"][i], a["h"][i],
                                                  a["b"][i]) for m in mu[:, i]]
            S = np.array([s for s, _ in best])
            prof = np.array([g for _, g in best])
        out[f"stock_{i + 1}"], out[f"profit_{i + 1}"] = S, prof
    frame = pd.DataFrame(out)
    frame["profit"] = frame["profit_1"] + frame["profit_2"]
    frame["demand"], frame["system"], frame["lead_time"] = demand, system, lead_time
    return frame


def convexity_check(curve: pd.DataFrame) -> dict:
    """Second differences of a profit curve on an even grid: the most negative one, how many
    are negative (below -1e-9), and whether the best share is an extreme."""
    y = curve["profit"].to_numpy()
    d2 = np.diff(y, 2)
    best = int(np.argmax(y))
    extreme_best = max(y[0], y[-1])
    return {"min_second_difference": float(d2.min()),
            "negative_second_differences": int((d2 < -1e-9).sum()),
            "points": int(y.size), "best_share": float(curve["share"].iloc[best]),
            "best_profit": float(y[best]), "best_extreme_profit": float(extreme_best),
            "interior_gain": float(y[best] - extreme_best),
            "best_is_extreme": bool(y[best] <= extreme_best + 1e-9)}


@functools.lru_cache(maxsize=None)
def _value_functions(system):
    d = derive_value_of_coordination(system)
    p1, p2 = product_symbols(1), product_symbols(2)
    args = (arrival_rate, outside_attraction, p1["attraction"], p2["attraction"], lift, dispersion,
            *(p1[k] for k in ("price", "unit_cost", "holding_cost", "lost_sale_penalty")),
            *(p2[k] for k in ("price", "unit_cost", "holding_cost", "lost_sale_penalty")))
    keys = ("profit_show_1", "profit_show_2", "gmv_1", "gmv_2", "margin_1", "margin_2",
            "profit_gmv", "profit_margin_greedy", "profit_coordinated", "value", "value_margin",
            "value_mismatch")
    return {k: d.function(k, args) for k in keys}


def static_value_of_coordination(scenario: Scenario, *, system: str = "one-period",
                          dispersion: float = 1.0, **overrides) -> dict:
    """B5 static part, closed form (normal approximation), for a two-product, one-segment scenario.

    ``overrides`` replace scenario values by name: ``arrival_rate``, ``outside_attraction``,
    ``lift``, ``attraction`` (2 values), ``price``, ``unit_cost``, ``holding_cost``,
    ``lost_sale_penalty`` (2 values each); scalars or arrays broadcast (for sweeps).
    Returns a dict of arrays: each recommender's profit, the GMV-greedy and margin-greedy
    choices (1 or 2), the coordinated choice, ``value`` = V and its parts ``value_margin`` and
    ``value_mismatch``.
    """
    a = _two_product_arrays(scenario)
    names = {"arrival_rate": "lam", "outside_attraction": "v0", "lift": "beta", "attraction": "v",
             "price": "p", "unit_cost": "c", "holding_cost": "h", "lost_sale_penalty": "b"}
    for key, value in overrides.items():
        if key not in names:
            raise ValueError(f"static_value_of_coordination: unknown override {key!r}; "
                             f"allowed: {sorted(names)}")
        a[names[key]] = np.asarray(value, dtype=float)
    for i in range(2):
        _cost_values(system, a["p"][i], a["c"][i], a["h"][i], a["b"][i])  # validates
    fn = _value_functions(system)
    args = (a["lam"], a["v0"], a["v"][0], a["v"][1], a["beta"], dispersion,
            a["p"][0], a["c"][0], a["h"][0], a["b"][0], a["p"][1], a["c"][1], a["h"][1], a["b"][1])
    out = {k: np.asarray(f(*args), dtype=float) for k, f in fn.items()}
    out["gmv_choice"] = np.where(out["gmv_1"] >= out["gmv_2"], 1, 2)
    out["margin_choice"] = np.where(out["margin_1"] >= out["margin_2"], 1, 2)
    out["coordinated_choice"] = np.where(out["profit_show_1"] >= out["profit_show_2"], 1, 2)
    return out


def static_value_of_coordination_numeric(scenario: Scenario, *, demand: str = "normal",
                                  system: str = "one-period", shares=None) -> dict:
    """The value of coordination by direct numerical optimization, independent of the closed form.

    ``demand="normal"``: expected profit by numerical integration against the normal density
    (scipy.integrate.quad), stock by scipy.optimize.minimize_scalar, exposure on a grid of
    ``shares`` (default 0, 0.02, ..., 1). ``demand="poisson"``: exact Poisson sums over integer
    stock, the same grid. Returns ``value``, ``best_share``, ``profit_best``, ``profit_gmv``,
    ``gmv_share`` (1.0 or 0.0).
    """
    _check_system(system)
    if demand not in DEMAND_MODELS:
        raise ValueError(f"demand: must be one of {DEMAND_MODELS}, got {demand!r}")
    a = _two_product_arrays(scenario)
    shares = np.linspace(0, 1, 51) if shares is None else np.asarray(shares, dtype=float)
    gmv_share = 1.0 if (a["p"] @ scenario.purchase_probabilities[0, 0]
                        >= a["p"] @ scenario.purchase_probabilities[0, 1]) else 0.0
    grid = np.unique(np.append(shares, gmv_share))
    mu = demand_rates(scenario, grid)
    total = np.zeros(grid.size)
    for i in range(2):
        p_, c_, h_, b_ = a["p"][i], a["c"][i], a["h"][i], a["b"][i]
        if system == "one-period":
            m_, co, cu = p_ - c_, c_ + h_, p_ + b_ - c_
        else:
            m_, co, cu = p_ - c_, h_, p_ + b_ - c_
        for n, mean in enumerate(mu[:, i]):
            if demand == "normal":
                total[n] += _normal_profit_by_quadrature(mean, np.sqrt(mean), m_, co, cu)
            else:
                S = np.arange(int(mean + 12 * np.sqrt(mean) + 20))
                pmf = stats.poisson.pmf(np.arange(S[-1] + 200)[:, None], mean)
                d = np.arange(S[-1] + 200)[:, None]
                val = (m_ * mean - co * (np.maximum(S - d, 0) * pmf).sum(0)
                       - cu * (np.maximum(d - S, 0) * pmf).sum(0))
                total[n] += val.max()
    best = int(np.argmax(total))
    at_gmv = total[np.flatnonzero(grid == gmv_share)[0]]
    return {"value": float(total[best] - at_gmv), "best_share": float(grid[best]),
            "profit_best": float(total[best]), "profit_gmv": float(at_gmv), "gmv_share": gmv_share}


@functools.lru_cache(maxsize=None)
def _statics_functions(system):
    d = derive_value_of_coordination(system)
    v = sp.Symbol("v", positive=True)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    args = (arrival_rate, outside_attraction, v, lift, dispersion, dm, dk)
    keys = ("gap_symmetric", "dW_d_margin_spread", "dW_d_dispersion", "dW_d_lift",
            "dW_d_arrival_rate")
    k_fn = _lambdify((overage, underage), d["mismatch_coefficient"])
    return {k: _lambdify(args, d[k]) for k in keys}, k_fn

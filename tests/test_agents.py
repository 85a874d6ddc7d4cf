"""The learner's agents (MODEL.md section 6): views, parameter sharing across products, the
order-up-to action, valid exposures and the learned policy as a coordlib policy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from coordlib import Simulator, evaluate, policies, scenarios
from coordlib.exact.zipkin import zipkin_scenario
from coordlib.learning.agents import (
    TRACE_RATES,
    AgentSet,
    PooledLinear,
    RunningNormalizer,
    segment_features,
    tanh,
    traces,
)
from coordlib.learning.distributions import (
    capped_centre,
    gaussian_entropy,
    gaussian_log_prob,
    interval_log_prob,
    level_entropy,
    sample_actions,
)
from coordlib.learning.features import (
    N_RECOMMENDER,
    N_REPLENISHER,
    N_SEGMENT,
    N_SEGMENT_DYNAMIC,
    ScenarioEncoding,
)
from coordlib.learning.policy import LearnedPolicy
from coordlib.model.policy import joint
from coordlib.model.scenario import random_scenario


def _agents(seed=0, **kw):
    torch.manual_seed(seed)
    return AgentSet(**kw)


def _run(policy, scenario, periods=6, batch=5, seed=0):
    """Step a simulator under ``policy``; return every action and observation."""
    sim = Simulator(scenario, batch_size=batch, seed=seed)      # validate=True checks actions
    obs = sim.reset()
    policy.reset(scenario, batch, np.random.default_rng(seed))
    out = []
    for _ in range(periods):
        action = policy.act(obs)
        out.append((obs, action))
        obs = sim.step(action.orders, action.exposure).observation
    return out


# ---- scaling with N -------------------------------------------------------------------------
@pytest.mark.parametrize("actor,critic", [("per_department", "centralized"),
                                          ("per_department", "per_agent"),
                                          ("joint", "centralized")])
def test_parameter_count_does_not_depend_on_the_number_of_products(actor, critic):
    counts = {n: _agents(actor=actor, critic=critic).parameter_count()
              for n in ("tiny", "medium", "large")}
    # the networks take no scenario argument at all; the same weights run on N = 2, 10, 120
    agents = _agents(actor=actor, critic=critic)
    for name in ("tiny", "medium", "large"):
        s = scenarios.get(name)
        policy = LearnedPolicy(agents, deterministic=False)
        (_, action), = _run(policy, s, periods=1, batch=2)
        assert action.orders.shape == (2, s.n_products)
        assert action.exposure.shape == (2, s.n_segments, s.n_products)
    assert len(set(counts.values())) == 1


def test_parameter_count_by_hand_for_the_reference_networks():
    # ProductEncoder(F, H, memory): Linear(F,H) + Linear(H,H) + Linear(2H,H) + GRU(H,H)
    # order head on [o, mean o] with o = [u, h] (2H wide): Linear(4H,H) + Linear(H,2)
    # (centre and spread of the level); G does not enter
    F, H, G = N_REPLENISHER, 8, 5
    encoder = (F * H + H) + (H * H + H) + (2 * H * H + H) + 3 * (H * H + H) * 2
    head = (4 * H * H + H) + (H * 2 + 2)
    agents = AgentSet(hidden=H, order_levels=G, architecture="reference")
    assert sum(p.numel() for p in agents.actors["replenisher"].parameters()) == encoder + head
    # the recommender: same encoder shape on its own features, a (segment, product) scorer
    # on [o, mean o, segment features] and one log standard deviation
    F = N_RECOMMENDER
    encoder = (F * H + H) + (H * H + H) + (2 * H * H + H) + 3 * (H * H + H) * 2
    head = (4 * H * H + H) + N_SEGMENT * H + (H + 1) + 1
    assert sum(p.numel() for p in agents.actors["recommender"].parameters()) == encoder + head


def test_parameter_count_by_hand_for_the_compact_networks():
    # CompactEncoder: Linear(3F, H) on the features and their two traces, then the pooled
    # layer W o + U mean(o) + b: 2 H^2 + H; heads: Linear(H, 3) for the level, its spread and
    # the cap of the capped law (Linear(H, 2) with the level law), Linear(H, N_SEGMENT + 1)
    # for the bilinear exposure score, and one log standard deviation
    F, H = N_REPLENISHER, 8
    encoder = (3 * F * H + H) + (2 * H * H + H)
    agents = AgentSet(hidden=H)
    assert sum(p.numel() for p in agents.actors["replenisher"].parameters()) \
        == encoder + (H * 3 + 3)
    assert sum(p.numel() for p in AgentSet(hidden=H, order_law="level")
               .actors["replenisher"].parameters()) == encoder + (H * 2 + 2)
    F = N_RECOMMENDER
    encoder = (3 * F * H + H) + (2 * H * H + H)
    assert sum(p.numel() for p in agents.actors["recommender"].parameters()) \
        == encoder + H * (N_SEGMENT + 1) + (N_SEGMENT + 1) + 1
    # without memory the traces are gone: F inputs
    agents = AgentSet(hidden=H, memory=False)
    assert sum(p.numel() for p in agents.actors["replenisher"].parameters()) \
        == (N_REPLENISHER * H + H) + (2 * H * H + H) + (H * 3 + 3)


def test_pooled_linear_is_a_linear_layer_on_the_product_and_the_mean():
    torch.manual_seed(0)
    layer = PooledLinear(5, 3)
    o = torch.randn(2, 4, 7, 5)
    joint = torch.cat([layer.own.weight, layer.pooled.weight], 1)
    expected = torch.cat([o, o.mean(-2, keepdim=True).expand_as(o)], -1) @ joint.T + layer.own.bias
    assert torch.allclose(layer(o), expected, atol=1e-6)


def test_fast_tanh_agrees_with_torch_in_value_and_gradient():
    x = torch.linspace(-12, 12, 2001, dtype=torch.float32, requires_grad=True)
    y = tanh(x)
    assert torch.allclose(y, torch.tanh(x), atol=3e-7, rtol=0)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.allclose(g, 1 - torch.tanh(x.detach()) ** 2, atol=1e-6, rtol=0)


def test_traces_are_exponential_averages_carried_across_calls():
    x = torch.arange(1.0, 7.0).reshape(6, 1, 1, 1)               # T = 6 periods, one feature
    m0 = torch.zeros(1, 1, len(TRACE_RATES))
    out, m = traces(x, m0)
    first, m1 = traces(x[:3], m0)                                 # the same in two calls
    second, m2 = traces(x[3:], m1)
    assert torch.equal(torch.cat([first, second]), out) and torch.equal(m2, m)
    for r, beta in enumerate(TRACE_RATES):
        expected, value = [], 0.0
        for t in range(6):
            value = (1 - beta) * value + beta * float(x[t])
            expected.append(value)
        assert out[:, 0, 0, r].tolist() == pytest.approx(expected)


# ---- the views: decentralized execution -----------------------------------------------------
@pytest.mark.parametrize("architecture", ["compact", "reference"])
def test_each_actor_reads_only_its_own_view(architecture):
    s = scenarios.get("medium")
    sim = Simulator(s, batch_size=3, seed=1)
    obs = sim.reset()
    for _ in range(4):
        obs = sim.step(np.full((3, s.n_products), 5), s.uniform_exposure()).observation
    agents = _agents(architecture=architecture)
    enc = agents.encoding(s)

    def act(o):
        with torch.no_grad():
            memory = agents.initial_memory(3, s.n_products, critics=False)
            out, _, _ = agents(*agents.trace(enc.features(o, critic=False), memory),
                               critics=False)
        return out["level_mean"], out["exposure_mean"]

    levels, exposure = act(obs)
    # change what only the recommender sees (purchase intents, customers): orders unchanged
    rec_only = obs.__class__(obs.t, obs.on_hand, obs.pipeline, obs.availability, obs.backlog,
                             obs.last_sales, obs.last_lost_sales, obs.last_customers * 2 + 1,
                             obs.last_demand * 3 + 1, obs.review)
    levels2, exposure2 = act(rec_only)
    assert torch.equal(levels, levels2) and not torch.allclose(exposure, exposure2)
    # change what only the replenisher sees (pipeline, last sales): exposures unchanged
    rep_only = obs.__class__(obs.t, obs.on_hand, obs.pipeline + 1, obs.availability,
                             obs.backlog, obs.last_sales + 2, obs.last_lost_sales + 1,
                             obs.last_customers, obs.last_demand, obs.review)
    levels3, exposure3 = act(rep_only)
    assert torch.equal(exposure, exposure3) and not torch.allclose(levels, levels3)


# ---- actions --------------------------------------------------------------------------------
def test_order_up_to_grid_is_whole_units_for_tiny_and_spans_the_cover():
    s = scenarios.get("tiny")
    enc = ScenarioEncoding(s, order_levels=32, level_cover=2.5)
    # peak demand d = 6 * 3/5 = 3.6 per product (shown to everyone), L + R = 2: the top of
    # the grid is 2.5 * 7.2 = 18 <= 31 steps, so the levels are the whole units 0..18
    assert enc.demand_scale == pytest.approx([3.6, 3.6])
    assert enc.levels[:, :19].tolist() == [list(range(19))] * 2
    assert enc.level_mask.tolist() == [[m <= 18 for m in range(32)]] * 2
    # the newsvendor level at the fractile (10 + 2 - 5) / (7 + 0.5) of Poisson(2 * 2.4)
    fractile = 7 / 7.5
    assert enc.newsvendor_level.tolist() == [stats.poisson.ppf(fractile, 4.8)] * 2
    # medium: coarser steps, the top at min(2.5 d (L + R), M + L Qmax)
    m = scenarios.get("medium")
    enc = ScenarioEncoding(m, order_levels=48, level_cover=2.5)
    top = np.minimum(2.5 * enc.stock_scale, m.capacity + m.lead_time * m.max_order)
    last = enc.levels[np.arange(m.n_products), enc.level_mask.numpy().sum(1) - 1]
    assert np.all(np.abs(last - top) <= 1) and np.all(np.diff(enc.levels, axis=1) >= 0)


def test_orders_from_levels_by_hand():
    s = scenarios.get("tiny").replace(lead_time=[2, 1], max_order=[20, 6])
    sim = Simulator(s, batch_size=2, seed=0)
    obs = sim.set_state(on_hand=[[3, 9], [0, 0]], pipeline=[[[4, 1], [0, 0]], [[0, 0], [2, 0]]])
    enc = ScenarioEncoding(s, order_levels=32)
    index = torch.tensor([[12, 10], [30, 31]])      # step 1: the index is the level itself
    # IP = (8, 9) and (0, 2): orders (12-8, 10-9) = (4, 1); (30, 29) clipped to Qmax (20, 6)
    assert enc.orders(index, obs.replenisher_view()).tolist() == [[4, 1], [20, 6]]


@pytest.mark.parametrize("architecture", ["compact", "reference"])
@pytest.mark.parametrize("name", ["tiny-personal", "medium", "large"])
def test_exposures_are_points_of_the_simplex(name, architecture):
    s = scenarios.get(name)
    agents = _agents(seed=3, architecture=architecture)
    head = agents.actors["recommender"].exposure_head
    with torch.no_grad():        # extreme logits: scores of +-60 still give a valid simplex point
        (head[-1] if architecture == "reference" else head).weight.mul_(1e4)
    for deterministic in (False, True):
        steps = _run(LearnedPolicy(agents, deterministic=deterministic), s, periods=3, batch=4)
        for _, action in steps:
            x = action.exposure
            assert x.dtype == np.float64 and x.shape == (4, s.n_segments, s.n_products)
            assert np.all(x >= 0) and np.allclose(x.sum(-1), 1.0, atol=1e-12, rtol=0)
            s.check_exposure(x, atol=1e-12)


def test_log_probabilities_and_entropies_match_closed_forms():
    torch.manual_seed(0)
    z, m, log_std = torch.randn(3, 4), torch.randn(3, 4), torch.tensor(-0.3)
    sigma = math.exp(-0.3)
    expected = -0.5 * ((z - m) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))
    assert torch.allclose(gaussian_log_prob(z, m, log_std), expected, atol=1e-6)
    assert float(gaussian_entropy(log_std)) == pytest.approx(0.5 * math.log(2 * math.pi * math.e
                                                                            * sigma ** 2))
    # a categorical over 4 levels with one masked: uniform over 3 has entropy log 3
    logits, mask = torch.zeros(1, 4), torch.tensor([[True, True, False, True]])
    assert float(level_entropy(logits, mask)) == pytest.approx(math.log(3), abs=1e-6)


def test_sampled_levels_follow_the_discretized_normal_and_skip_masked_levels():
    enc = ScenarioEncoding(scenarios.get("tiny"), order_levels=32)       # levels 0..18
    n = 20000
    # centre a = 0 puts mu at the newsvendor level (prior); sigma = 2 grid steps
    out = {"level_mean": torch.zeros(1, n, 2), "level_log_std": torch.full((1, n, 2), math.log(2.0)),
           "exposure_mean": torch.zeros(1, n, 1, 2), "log_std": torch.tensor(0.0)}
    index = sample_actions(out, enc, torch.Generator().manual_seed(0))["level_index"][0, :, 0]
    mu = enc.newsvendor_level[0]                          # 8 on tiny, whole units
    m = np.arange(19)
    p = np.exp(-0.5 * ((m - mu) / 2.0) ** 2)
    p /= p.sum()
    freq = np.bincount(index.numpy(), minlength=32) / n
    assert freq[19:].sum() == 0                           # beyond the top: never
    assert np.all(np.abs(freq[:19] - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_interval_law_matches_the_normal_mass_of_each_unit_interval():
    enc = ScenarioEncoding(scenarios.get("tiny"), order_levels=32)       # levels 0..18
    n, top = 20000, 18
    out = {"level_mean": torch.zeros(1, n, 2), "level_log_std": torch.full((1, n, 2), math.log(2.0)),
           "exposure_mean": torch.zeros(1, n, 1, 2), "log_std": torch.tensor(0.0)}
    a = sample_actions(out, enc, torch.Generator().manual_seed(0), levels="interval")
    mu = float(enc.top_index[0] * torch.sigmoid(enc.level_prior[0]))
    m = np.arange(top + 1)
    p = stats.norm.cdf((m + 0.5 - mu) / 2.0) - stats.norm.cdf((m - 0.5 - mu) / 2.0)
    p /= stats.norm.cdf((top + 0.5 - mu) / 2.0) - stats.norm.cdf((-0.5 - mu) / 2.0)
    index = a["level_index"][0, :, 0].numpy()
    freq = np.bincount(index, minlength=32) / n
    assert freq[top + 1:].sum() == 0
    assert np.all(np.abs(freq[:top + 1] - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-12)
    # the log-probabilities of the draws are the closed form's, and sum to one over the grid
    assert np.allclose(a["logp_levels"][0, :, 0].numpy(), np.log(p[index]), atol=1e-5)
    grid = torch.arange(top + 1).reshape(1, -1, 1).expand(1, top + 1, 2)
    few = {k: v[:, :top + 1] if v.dim() > 1 else v for k, v in out.items()}
    assert float(interval_log_prob(few, enc, grid)[0, :, 0].exp().sum()) == pytest.approx(1, abs=1e-6)
    # far in a tail (sigma = 0.2 grid steps, 4 steps away) the log-probability stays finite
    sharp = {"level_mean": torch.zeros(1, 1, 2), "level_log_std": torch.full((1, 1, 2), math.log(0.2))}
    far = torch.full((1, 1, 2), int(round(mu)) + 4)
    assert float(interval_log_prob(sharp, enc, far)[0, 0, 0]) == pytest.approx(
        stats.norm.logsf((round(mu) + 3.5 - mu) / 0.2), rel=0.02)
    # deterministic: the grid point nearest the centre
    mode = sample_actions(out, enc, torch.Generator(), deterministic=True, levels="interval")
    assert int(mode["level_index"][0, 0, 0]) == int(np.floor(mu + 0.5))


# ---- the learned policy in coordlib.evaluate --------------------------------------------------
def test_learned_policy_is_a_coordlib_policy_and_reset_clears_memory():
    s = scenarios.get("tiny")
    policy = LearnedPolicy(_agents(seed=1), deterministic=True)
    assert isinstance(policy, policies.Policy)
    first = _run(policy, s, periods=5, batch=3, seed=2)
    again = _run(policy, s, periods=5, batch=3, seed=2)     # reset: same memory, same actions
    for (_, a), (_, b) in zip(first, again):
        assert np.array_equal(a.orders, b.orders) and np.array_equal(a.exposure, b.exposure)
    frame = evaluate(s, policy, replications=3, periods=20, warmup=5)
    assert len(frame) == 3 and np.isfinite(frame["profit"]).all()


def test_stochastic_evaluation_is_reproducible_from_the_seed():
    s = scenarios.get("tiny")
    policy = LearnedPolicy(_agents(seed=1), deterministic=False)
    a = evaluate(s, policy, replications=3, periods=30, warmup=5, seed=4)
    b = evaluate(s, policy, replications=3, periods=30, warmup=5, seed=4)
    c = evaluate(s, policy, replications=3, periods=30, warmup=5, seed=5)
    assert a["profit"].tolist() == b["profit"].tolist() != c["profit"].tolist()


def test_features_are_finite_and_clipped_for_a_random_scenario():
    s = random_scenario(7, 3, seed=5, seasonal=True, review_period=2)
    enc = ScenarioEncoding(s)
    sim = Simulator(s, batch_size=2, seed=0)
    obs = sim.reset()
    for _ in range(3):
        feats = enc.features(obs)
        position = feats.pop("position")          # unscaled: the capped law's centre reads it
        np.testing.assert_allclose(position[0].numpy(), obs.replenisher_view()[
            "inventory_position"] / enc.level_step, rtol=1e-6)
        for key, value in feats.items():
            assert torch.isfinite(value).all() and value.abs().max() <= 10.0, key
        assert feats["segment"].shape == (1, 2, 3, 7, N_SEGMENT_DYNAMIC)
        assert feats["segment_static"].shape == (3, 7, N_SEGMENT - N_SEGMENT_DYNAMIC)
        obs = sim.step(np.full((2, 7), 3), s.uniform_exposure()).observation


def test_exposure_scores_read_static_pair_features_once_and_equal_the_full_bilinear_form():
    s = random_scenario(9, 4, seed=2)
    enc = ScenarioEncoding(s)
    sim = Simulator(s, batch_size=3, seed=0)
    obs = sim.reset()
    obs = sim.step(np.full((3, 9), 2), s.uniform_exposure()).observation
    feats = enc.features(obs)
    full = segment_features(feats)                                   # (1, B, K, N, N_SEGMENT)
    assert full.shape == (1, 3, 4, 9, N_SEGMENT)
    assert torch.equal(full[..., N_SEGMENT_DYNAMIC:],
                       enc.segment_static.expand(1, 3, 4, 9, N_SEGMENT - N_SEGMENT_DYNAMIC))
    # every pair's static features are the scenario's: the same whatever the state
    later = enc.features(sim.step(np.full((3, 9), 5), s.uniform_exposure()).observation)
    assert later["segment_static"] is feats["segment_static"]
    agents = _agents(architecture="compact")
    recommender = agents.actors["recommender"]
    with torch.no_grad():
        recommender.exposure_head.weight.normal_()                  # scores of order one
    traced, _ = agents.trace(feats, agents.initial_memory(3, 9))
    out, _ = recommender(traced, None)
    coef = recommender.exposure_head(recommender.encoder(traced["recommender"])[0])
    direct = (full * coef[..., None, :, :-1]).sum(-1) + coef[..., None, :, -1]
    assert direct.abs().mean() > 0.1
    assert torch.allclose(out["exposure_mean"], direct, atol=1e-5, rtol=1e-5)


# ---- feature normalization and the capped order law ----------------------------------------
def test_running_normalizer_matches_the_moments_of_everything_it_has_seen():
    rng = np.random.default_rng(3)
    batches = [rng.normal([2.0, -1.0, 7.0], [0.5, 3.0, 0.0], size=(4, 5, 3)) for _ in range(6)]
    norm = RunningNormalizer(3, clip=100.0)
    for b in batches:
        norm.update(torch.as_tensor(b, dtype=torch.float32))
    seen = np.concatenate([b.reshape(-1, 3) for b in batches])
    np.testing.assert_allclose(norm.mean.numpy(), seen.mean(0), atol=1e-5)
    np.testing.assert_allclose(norm.var.numpy(), seen.var(0), rtol=1e-4, atol=1e-9)
    out = norm(torch.as_tensor(seen, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out[:, :2].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(out[:, :2].std(0), 1, rtol=1e-3)
    assert np.all(out[:, 2] == 0)               # a feature that never varied carries nothing
    assert RunningNormalizer(1, clip=5.0)(torch.tensor([[1e6]])).item() == 5.0


def test_normalized_inputs_keep_the_replenisher_sensitive_to_its_state_on_zipkin():
    # price 1 and a penalty 9 times it: unscaled, these constants saturate the first layer's
    # units and the replenisher's representation is the same in every state; standardized,
    # it follows the state
    s = zipkin_scenario(9, 2)
    sim = Simulator(s, batch_size=64, seed=0)
    obs = sim.reset()
    rng = np.random.default_rng(0)
    centres = {}
    for normalize in (False, True):
        agents = _agents(seed=1, normalize=normalize)
        enc = agents.encoding(s)
        seen = []
        o = obs
        for _ in range(30):
            seen.append(agents.normalize(enc.features(o, views=agents.views),
                                         update=tuple(agents.normalizers)))
            o = sim.step(rng.integers(0, 10, (64, 1)), np.ones((64, 1, 1))).observation
        features, _ = agents.trace(seen[-1], agents.initial_memory(64, 1))
        o, _ = agents.actors["replenisher"].encoder(features["replenisher"])
        centres[normalize] = o.detach().std(dim=1).mean().item()     # across copies
    assert centres[True] > 4 * centres[False]


def test_capped_centre_is_capped_base_stock_in_the_hard_limit():
    enc = ScenarioEncoding(scenarios.get("tiny"))
    position = torch.tensor([[0.0, 5.0, 9.0, 14.0, 30.0]]).T.expand(5, 2)   # (states, products)
    cap = torch.full_like(position, 4.0)
    level = torch.full_like(position, 12.0)
    share = cap / enc.cap_top
    raw = torch.log(share / (1 - share)) - enc.cap_prior
    expected = torch.minimum(position + torch.clamp(torch.minimum(cap, level - position), min=0),
                             enc.top_index)
    hard = capped_centre(level, raw, position, enc, softness=1e-4)
    torch.testing.assert_close(hard, expected, atol=1e-3, rtol=0)
    soft = capped_centre(level, raw, position, enc)
    assert torch.all((soft - expected).abs() < 0.5)           # within the softness


def test_capped_law_acts_with_whole_orders_below_its_cap():
    def orders_with_cap_output(value):
        agents = _agents(order_law="capped")
        head = agents.actors["replenisher"].order_head
        with torch.no_grad():                    # the third output is the cap's
            head.weight[2].zero_()
            head.bias[2] = value
        actions = [a for _, a in _run(LearnedPolicy(agents), scenarios.get("tiny-capacity"),
                                      periods=8)]
        assert all(a.orders.dtype == np.int64 for a in actions)
        return np.stack([a.orders for a in actions])

    assert _agents(order_law="capped").spec["order_law"] == "capped"
    # a cap of almost nothing: nothing is ordered, whatever the level; the largest cap orders
    assert (orders_with_cap_output(-30.0) == 0).all()
    assert orders_with_cap_output(30.0).max() > 0
    assert AgentSet(order_law="capped", architecture="reference").spec["order_law"] == "level"


def test_the_two_departments_acting_alone_are_the_learned_policy():
    s = scenarios.get("tiny-personal")
    policy = LearnedPolicy(_agents(seed=2))
    alone = joint(policy.department("replenisher"), policy.department("recommender"))
    a = evaluate(s, policy, replications=3, periods=40, warmup=5, seed=4)
    b = evaluate(s, alone, replications=3, periods=40, warmup=5, seed=4)
    np.testing.assert_allclose(a["profit"], b["profit"])
    with pytest.raises(ValueError, match="joint actor"):
        LearnedPolicy(_agents(actor="joint")).department("replenisher")
    with pytest.raises(ValueError, match="role must be"):
        policy.department("marketing")


def test_a_spec_saved_before_normalization_and_the_capped_law_loads_as_it_was_trained():
    before = _agents(seed=3, architecture="compact", normalize=False, order_law="level")
    old_spec = {k: v for k, v in before.spec.items() if k not in ("normalize", "order_law")}
    loaded = AgentSet.from_spec(old_spec)
    assert not loaded.normalizers and loaded.spec["order_law"] == "level"
    loaded.load_state_dict(before.state_dict())          # strict: the same tensors, no more
    s = scenarios.get("tiny")
    a = evaluate(s, LearnedPolicy(before), replications=2, periods=20, warmup=2, seed=1)
    b = evaluate(s, LearnedPolicy(loaded), replications=2, periods=20, warmup=2, seed=1)
    np.testing.assert_array_equal(a["profit"], b["profit"])


def test_a_trained_policy_acts_without_moving_its_statistics():
    agents = _agents(seed=4)
    enc = agents.encoding(scenarios.get("tiny"))
    sim = Simulator(scenarios.get("tiny"), batch_size=8, seed=0)
    agents.normalize(enc.features(sim.reset(), views=agents.views),
                     update=tuple(agents.normalizers))
    frozen = {k: v.clone() for k, v in agents.state_dict().items() if "normalizers" in k}
    assert frozen and all(float(v) > 0 for k, v in frozen.items() if k.endswith("count"))
    _run(LearnedPolicy(agents), scenarios.get("tiny"), periods=10)
    after = agents.state_dict()
    assert all(torch.equal(after[k], v) for k, v in frozen.items())

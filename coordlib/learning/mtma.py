"""The multi-timescale multi-agent algorithm (MODEL.md section 6), one iteration top to bottom:
collect a rollout, compute advantages, update each agent on its own timescale, log.

One training loop serves every configuration. Each iteration reads top to bottom:

1. **collect**: ``n_envs`` copies of the batched :class:`coordlib.Simulator` run
   ``rollout_length`` periods under the current stochastic policies. The copies never restart
   (the model is a continuing process, the objective a long-run average), so a rollout is a
   truncation: the value of its last state is bootstrapped. Recurrent memories carry over.
2. **advantages**: generalized advantage estimation (gamma, lambda) of each agent's reward
   stream, centered by its running average (reward centering: the critics learn relative
   values, bounded as gamma -> 1), with the critic that values that stream. Every stream is
   a sum over products, so the critics value each product's share and are trained on N
   targets per state; the firm's advantage is the mean of the products' advantages.
3. **update**: PPO clipped updates, ``epochs`` passes over ``minibatches`` groups of copies
   (whole sequences, so the GRU memory is re-run from the rollout's first state). Each actor
   and each critic has its own optimizer and step-size schedule (the timescales); an agent
   may be updated only every k-th iteration, or frozen.
4. **log**: one row of the learning curve; a checkpoint every ``checkpoint_every`` iterations.

A rollout is a :class:`Rollout` and its advantages an :class:`Advantages`; what a checkpoint
holds is in :mod:`coordlib.learning.checkpoints`, the memory an iteration needs in
:mod:`coordlib.learning.footprint`.

The likelihood ratio is clipped per factor (per product's order level, per (segment,
product) exposure logit) with the shared advantage, as in multi-agent PPO with parameter
sharing, and the surrogate and the entropy are averaged over factors so their scale does not
grow with N. Both actors are trained on the firm's advantage by default (MODEL.md section 6);
``replenisher_credit="product"`` gives each product's order its own product's advantage
instead (less noise, but biased: see :meth:`Learner.advantages`).

Timescales: the critic, the fast actor and the slow actor have step sizes
alpha(n) = a (constant) or alpha(n) = a / (1 + n / n0)^rho (decaying, rho in (0.5, 1], so
sum alpha = inf and sum alpha^2 < inf), with a_slow = timescale_ratio * a_fast and
rho_slow > rho_fast, so that alpha_slow / alpha_fast -> 0 (:func:`coordlib.learning.config.step_size`). With Adam the
step size is Adam's learning rate; ``optimizer="sgd"`` follows the stochastic-approximation
recursion literally.
"""
from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..common.memory import keep_freed_memory
from ..model.scenario import Scenario
from ..model.simulator import Simulator
from .agents import AgentSet
from .checkpoints import learner_state, load_checkpoint, restore_learner, write_checkpoint
from .config import TrainConfig, step_size
from .distributions import (
    exposure_array,
    gaussian_entropy,
    gaussian_log_prob,
    interval_log_prob,
    level_log_probs,
    level_logits,
    sample_actions,
)
from .features import ROLES, STATIC_KEYS
from .footprint import LARGE_ITERATION, check_memory, training_bytes
from .policy import LearnedPolicy


class TrainingDivergedError(FloatingPointError):
    """A loss or a parameter became NaN or inf; the last good checkpoint is kept."""


@dataclass
class Rollout:
    """What one iteration collects: T = ``rollout_length`` periods of B = ``n_envs`` copies."""

    memory0: dict[str, torch.Tensor]
    """the networks' memory before the first period (the update re-runs it from here)"""
    features: dict[str, torch.Tensor]
    """the networks' inputs per period, standardized and traced (T, B, ...); the keys of
    :data:`coordlib.learning.features.STATIC_KEYS` once"""
    level_index: torch.Tensor
    """(T, B, N): the order-up-to level drawn for each product (its grid index)"""
    logp_levels: torch.Tensor
    """(T, B, N): its log-probability when it was drawn"""
    logits: torch.Tensor
    """(T, B, K, N): the exposure logits z drawn"""
    logp_logits: torch.Tensor
    """(T, B, K, N): their log-probabilities when they were drawn"""
    values: dict[str, torch.Tensor]
    """critic name -> (T + 1, B, N, S) per-product values, the last period's the bootstrap"""
    rewards: dict[str, torch.Tensor]
    """reward stream -> (T, B, N) rewards per product, in the critics' units"""
    review: torch.Tensor
    """(T,) bool: the periods at which orders are placed"""
    profit: np.ndarray
    """(T, B) the firm's profit per period"""


@dataclass
class Advantages:
    """What :meth:`Learner.advantages` computes from a :class:`Rollout`."""

    of_role: dict[str, torch.Tensor]
    """role -> its advantage: the replenisher's per product (T, B, N), the recommender's
    per copy (T, B)"""
    targets: dict[tuple[str, int], torch.Tensor]
    """(critic, stream index) -> (T, B, N) the value targets of that output"""


# ---- the learner --------------------------------------------------------------------------
class Learner:
    """The state of one training run: networks, optimizers, simulator copies, RNGs, curve.

    ``iterate()`` runs one iteration (collect, advantages, update, log). The iterates are the
    networks in ``agents`` (``parameters_of(name)`` gives one agent's parameter vector).
    """

    def __init__(self, scenario: Scenario, config: TrainConfig, init_from=None):
        self.scenario, self.config = scenario, config
        torch.set_num_threads(config.threads)
        self.device = torch.device(config.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            agents = AgentSet(actor=config.actor, critic=config.critic,
                              rewards=(config.replenisher_reward, config.recommender_reward),
                              hidden=config.hidden, memory=config.memory,
                              order_levels=config.order_levels, level_cover=config.level_cover,
                              exposure_noise=config.exposure_noise,
                              level_noise=config.level_noise,
                              architecture=config.architecture,
                              normalize=config.normalize_features,
                              order_law=config.order_law)
        self.agents = agents.to(self.device)
        if init_from is not None:
            self._initialize_from(init_from)
        needed = training_bytes(self.agents, scenario, config)
        check_memory(needed, self.device)
        if self.device.type == "cpu" and needed >= LARGE_ITERATION:
            keep_freed_memory()
        self.encoding = self.agents.encoding(scenario, self.device)
        self.sim = Simulator(scenario, batch_size=config.n_envs, seed=config.seed, validate=False)
        self.observation = self.sim.reset()
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(config.seed)
        self.memory = self.agents.initial_memory(config.n_envs, scenario.n_products, self.device)
        self.groups = {**{name: ("actor", name) for name in self.agents.actors},
                       **{f"critic/{name}": ("critic", name) for name in self.agents.critics}}
        # a frozen agent acts on frozen inputs: the statistics of every view it reads stay fixed
        fixed = set().union(*[self.agents.views_of(self._module(g)) for g in self.groups
                              if self._frozen(g)])
        self.updated_views = tuple(k for k in self.agents.normalizers if k not in fixed)
        """the feature keys whose running statistics the rollouts update"""
        opt = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
        # foreach: one kernel per step over all of a group's tensors (the same arithmetic)
        self.optimizers = {g: opt(self._module(g).parameters(), lr=self.step_size(g, 0),
                                  foreach=True) for g in self.groups}
        self.iteration = 0
        self.run_id = uuid.uuid4().hex
        """names this training run in its checkpoints and summary (a resumed run keeps it)"""
        self.average_reward: dict[str, torch.Tensor] = {}   # g_i per stream and product
        self.curve: list[dict] = []
        self.wall_time = 0.0

    # ---- one iteration ----------------------------------------------------------------
    def iterate(self) -> dict:
        """One iteration: collect, advantages, update, log; returns the curve's new row."""
        start = time.perf_counter()
        self._check_parameters()
        rollout = self.collect()
        advantages = self.advantages(rollout)
        stats = self.update(rollout, advantages)
        self.iteration += 1
        elapsed = time.perf_counter() - start
        self.wall_time += elapsed
        steps = self.config.n_envs * self.config.rollout_length
        row = {"iteration": self.iteration, "env_steps": self.iteration * steps,
               "profit": float(rollout.profit.mean()), **stats,
               **{f"lr_{g.replace('critic/', 'critic_')}": self.step_size(g, self.iteration - 1)
                  for g in self.groups},
               "wall_time": self.wall_time, "steps_per_s": steps / elapsed}
        self.curve.append(row)
        return row

    @torch.no_grad()
    def collect(self) -> Rollout:
        """Run every copy ``rollout_length`` periods under the current stochastic policies."""
        enc, T = self.encoding, self.config.rollout_length
        memory0 = {k: v.clone() for k, v in self.memory.items()}
        stored: dict[str, dict] = {"features": {}, "actions": {}, "values": {}}
        rewards = {r: [] for r in set(self.agents.reward_of.values())}
        profit, review = [], []
        reward_unit = self.scenario.n_products / enc.reward_scale   # critics value N r_i / scale
        memory, obs = self.memory, self.observation
        for t in range(T):
            observed = self.agents.normalize(enc.features(obs, views=self.agents.views),
                                             update=self.updated_views)
            features, memory = self.agents.trace(observed, memory)
            out, values, memory = self.agents(features, memory)
            a = sample_actions(out, enc, self.generator, levels=self.agents.levels)
            orders = enc.orders(a["level_index"][0], obs.replenisher_view())
            result = self.sim.step(orders, exposure_array(a["exposure"][0]))
            for r in rewards:
                rewards[r].append(_reward(result, r, self.scenario) * reward_unit)
            profit.append(result.profit)
            review.append(obs.review)
            kept = {k: a[k] for k in ("level_index", "logits", "logp_levels", "logp_logits")}
            for part, tensors in (("features", features), ("actions", kept), ("values", values)):
                _store(stored[part], tensors, t, T)
            obs = result.observation
        self.memory, self.observation = memory, obs
        # value of the state where the rollout is truncated (the memory copy is discarded)
        last = self.agents.normalize(enc.features(obs, views=self.agents.views))
        _, last_values, _ = self.agents(*self.agents.trace(last, memory))
        actions = stored["actions"]
        return Rollout(
            memory0=memory0, features=stored["features"],
            level_index=actions["level_index"], logp_levels=actions["logp_levels"],
            logits=actions["logits"], logp_logits=actions["logp_logits"],
            values={c: torch.cat([stored["values"][c], last_values[c]])
                    for c in self.agents.critics},
            rewards={r: torch.as_tensor(np.stack(v), dtype=torch.float32, device=self.device)
                     for r, v in rewards.items()},
            review=torch.tensor(review, device=self.device), profit=np.stack(profit))

    def advantages(self, rollout: Rollout) -> Advantages:
        """GAE per role, on its centered reward stream, per product, with the critic's shares.

        Reward centering: each product's reward r_it is replaced by r_it - g_i, g_i a running
        mean per period (the long-run average the objective is about). The critics then learn
        relative values (bounded as gamma -> 1) instead of g / (1 - gamma) plus small
        differences. GAE is linear in the rewards, so the firm's advantage is the mean of the
        products' advantages. The recommender's exposures move every product's demand and get
        the firm's advantage. Each product's order gets the firm's advantage too
        (``replenisher_credit="firm"``), or its own product's (``"product"``): less noise, but
        biased, since an order also moves the other products' profits through the
        recommender's response (more stock of i, more exposure of i, less demand elsewhere);
        on tiny-margin that bias leads the learners to overstock the low-margin product.
        """
        cfg = self.config
        for stream, reward in rollout.rewards.items():
            mean = reward.mean(dim=(0, 1))
            old = self.average_reward.get(stream)
            self.average_reward[stream] = mean if old is None else \
                old + cfg.reward_centering * (mean - old)
        result = Advantages(of_role={}, targets={})
        for role in ROLES:
            critic, index = self.agents.value_of[role]
            stream = self.agents.reward_of[role]
            values = rollout.values[critic][..., index]                       # (T + 1, B, N)
            advantage = _gae(rollout.rewards[stream] - self.average_reward[stream], values,
                             cfg.gamma, cfg.gae_lambda)                       # (T, B, N)
            result.targets[(critic, index)] = advantage + values[:-1]
            if role == "replenisher" and cfg.replenisher_credit == "product":
                result.of_role[role] = advantage
            elif role == "replenisher":
                result.of_role[role] = advantage.mean(-1, keepdim=True).expand_as(advantage)
            else:
                result.of_role[role] = advantage.mean(-1)
        return result

    def update(self, rollout: Rollout, advantages: Advantages) -> dict:
        """PPO epochs over minibatches of copies; each group steps its own optimizer. Returns
        the iteration's statistics (losses, entropies, KL, clip fractions, explained
        variances), each averaged over the minibatches."""
        cfg, n, B = self.config, self.iteration, self.config.n_envs
        active = [g for g in self.groups if self.updates_at(g, n)]
        for g in self.groups:
            for group in self.optimizers[g].param_groups:
                group["lr"] = self.step_size(g, n)
        review = rollout.review
        standardized = {}
        for role, adv in advantages.of_role.items():
            rows = adv[review] if role == "replenisher" and review.any() else adv
            standardized[role] = (adv - rows.mean()) / (rows.std() + 1e-8)
        log: dict[str, list] = {}
        for (critic, index), target in advantages.targets.items():
            # how much of the returns' variance the critic explained before this update
            residual = target - rollout.values[critic][:-1, ..., index]
            _log(log, f"explained_variance_{critic}_{index}",
                 1 - residual.var() / target.var().clamp_min(1e-12))
        for _ in range(cfg.epochs):
            order = torch.randperm(B, generator=self.generator, device=self.device)
            for idx in order.chunk(cfg.minibatches):
                # index_select: the same copy as v[:, idx], at about half the cost
                features = {k: v if k in STATIC_KEYS else v.index_select(1, idx)
                            for k, v in rollout.features.items()}
                memory = {k: v[idx] for k, v in rollout.memory0.items()}
                out, values, _ = self.agents(features, memory)
                losses = self._losses(out, values, rollout, standardized, advantages.targets,
                                      idx, log)
                total = sum(losses[g] for g in active if g in losses)
                for g in active:
                    self.optimizers[g].zero_grad(set_to_none=True)
                if active:
                    total.backward()
                for g in active:
                    torch.nn.utils.clip_grad_norm_(self._module(g).parameters(), cfg.max_grad_norm,
                                                   foreach=True)
                    self.optimizers[g].step()
        return {k: float(np.mean(v)) for k, v in log.items()}

    def _losses(self, out, values, rollout: Rollout, advantages: dict, targets: dict, idx,
                log) -> dict:
        """The loss of every optimizer group on the minibatch of copies ``idx``: each actor's
        clipped surrogate and entropy bonus (summed over the roles it plays), each critic's
        squared error."""
        cfg, enc = self.config, self.encoding
        review = rollout.review
        per_actor: dict[str, torch.Tensor] = {}
        for role in ROLES:
            adv = advantages[role].index_select(1, idx)
            if role == "replenisher":
                chosen = rollout.level_index.index_select(1, idx)
                if self.agents.levels == "interval":
                    new = interval_log_prob(out, enc, chosen)
                    entropy = gaussian_entropy(out["level_log_std"])
                else:
                    logp = level_log_probs(level_logits(out, enc), enc.level_mask)
                    new = logp.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
                    entropy = -(logp.exp() * logp).sum(-1)
                entropy = entropy[review].mean() if review.any() \
                    else torch.zeros((), device=self.device)
                old = rollout.logp_levels.index_select(1, idx)
                weight = review.float()[:, None, None].expand_as(new)   # orders only at reviews
            else:
                new = gaussian_log_prob(rollout.logits.index_select(1, idx), out["exposure_mean"],
                                        out["log_std"])
                old = rollout.logp_logits.index_select(1, idx)
                entropy = gaussian_entropy(out["log_std"])
                weight = torch.ones_like(new)
                adv = adv[..., None, None]
            ratio = torch.exp(new - old)
            surrogate = torch.min(ratio * adv, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv)
            weight_sum = weight.sum().clamp_min(1.0)
            coef = (cfg.entropy_coef if role == "replenisher" else cfg.exposure_entropy_coef) \
                * self.entropy_scale(self.iteration)
            loss = -(surrogate * weight).sum() / weight_sum - coef * entropy
            name = self.agents.actor_of[role]
            per_actor[name] = per_actor.get(name, 0.0) + loss
            with torch.no_grad():
                kl = (((ratio - 1) - (new - old)) * weight).sum() / weight_sum
                clipped = (((ratio - 1).abs() > cfg.clip).float() * weight).sum() / weight_sum
            _log(log, f"loss_{role}", loss)
            _log(log, f"entropy_{role}", entropy)
            _log(log, f"kl_{role}", kl)
            _log(log, f"clipfrac_{role}", clipped)
        losses = dict(per_actor)
        for (critic, index), target in targets.items():
            loss = 0.5 * ((values[critic][..., index] - target.index_select(1, idx)) ** 2).mean()
            key = f"critic/{critic}"
            losses[key] = losses.get(key, 0.0) + loss
        for g, loss in losses.items():
            _log(log, "loss_" + g.replace("critic/", "critic_"), loss)
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"iteration {self.iteration + 1}: the loss of {g} is {loss.item()} "
                    "(NaN or inf); training stopped, the last good checkpoint is kept")
        return losses

    # ---- bookkeeping ------------------------------------------------------------------
    def _module(self, group: str):
        kind, name = self.groups[group]
        return (self.agents.actors if kind == "actor" else self.agents.critics)[name]

    def timescale(self, group: str) -> str:
        """"critic", "fast" or "slow": the step-size schedule of an optimizer group."""
        kind, name = self.groups[group]
        if kind == "critic":
            return "critic"
        return "fast" if name in ("joint", self.config.fast_agent) else "slow"

    def step_size(self, group: str, n: int) -> float:
        return step_size(self.config, self.timescale(group), n)

    def _frozen(self, group: str) -> bool:
        kind, name = self.groups[group]
        return (kind == "critic" and "critic" in self.config.frozen) or name in self.config.frozen

    def updates_at(self, group: str, n: int) -> bool:
        """Whether ``group`` is updated at iteration n (frozen agents never are)."""
        kind, name = self.groups[group]
        if self._frozen(group):
            return False
        every = {"replenisher": self.config.replenisher_every,
                 "recommender": self.config.recommender_every}.get(name, 1)
        return kind == "critic" or n % every == 0

    def entropy_scale(self, n: int) -> float:
        """The factor n_e / (n_e + n) of the entropy weights at iteration n (1 if n_e = 0)."""
        n_e = self.config.entropy_decay
        return 1.0 if n_e == 0 else n_e / (n_e + n)

    def parameters_of(self, name: str) -> torch.Tensor:
        """The parameter vector of an actor (``"replenisher"``, ...) or ``"critic/central"``, ..."""
        return torch.nn.utils.parameters_to_vector(self._module(name).parameters()).detach().clone()

    def policy(self, deterministic: Optional[bool] = None) -> LearnedPolicy:
        """The current actors as a coordlib policy (a copy: training does not change it)."""
        det = self.config.eval_deterministic if deterministic is None else deterministic
        return LearnedPolicy(copy.deepcopy(self.agents), det, self.device, name=self.config.name)

    def retarget(self, scenario: Scenario) -> None:
        """Go on training on ``scenario`` from here: a change of the world the learner lives in
        (a demand shift, E5). Networks, optimizers, step-size schedules, the iteration count,
        the average rewards and the memory carry on, and so does every copy's state
        (:meth:`coordlib.model.simulator.Simulator.carried_to`); from the next period on,
        demand follows ``scenario``, on a new random stream. The change is unannounced: the
        networks go on reading the features of the scenario they started on (``self.scenario``
        stays that one, and checkpoints name it), so the learner can only find the change in
        what it observes."""
        seed = int(np.random.SeedSequence([self.config.seed, self.iteration, 7])
                   .generate_state(1)[0])
        self.sim = self.sim.carried_to(scenario, seed)
        self.observation = self.sim.observation

    def _check_parameters(self) -> None:
        for g in self.groups:
            for pname, p in self._module(g).named_parameters():
                if not torch.isfinite(p).all():
                    raise TrainingDivergedError(
                        f"after iteration {self.iteration}: parameter {pname} of {g} holds NaN or "
                        "inf; training stopped, the last good checkpoint is kept")

    # ---- checkpoints (:mod:`coordlib.learning.checkpoints`) ---------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue exactly: networks, optimizers, RNGs, simulator, curve."""
        return learner_state(self)

    def save(self, path) -> Path:
        """Write a checkpoint atomically (a partial write never replaces a good file)."""
        self._check_parameters()          # never replace a good checkpoint with a broken state
        return write_checkpoint(path, self.state_dict())

    def load_state_dict(self, state: dict) -> None:
        restore_learner(self, state)

    def _initialize_from(self, source) -> None:
        if isinstance(source, (str, Path)):
            source = load_checkpoint(source)["agents"]
        elif isinstance(source, Learner):
            source = source.agents.state_dict()
        self.agents.load_state_dict(source)


def _store(buffers: dict, tensors: dict, t: int, T: int) -> None:
    """Write period t's (1, ...) tensors into (T, ...) buffers, allocated at the first period;
    the tensors of :data:`STATIC_KEYS`, the same every period, are kept once."""
    for key, value in tensors.items():
        if not torch.is_tensor(value) or value.dim() == 0:
            continue
        if key in STATIC_KEYS:
            buffers[key] = value
            continue
        if t == 0:
            buffers[key] = value.new_empty((T, *value.shape[1:]))
        buffers[key][t] = value[0]


def _reward(result, stream: str, scenario: Scenario) -> np.ndarray:
    """One reward stream of a step per product (B, N); summed over products it is the firm's.

    ``profit``: p_i s_i - c_i q_i - h_i I_i' - b_i l_i (r_t of MODEL.md 3.6; backlog variant:
    b_i per backlogged unit); ``gmv``: p_i D_i (the recommender's KPI); ``operating_cost``:
    minus c_i q_i + h_i I_i' + b_i l_i (the replenisher's KPI), MODEL.md section 4.
    """
    if stream == "gmv":
        return result.product_gmv
    return result.product_profit if stream == "profit" else -result.product_operating_cost


def _gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Advantages A_t = sum_l (gamma lambda)^l delta_{t+l}, delta_t = r_t + gamma V_{t+1} - V_t."""
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * values[t + 1] - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages


def _log(log: dict, key: str, value) -> None:
    log.setdefault(key, []).append(float(value.detach()) if torch.is_tensor(value) else float(value))

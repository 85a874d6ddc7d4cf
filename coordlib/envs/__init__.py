"""The standard APIs of the field: PettingZoo, Gymnasium and a batched vector form.

Standard environment APIs on the simulator: PettingZoo (:mod:`.parallel`), Gymnasium
(:mod:`.single_agent`, registered as ``coordlib/Coordination-v0``), a Gymnasium vector env
(:mod:`.vector`), and their observation and action spaces (:mod:`.spaces`).

The model of MODEL.md sections 2-4, stepped by :class:`coordlib.Simulator`, behind the
interfaces that reinforcement-learning libraries expect:

* :func:`parallel_env` -> :class:`CoordinationParallelEnv`, a ``pettingzoo.ParallelEnv`` with
  the two departments of MODEL.md section 4 as agents, ``"replenisher"`` and ``"recommender"``,
  each observing only its own view (decentralized execution); :meth:`~CoordinationParallelEnv.state`
  gives the full state for a centralized critic (MODEL.md section 6).
* :class:`CoordinationEnv`, the firm as one agent with the joint action, registered on import
  of coordlib as ``gymnasium.make("coordlib/Coordination-v0", scenario="tiny")``.
* :class:`CoordinationVectorEnv`, ``num_envs`` copies stepped at once by one batched simulator
  (``gymnasium.make_vec("coordlib/Coordination-v0", num_envs=...)``), with autoreset.
* :mod:`.normalized`: the same environments with observations in [-1, 1] and symmetric
  ``Box(-1, 1)`` actions, the scales that Stable-Baselines3 and similar libraries expect
  (:class:`NormalizedCoordinationEnv`, registered as ``coordlib/CoordinationNormalized-v0``;
  :class:`NormalizedParallelEnv`).
* :mod:`.adapters`: :func:`from_gymnasium` and :func:`from_pettingzoo` turn a model trained on
  these environments (a Stable-Baselines3 model, or any callable) into a coordlib policy, so
  :func:`coordlib.evaluate` scores it exactly like the heuristics.

Gymnasium 1.x loads no plugins, so the ids exist once coordlib is imported. Without a prior
import, name the module in the id, Gymnasium's ``module:env-id`` form:
``gymnasium.make("coordlib:coordlib/Coordination-v0", scenario="tiny")`` imports coordlib and
makes the env (the same for ``coordlib:coordlib/CoordinationNormalized-v0``).

Observations
------------
Every observation is a flat ``float32`` vector (a bounded ``Box``) whose entries are counts in
their natural units (no scaling; the forms of :mod:`.normalized` map them into [-1, 1]). Its layout is a sequence of fields, each flattened in C order;
:func:`observation_layout` gives the slices and :func:`unflatten` (or the environments'
``unflatten_observation``) turns a vector, or a batch of them, back into the view's dict.

===================  ========  ==========================================================
field                shape     meaning (MODEL.md symbol)
===================  ========  ==========================================================
``review``           1         1 if orders are placed this period (t mod R = 0), else 0
``t``                1         the period index t (seasonality and the review cycle)
``on_hand``          N         on-hand stock at the start of the period [I_i]
``pipeline``         N x Lmax  outstanding orders; column d arrives at the start of t + d
``backlog``          N         backlogged units (backlog variant only; absent otherwise)
``last_sales``       N         units sold last period [s_i]
``last_lost_sales``  N         units of demand lost last period [l_i]
``availability``     N         stock available this period, min(I_i + due now, M_i)
``last_customers``   K         customers who arrived last period, per segment
``last_demand``      K x N     purchase intents last period [D_ki]
===================  ========  ==========================================================

* replenisher (operations): ``review, t, on_hand, pipeline, [backlog], last_sales, last_lost_sales``
* recommender (marketing): ``t, availability, last_customers, last_demand``
* state (centralized critic, the Markov state): ``review, t, on_hand, pipeline, [backlog]``
* joint (the single-agent firm): the replenisher's fields, then ``availability,
  last_customers, last_demand``.

Bounds: stock and availability lie in 0..M_i, the pipeline in 0..Qmax_i (or the initial
pipeline if larger), t in 0..max_periods. Arrival counts have no hard bound; the box uses
C_k = ceil(lam_k + 10 sqrt(lam_k) + 10) customers per segment, with lam_k = lambda_k (1 + a_k)
the largest arrival rate, which a Poisson count exceeds with probability below 3e-21 per period
(checked in the tests); a count beyond it is clipped to it. Demand and lost sales are bounded by
the customers, a backlog by max_periods * sum_k C_k.

Actions
-------
* replenisher: ``MultiDiscrete(Qmax + 1)``, the order quantities q_i in 0..Qmax_i.
  **In periods with no review (t mod R != 0) the replenisher's action is ignored: no order is
  placed (q = 0, MODEL.md section 2).** It must still act every period (a parallel environment
  steps every live agent); the ``review`` entry of its observation says whether this period's
  action counts, and ``infos["replenisher"]["orders"]`` holds the orders actually placed.
* recommender: ``Box(0, 1, (K, N))`` of non-negative scores, mapped per segment onto the
  simplex by :func:`exposure_from_scores`: x_kj = score_kj / sum_j score_kj, and the uniform
  exposure 1/N when a segment's scores are all zero. The mapping is scale-free, so any finite
  non-negative scores are accepted; the exposure is always a valid point of the simplex.
* joint (``CoordinationEnv``, ``action_format="flat"``, for Stable-Baselines3 and the like): a
  ``Box(0, 1, (N + K N,))``; the first N entries are order fractions, q_i = floor(a_i Qmax_i + 1/2),
  the next K N entries are the recommender's scores in C order (segment-major), mapped as
  above (:func:`decode_joint_action`). ``action_format="dict"`` gives
  ``Dict(orders=MultiDiscrete, scores=Box)`` instead.
* Bad actions raise a ValueError naming the problem: orders outside 0..Qmax_i or not whole,
  negative or non-finite scores, joint entries outside [0, 1], wrong shapes.

Rewards, episodes, seeding
--------------------------
* Reward: the firm's profit r_t (MODEL.md section 3, step 6), shared by both agents. With
  ``reward="kpi"`` each department gets its own siloed KPI (MODEL.md section 4): the
  replenisher minus its operating cost, -(c q + h I' + b l) = -(purchase + holding + penalty
  cost; in the backlog variant b is charged per backlogged unit, as the simulator does), the
  recommender the GMV sum_i p_i D_i. Infos carry the profit, its parts and both KPIs.
* Episodes never terminate (the objective is a long-run average); they are truncated after
  ``max_periods`` periods, so a learner should bootstrap the value at truncation.
* ``reset(seed=s)`` seeds the random stream exactly as ``Simulator(scenario, seed=s)`` does,
  so the environment reproduces the simulator's trajectory under the same decisions;
  ``reset()`` without a seed continues the stream (a new episode, not a replay).
"""
from .adapters import GymnasiumPolicy, PettingZooPolicy, from_gymnasium, from_pettingzoo
from .normalized import (
    NORMALIZED_ENV_ID,
    NormalizedCoordinationEnv,
    NormalizedParallelEnv,
    normalize_observation,
    unit_action,
)
from .parallel import CoordinationParallelEnv, parallel_env
from .single_agent import CoordinationEnv
from .spaces import (
    AGENTS,
    DEFAULT_MAX_PERIODS,
    ENV_ID,
    ENV_REWARDS,
    ObservationLayout,
    customer_bound,
    decode_joint_action,
    exposure_from_scores,
    joint_action_space,
    observation_layout,
    orders_from_fractions,
    unflatten,
)
from .vector import CoordinationVectorEnv

__all__ = ['CoordinationParallelEnv', 'parallel_env', 'CoordinationEnv', 'ENV_ID', 'AGENTS', 'ENV_REWARDS', 'DEFAULT_MAX_PERIODS', 'customer_bound', 'ObservationLayout', 'observation_layout', 'unflatten', 'exposure_from_scores', 'orders_from_fractions', 'joint_action_space', 'decode_joint_action', 'CoordinationVectorEnv', 'NORMALIZED_ENV_ID', 'NormalizedCoordinationEnv', 'NormalizedParallelEnv', 'normalize_observation', 'unit_action', 'GymnasiumPolicy', 'PettingZooPolicy', 'from_gymnasium', 'from_pettingzoo']

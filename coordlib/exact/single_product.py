"""Exact average-reward control of one product under lost sales (MODEL.md sections 1-3 and 5).

One product, Poisson demand D with mean ``demand_rate`` [mu], integer orders q in
0..``max_order`` [Qmax], an order placed in period t arriving at the start of t + L
(L = 0: at once), available stock A = min(I + arriving, ``capacity`` [M]) with the excess
discarded, sales s = min(A, D), end-of-period on-hand e = A - s and the period's profit
p s - c q - h e - b (D - s). The objective is the long-run average profit per period
(the gain g).

State reduction
    The full state at the start of a period is (I, o_0, ..., o_{L-1}): on-hand before
    arrivals and the outstanding orders by arrival period, o_0 arriving now. The period's
    reward and the next state, (e, o_1, ..., o_{L-1}, q), depend on (I, o_0) only through
    A = min(I + o_0, M), so for L >= 1 the dynamic programme runs on the reduced state
    (A, o_1, ..., o_{L-1}), A after this period's arrival and o_d the order arriving d
    periods from now; the next reduced state is (min(e + o_1, M), o_2, ..., o_{L-1}, q)
    (for L = 1, min(e + q, M)). For L = 0 the state is I and A = min(I + q, M). The
    reduction is exact: every policy of the full state has a reduced counterpart with the
    same gain, and the optimal gain is the same on both. The end-of-period stock
    distribution is the exact one, P(e = A - d) = P(D = d) for d < A and P(e = 0) = P(D >= A),
    so no demand is truncated; the only bounds are the model's own M and Qmax.

Relative value iteration and its stopping rule
    h_{n+1} = T h_n - (T h_n)(0), T the Bellman operator of the reduced model. At every
    iteration min(T h - h) <= g* <= max(T h - h) (span bounds, valid because every state
    can reach the empty state by ordering nothing, so the optimal gain is the same from
    every state). The iteration stops when max(T h - h) - min(T h - h) <= tol * max(1, |g|);
    the reported gain is the midpoint of the bounds, the policy the greedy one of the last
    h. ``damping`` < 1 applies the aperiodicity transform h <- (1 - tau) h + tau T h, which
    keeps the same optimal policies and bounds and is only needed if a periodic optimal
    chain stops plain RVI from converging.

Base-stock checks, computed apart from the RVI code
    :func:`evaluate_base_stock` and :func:`evaluate_capped_base_stock` build the Markov
    chain of the fixed policy on the full state (I, o_0, ..., o_{L-1}) reachable from a
    start state, and solve it for its stationary distribution; MODEL.md's inventory
    position IP = I + o_0 + ... + o_{L-1} (before arrivals) sets the order
    q = min(cap, Qmax, (S - IP)^+). Capping at M makes the chain depend on (I, o_0) and not
    only on A, which is why it cannot share the reduced state.

Timing against Zipkin (2008)
    Zipkin, P. (2008), "Old and new methods for lost-sales inventory systems", Operations
    Research 56(5), 1256-1263, optimal costs of the numerical study: Poisson demand of
    mean 5, holding cost h = 1 per unit left at the end of a period, lost-sales penalty
    p in {4, 9, 19, 39} per unit short, lead times L = 1..4, no ordering cost, no capacity. His lead time is MODEL.md's lead time
    with no shift: an order placed at the start of period t is available for period
    t + L's demand (for L = 1 the reduced state is the single number A), and holding is
    charged on end-of-period on-hand, MODEL.md's e. The DP under this mapping reproduces all
    16 published costs to their two decimals; the two shifted readings do not (a lead time
    one shorter gives, for Zipkin's L = 2, the L = 1 row, 4.04 against his 4.40; holding
    charged on A instead of e adds h E[s], about 5 per period). :func:`zipkin_lead_time`
    is that mapping. In MODEL.md's profit terms the instance has price = unit_cost, so that
    revenue and purchases cancel in the long run (every unit bought is sold when nothing is
    discarded) and the gain is minus Zipkin's cost; see :func:`zipkin_instance` for the
    bounds M and Qmax standing in for "no capacity".
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
from scipy import sparse, stats
from scipy.sparse import csgraph

__all__ = [
    "DEFAULT_MAX_STATES", "ZIPKIN_2008_OPTIMAL_COST", "ZIPKIN_2008_LEAD_TIMES",
    "ZIPKIN_2008_PENALTIES", "SolveResult", "PolicyValue", "BestPolicy", "solve",
    "evaluate_base_stock", "evaluate_capped_base_stock", "best_base_stock",
    "best_capped_base_stock", "zipkin_lead_time", "zipkin_instance", "zipkin_table",
]

DEFAULT_MAX_STATES = 2_000_000
"""Largest state count :func:`solve` and the chain evaluations accept unless told otherwise."""

_MAX_KERNEL_ENTRIES = 50_000_000   # dense end-of-stock kernel, (M + 1)^2 (Qmax + 1) doubles
_MAX_CHUNK_ENTRIES = 1 << 22       # Bellman work array per block of A values (32 MiB)
_BITMAP_LIMIT = 1 << 27            # full-state grids up to this size use a visited bitmap

ZIPKIN_2008_LEAD_TIMES = (1, 2, 3, 4)
ZIPKIN_2008_PENALTIES = (4, 9, 19, 39)
ZIPKIN_2008_OPTIMAL_COST = {
    (1, 4): 4.04, (1, 9): 5.44, (1, 19): 6.68, (1, 39): 7.84,
    (2, 4): 4.40, (2, 9): 6.09, (2, 19): 7.66, (2, 39): 9.11,
    (3, 4): 4.60, (3, 9): 6.53, (3, 19): 8.36, (3, 39): 10.04,
    (4, 4): 4.73, (4, 9): 6.84, (4, 19): 8.89, (4, 39): 10.79,
}
"""Optimal long-run average cost per period, keyed by (Zipkin's lead time, penalty p).

Zipkin, P. (2008), "Old and new methods for lost-sales inventory systems", Operations Research
56(5), 1256-1263: the optimal costs of his numerical study (Poisson demand, mean 5; h = 1),
as published (two decimals).
"""


# ----------------------------------------------------------------------------- inputs

def _real(name, value, symbol, minimum=0.0, strict=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound} [{symbol}], got {value!r}")
    return value


def _integer(name, value, symbol, minimum=0):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and not isinstance(value, numbers.Integral):
        ok = math.isfinite(float(value)) and float(value).is_integer()
    if not ok or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} [{symbol}], got {value!r}")
    return int(value)


def _model(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty, lead_time,
           capacity, max_order):
    return (_real("demand_rate", demand_rate, "mu"),
            _real("price", price, "p", strict=True),
            _real("unit_cost", unit_cost, "c"),
            _real("holding_cost", holding_cost, "h"),
            _real("lost_sale_penalty", lost_sale_penalty, "b"),
            _integer("lead_time", lead_time, "L", 0),
            _integer("capacity", capacity, "M", 1),
            _integer("max_order", max_order, "Qmax", 0))


def _check_size(what, count, max_states, hint):
    if count > max_states:
        raise ValueError(f"{what} has {count:,} states, above max_states={max_states:,}; "
                         f"{hint}")


# ------------------------------------------------------------------ one period, exactly

def _end_stock_kernel(mu, M):
    """P[A, e] = P(end-of-period on-hand e | available A), the Poisson tail lumped at e = 0."""
    pmf = stats.poisson.pmf(np.arange(M + 1), mu)
    A = np.arange(M + 1)[:, None]
    e = np.arange(M + 1)[None, :]
    kernel = np.where((e >= 1) & (e <= A), pmf[np.clip(A - e, 0, M)], 0.0)
    kernel[:, 0] = stats.poisson.sf(np.arange(M + 1) - 1, mu)     # P(D >= A)
    return kernel


def _period_means(mu, M):
    """Expected sales, end-of-period on-hand and lost sales for each available A in 0..M."""
    tail = stats.poisson.sf(np.arange(M), mu)                      # P(D > k), k < M
    sales = np.concatenate(([0.0], np.cumsum(tail)))               # E min(A, D)
    end_stock = np.arange(M + 1) - sales
    lost = np.maximum(mu - sales, 0.0)
    return sales, end_stock, lost


# ------------------------------------------------------------------------- the exact DP

@dataclasses.dataclass(frozen=True, eq=False)
class SolveResult:
    """The optimum of one product's average-reward problem, from :func:`solve`.

    ``order`` is the optimal order over the reduced state: indexed [A, o_1, ..., o_{L-1}]
    for lead_time L >= 1 (A available after this period's arrival, o_d arriving in d
    periods), [I] for L = 0 (on-hand before the order, which arrives at once).
    ``relative_values`` is the last h of the iteration on the same grid, h(empty) = 0.
    """

    gain: float
    lower: float
    upper: float
    iterations: int
    converged: bool
    n_states: int
    order: np.ndarray
    relative_values: np.ndarray
    lead_time: int
    capacity: int
    max_order: int

    @property
    def cost(self) -> float:
        """Minus the gain: the average cost per period in cost-minimising papers' terms."""
        return -self.gain

    def order_for(self, on_hand, pipeline=()) -> int:
        """Optimal order in the full state (I, o_0, ..., o_{L-1}) of MODEL.md, via the reduction."""
        pipeline = tuple(int(x) for x in pipeline)
        if len(pipeline) != self.lead_time:
            raise ValueError(f"pipeline must hold lead_time={self.lead_time} orders "
                             f"(o_0, ..., o_L-1), got {len(pipeline)}")
        if self.lead_time == 0:
            return int(self.order[min(int(on_hand), self.capacity)])
        available = min(int(on_hand) + pipeline[0], self.capacity)
        return int(self.order[(available,) + pipeline[1:]])


def solve(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty, lead_time,
          capacity, max_order, tol=1e-9, max_iter=10_000, *, damping=1.0,
          max_states=DEFAULT_MAX_STATES) -> SolveResult:
    """Optimal gain and policy by relative value iteration on the reduced state.

    Arguments (MODEL.md symbols in brackets): ``demand_rate`` Poisson mean demand per period
    [mu]; ``price`` per unit sold [p]; ``unit_cost`` per unit ordered [c];
    ``holding_cost`` per unit on hand at the end of a period [h]; ``lost_sale_penalty`` per
    unit of demand not served [b]; ``lead_time`` periods from order to arrival [L];
    ``capacity`` on-hand cap after arrivals [M]; ``max_order`` largest order [Qmax].
    ``tol`` is relative to max(1, |g|) because the bounds cannot close below the rounding
    of the rewards; ``max_iter`` caps the iterations (``converged`` says whether the rule
    was met; the bounds hold either way). ``max_states`` guards memory and time: the reduced
    model has (M + 1)(Qmax + 1)^(L - 1) states (M + 1 for L = 0).
    """
    mu, p, c, h, b, L, M, Q = _model(demand_rate, price, unit_cost, holding_cost,
                                     lost_sale_penalty, lead_time, capacity, max_order)
    tol = _real("tol", tol, "gain tolerance", strict=True)
    max_iter = _integer("max_iter", max_iter, "iterations", 1)
    max_states = _integer("max_states", max_states, "state limit", 1)
    damping = _real("damping", damping, "tau", strict=True)
    if damping > 1.0:
        raise ValueError(f"damping must be in (0, 1] [tau], got {damping!r}")
    K = (Q + 1) ** (L - 1) if L >= 1 else 1          # states per value of A (or I)
    n_states = (M + 1) * K
    _check_size(f"the reduced state (A, o_1..o_{{L-1}}) for lead_time={L}, capacity={M}, "
                f"max_order={Q}", n_states, max_states,
                "lower capacity or max_order, or raise max_states")
    kernel_entries = (M + 1) ** 2 * (Q + 1) if L >= 1 else (M + 1) * (M + Q + 2)
    if kernel_entries > _MAX_KERNEL_ENTRIES:
        raise ValueError(f"the end-of-stock tables for capacity={M}, max_order={Q} have "
                         f"{kernel_entries:,} entries, above {_MAX_KERNEL_ENTRIES:,}; "
                         "lower capacity or max_order")

    kernel = _end_stock_kernel(mu, M)
    sales, end_stock, lost = _period_means(mu, M)
    reward = p * sales - h * end_stock - b * lost                 # per period, given A
    order_cost = c * np.arange(Q + 1)

    if L == 0:
        # Th(I) = max_q [ reward(A) - c q + sum_e P[A, e] h(e) ],  A = min(I + q, M)
        after = np.minimum(np.arange(M + 1)[:, None] + np.arange(Q + 1)[None, :], M)

        def prepare(hv):
            return reward + kernel @ hv

        def q_values(value, lo, hi):
            return value[after[lo:hi]] - order_cost

        step_rows = M + 1
        state_reward = np.zeros(M + 1)
    else:
        # next A' = min(e + o_1, M) (o_1 := q when L = 1): fold it into one kernel
        # moves[(A, o_1), A'] = P(min(e + o_1, M) = A' | A)
        moves = np.zeros((M + 1, Q + 1, M + 1))
        target = np.minimum(np.arange(M + 1)[None, :] + np.arange(Q + 1)[:, None], M)
        np.add.at(moves, (slice(None), np.arange(Q + 1)[:, None], target),
                  kernel[:, None, :])
        moves = moves.reshape((M + 1) * (Q + 1), M + 1)

        def prepare(hv):
            # For L >= 2 the next state's last coordinate is q and each row of ``moves``
            # sums to one, so c q can come off h before the product, at 1/(Qmax + 1) of
            # the cost of taking it off the product.
            if L >= 2:
                return (hv.reshape(-1, Q + 1) - order_cost).reshape(M + 1, K)
            return hv.reshape(M + 1, 1)

        def q_values(prepared, lo, hi):
            # rows (A, o_1), columns (o_2, ..., o_{L-1}, q): in C order that is (state, q)
            block = moves[lo * (Q + 1):hi * (Q + 1)] @ prepared
            if L >= 2:
                return block.reshape((hi - lo) * K, Q + 1)
            return block.reshape(hi - lo, Q + 1) - order_cost

        step_rows = max(1, _MAX_CHUNK_ENTRIES // (K * (Q + 1)))
        state_reward = np.repeat(reward, K)

    def bellman(hv, greedy=False):
        out = np.empty(n_states)
        pick = np.empty(n_states, dtype=np.min_scalar_type(Q)) if greedy else None
        prepared = prepare(hv)
        for lo in range(0, M + 1, step_rows):
            hi = min(M + 1, lo + step_rows)
            values = q_values(prepared, lo, hi)
            rows = slice(lo * K, hi * K)
            out[rows] = values.max(axis=1)
            if greedy:
                pick[rows] = values.argmax(axis=1)
        return out + state_reward, pick

    hv = np.zeros(n_states)
    lower, upper, converged, iterations = -math.inf, math.inf, False, 0
    for iterations in range(1, max_iter + 1):
        th, _ = bellman(hv)
        diff = th - hv
        lower, upper = float(diff.min()), float(diff.max())
        if damping < 1.0:
            th = (1.0 - damping) * hv + damping * th
        hv = th - th[0]
        if upper - lower <= tol * max(1.0, abs(lower), abs(upper)):
            converged = True
            break
    _, order = bellman(hv, greedy=True)
    shape = (M + 1,) + (Q + 1,) * (L - 1) if L >= 1 else (M + 1,)
    order = order.reshape(shape)
    hv = hv.reshape(shape)
    order.flags.writeable = False
    hv.flags.writeable = False
    return SolveResult(gain=0.5 * (lower + upper), lower=lower, upper=upper,
                       iterations=iterations, converged=converged, n_states=n_states,
                       order=order, relative_values=hv, lead_time=L, capacity=M, max_order=Q)


# --------------------------------------------------- fixed policies on the full state

@dataclasses.dataclass(frozen=True)
class PolicyValue:
    """Exact long-run averages per period of one (capped) base-stock policy.

    ``gain`` = ``revenue`` - ``purchase_cost`` - ``holding_cost`` - ``penalty_cost``;
    ``mean_order`` exceeds ``mean_sales`` by the units discarded at the capacity.
    ``closed_classes`` counts the recurrent classes of the chain reachable from the start
    state (with more than one, the averages are those from the start state);
    ``residual`` is |pi P - pi|_1 of the distribution used.
    """

    level: int
    cap: int
    gain: float
    revenue: float
    purchase_cost: float
    holding_cost: float
    penalty_cost: float
    mean_sales: float
    mean_order: float
    mean_lost: float
    n_states: int
    closed_classes: int
    iterations: int
    residual: float

    @property
    def cost(self) -> float:
        return -self.gain


def _lazy_power(transition_t, start, tol, max_iter, stay=0.1):
    """Limit of pi <- stay pi + (1 - stay) pi P from ``start``.

    The chain's own stationary distributions are those of the lazy one, and ``stay`` > 0
    makes every eigenvalue other than 1 smaller than one in modulus, so the iteration
    converges on periodic chains too; a small ``stay`` keeps fast-mixing chains fast.
    """
    pi = start
    for iteration in range(1, max_iter + 1):
        nxt = stay * pi + (1.0 - stay) * (transition_t @ pi)
        change = float(np.abs(nxt - pi).sum())
        pi = nxt
        if change <= tol:
            break
    pi = pi / pi.sum()
    return pi, iteration, float(np.abs(transition_t @ pi - pi).sum())


def _order_up_to_chain(mu, p, c, h, b, L, M, Q, level, cap, start, max_states,
                       tol=1e-13, max_iter=200_000):
    B = Q + 1
    BL = B ** L
    grid = (M + 1) * BL
    if grid >= 2 ** 62:
        raise ValueError(f"the full state grid for lead_time={L}, capacity={M}, "
                         f"max_order={Q} is too large to encode ({grid} points)")
    limit = min(Q, cap)
    kernel = _end_stock_kernel(mu, M)
    sales, end_stock, lost = _period_means(mu, M)

    def code_of(state):
        value = state[0]
        for o in state[1:]:
            value = value * B + o
        return value

    def transitions(codes):
        on_hand, pipe = codes // BL, codes % BL
        digits = [(pipe // B ** (L - 1 - d)) % B for d in range(L)]
        position = on_hand + sum(digits) if L else on_hand
        order = np.minimum(limit, np.maximum(0, level - position))
        if L == 0:
            available = np.minimum(on_hand + order, M)
            rest = np.zeros_like(codes)
        else:
            available = np.minimum(on_hand + digits[0], M)
            rest = (pipe % B ** (L - 1)) * B + order
        return order, available, rest

    start_code = np.array([code_of(start)], dtype=np.int64)
    use_bitmap = grid <= _BITMAP_LIMIT
    if use_bitmap:
        seen = np.zeros(grid, dtype=bool)
        seen[start_code] = True
        slot = np.empty(grid, dtype=np.int64)      # scratch for de-duplication, then lookup
    else:
        seen_sorted = start_code.copy()
    layers, frontier, count = [], start_code, 1
    while frontier.size:
        order, available, rest = transitions(frontier)
        fan = available + 1                                   # e = 0..A
        src = np.repeat(frontier, fan)
        first = np.repeat(np.cumsum(fan) - fan, fan)
        e = np.arange(src.size) - first
        prob = kernel[np.repeat(available, fan), e]
        dst = e * BL + np.repeat(rest, fan)
        keep = prob > 0.0
        src, dst, prob = src[keep], dst[keep], prob[keep]
        layers.append((src, dst, prob))
        if use_bitmap:
            fresh = dst[~seen[dst]]
            slot[fresh] = np.arange(fresh.size)     # one writer per code survives
            new = fresh[slot[fresh] == np.arange(fresh.size)]
            seen[new] = True
        else:
            new = np.unique(dst)
            pos = np.searchsorted(seen_sorted, new)
            found = pos < seen_sorted.size
            found[found] = seen_sorted[pos[found]] == new[found]
            new = new[~found]
            seen_sorted = np.union1d(seen_sorted, new)
        count += new.size
        _check_size(f"the chain of base-stock level={level}, cap={cap} on the full state "
                    f"(I, o_0..o_{{L-1}}) for lead_time={L}", count, max_states,
                    "lower capacity or max_order, or raise max_states")
        frontier = new
    if use_bitmap:
        codes = np.flatnonzero(seen)
        slot[codes] = np.arange(codes.size)

        def index_of(values):
            return slot[values]
    else:
        codes = seen_sorted

        def index_of(values):
            return np.searchsorted(codes, values)
    n = codes.size
    src = index_of(np.concatenate([lay[0] for lay in layers]))
    dst = index_of(np.concatenate([lay[1] for lay in layers]))
    prob = np.concatenate([lay[2] for lay in layers])
    backward = sparse.csr_matrix((prob, (dst, src)), shape=(n, n))   # P transposed

    order, available, _ = transitions(codes)
    per_state = np.stack([p * sales[available], c * order, h * end_stock[available],
                          b * lost[available], sales[available], order, lost[available]])

    n_comp, label = csgraph.connected_components(backward, directed=True,
                                                 connection="strong")
    leaves = label[src] != label[dst]
    closed = np.setdiff1d(np.arange(n_comp), np.unique(label[src[leaves]]))
    if closed.size == 1:
        members = np.flatnonzero(label == closed[0])
        sub = backward[members][:, members]
        pi, iterations, residual = _lazy_power(sub, np.full(members.size, 1.0 / members.size),
                                               tol, max_iter)
        means = per_state[:, members] @ pi
    else:
        first_state = np.zeros(n)
        first_state[index_of(start_code)[0]] = 1.0
        pi, iterations, residual = _lazy_power(backward, first_state, tol,
                                               max_iter)
        means = per_state @ pi
    revenue, purchase, holding, penalty, mean_sales, mean_order, mean_lost = map(float, means)
    return PolicyValue(level=level, cap=cap, gain=revenue - purchase - holding - penalty,
                       revenue=revenue, purchase_cost=purchase, holding_cost=holding,
                       penalty_cost=penalty, mean_sales=mean_sales, mean_order=mean_order,
                       mean_lost=mean_lost, n_states=n, closed_classes=int(closed.size),
                       iterations=iterations, residual=residual)


def _start_state(start, L, M, Q):
    if start is None:
        return (0,) * (L + 1)
    start = tuple(start)
    if len(start) != L + 1:
        raise ValueError(f"start must be (I, o_0, ..., o_{{L-1}}), {L + 1} numbers for "
                         f"lead_time={L}, got {len(start)}")
    on_hand = _integer("start on-hand", start[0], "I", 0)
    pipe = tuple(_integer("start pipeline order", o, "o_d", 0) for o in start[1:])
    if on_hand > M or any(o > Q for o in pipe):
        raise ValueError(f"start {start} lies outside on-hand <= capacity={M} and "
                         f"orders <= max_order={Q}")
    return (on_hand,) + pipe


def evaluate_capped_base_stock(demand_rate, price, unit_cost, holding_cost,
                               lost_sale_penalty, lead_time, capacity, max_order, level, cap,
                               *, start=None, max_states=DEFAULT_MAX_STATES) -> PolicyValue:
    """Exact gain of capped base-stock q = min(cap, Qmax, (S - IP)^+) (Xin 2021).

    Model arguments as in :func:`solve`; ``level`` is the order-up-to level [S] on MODEL.md's
    inventory position IP (on-hand plus every outstanding order, before arrivals), ``cap``
    the largest order the policy places [r]. ``start`` is the full state (I, o_0, ..., o_{L-1})
    the chain is grown from (default: empty). The chain is solved, not simulated, so it is
    the reference the heuristics and the DP are held against. Xin, L. (2021),
    "Understanding the performance of capped base-stock policies in lost-sales inventory
    models", Operations Research 69(1), 61-70.
    """
    mu, p, c, h, b, L, M, Q = _model(demand_rate, price, unit_cost, holding_cost,
                                     lost_sale_penalty, lead_time, capacity, max_order)
    level = _integer("level", level, "S", 0)
    cap = _integer("cap", cap, "r", 0)
    max_states = _integer("max_states", max_states, "state limit", 1)
    return _order_up_to_chain(mu, p, c, h, b, L, M, Q, level, cap,
                              _start_state(start, L, M, Q), max_states)


def evaluate_base_stock(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty,
                        lead_time, capacity, max_order, level, *, start=None,
                        max_states=DEFAULT_MAX_STATES) -> PolicyValue:
    """Exact gain of MODEL.md's base-stock q = min(Qmax, (S - IP)^+), ``level`` = S.

    Arguments as in :func:`evaluate_capped_base_stock`; this is its cap = Qmax case.
    """
    max_order_int = _integer("max_order", max_order, "Qmax", 0)
    return evaluate_capped_base_stock(demand_rate, price, unit_cost, holding_cost,
                                      lost_sale_penalty, lead_time, capacity, max_order,
                                      level, max_order_int, start=start,
                                      max_states=max_states)


# ------------------------------------------------------------------------ the searches

@dataclasses.dataclass(frozen=True)
class BestPolicy:
    """The best (capped) base-stock policy found, and every (level, cap, gain) evaluated."""

    level: int
    cap: int
    value: PolicyValue
    searched: tuple

    @property
    def gain(self) -> float:
        return self.value.gain

    @property
    def cost(self) -> float:
        return -self.value.gain


def _better(gain, best):
    return best is None or gain > best.gain + 1e-12 * max(1.0, abs(best.gain))


def _scan_levels(evaluate, first, top, patience, seen):
    """Best level by stepping up and then down from ``first`` until ``patience`` non-improving
    levels in a row (or the ends 0 and ``top``) are met in each direction."""
    best = None
    for direction in (1, -1):
        level, misses = first if direction == 1 else first - 1, 0
        while 0 <= level <= top and misses < patience:
            value = seen.get(level)
            if value is None:
                value = seen[level] = evaluate(level)
            if _better(value.gain, best):
                best, misses = value, 0
            else:
                misses += 1
            level += direction
    return best


def _search_args(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty, lead_time,
                 capacity, max_order, patience, max_states, start):
    model = _model(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty,
                   lead_time, capacity, max_order)
    patience = _integer("patience", patience, "levels", 1)
    max_states = _integer("max_states", max_states, "state limit", 1)
    start = _start_state(start, model[5], model[6], model[7])
    return model, patience, max_states, start


def _first_level(mu, h, b, p, c, L):
    """Start of the scan: the critical-fractile level of lead-time-plus-one demand, with the
    margin p - c + b of a lost sale against h, where the best level usually lies close by."""
    ratio = (p - c + b) / (p - c + b + h) if (p - c + b + h) > 0 else 0.5
    ratio = min(max(ratio, 0.0), 1.0 - 1e-9)
    return int(stats.poisson.ppf(ratio, mu * (L + 1))) if mu > 0 else 0


def best_base_stock(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty,
                    lead_time, capacity, max_order, *, levels=None, patience=2, start=None,
                    max_states=DEFAULT_MAX_STATES) -> BestPolicy:
    """Best base-stock level S by exact evaluation of every level searched.

    ``levels`` given: every one of them. Otherwise a scan up and down from the critical-
    fractile level, each way until ``patience`` levels in a row fail to improve, within
    0..M + (L + 1) Qmax (beyond, the policy always orders Qmax). The base-stock cost of a
    lost-sales system is convex in S (Janakiraman and Roundy 2004, Operations Research
    52(5)), so the scan finds the best level; the capacity M is outside that result, which
    is what ``levels`` is for.
    """
    (mu, p, c, h, b, L, M, Q), patience, max_states, start = _search_args(
        demand_rate, price, unit_cost, holding_cost, lost_sale_penalty, lead_time, capacity,
        max_order, patience, max_states, start)

    def evaluate(level):
        return _order_up_to_chain(mu, p, c, h, b, L, M, Q, level, Q, start, max_states)

    seen = {}
    if levels is not None:
        levels = [_integer("level", s, "S", 0) for s in levels]
        if not levels:
            raise ValueError("levels must name at least one base-stock level [S]")
        best = None
        for level in levels:
            seen[level] = evaluate(level)
            if _better(seen[level].gain, best):
                best = seen[level]
    else:
        top = M + (L + 1) * Q
        best = _scan_levels(evaluate, min(_first_level(mu, h, b, p, c, L), top), top,
                            patience, seen)
    searched = tuple((s, Q, v.gain) for s, v in sorted(seen.items()))
    return BestPolicy(level=best.level, cap=best.cap, value=best, searched=searched)


def best_capped_base_stock(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty,
                           lead_time, capacity, max_order, *, caps=None, patience=2,
                           start=None, max_states=DEFAULT_MAX_STATES) -> BestPolicy:
    """Best capped base-stock (S, r) by exact evaluation (Xin 2021).

    Every cap r in ``caps`` (default 1..Qmax, all of them: r = Qmax is plain base-stock);
    for each, the level scan of :func:`best_base_stock`, started from the best level of the
    previous cap, since the best S moves little from one cap to the next (it rises as the
    cap tightens). No convexity result covers a fixed cap, so the level part is a local
    search; full grids of (S, r) on Zipkin's L = 3, p = 9 and L = 4, p = 4 instances give
    the same optimum. Model arguments as in :func:`solve`.
    """
    (mu, p, c, h, b, L, M, Q), patience, max_states, start = _search_args(
        demand_rate, price, unit_cost, holding_cost, lost_sale_penalty, lead_time, capacity,
        max_order, patience, max_states, start)
    if caps is None:
        caps = range(max(Q, 1), 0, -1)
    else:
        caps = sorted({_integer("cap", r, "r", 0) for r in caps}, reverse=True)
        if not caps:
            raise ValueError("caps must name at least one order cap [r]")
    top = M + (L + 1) * Q
    first = min(_first_level(mu, h, b, p, c, L), top)
    best, searched = None, []
    for cap in caps:
        def evaluate(level, cap=cap):
            return _order_up_to_chain(mu, p, c, h, b, L, M, Q, level, cap, start, max_states)

        seen = {}
        found = _scan_levels(evaluate, first, top, patience, seen)
        searched.extend((s, cap, v.gain) for s, v in sorted(seen.items()))
        first = found.level
        if _better(found.gain, best):
            best = found
    return BestPolicy(level=best.level, cap=best.cap, value=best, searched=tuple(searched))


# ------------------------------------------------------------------- Zipkin (2008) check

def zipkin_lead_time(zipkin_lead_time: int) -> int:
    """MODEL.md's lead time L for Zipkin's (2008) lead time: the same number.

    Both have an order placed at the start of period t serve the demand of period t + L;
    the DP reproduces his published optimal costs with no shift (module docstring).
    """
    return _integer("zipkin_lead_time", zipkin_lead_time, "Zipkin's L", 0)


def zipkin_instance(lost_sale_penalty, lead_time) -> dict:
    """Keyword arguments of :func:`solve` for Zipkin's (2008) instance (p, L).

    ``lost_sale_penalty`` is Zipkin's p [b here], ``lead_time`` Zipkin's L. Demand Poisson
    of mean 5, h = 1, price = unit_cost = 1 (revenue and purchases cancel, so the gain is
    minus his cost). His system has no capacity and no largest order; here
    capacity M = 5 (L + 4), the mean demand of L + 4 periods, and max_order Qmax = 14, the
    mean plus four standard deviations of one period's demand. They must not bind: with
    price = unit_cost, units discarded at M cost only c = 1, a disposal option Zipkin's
    system lacks, and a tight M lets the optimum use it (M = 25 at L = 4, p = 39 gives a
    cost of 10.7905 against the unbounded 10.7944). The optimal gain is the same to 1e-8
    with M five lower, with Qmax = 12, and with either larger; with M ten lower the cap
    starts to bind at p = 39 (by 1e-6 to 1e-5). The tests check that raising both does not
    move it beyond 1e-4.
    """
    b = _real("lost_sale_penalty", lost_sale_penalty, "b")
    L = zipkin_lead_time(lead_time)
    return dict(demand_rate=5.0, price=1.0, unit_cost=1.0, holding_cost=1.0,
                lost_sale_penalty=b, lead_time=L, capacity=5 * (L + 4), max_order=14)


def zipkin_table(lead_times=ZIPKIN_2008_LEAD_TIMES, penalties=ZIPKIN_2008_PENALTIES, *,
                 as_frame=None):
    """Optimal, best base-stock and best capped base-stock costs on Zipkin's (2008) grid.

    One row per (lead_time, lost_sale_penalty), costs per period (minus the gains), gaps in
    percent of the optimal cost, ``published_cost`` from :data:`ZIPKIN_2008_OPTIMAL_COST`
    (None off his grid). A pandas DataFrame when ``as_frame`` is true, or when it is None
    and pandas can be imported; a list of dicts otherwise.
    """
    rows = []
    for L in lead_times:
        for penalty in penalties:
            args = zipkin_instance(penalty, L)
            optimal = solve(**args).cost
            base = best_base_stock(**args)
            capped = best_capped_base_stock(**args)
            rows.append(dict(
                lead_time=int(L), lost_sale_penalty=float(penalty), optimal_cost=optimal,
                published_cost=ZIPKIN_2008_OPTIMAL_COST.get((int(L), penalty)),
                best_base_stock_level=base.level, base_stock_cost=base.cost,
                base_stock_gap_pct=100.0 * (base.cost - optimal) / optimal,
                capped_level=capped.level, capped_cap=capped.cap, capped_cost=capped.cost,
                capped_gap_pct=100.0 * (capped.cost - optimal) / optimal))
    if as_frame is None or as_frame:
        try:
            # deferred: the table is plain rows unless a frame is asked for
            import pandas
        except ImportError:
            if as_frame:
                raise
        else:
            return pandas.DataFrame(rows)
    return rows

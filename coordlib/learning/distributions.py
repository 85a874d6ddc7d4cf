"""The action laws of the learner's actors (MODEL.md section 6): sampling, log-probabilities
and entropies of what the heads of :mod:`coordlib.learning.agents` output.

- the **order-up-to level** of each product, an index on its level grid
  (:class:`coordlib.learning.features.ScenarioEncoding`), from a normal law around the
  head's centre: on the grid points (``grid``) or as the mass of each point's unit interval
  (``interval``, O(1) per product), see :data:`LEVEL_LAWS`; with the capped head, the centre
  is that of capped base-stock (:func:`capped_centre`);
- the **exposure** of each segment, logistic-normal: a logit z_kj ~ Normal(m_kj, sigma^2) per
  (segment, product) pair and x_k = softmax(z_k).

Every sampler draws from the ``torch.Generator`` it is given and nothing else, so runs are
reproducible; the log-probabilities are per factor (per product's level, per pair's logit),
as the learner's clipped ratios are.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .features import ScenarioEncoding


def level_logits(out: dict, encoding: ScenarioEncoding) -> torch.Tensor:
    """(T, B, N, G) logits of the discretized normal over each product's level grid."""
    mu = encoding.top_index * torch.sigmoid(out["level_mean"] + encoding.level_prior)
    grid = torch.arange(encoding.levels.shape[1], device=mu.device, dtype=mu.dtype)
    return -0.5 * ((grid - mu.unsqueeze(-1)) / out["level_log_std"].exp().unsqueeze(-1)) ** 2


def level_log_probs(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log pi(level) per product; grid points beyond the product's top are masked out."""
    return torch.log_softmax(logits.masked_fill(~mask, -1e9), -1)


def interval_log_prob(out: dict, encoding: ScenarioEncoding, index: torch.Tensor) -> torch.Tensor:
    """log pi(level m) of the interval law: the normal mass of [m - 1/2, m + 1/2) over that of
    [-1/2, top_i + 1/2), in grid steps (float64: the tails stay exact). O(1) per product."""
    return _interval_log_prob(*_level_centre(out, encoding), encoding, index)


def _interval_log_prob(mu, sigma, encoding, index):
    top = encoding.top_index.double()
    m = index.double()
    return (_log_normal_mass((m - 0.5 - mu) / sigma, (m + 0.5 - mu) / sigma)
            - _log_normal_mass((-0.5 - mu) / sigma, (top + 0.5 - mu) / sigma)).float()


def interval_sample(out: dict, encoding: ScenarioEncoding, generator: torch.Generator,
                    deterministic: bool = False) -> torch.Tensor:
    """A level index from the interval law by inverse transform (deterministic: the mode,
    the grid point nearest the centre)."""
    return _interval_sample(*_level_centre(out, encoding), encoding, generator, deterministic)


def _interval_sample(mu, sigma, encoding, generator, deterministic):
    top = encoding.top_index.double()
    if deterministic:
        return torch.minimum(torch.floor(mu + 0.5), top).long()
    lo = torch.special.ndtr((-0.5 - mu) / sigma)
    hi = torch.special.ndtr((top + 0.5 - mu) / sigma)
    u = torch.rand(mu.shape, generator=generator, device=mu.device, dtype=torch.float64)
    x = mu + sigma * torch.special.ndtri((lo + u * (hi - lo)).clamp(1e-300, 1 - 1e-16))
    return torch.minimum(torch.floor(x + 0.5).clamp_min(0), top).long()


def _level_centre(out: dict, encoding: ScenarioEncoding):
    mu = encoding.top_index * torch.sigmoid(out["level_mean"] + encoding.level_prior)
    if "level_cap" in out:
        mu = capped_centre(mu, out["level_cap"], out["position"], encoding)
    return mu.double(), out["level_log_std"].double().exp()


CAP_SOFTNESS = 0.5
"""tau of the capped law's smooth max and min (grid steps): close to the hard ones, with a
gradient for the cap in the states where it almost binds."""


def capped_centre(level: torch.Tensor, cap_output: torch.Tensor, position: torch.Tensor,
                  encoding: ScenarioEncoding, softness: float = CAP_SOFTNESS) -> torch.Tensor:
    """The centre of the capped order law, in grid steps: P + min(C, max(0, S - P)), with
    S the order-up-to level, P the inventory position and C = cap_top sigmoid(c + cap_prior)
    the cap of the order (smooth max and min of softness tau, :data:`CAP_SOFTNESS`), at most
    the top of the grid."""
    tau = softness
    cap = encoding.cap_top * torch.sigmoid(cap_output + encoding.cap_prior)
    wanted = tau * nn.functional.softplus((level - position) / tau)
    order = -tau * torch.logaddexp(-wanted / tau, -cap / tau)
    return torch.minimum(position + order, encoding.top_index)


def _log_normal_mass(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(Phi(b) - Phi(a)) for a < b, from the tail nearer to zero."""
    upper = a > 0
    a, b = torch.where(upper, -b, a), torch.where(upper, -a, b)
    log_b, log_a = torch.special.log_ndtr(b), torch.special.log_ndtr(a)
    return log_b + torch.log1p(-torch.exp((log_a - log_b).clamp_max(-1e-12)))


LEVEL_LAWS = ("grid", "interval")
"""The law of the order-up-to level index given its centre mu and spread sigma (grid steps):
``grid``, P(m) proportional to exp(-(m - mu)^2 / (2 sigma^2)) on the grid points (every point
is scored: O(G) per product); ``interval``, P(m) the normal mass of [m - 1/2, m + 1/2),
truncated to the grid (O(1) per product: sampling by inverse transform, log-probabilities
from four normal CDFs, the entropy bonus on the normal's entropy log sigma + log(2 pi e) / 2)."""


def sample_actions(out: dict, encoding: ScenarioEncoding, generator: torch.Generator,
                   deterministic: bool = False, levels: str = "grid") -> dict:
    """Draw (or, deterministic, take the mode of) the levels and the exposure logits.

    Returns ``level_index`` (T, B, N), ``logits`` z (T, B, K, N), ``exposure`` softmax(z)
    (T, B, K, N), and the per-factor log-probabilities ``logp_levels`` and ``logp_logits``.
    ``levels`` names the level law (:data:`LEVEL_LAWS`). Sampling uses ``generator`` only
    (Gumbel-max or the inverse transform for the levels), so runs are reproducible.
    """
    return {**sample_levels(out, encoding, generator, deterministic, levels),
            **sample_exposures(out, generator, deterministic)}


def sample_levels(out: dict, encoding: ScenarioEncoding, generator: torch.Generator,
                  deterministic: bool = False, levels: str = "grid") -> dict:
    """The replenisher's part of :func:`sample_actions`: ``level_index`` and ``logp_levels``."""
    if levels == "interval":
        mu, sigma = _level_centre(out, encoding)
        index = _interval_sample(mu, sigma, encoding, generator, deterministic)
        logp_levels = _interval_log_prob(mu, sigma, encoding, index)
    else:
        logp = level_log_probs(level_logits(out, encoding), encoding.level_mask)
        if deterministic:
            index = logp.argmax(-1)
        else:
            u = torch.rand(logp.shape, generator=generator, device=logp.device)
            index = (logp - torch.log(-torch.log(u.clamp_min(1e-12)))).argmax(-1)
        logp_levels = logp.gather(-1, index.unsqueeze(-1)).squeeze(-1)
    return {"level_index": index, "logp_levels": logp_levels}


def sample_exposures(out: dict, generator: torch.Generator, deterministic: bool = False) -> dict:
    """The recommender's part of :func:`sample_actions`: ``logits``, ``exposure`` and
    ``logp_logits``."""
    mean, log_std = out["exposure_mean"], out["log_std"]
    if deterministic:
        z = mean
    else:
        z = mean + log_std.exp() * torch.randn(mean.shape, generator=generator, device=mean.device)
    return {"logits": z, "exposure": torch.softmax(z, -1),
            "logp_logits": gaussian_log_prob(z, mean, log_std)}


def gaussian_log_prob(z, mean, log_std):
    return -0.5 * ((z - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def level_entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logp = level_log_probs(logits, mask)
    return -(logp.exp() * logp).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    return 0.5 * math.log(2 * math.pi * math.e) + log_std


def exposure_array(exposure: torch.Tensor) -> np.ndarray:
    """float64 exposures whose rows sum to one to float64 precision."""
    x = exposure.detach().cpu().double().numpy()
    return x / x.sum(-1, keepdims=True)

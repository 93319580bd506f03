"""Closed forms that the verification tests compare simulations against."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sim.chain import SECONDS_PER_DAY, TWO_32


def block_rate_per_day(hashrate_hs: float, difficulty: float) -> float:
    """Expected blocks per day under the bitcoin rule: 86400 · H / (D · 2³²)."""
    return SECONDS_PER_DAY * hashrate_hs / (difficulty * TWO_32)


def mean_block_time_after_loss(share_lost: float, target_s: float = 600.0) -> float:
    """Mean block time once a share s of the hashrate has left, before the next retarget:
    target / (1 − s)."""
    return target_s / (1.0 - share_lost)


def retarget_factor_after_loss(share_lost: float, clamp: float = 4.0) -> float:
    """The difficulty factor of the first full epoch after the loss: (1 − s), clamped.

    (Exactly, E[factor] = (1 − s) · n / (n − 1) for an epoch of n blocks, since the epoch
    time is Gamma(n, ·) and E[1/Gamma(n, θ)] = 1 / ((n − 1) θ).)
    """
    return float(np.clip(1.0 - share_lost, 1.0 / clamp, clamp))


def expected_retarget_factor(share_lost: float, blocks: int, clamp: float = 4.0) -> float:
    """E[factor] for an epoch of `blocks` blocks fully mined after the loss (no clamp hit)."""
    return float(np.clip((1.0 - share_lost) * blocks / (blocks - 1), 1.0 / clamp, clamp))


def shares_after_frictionless_ban(shares: NDArray[np.float64], banned: NDArray[np.bool_]
                                  ) -> NDArray[np.float64]:
    """Shares once the banned regions' hashrate is reallocated in proportion to the others'
    capacity: each other share is rescaled by 1 / (1 − s_b), banned shares become 0."""
    s_b = float(np.sum(shares[banned]))
    return np.where(banned, 0.0, shares / (1.0 - s_b))


def binomial_thinning_mean(count: int, hazard_per_day: float, days: int) -> float:
    """Expected rigs still untouched after `days` days of a constant hazard."""
    return count * float(np.exp(-hazard_per_day * days))

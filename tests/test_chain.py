"""Block production and retargets, verified against the closed forms of sim/theory.py.

Statistical tests use fixed seeds and two-sided tests at the 99.9 % level (a false alarm in
one run of 1,000 with honest code, never a tolerance tuned to pass).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats

from sim import theory
from sim.chain import Chain, fee_path, steady_state_difficulty, subsidy_sum
from sim.scenario import Coin

ALPHA = 1e-3
Z = stats.norm.isf(ALPHA / 2)


def coin(**kw: object) -> Coin:
    spec = {"name": "BTC", "rule": "bitcoin", "subsidy_coins": 50.0,
            "halving_interval_blocks": 210_000, "price": {"kind": "constant", "usd": 1.0}}
    spec.update(kw)
    return Coin.model_validate(spec)


def test_subsidy_sum_across_a_halving() -> None:
    c = coin()
    # heights 209,999 (50), 210,000 and 210,001 (25 each)
    assert subsidy_sum(c, 209_999, 3) == 100.0
    assert subsidy_sum(c, 0, 210_000) == 50.0 * 210_000
    assert subsidy_sum(c, 630_000, 1) == 6.25
    assert subsidy_sum(coin(halving_interval_blocks=None), 10**9, 2) == 100.0


def test_fee_path_steps_from_each_date_on() -> None:
    start = dt.date(2021, 4, 1)
    c = coin(fees_per_block_coins=0.5, fees_schedule=[
        {"date": "2021-03-01", "coins": 1.0},  # before the start: holds from day 0
        {"date": "2021-04-03", "coins": 0.25},
        {"date": "2021-04-06", "coins": 0.0},
        {"date": "2030-01-01", "coins": 9.0}])  # after the run: never reached
    assert fee_path(c, start, 7).tolist() == [1.0, 1.0, 0.25, 0.25, 0.25, 0.0, 0.0]
    assert fee_path(coin(fees_per_block_coins=0.5), start, 3).tolist() == [0.5] * 3


def test_fee_steps_must_increase() -> None:
    with pytest.raises(ValidationError, match="dates must increase"):
        coin(fees_schedule=[{"date": "2021-05-01", "coins": 1.0},
                            {"date": "2021-05-01", "coins": 0.5}])


def test_each_days_blocks_earn_that_days_fees() -> None:
    c = coin(retarget_blocks=10**7, blocks_into_epoch=0, halving_interval_blocks=None,
             fees_per_block_coins=1.0,
             fees_schedule=[{"date": "2021-01-03", "coins": 0.25}])
    fees = fee_path(c, dt.date(2021, 1, 1), 5)
    chain = Chain.start(c, 1e20, fees)
    rng = np.random.default_rng(3)
    for day in range(5):
        mined = chain.advance_day(day, 1e20, rng)
        assert mined.blocks > 0
        assert mined.reward_coins == pytest.approx(mined.blocks * (50.0 + fees[day]))
    assert chain.fees_on(99) == 0.25  # after the run: the last day's level


def test_steady_state_difficulty_gives_the_target_rate() -> None:
    c = coin()
    d = steady_state_difficulty(c, 1.5e20)
    assert theory.block_rate_per_day(1.5e20, d) == pytest.approx(144.0)


def test_daily_blocks_are_poisson_with_the_right_mean() -> None:
    c = coin(retarget_blocks=10**7, blocks_into_epoch=0)
    h = 1.0e20
    chain = Chain.start(c, h)
    chain.difficulty *= 1.1  # a rate other than the target, so the mean is not baked in
    rng = np.random.default_rng(7)
    counts = np.array([chain.advance_day(d, h, rng).blocks for d in range(4000)])
    mean = theory.block_rate_per_day(h, chain.difficulty)
    z = (counts.mean() - mean) / np.sqrt(mean / len(counts))
    assert abs(z) < Z
    # index of dispersion: (n − 1) s² / mean ~ χ²(n − 1) for Poisson counts
    disp = (len(counts) - 1) * counts.var(ddof=1) / mean
    chi2 = stats.chi2(len(counts) - 1)
    assert chi2.ppf(ALPHA / 2) < disp < chi2.isf(ALPHA / 2)


def _epochs_after_loss(share_lost: float, n: int, seed: int) -> list[tuple[float, float]]:
    """(epoch seconds, difficulty factor) of `n` epochs mined entirely after a loss of
    `share_lost`, each starting at the steady-state difficulty of the old hashrate."""
    c = coin(blocks_into_epoch=0)
    rng = np.random.default_rng(seed)
    out = []
    h = 2.0e20
    for _ in range(n):
        chain = Chain.start(c, h)
        chain.epoch_start_s = 0.0
        day = 0
        while True:
            mined = chain.advance_day(day, h * (1.0 - share_lost), rng)
            day += 1
            if mined.retargets:
                rt = mined.retargets[0]
                out.append((rt.epoch_seconds, rt.new_difficulty / rt.old_difficulty))
                break
    return out


@pytest.mark.parametrize("share_lost", [0.0, 0.3, 0.5])
def test_mean_block_time_and_retarget_after_a_loss(share_lost: float) -> None:
    epochs = np.array(_epochs_after_loss(share_lost, 300, seed=11))
    per_block = epochs[:, 0] / 2016
    expected = theory.mean_block_time_after_loss(share_lost)
    # the epoch time is Gamma(2016, expected): per-block mean has sd expected/√2016
    z = (per_block.mean() - expected) / (expected / np.sqrt(2016 * len(per_block)))
    assert abs(z) < Z
    factor = epochs[:, 1]
    exp_factor = theory.expected_retarget_factor(share_lost, 2016)
    # sd of 1/Gamma(n) relative to its mean ≈ 1/√(n − 2)
    z = (factor.mean() - exp_factor) / (exp_factor / np.sqrt(2014) / np.sqrt(len(factor)))
    assert abs(z) < Z


def test_epoch_time_is_gamma_distributed_even_when_retargets_split_days() -> None:
    # KS test of the exact in-day retarget: epoch time ~ Gamma(2016, 600/(1 − s)).
    share_lost = 0.28
    epochs = np.array(_epochs_after_loss(share_lost, 300, seed=12))
    scale = theory.mean_block_time_after_loss(share_lost)
    assert stats.kstest(epochs[:, 0], stats.gamma(a=2016, scale=scale).cdf).pvalue > ALPHA


def test_retarget_is_clamped() -> None:
    epochs = _epochs_after_loss(0.9, 3, seed=13)
    assert [f for _, f in epochs] == pytest.approx([0.25] * 3)
    assert theory.retarget_factor_after_loss(0.9) == 0.25


def test_tracking_rule_keeps_the_target_rate() -> None:
    c = coin(rule="tracking", block_time_s=13.2, halving_interval_blocks=None)
    chain = Chain.start(c, 7e14)
    rng = np.random.default_rng(3)
    counts = np.array([chain.advance_day(d, 7e14 * (1 + d % 3), rng).blocks
                       for d in range(300)])
    mean = 86400 / 13.2
    z = (counts.mean() - mean) / np.sqrt(mean / len(counts))
    assert abs(z) < Z
    assert chain.difficulty == pytest.approx(7e14 * 3 * 13.2)  # follows the last day's H

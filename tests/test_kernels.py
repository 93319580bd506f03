"""Unit tests of the numpy kernels on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import kernels


def test_hashprice_bitcoin_hand_computed() -> None:
    # 86400 s · 6.25 coins · 40,000 USD / (1e13 · 2^32) per H/s per day
    hp = kernels.hashprice_usd_per_hs_day("bitcoin", 1e13, 6.25, 40_000.0, 600.0, 1.0)
    assert hp == pytest.approx(86400 * 6.25 * 40_000 / (1e13 * 2**32))


def test_hashprice_tracking_is_daily_reward_over_hashrate() -> None:
    # 6545.45 blocks a day at 13.2 s · 2 ETH · 3,000 USD / 700 TH/s
    hp = kernels.hashprice_usd_per_hs_day("tracking", 1.0, 2.0, 3000.0, 13.2, 7e14)
    assert hp == pytest.approx(86400 / 13.2 * 2 * 3000 / 7e14)
    # nothing mining: what the last hashrate earned (D = H · block time = 700 TH/s · 13.2 s)
    assert kernels.hashprice_usd_per_hs_day("tracking", 7e14 * 13.2, 2.0, 3000.0, 13.2, 0.0) \
        == pytest.approx(hp)
    assert kernels.hashprice_usd_per_hs_day("tracking", 0.0, 2.0, 3000.0, 13.2, 0.0) == 0.0


def test_power_cost() -> None:
    # 3,250 W for 24 h at 0.05 USD/kWh = 3.90 USD (F2Pool's March 2020 figure for an S19 Pro)
    assert kernels.power_cost_usd_per_day(np.array([3250.0]), np.array([0.05]))[0] == \
        pytest.approx(3.90)


def test_thin_edges() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([5, 0, 7], dtype=np.int64)
    assert kernels.thin(rng, counts, 0.0).tolist() == [0, 0, 0]
    assert kernels.thin(rng, counts, 1.0).tolist() == [5, 0, 7]
    hit = kernels.thin(rng, counts, 0.5)
    assert np.all((hit >= 0) & (hit <= counts))


def test_thin_sparse_path_is_binomial() -> None:
    # 10,000 single rigs at p = 0.03: total hit ~ Binomial(10000, 0.03); two-sided 99.9 % band.
    rng = np.random.default_rng(1)
    ones = np.ones(10_000, dtype=np.int64)
    totals = np.array([kernels.thin(rng, ones, 0.03).sum() for _ in range(200)])
    assert set(np.unique(kernels.thin(rng, ones, 0.03))) <= {0, 1}
    mean_sd = np.sqrt(10_000 * 0.03 * 0.97 / 200)
    z = (totals.mean() - 300.0) / mean_sd
    assert abs(z) < stats.norm.isf(0.0005)


def test_softmax_and_availability() -> None:
    u = np.array([[0.0, np.log(3.0), 5.0], [1.0, 1.0, 1.0]])
    avail = np.array([[True, True, False], [False, False, False]])
    p = kernels.softmax(u, avail)
    assert p[0].tolist() == pytest.approx([0.25, 0.75, 0.0])
    assert p[1].tolist() == [0.0, 0.0, 0.0]


def test_allocate_conserves_and_leaves_remainder() -> None:
    rng = np.random.default_rng(2)
    counts = np.array([100, 50], dtype=np.int64)
    probs = np.array([[0.5, 0.5], [0.2, 0.3]])  # second row: half stays unallocated
    alloc = kernels.allocate(rng, counts, probs)
    assert alloc[0].sum() == 100
    assert alloc[1].sum() <= 50


def test_ration() -> None:
    out = kernels.ration(np.array([10.0, 0.0, 4.0]), np.array([5.0, 3.0, 8.0]))
    assert out.tolist() == [0.5, 1.0, 1.0]


def test_admit_fifo_hand_case() -> None:
    # rows of 3, 4 and 5 rigs at 1 MW each into 6 MW: 3 whole, 3 of 4, none of 5
    got = kernels.admit_fifo(np.array([3, 4, 5]), np.array([1.0, 1.0, 1.0]), 6.0)
    assert got.tolist() == [3, 3, 0]
    assert kernels.admit_fifo(np.array([3]), np.array([1.0]), 0.0).tolist() == [0]


def test_concentration() -> None:
    assert kernels.hhi(np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert kernels.nakamoto(np.array([0.3, 0.25, 0.2, 0.25])) == 2  # 0.3 + 0.25 > 0.5
    assert kernels.nakamoto(np.array([0.5, 0.5])) == 2  # exactly half is not a majority
    assert kernels.nakamoto(np.array([0.6, 0.4])) == 1


def test_expected_mining_days() -> None:
    days = kernels.expected_mining_days(np.array([0.0, 0.01]), 180.0)
    assert days[0] == 180.0
    assert days[1] == pytest.approx((1 - np.exp(-1.8)) / 0.01)


@pytest.mark.parametrize("n", [10, kernels.ADD_AT_BINCOUNT, 5 * kernels.ADD_AT_BINCOUNT])
def test_add_at_is_np_add_at(n: int) -> None:
    """Bit for bit np.add.at's sums, below and above the bincount threshold: of floats into
    zeros (a day's flows), and of whole numbers into whole numbers (arrivals)."""
    rng = np.random.default_rng(n)
    shape = (3, 4, 5)
    index = tuple(rng.integers(0, s, n) for s in shape)
    floats = rng.random(n) * 10.0 ** rng.integers(-3, 15, n)
    into, expected = np.zeros(shape), np.zeros(shape)
    kernels.add_at(into, index, floats)
    np.add.at(expected, index, floats)
    assert np.array_equal(into, expected)
    whole = rng.integers(0, 1000, n)
    into = rng.integers(0, 10**12, shape).astype(float)
    expected = into.copy()
    kernels.add_at(into, index, whole)
    np.add.at(expected, index, whole)
    assert np.array_equal(into, expected)
    flat, expected = np.zeros(7), np.zeros(7)  # one index array, not a tuple
    where = rng.integers(0, 7, n)
    kernels.add_at(flat, where, whole)
    np.add.at(expected, where, whole)
    assert np.array_equal(flat, expected)


@pytest.mark.parametrize(("n", "bound"), [(0, 1), (1, 1), (7, 5), (3000, 400), (50, 10**6),
                                          (2000, 2**21)])
def test_unique_is_np_unique(n: int, bound: int) -> None:
    """The same distinct codes and inverse as np.unique, tabulated (small bounds) or sorted
    (bounds past the table's, or far above the number of codes)."""
    rng = np.random.default_rng(n + bound)
    codes = rng.integers(0, bound, n)
    found, inverse = kernels.unique(codes, bound)
    expected, expected_inverse = np.unique(codes, return_inverse=True)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(inverse, expected_inverse)
    assert found.dtype == np.int64 and inverse.dtype == np.intp


@pytest.mark.parametrize(("n", "num"), [(0, 1), (9, 3), (5000, 40), (3000, 2**15 + 5)])
def test_group_order_is_a_stable_sort(n: int, num: int) -> None:
    """The stable order of np.argsort (whether the labels fit a 16-bit radix sort or not),
    and each label's slice of it."""
    labels = np.random.default_rng(n + num).integers(0, num, n)
    order, bounds = kernels.group_order(labels, num)
    np.testing.assert_array_equal(order, np.argsort(labels, kind="stable"))
    assert len(bounds) == num + 1 and bounds[0] == 0 and bounds[-1] == n
    for j in np.unique(labels).tolist()[:50]:
        np.testing.assert_array_equal(order[bounds[j]:bounds[j + 1]], np.flatnonzero(labels == j))

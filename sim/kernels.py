"""Pure numpy kernels: arrays in, arrays out. No simpy, no I/O, no generator construction.

Shapes: `n` rows of the fleet, `R` regions, `K` hardware models, `P` pools, `C` coins,
`A` alternatives of a choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.chain import SECONDS_PER_DAY, TWO_32

F64 = NDArray[np.float64]

#: From this many values on, `add_at` sums them with a bincount.
ADD_AT_BINCOUNT = 1024


def bincount(keys: NDArray[np.integer], weights: NDArray[np.number] | None, size: int) -> F64:
    """Sums of `weights` by integer key 0 … size − 1 (float64; keys must be < size)."""
    return np.bincount(keys, weights=weights, minlength=size).astype(np.float64, copy=False)


def add_at(into: F64, index: Any, values: NDArray[np.number]) -> None:
    """``np.add.at(into, index, values)``: the values added one by one in their order. Many
    values are summed by a bincount first (the same order, several times faster); the sums
    then equal ``np.add.at``'s exactly where `into` is zero there, or where all are whole
    numbers (counts of rigs)."""
    values = np.asarray(values)
    if values.size < ADD_AT_BINCOUNT:
        np.add.at(into, index, values)
        return
    index = index if isinstance(index, tuple) else (index,)
    flat = np.ravel_multi_index(tuple(np.broadcast_arrays(*index)), into.shape)
    into += np.bincount(flat.ravel(), weights=np.broadcast_to(values, flat.shape).ravel(),
                        minlength=into.size).reshape(into.shape)


#: `unique` tabulates codes below this bound (past it, it sorts as np.unique does).
UNIQUE_TABLE = 1 << 20


def unique(codes: NDArray[np.integer], bound: int
           ) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """``np.unique(codes, return_inverse=True)`` for integer codes in [0, bound): the distinct
    codes in increasing order and where each code is among them. Below UNIQUE_TABLE codes are
    marked in a table of `bound` cells instead of sorted (one pass, whatever their number)."""
    codes = np.asarray(codes, dtype=np.int64).ravel()
    if bound > UNIQUE_TABLE or bound > 64 * len(codes) + 4096:
        found, inverse = np.unique(codes, return_inverse=True)
        return found, inverse.ravel().astype(np.intp, copy=False)
    seen = np.zeros(bound, dtype=bool)
    seen[codes] = True
    found = seen.nonzero()[0]
    rank = np.empty(bound, dtype=np.intp)
    rank[found] = np.arange(len(found))
    return found.astype(np.int64, copy=False), rank[codes]


def radix_order(labels: NDArray[np.integer], num: int) -> NDArray[np.intp]:
    """A stable order of integer `labels` in [0, num) (a radix sort where they fit 16 bits)."""
    labels = np.asarray(labels)
    return np.argsort(labels.astype(np.int16) if num < 2**15 else labels, kind="stable")


def group_order(labels: NDArray[np.integer], num: int
                ) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """:func:`radix_order` of `labels` in [0, num), and where each label starts in it:
    ``order[bounds[j]:bounds[j + 1]]`` are the elements of label j, in their order."""
    counts = np.bincount(np.asarray(labels), minlength=num)
    return radix_order(labels, num), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


I64 = NDArray[np.int64]

#: Below this many unit rows a per-row binomial is as fast as drawing sparsely.
SPARSE_MIN_ROWS = 4096


def hashprice_usd_per_hs_day(
    rule: str, difficulty: float, reward_per_block_coins: float, price_usd: float,
    block_time_s: float, network_hashrate_hs: float,
) -> float:
    """Expected revenue of one H/s for one day, in USD.

    bitcoin: 86400 · reward · price / (D · 2³²); tracking: blocks per day · reward · price / H,
    and where nothing mines, what the last hashrate that did would earn (D = H · block time, so
    86400 · reward · price / D): a rig switching back on expects that network, not nothing.
    """
    if rule == "bitcoin":
        return SECONDS_PER_DAY * reward_per_block_coins * price_usd / (difficulty * TWO_32)
    if network_hashrate_hs <= 0.0:
        return SECONDS_PER_DAY * reward_per_block_coins * price_usd / difficulty \
            if difficulty > 0.0 else 0.0
    blocks = SECONDS_PER_DAY / block_time_s
    return blocks * reward_per_block_coins * price_usd / network_hashrate_hs


def power_cost_usd_per_day(power_w: F64, price_usd_per_kwh: F64) -> F64:
    """Daily power cost of one rig: power_w · 24 h / 1000 · price (broadcasting)."""
    return power_w * (24.0 / 1000.0) * price_usd_per_kwh


def thin(rng: np.random.Generator, counts: I64, p: float) -> I64:
    """How many rigs of each row an event with probability `p` per rig hits.

    Exactly binomial(count, p) per row. Where every row is a single rig and there are many, it
    draws how many rows are hit, then which (sparse: no per-row draw).
    """
    n = len(counts)
    if n == 0 or p <= 0.0:
        return np.zeros(n, dtype=np.int64)
    if p >= 1.0:
        return counts.astype(np.int64, copy=True)
    if n >= SPARSE_MIN_ROWS and bool(np.all(counts == 1)):
        hit = np.zeros(n, dtype=np.int64)
        k = int(rng.binomial(n, p))
        hit[rng.choice(n, size=k, replace=False)] = 1
        return hit
    return rng.binomial(counts, p).astype(np.int64)


def softmax(utilities: F64, available: NDArray[np.bool_]) -> F64:
    """Logit choice probabilities along the last axis; unavailable alternatives get 0.

    Rows with no available alternative get all zeros.
    """
    u = np.where(available, utilities, -np.inf)
    top = u.max(axis=-1, keepdims=True, initial=-np.inf)  # no alternatives: -inf
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(available, np.exp(u - top), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def allocate(rng: np.random.Generator, counts: I64, probs: F64) -> I64:
    """Split each row's rigs over alternatives: multinomial(count_i, probs_i), shape (n, A).

    Rows whose probabilities sum below one leave the remainder unallocated (it is returned in
    no column); the caller treats it as "no change".
    """
    n, a = probs.shape
    if n == 0:
        return np.zeros((0, a), dtype=np.int64)
    return rng.multinomial(counts, with_rest(probs))[:, :a].astype(np.int64)


def with_rest(probs: F64) -> F64:
    """`probs` (n, A) with a last column for the rest, rows normalised (row by row: a row's
    result does not depend on the others)."""
    n, a = probs.shape
    full = np.empty((n, a + 1))
    # (the methods: np.clip's wrapper costs as much again on a few rows)
    probs.clip(0.0, 1.0, out=full[:, :a])
    (1.0 - probs.sum(axis=1)).clip(0.0, 1.0, out=full[:, a])
    full /= full.sum(axis=1, keepdims=True)
    return full


def ration(demand: F64, supply: F64) -> F64:
    """Fraction of each demand that can be served: min(1, supply / demand), 1 where none."""
    out = np.ones_like(demand)
    np.divide(np.maximum(supply, 0.0), demand, out=out, where=demand > 0)
    return np.minimum(out, 1.0)


def admit_fifo(counts: I64, power_mw_per_rig: F64, free_mw: float) -> I64:
    """Rigs admitted per queued row, in the given (first-come) order, into `free_mw`.

    Whole rows are admitted while they fit; the first row that does not fit is admitted in
    part (as many rigs as fit) and the rest wait.
    """
    if len(counts) == 0 or not free_mw > 0.0:
        return np.zeros(len(counts), dtype=np.int64)
    if not np.isfinite(free_mw):
        return np.asarray(counts, dtype=np.int64).copy()
    need = counts * power_mw_per_rig
    before = np.concatenate([[0.0], np.cumsum(need)[:-1]])
    room = np.maximum(free_mw - before, 0.0)
    fit = np.floor(np.minimum(room / power_mw_per_rig + 1e-9, np.iinfo(np.int64).max / 2))
    return np.minimum(counts, fit.astype(np.int64))


def admit_fifo_queues(counts: I64, power_mw_per_rig: F64, queue: NDArray[np.intp],
                      free_mw: F64) -> tuple[I64, F64]:
    """:func:`admit_fifo` of several queues at once: row i (in the given order within its
    queue) waits in queue `queue[i]`, which has `free_mw[queue[i]]` free. Returns the rigs
    admitted per row and the MW taken per queue (of len(free_mw)).

    Each queue's sums run from its first row, in order, as they would alone (a padded matrix,
    one queue a line: a cumulative sum along a line is sequential).
    """
    n = len(counts)
    taken = np.zeros(len(free_mw))
    if n == 0:
        return np.zeros(0, dtype=np.int64), taken
    if queue.min() == queue.max():  # one queue: the same sums, without the padding
        q = int(queue[0])
        admitted = admit_fifo(counts, power_mw_per_rig, float(free_mw[q]))
        taken[q] = np.cumsum(admitted * power_mw_per_rig)[-1]
        return admitted, taken
    lines, line = unique(queue, len(free_mw))
    order, bounds = group_order(line, len(lines))
    starts = bounds[:-1]
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(n) - starts[line[order]]
    width = int(pos.max()) + 1
    need = np.zeros((len(lines), width))
    need[line, pos] = counts * power_mw_per_rig
    done = np.cumsum(need, axis=1)
    before = np.where(pos > 0, done[line, np.maximum(pos - 1, 0)], 0.0)
    free = free_mw[queue]
    room = np.maximum(free - before, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fit = np.floor(np.minimum(room / power_mw_per_rig + 1e-9, np.iinfo(np.int64).max / 2))
    admitted = np.minimum(counts, np.nan_to_num(fit, nan=0.0).astype(np.int64))
    admitted = np.where(np.isfinite(free), admitted, counts)
    admitted = np.where(free > 0.0, admitted, 0).astype(np.int64)
    got = np.zeros((len(lines), width))
    got[line, pos] = admitted * power_mw_per_rig
    taken[lines] = np.cumsum(got, axis=1)[:, -1]
    return admitted, taken


def hhi(shares: F64) -> float:
    """Herfindahl–Hirschman index of shares that sum to one (0 … 1)."""
    return float(np.sum(np.square(shares)))


def nakamoto(shares: F64, threshold: float = 0.5) -> int:
    """Fewest entities whose shares together exceed `threshold`."""
    s = np.sort(np.asarray(shares))[::-1]
    if s.sum() <= threshold:
        return 0
    return int(np.searchsorted(np.cumsum(s), threshold, side="right") + 1)


def expected_mining_days(hazard_per_day: F64, horizon_days: float) -> F64:
    """Expected days of mining within the horizon under a detection hazard: (1 − e^{−hH}) / h."""
    h = np.asarray(hazard_per_day, dtype=float)
    safe = np.where(h > 0, h, 1.0)
    return np.where(h > 0, -np.expm1(-h * horizon_days) / safe, horizon_days)

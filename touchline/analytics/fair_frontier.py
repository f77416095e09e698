"""Relative efficiency of the field sellers on the frontier (Data Envelopment Analysis;
docs/analytics.md, "Fair comparison").

Each seller's outputs (revenue won, new customers) are set against the inputs outside
their control (the territory's market potential, the inherited account base) by the
output-oriented model with variable returns to scale (Banker, Charnes and Cooper, 1984):
for seller o, the largest phi such that a convex combination of sellers uses no more of
each input and reaches phi times each of o's outputs. The score is 1 / phi: 1 on the
frontier, 0.8 where sellers with no more potential and accounts reach 25 % more. The
sellers of the combination are o's *peers*, the best-practice examples.

Each score is one small linear program; they are solved together as one block-diagonal
program (``scipy.optimize.linprog``, HiGHS), since maximising the sum of independent phis
maximises each. Only an efficient seller can be a peer, so the efficient ones are found
first among the sellers no other seller dominates, and the programs of everyone are
built on those few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
from scipy.optimize import linprog

# Peers named per seller, by weight; a weight below this is no peer.
MAX_PEERS = 3
PEER_WEIGHT = 1e-6
# Below this many sellers with every input and output the frontier says nothing.
MIN_SELLERS = 20
EFFICIENT = 1.0 - 1e-7


@dataclass(frozen=True)
class Frontier:
    """Per seller row the efficiency (NaN: none) and the rows of its peers."""

    scores: np.ndarray
    peers: list[list[int]]
    sellers: int
    efficient: int


def undominated(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Return a mask of the rows no other row dominates (no more of every input, at least
    as much of every output, and strictly better in one)."""
    size = len(inputs)
    keep = np.ones(size, dtype=bool)
    for start in range(0, size, 256):
        rows = slice(start, min(start + 256, size))
        no_more = (inputs[None, :, :] <= inputs[rows, None, :]).all(axis=2)
        at_least = (outputs[None, :, :] >= outputs[rows, None, :]).all(axis=2)
        better = (inputs[None, :, :] < inputs[rows, None, :]).any(axis=2) | (
            outputs[None, :, :] > outputs[rows, None, :]
        ).any(axis=2)
        dominated = np.asarray(no_more & at_least & better)
        keep[rows] = ~dominated.any(axis=1)
    return keep


def _solve(
    x: np.ndarray, y: np.ndarray, xr: np.ndarray, yr: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return phi per row of (x, y) against the reference rows (xr, yr), and the weights
    (rows x references); None when the program fails."""
    n, refs = len(x), len(xr)
    inputs, outputs = x.shape[1], y.shape[1]
    width = refs + 1
    weight_columns = (np.arange(n)[:, None] * width + 1 + np.arange(refs)[None, :]).ravel()
    per_block = outputs + inputs
    rows, columns, values = [], [], []
    limits = np.zeros(n * per_block)
    for r in range(outputs):
        index = np.arange(n) * per_block + r
        rows += [index, np.repeat(index, refs)]
        columns += [np.arange(n) * width, weight_columns]
        values += [y[:, r], np.tile(-yr[:, r], n)]
    for i in range(inputs):
        index = np.arange(n) * per_block + outputs + i
        rows.append(np.repeat(index, refs))
        columns.append(weight_columns)
        values.append(np.tile(xr[:, i], n))
        limits[index] = x[:, i]
    upper = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(n * per_block, n * width),
    )
    convex = sparse.csr_matrix(
        (np.ones(n * refs), (np.repeat(np.arange(n), refs), weight_columns)),
        shape=(n, n * width),
    )
    cost = np.zeros(n * width)
    cost[::width] = -1.0
    found = linprog(
        cost,
        A_ub=upper,
        b_ub=limits,
        A_eq=convex,
        b_eq=np.ones(n),
        bounds=(0, None),
        method="highs",
    )
    if not found.success:
        return None
    solution = found.x.reshape(n, width)
    return solution[:, 0], solution[:, 1:]


def frontier(inputs: np.ndarray, outputs: np.ndarray) -> Frontier:
    """Return each row's output-oriented VRS efficiency and its peers.

    Rows with a missing or negative value, or with no output at all, get no score; below
    ``MIN_SELLERS`` usable rows (or when the solver fails) nobody gets one.
    """
    size = len(inputs)
    scores = np.full(size, np.nan)
    peers: list[list[int]] = [[] for _ in range(size)]
    usable = (
        np.isfinite(inputs).all(axis=1)
        & np.isfinite(outputs).all(axis=1)
        & (inputs >= 0).all(axis=1)
        & (outputs >= 0).all(axis=1)
        & (outputs > 0).any(axis=1)
    )
    rows = np.flatnonzero(usable)
    if len(rows) < MIN_SELLERS:
        return Frontier(scores, peers, len(rows), 0)
    # Scaled to their means, so that the programs are well conditioned.
    x = inputs[rows] / inputs[rows].mean(axis=0).clip(min=1e-12)
    y = outputs[rows] / outputs[rows].mean(axis=0).clip(min=1e-12)
    candidates = np.flatnonzero(undominated(x, y))
    first = _solve(x[candidates], y[candidates], x[candidates], y[candidates])
    if first is None:
        return Frontier(scores, peers, len(rows), 0)
    efficient = candidates[first[0] <= 1.0 / EFFICIENT]
    found = _solve(x, y, x[efficient], y[efficient])
    if found is None:
        return Frontier(scores, peers, len(rows), 0)
    phi, weights = found
    scores[rows] = np.clip(1.0 / np.maximum(phi, 1e-12), 0.0, 1.0)
    for position, row in enumerate(rows):
        order = np.argsort(-weights[position])[:MAX_PEERS]
        peers[row] = [
            int(rows[efficient[i]])
            for i in order
            if weights[position, i] > PEER_WEIGHT and rows[efficient[i]] != row
        ]
    return Frontier(scores, peers, len(rows), int(np.sum(scores[rows] >= EFFICIENT)))

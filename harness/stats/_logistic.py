"""Maximum likelihood for logistic models with fractional outcomes (a tie is half a win).

Row i of the design carries `wins[i]` and `losses[i]` (non-negative weights; a bootstrap
resample multiplies them by how often the case was drawn). The log-likelihood,
sum_i wins_i * log(sigmoid(x_i . beta)) + losses_i * log(sigmoid(-x_i . beta)), is concave, so
Newton's method with step halving finds its maximum when one exists.

It does not always exist. If some beta != 0 has x_i . beta >= 0 on every row with wins and
<= 0 on every row with losses (the data are separable: one model never lost, say), the
likelihood keeps growing towards infinity along beta and the estimate is infinite. The fit then
returns None rather than whatever large number an optimizer stopped at.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_TOLERANCE = 1e-8  # log-odds; 1e-8 is a millionth of an Elo point
_MAX_ITERATIONS = 100
_SATURATED = 14.0  # log-odds: e**14 is about 1.2 million to one


def fit_logistic(design: np.ndarray, wins: np.ndarray, losses: np.ndarray,
                 start: np.ndarray | None = None) -> np.ndarray | None:
    """beta maximizing the likelihood, or None when no finite, unique maximum exists.

    On separable data Newton's method walks off along the direction of separation until the
    fitted probabilities round to exactly 0 or 1, where it appears to converge. A fit whose
    odds on some row are beyond about a million to one (margin above `_SATURATED`) is therefore
    checked with the exact test, `is_separable`; for real data that check is rarely needed.
    `start` (the full-data estimate, for a bootstrap resample) only saves iterations.
    """
    design, wins, losses = _used_rows(design, wins, losses)
    if design.shape[0] == 0 or not _identified(design):
        return None  # some coefficient is not identified by the data
    beta = np.zeros(design.shape[1]) if start is None or not np.all(np.isfinite(start)) else np.array(start, float)
    total = wins + losses
    current = log_likelihood(design, wins, losses, beta)
    separable = None  # decided by the exact test the first time the odds on some row run away
    for _ in range(_MAX_ITERATIONS):
        probability = _sigmoid(design @ beta)
        gradient = design.T @ (wins - total * probability)
        hessian = (design * (total * probability * (1 - probability))[:, None]).T @ design
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        scale = 1.0
        candidate, value = beta + step, log_likelihood(design, wins, losses, beta + step)
        while value < current - 1e-12 and scale > 1e-8:
            scale /= 2
            candidate = beta + scale * step
            value = log_likelihood(design, wins, losses, candidate)
        beta, current = candidate, value
        if not np.all(np.isfinite(beta)):
            return None
        saturated = np.max(np.abs(design @ beta)) > _SATURATED
        if saturated and separable is None:
            # separable data would otherwise cost every remaining iteration before giving up
            separable = is_separable(design, wins, losses)
        if saturated and separable:
            return None
        if np.max(np.abs(step)) < _TOLERANCE:
            return beta
    return None


def is_separable(design: np.ndarray, wins: np.ndarray, losses: np.ndarray) -> bool:
    """True when some beta != 0 never lowers the likelihood, so the maximum is at infinity.

    Linear program: maximize the sum of the signed margins over the rows, each margin kept
    non-negative, beta in a unit box. A positive optimum is a direction of separation. (With a
    full-rank design any beta != 0 with all margins >= 0 has a positive one.)
    """
    from scipy.optimize import linprog

    design, wins, losses = _used_rows(design, wins, losses)
    signed = np.vstack([design[wins > 0], -design[losses > 0]])
    result = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(signed.shape[0]),
                     bounds=[(-1, 1)] * design.shape[1], method="highs")
    return bool(result.status == 0 and -result.fun > 1e-9 * max(1.0, np.abs(signed).sum()))


def log_likelihood(design: np.ndarray, wins: np.ndarray, losses: np.ndarray, beta: np.ndarray) -> float:
    margin = design @ beta
    # log(sigmoid(m)) = -log(1 + exp(-m)), written stably with logaddexp
    return float(-(wins @ np.logaddexp(0.0, -margin)) - losses @ np.logaddexp(0.0, margin))


def _identified(design: np.ndarray) -> bool:
    """Full column rank, judged on the small Gram matrix rather than the tall design."""
    eigenvalues = np.linalg.eigvalsh(design.T @ design)
    return bool(eigenvalues[0] > max(eigenvalues[-1], 1.0) * 1e-12)


def _used_rows(design, wins, losses):
    design = np.asarray(design, dtype=float)
    wins, losses = np.asarray(wins, dtype=float), np.asarray(losses, dtype=float)
    used = (wins + losses) > 0
    return design[used], wins[used], losses[used]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


_RESAMPLE_TOLERANCE = 1e-6  # log-odds; the last step is applied, so what is left is of the order of its square
_RESAMPLE_ITERATIONS = 8  # passes over the rows before a resample is handed to `fit_logistic`
_RESAMPLE_CHUNK = 1_000_000  # resamples x rows evaluated at once: arrays of 8 MB
_WELL_CONDITIONED = 1e-10  # smallest over largest Hessian eigenvalue for a Newton step taken in bulk


def fit_logistic_resamples(design: np.ndarray, wins_by_case, losses_by_case, counts: np.ndarray,
                           start: np.ndarray | None) -> np.ndarray:
    """`fit_logistic` for every bootstrap resample at once: (resamples, coefficients), NaN where it gives None.

    Resample r weights row i with wins `counts[r] @ wins_by_case[:, i]` and losses likewise: `counts` is
    (resamples, cases), how often each case was drawn; `wins_by_case` and `losses_by_case` are
    (cases, rows), each case's share of a row's wins and losses (dense, or scipy.sparse when each row
    comes from one case). Newton's method runs on all resamples together:
    - the first step, from the common `start` (the full-data estimate), needs no pass over the rows:
      gradient and Hessian at one point are sums over cases, so one matrix product with `counts`
      gives them for every resample;
    - each later step evaluates every resample's rows at its own coefficients, chunk by chunk; the
      Hessian is refreshed only while steps are large (a Hessian from a nearby point still converges);
    - a resample is done when its step is below 1e-6 log-odds, that step applied.
    A resample that does not settle so within a few passes, or whose Hessian is near singular or
    whose odds on some row run past a million to one, is fitted alone by `fit_logistic`, which
    decides it exactly as it does a single fit (separable data, no identification).
    """
    design = np.asarray(design, dtype=float)
    counts = np.asarray(counts, dtype=float)
    n_resamples, n_params = counts.shape[0], design.shape[1]
    betas = np.full((n_resamples, n_params), np.nan)
    if n_resamples == 0:
        return betas
    start = np.zeros(n_params) if start is None or not np.all(np.isfinite(start)) else np.asarray(start, float)
    totals_by_case = wins_by_case + losses_by_case
    # each row in one case: a resample's weights on the rows are a gather of its counts
    one_case = _one_case_per_row(totals_by_case, design.shape[0])
    products, pairs = _products(design)
    rows = _Rows(design, products, pairs, design.astype(np.float32), products.astype(np.float32),
                 np.max(np.abs(design), axis=0) if design.shape[0] else np.zeros(n_params))
    # Gradient and Hessian at `start`, and the parts of every later gradient and Hessian that are
    # linear in the weights, as sums over cases. With t = tanh(margin / 2), p = (1 + t) / 2 and
    # p (1 - p) = (1 - t^2) / 4, so only the terms in t need the rows.
    probability = _sigmoid(design @ start)
    gradient_at_start = counts @ np.asarray(wins_by_case @ design - totals_by_case @ (probability[:, None] * design))
    hessian_at_start = counts @ np.asarray(totals_by_case @ ((probability * (1 - probability))[:, None] * products))
    gradient_base = counts @ np.asarray(wins_by_case @ design - 0.5 * (totals_by_case @ design))
    hessian_base = counts @ np.asarray(0.25 * (totals_by_case @ products))

    step, solved = _newton_steps(gradient_at_start, _square(hessian_at_start, pairs, n_params))
    current = start + step
    pending = np.flatnonzero(solved)
    rows_per_chunk = max(1, _RESAMPLE_CHUNK // max(design.shape[0], 1))
    for first in range(0, pending.size, rows_per_chunk):
        chunk = pending[first:first + rows_per_chunk]
        if one_case is None:
            totals = np.asarray(counts[chunk] @ totals_by_case)  # (chunk, rows)
        else:
            totals = counts[chunk][:, one_case[0]] * one_case[1]
        done = _settle(rows, totals, gradient_base[chunk], hessian_base[chunk], current[chunk])
        betas[chunk] = done
    for r in np.flatnonzero(np.isnan(betas).any(axis=1)):
        wins = np.asarray(counts[r] @ wins_by_case).ravel()
        losses = np.asarray(counts[r] @ losses_by_case).ravel()
        beta = fit_logistic(design, wins, losses, start)
        if beta is not None:
            betas[r] = beta
    return betas


def _one_case_per_row(by_case, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(case of each row, its weight) when the sparse (cases, rows) matrix has one entry per row."""
    if not hasattr(by_case, "tocoo"):
        return None
    entries = by_case.tocoo()
    if entries.nnz != n_rows or np.unique(entries.col).size != n_rows:
        return None
    order = np.argsort(entries.col)
    return entries.row[order], entries.data[order]


class _Rows(NamedTuple):
    """The design, its products x_a x_b (a <= b), both also in single precision, and column bounds."""
    design: np.ndarray
    products: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray]
    design_single: np.ndarray
    products_single: np.ndarray
    largest: np.ndarray  # max |x_k| per column


def _settle(rows: _Rows, totals, gradient_base, hessian_base, beta) -> np.ndarray:
    """Newton steps for one chunk of resamples; NaN rows for those left to the single fit.

    The first pass over the rows, which only has to bring each resample close, runs in single
    precision (about twice as fast); its rounding does not reach the answer, because a resample
    is done only after a pass in double precision whose step is below the tolerance.
    """
    n_params = rows.design.shape[1]
    result = np.full(beta.shape, np.nan)
    active = np.arange(beta.shape[0])
    hessian, last_step = None, np.full(beta.shape[0], np.inf)
    for iteration in range(_RESAMPLE_ITERATIONS):
        if not np.all(np.isfinite(beta[active])):
            keep = np.isfinite(beta[active]).all(axis=1)
            active, last_step = active[keep], last_step[keep]
            hessian = None if hessian is None else hessian[keep]
            if active.size == 0:
                break
        single = iteration == 0
        design, products = (rows.design_single, rows.products_single) if single else (rows.design, rows.products)
        weights = totals if active.size == beta.shape[0] else totals[active]
        weights = weights.astype(design.dtype, copy=False)
        t = (0.5 * beta[active]).astype(design.dtype) @ design.T
        np.tanh(t, out=t)  # tanh(margin / 2)
        # odds past a million to one on some row (|margin| > _SATURATED) mean separable data or
        # nearly so: such a resample is left to the single fit, which decides it exactly
        saturated = np.abs(beta[active]) @ rows.largest > _SATURATED
        if saturated.any():
            saturated[saturated] = np.abs(t[saturated]).max(axis=1) > np.tanh(0.5 * _SATURATED)
        refresh = hessian is None or np.any(last_step > 1e-3)
        weighted = weights * t if refresh else np.multiply(t, weights, out=t)
        gradient = gradient_base[active] - 0.5 * (weighted @ design)
        if refresh:
            weighted *= t
            hessian = _square(hessian_base[active] - 0.25 * (weighted @ products), rows.pairs, n_params)
        step, solved = _newton_steps(gradient, hessian)
        beta[active] += np.where(solved[:, None], step, 0.0)
        last_step = np.max(np.abs(step), axis=1)
        finished = solved & (last_step < _RESAMPLE_TOLERANCE) & ~saturated & (not single)
        result[active[finished]] = beta[active[finished]]
        keep = solved & ~finished & ~saturated
        active, hessian, last_step = active[keep], hessian[keep], last_step[keep]
        if active.size == 0:
            break
    return result


def _newton_steps(gradient: np.ndarray, hessian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps H^-1 g per resample, and which resamples had a Hessian fit to solve."""
    eigenvalues = np.linalg.eigvalsh(hessian)
    solved = eigenvalues[:, 0] > _WELL_CONDITIONED * np.maximum(eigenvalues[:, -1], 1e-300)
    steps = np.zeros_like(gradient)
    if np.any(solved):
        steps[solved] = np.linalg.solve(hessian[solved], gradient[solved][:, :, None])[:, :, 0]
    return steps, solved


def _products(design: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """x_a * x_b for a <= b, one column each: a Hessian is a weighted sum of these rows."""
    upper = np.triu_indices(design.shape[1])
    return design[:, upper[0]] * design[:, upper[1]], upper


def _square(packed: np.ndarray, pairs: tuple[np.ndarray, np.ndarray], n_params: int) -> np.ndarray:
    """Symmetric (resamples, p, p) matrices from their upper triangles."""
    square = np.zeros((packed.shape[0], n_params, n_params))
    square[:, pairs[0], pairs[1]] = packed
    square[:, pairs[1], pairs[0]] = packed
    return square

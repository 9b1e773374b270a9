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
        if np.max(np.abs(step)) < _TOLERANCE:
            saturated = np.max(np.abs(design @ beta)) > _SATURATED
            return None if saturated and is_separable(design, wins, losses) else beta
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

"""Kaplan–Meier estimation with R's conventions (STAT-1, STAT-2), in numpy.

Why not a library: the numbers must equal R's ``survival::survfit`` at the ends of the curve,
where libraries differ (lifelines writes a [1, 1] interval where the survival is 1, reports a
median that lands exactly on 0.5 as "not reached" and writes "not reached" as ``inf``).  The
conventions below are R's (survival 3.x), checked against R in ``tests/test_r_crosscheck.py``:

* the curve steps at every distinct time (events and censorings); events at a time are counted
  before the censorings at that time (a subject censored at *t* is at risk at *t*);
* events at time 0 count (the curve may start below 1);
* Greenwood standard error of log S, ``sqrt(sum d / (n (n - d)))``; the pointwise 95 % interval
  on the log(−log) scale, **missing** where S is 1 or 0 (R: ``NA``);
* values at a time *t*: the step at the last distinct time <= *t*; missing past the last time;
  before the first time (nobody's follow-up has ended yet) 1 with the interval [1, 1], as R's
  ``summary(fit, times = t)`` writes it;
* the median (and its Brookmeyer–Crowley interval, read off the interval curves) as R's
  ``print.survfit`` / ``summary(fit)$table``: the first time the curve is below 0.5 (within
  ``sqrt(machine epsilon)``); when it is exactly 0.5 on a flat stretch followed by a drop, the
  midpoint of that stretch; missing ("not reached") when it never gets there;
* the restricted mean survival time (RMST) up to *tau* and its standard error as
  ``print(fit, rmean = tau)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))
# R's tolerance for "equal to 0.5" in medians (sqrt(.Machine$double.eps)).
MEDIAN_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class KMFit:
    """A Kaplan–Meier curve at each distinct time (events and censorings).

    ``surv``, ``se_log`` (Greenwood SE of log S), ``lower`` and ``upper`` (log(−log) 95 %
    interval; NaN where S is 0 or 1) are right-continuous values at ``time``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    se_log: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int

    def at(self, t: float) -> tuple[float, float, float]:
        """Survival at ``t`` with its interval; NaN past the last time (R: not reported)."""
        if self.n == 0 or t > float(self.time[-1]):
            return float("nan"), float("nan"), float("nan")
        i = int(np.searchsorted(self.time, t, side="right")) - 1
        if i < 0:  # before the first time: R's summary() gives 1 with the interval [1, 1]
            return 1.0, 1.0, 1.0
        return float(self.surv[i]), float(self.lower[i]), float(self.upper[i])

    def at_risk(self, t: float) -> int:
        """Number at risk at ``t`` (subjects whose time is >= t)."""
        later = self.time >= t
        return int(self.n_risk[later][0]) if later.any() else 0

    def median(self) -> tuple[float, float, float]:
        """Median and its 95 % interval; NaN for "not reached" (see the module docstring)."""
        # The lower curve reaches 0.5 first: it gives the lower limit.
        return (first_below_half(self.time, self.surv), first_below_half(self.time, self.lower),
                first_below_half(self.time, self.upper))

    def rmst(self, tau: float) -> tuple[float, float]:
        """Restricted mean survival time up to ``tau`` and its standard error (R's survmean)."""
        return restricted_mean(self, tau)


def log_log_interval(p: np.ndarray, se_log: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log(−log) interval of a probability ``p`` from the SE of log ``p``.

    Missing where ``p`` is 0 or 1 or the SE is not finite, as in R's ``survfit_confint``.
    """
    p = np.asarray(p, dtype=float)
    se_log = np.asarray(se_log, dtype=float)
    ok = (p > 0) & (p < 1) & np.isfinite(se_log)
    lower = np.full(p.shape, np.nan)
    upper = np.full(p.shape, np.nan)
    lp = np.log(p[ok])
    shift = z * se_log[ok] / lp
    lower[ok] = np.exp(-np.exp(np.log(-lp) - shift))
    upper[ok] = np.exp(-np.exp(np.log(-lp) + shift))
    return lower, upper


def fit(durations: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray) -> KMFit:
    """Kaplan–Meier estimate of ``durations`` with ``events`` (True: event, False: censored)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if t.shape != e.shape:
        raise ValueError("durations and events differ in length")
    if len(t) and (np.isnan(t).any() or (t < 0).any()):
        raise ValueError("durations must be non-negative numbers")
    times, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=e.astype(float), minlength=len(times))
    n_total = np.bincount(inverse, minlength=len(times)).astype(float)
    n_censor = n_total - n_event
    n_risk = len(t) - np.concatenate([[0.0], np.cumsum(n_total)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    se_log = np.sqrt(np.cumsum(terms))
    lower, upper = log_log_interval(surv, se_log)
    return KMFit(time=times, n_risk=n_risk, n_event=n_event, n_censor=n_censor, surv=surv,
                 se_log=se_log, lower=lower, upper=upper, n=len(t))


def first_below_half(time: np.ndarray, curve: np.ndarray) -> float:
    """R's median rule on one curve (estimate or interval limit): NaN when never reached."""
    keep = ~np.isnan(curve) & (curve < 0.5 + MEDIAN_TOLERANCE)
    if not keep.any():
        return float("nan")
    x, y = time[keep], curve[keep]
    if abs(y[0] - 0.5) < MEDIAN_TOLERANCE:
        lower = np.nonzero(y < y[0])[0]
        if len(lower):
            # Flat at exactly 0.5, then a drop: the midpoint, as the median of an even sample.
            return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def restricted_mean(km: KMFit, tau: float) -> tuple[float, float]:
    """Area under the curve from 0 to ``tau`` and its standard error.

    The variance is ``sum_j A_j^2 d_j / (n_j (n_j - d_j))`` over event times ``t_j <= tau``,
    where ``A_j`` is the area under the curve from ``t_j`` to ``tau`` (R's ``survmean``).
    """
    if km.n == 0:
        return float("nan"), float("nan")
    keep = km.time <= tau
    times = np.concatenate([km.time[keep], [tau]])
    surv = np.concatenate([km.surv[keep], [km.surv[keep][-1] if keep.any() else 1.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where((km.n_risk - km.n_event) > 0,
                          km.n_event / (km.n_risk * (km.n_risk - km.n_event)), 0.0)
    hazard = np.concatenate([hazard[keep], [0.0]])
    start = min(0.0, float(km.time[0]))
    widths = np.diff(np.concatenate([[start], times]))
    heights = np.concatenate([[1.0], surv[:-1]])
    rectangles = widths * heights
    # Area after each time point: the rectangles to its right.
    after = np.concatenate([np.cumsum(rectangles[::-1])[::-1][1:], [0.0]])
    variance = float(np.sum(after**2 * hazard))
    return float(rectangles.sum() + start), float(np.sqrt(variance))

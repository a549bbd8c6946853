"""Aalen–Johansen cumulative incidence with competing risks (STAT-4, END-LTP-3/4), in numpy.

Event codes as everywhere in the analysis: 0 censored, 1 the event of interest, 2 a competing
event.  Conventions (R's ``survfit(Surv(time, factor(status)) ~ 1)``, survival 3.x):

* every distinct time is a step; at a time, events of both kinds come before censorings;
* events at time 0 count: a subject "never disease-free" (END-DFS-4, an event at day 0) raises
  the curve at 0 (lifelines' ``AalenJohansenFitter`` drops them);
* no jitter: tied times stay tied;
* the standard error is R's for multi-state curves, the infinitesimal jackknife: the square
  root of the sum over subjects of the squared derivative of the estimate with respect to the
  subject's case weight (here computed exactly by the chain rule through the recursion);
* the 95 % interval is on the log(−log) scale of the incidence (R ``conf.type = "log-log"``),
  missing where the incidence is 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .kaplan_meier import Z95


@dataclass(frozen=True)
class CIFit:
    """Cumulative incidence of event code 1 at each distinct time, with its interval."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_competing: np.ndarray
    cif: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    free: np.ndarray  # probability of being free of both events (overall survival of the pair)
    n: int

    def at(self, t: float) -> tuple[float, float, float]:
        """Incidence at ``t`` with its interval; NaN past the last time; before the first time
        0 with the interval [0, 0] (R's ``summary(fit, times = t)``)."""
        if self.n == 0 or t > float(self.time[-1]):
            return float("nan"), float("nan"), float("nan")
        i = int(np.searchsorted(self.time, t, side="right")) - 1
        if i < 0:
            return 0.0, 0.0, 0.0
        return float(self.cif[i]), float(self.lower[i]), float(self.upper[i])

    def se_at(self, t: float) -> float:
        if self.n == 0 or t > float(self.time[-1]):
            return float("nan")
        i = int(np.searchsorted(self.time, t, side="right")) - 1
        return 0.0 if i < 0 else float(self.se[i])


def incidence_interval(p: np.ndarray, se: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """log(−log) interval of probabilities ``p`` with standard errors ``se`` (not of log p)."""
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = (p > 0) & (p < 1) & np.isfinite(se)
    lower = np.full(p.shape, np.nan)
    upper = np.full(p.shape, np.nan)
    lp = np.log(p[ok])
    shift = z * (se[ok] / p[ok]) / lp
    lower[ok] = np.exp(-np.exp(np.log(-lp) - shift))
    upper[ok] = np.exp(-np.exp(np.log(-lp) + shift))
    return lower, upper


def fit(durations: Sequence[float] | np.ndarray, codes: Sequence[int] | np.ndarray) -> CIFit:
    """Aalen–Johansen estimate of the incidence of code 1 with code 2 competing."""
    t = np.asarray(durations, dtype=float)
    c = np.asarray(codes, dtype=int)
    if t.shape != c.shape:
        raise ValueError("durations and event codes differ in length")
    if len(t) and (np.isnan(t).any() or (t < 0).any()):
        raise ValueError("durations must be non-negative numbers")
    if not np.isin(c, (0, 1, 2)).all():
        raise ValueError("event codes must be 0 (censored), 1 (event) or 2 (competing)")
    n = len(t)
    times, inverse = np.unique(t, return_inverse=True)
    k = len(times)
    d1 = np.bincount(inverse, weights=(c == 1).astype(float), minlength=k)
    d2 = np.bincount(inverse, weights=(c == 2).astype(float), minlength=k)
    total = np.bincount(inverse, minlength=k).astype(float)
    n_risk = n - np.concatenate([[0.0], np.cumsum(total)[:-1]])
    d = d1 + d2

    free = np.empty(k)
    cif = np.empty(k)
    var = np.empty(k)
    # Influence of each subject's weight on the two quantities of the recursion.
    infl_free = np.zeros(n)
    infl_cif = np.zeros(n)
    s_prev, f_prev = 1.0, 0.0
    for j in range(k):
        at_risk = inverse >= j  # subjects whose time is >= times[j]
        here = inverse == j
        nj = n_risk[j]
        dn1 = (here & (c == 1)).astype(float)
        dn = (here & (c != 0)).astype(float)
        # d/dw_i of d1/n and d/n: (dN_i - Y_i d/n) / n
        g1 = (dn1 - at_risk * (d1[j] / nj)) / nj
        g = (dn - at_risk * (d[j] / nj)) / nj
        new_infl_cif = infl_cif + infl_free * (d1[j] / nj) + s_prev * g1
        infl_free = infl_free * (1.0 - d[j] / nj) - s_prev * g
        infl_cif = new_infl_cif
        f_prev = f_prev + s_prev * d1[j] / nj
        s_prev = s_prev * (1.0 - d[j] / nj)
        free[j], cif[j] = s_prev, f_prev
        var[j] = float(np.dot(infl_cif, infl_cif))
    se = np.sqrt(var)
    lower, upper = incidence_interval(cif, se)
    return CIFit(time=times, n_risk=n_risk, n_event=d1, n_competing=d2, cif=cif, se=se,
                 lower=lower, upper=upper, free=free, n=n)

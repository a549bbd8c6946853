"""Fine–Gray subdistribution hazard regression (STAT-4; Fine & Gray, JASA 1999;94:496–509).

No maintained Python package fits it, so it is built the standard way: the data are expanded
with inverse-probability-of-censoring weights (IPCW) and a weighted Cox model is fitted to the
expanded ``(start, stop]`` rows (:mod:`.cox`), with the robust variance clustered by subject
(or by patient for per-tumour data, STAT-6).

The expansion is the one of R's ``survival::finegray``:

* ``G`` is the Kaplan–Meier curve of the censoring times, with events counted before
  censorings at a tied time;
* a subject with the event of interest or censored keeps its row ``(0, T]``;
* a subject with a competing event at ``T`` stays in the risk set after ``T`` with the weight
  ``G(t-) / G(T-)`` at time ``t``: its row is extended to the next censoring time, and one row is
  added for each later censoring interval that holds an event of interest.

A stratified model (the primary analysis, stratified by the randomisation factor) fits the
same expanded rows with a baseline subdistribution hazard per stratum.

Ties of the weighted Cox model are Breslow's, as in ``cmprsk::crr``.  The estimates agree with
``coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt, cluster = id, ties = "breslow")``
on ``finegray`` data to machine precision, and with ``cmprsk::crr`` to about 1e-6 (``crr`` puts
subjects with an event at a censoring time in the censoring risk set, and its variance adds a
term for the estimation of ``G``); both are checked in ``tests/test_r_crosscheck.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cox


@dataclass(frozen=True)
class Expanded:
    """Rows of the expanded data set (``row`` indexes the input)."""

    row: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    status: np.ndarray
    weight: np.ndarray


def censoring_curve(durations: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times where the censoring curve G drops, and G just after each (events before censorings)."""
    times = np.unique(durations[codes == 0])
    if len(times) == 0:
        return times, times.copy()
    order = np.sort(durations)
    # At risk of censoring at c: time >= c, minus the events at c (they happen first).
    at_or_after = len(order) - np.searchsorted(order, times, side="left")
    events_at = np.array([np.sum((durations == c) & (codes != 0)) for c in times])
    censored_at = np.array([np.sum((durations == c) & (codes == 0)) for c in times])
    risk = at_or_after - events_at
    return times, np.cumprod(1.0 - censored_at / risk)


def expand(durations: Sequence[float] | np.ndarray, codes: Sequence[int] | np.ndarray) -> Expanded:
    """The IPCW-expanded rows of Fine–Gray's model for event code 1 (code 2 competing)."""
    t = np.asarray(durations, dtype=float)
    c = np.asarray(codes, dtype=int)
    cut_times, cut_prob = censoring_curve(t, c)
    bounds = np.concatenate([cut_times, [t.max()]]) if len(t) else cut_times
    # Probability of the interval ending at bounds[j]: G before that censoring time.
    prob = np.concatenate([[1.0], cut_prob])
    event_times = np.unique(t[c == 1])
    # Intervals (bounds[j-1], bounds[j]] that hold an event of interest are the ones kept.
    keep = np.zeros(len(bounds), dtype=bool)
    keep[np.unique(np.searchsorted(bounds, event_times, side="left"))] = True
    rows: list[int] = []
    starts: list[float] = []
    stops: list[float] = []
    weights: list[float] = []
    for i in range(len(t)):
        if c[i] != 2:
            rows.append(i)
            starts.append(0.0)
            stops.append(float(t[i]))
            weights.append(1.0)
            continue
        j = int(np.searchsorted(bounds, t[i], side="left"))  # first bound >= T
        reference = prob[j]
        rows.append(i)
        starts.append(0.0)
        stops.append(float(bounds[j]))
        weights.append(1.0)
        for k in range(j + 1, len(bounds)):
            if keep[k]:
                rows.append(i)
                starts.append(float(bounds[k - 1]))
                stops.append(float(bounds[k]))
                weights.append(float(prob[k] / reference))
    row = np.asarray(rows, dtype=int)
    status = np.zeros(len(row), dtype=int)
    first = np.concatenate([[True], row[1:] != row[:-1]])
    status[first & (c[row] == 1)] = 1
    return Expanded(row=row, start=np.asarray(starts), stop=np.asarray(stops), status=status,
                    weight=np.asarray(weights))


def fit(
    durations: Sequence[float] | np.ndarray,
    codes: Sequence[int] | np.ndarray,
    x: Any,
    *,
    names: Sequence[str] | None = None,
    cluster: Sequence[Any] | np.ndarray | None = None,
    strata: Sequence[Any] | np.ndarray | None = None,
) -> cox.CoxFit:
    """Fine–Gray model of event code 1 (code 2 competing) on covariates ``x``.

    ``cluster`` groups rows for the robust variance (default: each input row is its own
    cluster, i.e. the expanded rows of one subject are grouped).  ``strata`` gives each stratum
    its own baseline subdistribution hazard, with one censoring curve for all rows, as
    ``coxph(... ~ x + strata(s), weights = fgwt)`` on ``finegray(Surv(t, state) ~ ., data)``.
    """
    data = expand(durations, codes)
    cov = np.asarray(x, dtype=float)
    if cov.ndim == 1:
        cov = cov.reshape(-1, 1)
    groups = np.arange(len(cov)) if cluster is None else np.asarray(cluster).astype(str)
    # A subject's first row starts before time 0, so that events at time 0 have it at risk
    # (added rows start at a censoring time, which may itself be 0).
    first = np.concatenate([[True], data.row[1:] != data.row[:-1]])
    start = np.where(first, -np.inf, data.start)
    layers = None if strata is None else np.asarray(strata).astype(str)[data.row]
    return cox.fit(data.stop, data.status, cov[data.row], names=names, start=start,
                   weights=data.weight, cluster=groups[data.row], ties="breslow", strata=layers)

"""Cox proportional-hazards regression as R's ``survival::coxph`` computes it (STAT-3, STAT-6).

One small, tested implementation serves every model of the analysis: the arm effect (optionally
stratified by the randomisation strata), per-tumour models with patient clusters, and the
weighted counting-process model behind Fine–Gray regression (:mod:`.fine_gray`).  lifelines'
``CoxPHFitter`` was used before; it leaves out Efron's tie correction from the cluster-robust
(sandwich) variance and stops iterating early, so its intervals differ from R's in the fourth
decimal.  Here, as in R:

* ties by Efron's approximation (default) or Breslow's; with case weights, Efron uses the mean
  weight of the tied events;
* data as ``(start, stop]`` intervals (``start`` optional), strata with separate baseline
  hazards, case weights;
* Newton–Raphson from 0 with step halving, iterated to full double precision (the step is below
  1e-12), not to a log-likelihood tolerance;
* model-based variance (inverse information) and, with clusters, the robust variance
  ``V (sum over clusters of the weighted score residuals)^2 V`` with Efron-weighted residuals;
* Wald, likelihood-ratio and score tests;
* the proportional-hazards test of R's ``cox.zph`` (survival >= 3.0): a score test of adding
  ``x * g(t)`` to the model, with ``g`` the Kaplan–Meier transform (R's default), the rank of
  the time or the time itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import chi2 as chi2_dist
from scipy.stats import norm

from ..errors import MrecistError
from .kaplan_meier import Z95
from .kaplan_meier import fit as km_fit

MAX_ITERATIONS = 50
STEP_TOLERANCE = 1e-12


class CoxError(MrecistError, ValueError):
    """The model cannot be estimated from these data (no events, singular information, ...)."""


@dataclass
class _Data:
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    x: np.ndarray  # centred covariates, n x p
    weight: np.ndarray
    strata: np.ndarray  # integer codes
    efron: bool


@dataclass
class _Steps:
    """Per Efron step (one per tied event; one per time under Breslow) at the fitted beta."""

    time: np.ndarray
    stratum: np.ndarray
    frac: np.ndarray
    mult: np.ndarray
    den: np.ndarray
    xbar: np.ndarray  # steps x p
    cov: np.ndarray  # steps x p x p


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model; ``robust_var`` is set when clusters were given."""

    names: tuple[str, ...]
    coef: np.ndarray
    var: np.ndarray
    robust_var: np.ndarray | None
    loglik_null: float
    loglik: float
    score_chi2: float
    iterations: int
    n: int
    events: int
    ties: str
    _data: _Data = field(repr=False)
    _centre: np.ndarray = field(repr=False)

    @property
    def used_var(self) -> np.ndarray:
        """The variance reported: robust when clustered, else model-based."""
        return self.robust_var if self.robust_var is not None else self.var

    def se(self, robust: bool | None = None) -> np.ndarray:
        v = self.used_var if robust is None else (self.robust_var if robust else self.var)
        if v is None:
            raise ValueError("no robust variance: the model was fitted without clusters")
        return np.sqrt(np.diag(v))

    def hazard_ratio(self, i: int = 0) -> tuple[float, float, float]:
        """exp(coef) with its Wald 95 % interval (robust variance when clustered)."""
        b, s = float(self.coef[i]), float(self.se()[i])
        return float(np.exp(b)), float(np.exp(b - Z95 * s)), float(np.exp(b + Z95 * s))

    def wald_p(self, i: int = 0) -> float:
        z = float(self.coef[i]) / float(self.se()[i])
        return float(2 * norm.sf(abs(z)))

    def wald_test(self) -> tuple[float, int, float]:
        """Joint Wald chi-square of all coefficients (robust when clustered), df, p."""
        stat = float(self.coef @ np.linalg.solve(self.used_var, self.coef))
        df = len(self.coef)
        return stat, df, float(chi2_dist.sf(stat, df))

    def lr_test(self) -> tuple[float, int, float]:
        """Likelihood-ratio chi-square against the null model, df, p (model-based)."""
        stat = 2.0 * (self.loglik - self.loglik_null)
        df = len(self.coef)
        return stat, df, float(chi2_dist.sf(stat, df))

    def score_test(self) -> tuple[float, int, float]:
        df = len(self.coef)
        return self.score_chi2, df, float(chi2_dist.sf(self.score_chi2, df))

    def ph_test(self, transform: str = "km") -> dict[str, tuple[float, int, float]]:
        """R's ``cox.zph(fit, transform)`` table: name -> (chi-square, df, p), plus ``GLOBAL``."""
        return _zph(self, transform)


def _prepare(
    time: Any, event: Any, x: Any, *, start: Any = None, strata: Any = None, weights: Any = None,
    ties: str = "efron",
) -> tuple[_Data, np.ndarray]:
    stop = np.asarray(time, dtype=float)
    n = len(stop)
    ev = np.asarray(event, dtype=float)
    cov = np.asarray(x, dtype=float)
    if cov.ndim == 1:
        cov = cov.reshape(-1, 1)
    begin = np.full(n, -np.inf) if start is None else np.asarray(start, dtype=float)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if strata is None:
        codes = np.zeros(n, dtype=int)
    else:
        _, codes = np.unique(np.asarray(strata).astype(str), return_inverse=True)
    if not (len(ev) == len(begin) == len(w) == len(codes) == cov.shape[0] == n):
        raise ValueError("Cox model inputs differ in length")
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties: expected 'efron' or 'breslow', found {ties!r}")
    if np.isnan(stop).any() or np.isnan(cov).any() or (w < 0).any():
        raise ValueError("Cox model inputs hold missing values or negative weights")
    if not np.isin(ev, (0.0, 1.0)).all():
        raise ValueError("Cox model events must be 0 or 1")
    centre = (w @ cov) / w.sum() if w.sum() > 0 else np.zeros(cov.shape[1])
    data = _Data(start=begin, stop=stop, event=ev, x=cov - centre, weight=w, strata=codes,
                 efron=ties == "efron")
    return data, centre


def _tail_sums(keys: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each ``t`` in ``at``: the sum of ``values`` over rows whose key is >= t."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    csum = np.concatenate([np.cumsum(values[order][::-1], axis=0)[::-1],
                           np.zeros((1, *values.shape[1:]))])
    return csum[np.searchsorted(sorted_keys, at, side="left")]


def _steps(data: _Data, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, _Steps]:
    """Log partial likelihood, score, information and the per-step quantities at ``beta``."""
    p = data.x.shape[1]
    eta = data.x @ beta
    with np.errstate(over="ignore", invalid="ignore"):
        return _step_sums(data, beta, p, eta)


def _step_sums(data: _Data, beta: np.ndarray, p: int,
               eta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, _Steps]:
    risk = data.weight * np.exp(eta)
    xr = data.x * risk[:, None]
    xxr = data.x[:, :, None] * data.x[:, None, :] * risk[:, None, None]
    loglik = float(np.sum(data.weight * data.event * eta))
    score = (data.weight * data.event) @ data.x
    info = np.zeros((p, p))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                          ("time", "stratum", "frac", "mult", "den", "xbar", "cov")}
    for s in np.unique(data.strata):
        rows = data.strata == s
        deaths = rows & (data.event == 1)
        if not deaths.any():
            continue
        times, inverse = np.unique(data.stop[deaths], return_inverse=True)
        # Risk-set sums: rows with stop >= t minus rows with start >= t (not yet entered).
        s0 = _tail_sums(data.stop[rows], risk[rows], times)
        s1 = _tail_sums(data.stop[rows], xr[rows], times)
        s2 = _tail_sums(data.stop[rows], xxr[rows], times)
        if np.isfinite(data.start[rows]).any():
            s0 = s0 - _tail_sums(data.start[rows], risk[rows], times)
            s1 = s1 - _tail_sums(data.start[rows], xr[rows], times)
            s2 = s2 - _tail_sums(data.start[rows], xxr[rows], times)
        k = len(times)
        d0 = np.bincount(inverse, weights=risk[deaths], minlength=k)
        d1 = np.stack([np.bincount(inverse, weights=xr[deaths][:, j], minlength=k)
                       for j in range(p)], axis=1)
        d2 = np.zeros((k, p, p))
        np.add.at(d2, inverse, xxr[deaths])
        count = np.bincount(inverse, minlength=k)
        dw = np.bincount(inverse, weights=data.weight[deaths], minlength=k)
        if data.efron:
            idx = np.repeat(np.arange(k), count)
            frac = np.concatenate([np.arange(c) / c for c in count])
            mult = (dw / count)[idx]
        else:
            idx = np.arange(k)
            frac = np.zeros(k)
            mult = dw.astype(float)
        den = s0[idx] - frac * d0[idx]
        m1 = s1[idx] - frac[:, None] * d1[idx]
        m2 = s2[idx] - frac[:, None, None] * d2[idx]
        xbar = m1 / den[:, None]
        cov = m2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
        loglik -= float(np.sum(mult * np.log(den)))
        score = score - mult @ xbar
        info += np.einsum("s,sij->ij", mult, cov)
        for key, value in (("time", times[idx]), ("stratum", np.full(len(idx), s)),
                           ("frac", frac), ("mult", mult), ("den", den), ("xbar", xbar),
                           ("cov", cov)):
            parts[key].append(value)
    if not parts["time"]:
        raise CoxError("no events: the Cox model cannot be estimated")
    steps = _Steps(**{k: np.concatenate(v) for k, v in parts.items()})
    return loglik, score, info, steps


def fit(
    time: Sequence[float] | np.ndarray,
    event: Sequence[int] | np.ndarray,
    x: Any,
    *,
    names: Sequence[str] | None = None,
    start: Any = None,
    strata: Any = None,
    weights: Any = None,
    cluster: Any = None,
    ties: str = "efron",
) -> CoxFit:
    """Fit a Cox model of ``(start, stop]`` data (``start`` None: from time 0).

    Parameters
    ----------
    time, event
        Stop times and event flags (1 event, 0 censored).
    x
        Covariates, an ``n x p`` array (or a vector for one covariate).
    names
        Covariate names (default ``x1, x2, ...``).
    start
        Entry times of counting-process data; None for ordinary right-censored data.
    strata
        Stratum labels (separate baseline hazards).
    weights
        Case weights (Fine–Gray's inverse-probability-of-censoring weights).
    cluster
        Cluster labels (patients of per-tumour rows; subjects of expanded rows): adds the robust
        variance, which is then the one reported.
    ties
        ``"efron"`` (R's default) or ``"breslow"``.
    """
    data, centre = _prepare(time, event, x, start=start, strata=strata, weights=weights,
                            ties=ties)
    p = data.x.shape[1]
    beta = np.zeros(p)
    loglik0, score0, info0, _ = _steps(data, beta)
    try:
        score_chi2 = float(score0 @ np.linalg.solve(info0, score0))
    except np.linalg.LinAlgError:
        raise CoxError("singular information matrix at beta = 0 (a covariate is constant?)") from None
    loglik, score, info = loglik0, score0, info0
    iterations = 0
    while True:
        iterations += 1
        if iterations > MAX_ITERATIONS:
            raise CoxError(f"no convergence in {MAX_ITERATIONS} iterations "
                           "(an arm without events gives an infinite hazard ratio)")
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            raise CoxError("singular information matrix (a covariate is constant?)") from None
        candidate = beta + step
        new_ll, new_score, new_info, _ = _steps(data, candidate)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik)) and halvings < 30:
            step = step / 2
            candidate = beta + step
            new_ll, new_score, new_info, _ = _steps(data, candidate)
            halvings += 1
        beta, loglik, score, info = candidate, new_ll, new_score, new_info
        if np.max(np.abs(step)) < STEP_TOLERANCE * max(1.0, float(np.max(np.abs(beta)))):
            break
    if np.max(np.abs(beta)) > 20:
        raise CoxError("the hazard ratio is not finite (monotone likelihood: an arm without events)")
    loglik, score, info, steps = _steps(data, beta)
    try:
        var = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise CoxError("singular information matrix at the estimate (too few events)") from None
    if not (np.isfinite(np.diag(var)).all() and (np.diag(var) > 0).all()):
        # A hazard ratio without a usable variance has no interval and no test: reporting its
        # point estimate alone (often exactly 1) would read as "no difference".
        raise CoxError("the variance of the estimate is not positive (too few events to estimate it)")
    robust = None
    if cluster is not None:
        resid = _score_residuals(data, beta, steps) * data.weight[:, None]
        _, groups = np.unique(np.asarray(cluster).astype(str), return_inverse=True)
        summed = np.zeros((groups.max() + 1, p))
        np.add.at(summed, groups, resid)
        robust = var @ (summed.T @ summed) @ var
    return CoxFit(
        names=tuple(names) if names is not None else tuple(f"x{i + 1}" for i in range(p)),
        coef=beta, var=var, robust_var=robust, loglik_null=loglik0, loglik=loglik,
        score_chi2=score_chi2, iterations=iterations, n=len(data.stop),
        events=int(data.event.sum()), ties=ties, _data=data, _centre=centre,
    )


def _score_residuals(data: _Data, beta: np.ndarray, steps: _Steps) -> np.ndarray:
    """Score residuals per row (unweighted), Efron-weighted as in R's ``residuals(fit, "score")``.

    ``U_i = dN_i (x_i - mean of the Efron means at t_i) - sum over steps s with i at risk of
    h_s exp(eta_i) c_is (x_i - xbar_s)``, with ``h_s = mult_s / den_s`` and ``c_is = 1 - frac_s``
    when ``i`` is one of the tied events at step ``s`` (else 1).
    """
    n, p = data.x.shape
    risk = np.exp(data.x @ beta)
    out = np.zeros((n, p))
    h = steps.mult / steps.den
    for s in np.unique(steps.stratum):
        in_s = steps.stratum == s
        t = steps.time[in_s]
        hs = h[in_s]
        hx = hs[:, None] * steps.xbar[in_s]
        frac = steps.frac[in_s]
        cum_h = np.concatenate([[0.0], np.cumsum(hs)])
        cum_hx = np.concatenate([np.zeros((1, p)), np.cumsum(hx, axis=0)])
        rows = np.nonzero(data.strata == s)[0]
        # Steps within (start, stop]: index range [searchsorted(start, right), searchsorted(stop, right)).
        lo = np.searchsorted(t, data.start[rows], side="right")
        hi = np.searchsorted(t, data.stop[rows], side="right")
        sum_h = cum_h[hi] - cum_h[lo]
        sum_hx = cum_hx[hi] - cum_hx[lo]
        out[rows] -= risk[rows, None] * (data.x[rows] * sum_h[:, None] - sum_hx)
        # Tied events at their own time: at risk only with weight (1 - frac) at each step,
        # and their dN part uses the mean of the Efron means.
        times, inverse = np.unique(t, return_inverse=True)
        hf = np.bincount(inverse, weights=hs * frac, minlength=len(times))
        hfx = np.stack([np.bincount(inverse, weights=hx[:, j] * frac, minlength=len(times))
                        for j in range(p)], axis=1)
        mult_sum = np.bincount(inverse, weights=steps.mult[in_s], minlength=len(times))
        weighted_x = np.stack([np.bincount(inverse, weights=steps.mult[in_s] * steps.xbar[in_s][:, j],
                                           minlength=len(times)) for j in range(p)], axis=1)
        mean_x = weighted_x / mult_sum[:, None]
        dead = rows[data.event[rows] == 1]
        pos = np.searchsorted(times, data.stop[dead])
        out[dead] += risk[dead, None] * (data.x[dead] * hf[pos][:, None] - hfx[pos])
        out[dead] += data.x[dead] - mean_x[pos]
    return out


def _time_transform(data: _Data, transform: str) -> np.ndarray:
    times = data.stop
    if transform == "identity":
        return times.copy()
    if transform == "rank":
        from scipy.stats import rankdata

        return rankdata(times)
    if transform == "log":
        return np.log(times)
    if transform == "km":
        km = km_fit(times, data.event == 1)
        # 1 - S(t-): the curve at the last distinct time strictly before t.
        idx = np.searchsorted(km.time, times, side="left")
        return 1.0 - np.concatenate([[1.0], km.surv])[idx]
    raise ValueError(f"transform: expected 'km', 'rank', 'identity' or 'log', found {transform!r}")


def _zph(fitted: CoxFit, transform: str) -> dict[str, tuple[float, int, float]]:
    data = fitted._data
    if np.isfinite(data.start).any():
        raise ValueError("the proportional-hazards test is implemented for right-censored data")
    _, _, _, steps = _steps(data, fitted.coef)
    gt = _time_transform(data, transform)
    dead = data.event == 1
    g_centre = gt - gt[dead].mean()
    # g at each step: the value of its event time (all tied events share it).
    lookup = dict(zip(zip(data.stop[dead], data.strata[dead], strict=True), g_centre[dead],
                      strict=False))
    g_step = np.array([lookup[(t, s)] for t, s in zip(steps.time, steps.stratum, strict=True)])
    p = data.x.shape[1]
    u = (data.weight * dead * g_centre) @ data.x - (steps.mult * g_step) @ steps.xbar
    i_bb = np.einsum("s,sij->ij", steps.mult, steps.cov)
    i_bg = np.einsum("s,sij->ij", steps.mult * g_step, steps.cov)
    i_gg = np.einsum("s,sij->ij", steps.mult * g_step**2, steps.cov)
    imat = np.block([[i_bb, i_bg], [i_bg.T, i_gg]])
    out: dict[str, tuple[float, int, float]] = {}
    for j, name in enumerate(fitted.names):
        keep = [*range(p), p + j]
        vec = np.concatenate([np.zeros(p), [u[j]]])
        stat = float(vec @ np.linalg.solve(imat[np.ix_(keep, keep)], vec))
        out[name] = (stat, 1, float(chi2_dist.sf(stat, 1)))
    vec = np.concatenate([np.zeros(p), u])
    stat = float(vec @ np.linalg.solve(imat, vec))
    out["GLOBAL"] = (stat, p, float(chi2_dist.sf(stat, p)))
    return out

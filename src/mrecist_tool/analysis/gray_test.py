"""Gray's K-sample test of cumulative incidence curves (STAT-4; Gray, Ann Stat 1988;16:1141–1154).

The test compares the subdistribution hazards of the event of interest (code 1) between groups,
with competing events (code 2) kept in the "risk set" with decreasing weight.  For each group
``k`` the score is

    U_k = sum over event times t of  w(t) [ d1_k(t) - d1(t) R_k(t) / R(t) ],

with ``R_k(t) = Y_k(t) (1 - F_k(t-)) / S_k(t-)`` (``Y_k`` at risk, ``F_k`` the group's
cumulative incidence, ``S_k`` its all-cause Kaplan–Meier curve) and the weight
``w(t) = (1 - F(t-))^rho`` (``rho = 0`` by default, as in ``cmprsk::cuminc``).  The variance of
the first ``K - 1`` scores is the estimator of Gray's §2 (the one ``cmprsk`` computes); the
statistic ``U' V^-1 U`` is chi-square with ``K - 1`` degrees of freedom.  A stratified test adds
the scores and variances of the strata.  Cross-checked against ``cmprsk::cuminc`` in
``tests/test_r_crosscheck.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2 as chi2_dist


@dataclass(frozen=True)
class GrayTest:
    statistic: float
    df: int
    p_value: float
    groups: tuple[str, ...]


def _one_stratum(times: np.ndarray, codes: np.ndarray, group: np.ndarray, ng: int,
                 rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores (length ng-1) and their covariance from one stratum."""
    ng1 = ng - 1
    at_risk = np.bincount(group, minlength=ng).astype(float)
    surv_left = np.ones(ng)  # S_k(t-)
    surv = np.ones(ng)  # S_k(t)
    cif_left = np.zeros(ng)  # F_k(t-)
    pooled_left = 0.0  # pooled F(t-) in the weight and the variance
    score = np.zeros(ng1)
    var = np.zeros((ng1, ng1))
    c = np.zeros((ng, ng))  # accumulated a * d1 / (H (1 - F(t-)))
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    unique_times, inverse = np.unique(times, return_inverse=True)
    for j in range(len(unique_times)):
        here = inverse == j
        d1 = np.bincount(group[here & (codes == 1)], minlength=ng).astype(float)
        d2 = np.bincount(group[here & (codes == 2)], minlength=ng).astype(float)
        removed = np.bincount(group[here], minlength=ng)
        n1, n2 = d1.sum(), d2.sum()
        if n1 + n2 > 0:
            alive = at_risk > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                surv = np.where(alive, surv_left * (at_risk - d1 - d2) / at_risk, surv)
                cif = np.where(alive, cif_left + surv_left * d1 / at_risk, cif_left)
                h = np.where(alive, at_risk / surv_left, 0.0)
                r = np.where(alive, at_risk * (1 - cif_left) / surv_left, 0.0)
            total_h, total_r = h.sum(), r.sum()
            pooled = pooled_left + n1 / total_h
            weight = (1 - pooled_left) ** rho
            # a_ij = w h_i (delta_ij - h_j / H): the derivative of the score in the weights.
            a = weight * (np.diag(h) - np.outer(h, h) / total_h)
            c += a * n1 / (total_h * (1 - pooled_left))
            score += weight * (d1[:ng1] - n1 * r[:ng1] / total_r)
            if n1 > 0:
                for k in np.nonzero(alive)[0]:
                    t4 = 1 - (1 - pooled) / surv[k] if surv[k] > 0 else 1.0
                    t5 = 1 - (n1 - 1) / (total_h * surv_left[k] - 1) if n1 > 1 else 1.0
                    t3 = t5 * surv_left[k] * n1 / (total_h * at_risk[k])
                    b = a[:ng1, k] - t4 * c[:ng1, k]
                    v3[k] += t4 * t4 * t3
                    v2[:, k] += b * t4 * t3
                    var += np.outer(b, b) * t3
            if n2 > 0:
                for k in np.nonzero(alive & (surv > 0) & (d2 > 0))[0]:
                    t4 = (1 - pooled) / surv[k]
                    t5 = 1 - (d2[k] - 1) / (at_risk[k] - 1) if d2[k] > 1 else 1.0
                    t3 = t5 * surv_left[k] ** 2 * d2[k] / at_risk[k] ** 2
                    b = t4 * c[:ng1, k]
                    v3[k] += t4 * t4 * t3
                    v2[:, k] -= b * t4 * t3
                    var += np.outer(b, b) * t3
            pooled_left = pooled
            cif_left = cif
            surv_left = surv.copy()
        at_risk = at_risk - removed
    var += (c[:ng1] * v3) @ c[:ng1].T + c[:ng1] @ v2.T + v2 @ c[:ng1].T
    return score, var


def gray_test(
    durations: Sequence[float] | np.ndarray,
    codes: Sequence[int] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    strata: Sequence[Any] | np.ndarray | None = None,
    rho: float = 0.0,
) -> GrayTest:
    """Gray's test that the cumulative incidence of code 1 is the same in every group."""
    t = np.asarray(durations, dtype=float)
    c = np.asarray(codes, dtype=int)
    labels, g = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    ng = len(labels)
    if ng < 2:
        raise ValueError("Gray's test needs at least two groups")
    st = np.zeros(len(t), dtype=int) if strata is None else np.unique(
        np.asarray(strata).astype(str), return_inverse=True)[1]
    score = np.zeros(ng - 1)
    var = np.zeros((ng - 1, ng - 1))
    for s in np.unique(st):
        rows = st == s
        u, v = _one_stratum(t[rows], c[rows], g[rows], ng, rho)
        score += u
        var += v
    try:
        stat = float(score @ np.linalg.solve(var, score))
    except np.linalg.LinAlgError:
        return GrayTest(float("nan"), ng - 1, float("nan"), tuple(labels))
    return GrayTest(stat, ng - 1, float(chi2_dist.sf(stat, ng - 1)), tuple(labels))

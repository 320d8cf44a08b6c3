"""Driftline's statistics conventions (DESIGN.md) written with numpy/scipy.

Shared by the golden-value scripts in this folder.
"""
import math

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.stats import _stats_py


def edges(ref, bins):
    """numpy linear quantiles at k/B, non-finite dropped, duplicates removed."""
    r = ref[~np.isnan(ref)]
    if len(r) == 0 or bins < 2:
        return np.array([], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        q = np.quantile(r, np.arange(1, bins) / bins, method="linear")
    q = q[np.isfinite(q)]
    q = np.unique(q)
    q[q == 0] = 0.0  # one edge for -0.0 and 0.0
    return q


def counts(x, e):
    v = x[~np.isnan(x)]
    return np.bincount(np.searchsorted(e, v, side="left"), minlength=len(e) + 1).astype(np.int64)


def psi(ref_counts, win_counts):
    ne, na = ref_counts.sum(), win_counts.sum()
    if ne == 0 or na == 0:
        return None
    e = np.maximum(ref_counts / ne, 1e-4)
    a = np.maximum(win_counts / na, 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def js(ref_counts, win_counts):
    if ref_counts.sum() == 0 or win_counts.sum() == 0:
        return None
    return float(jensenshannon(ref_counts, win_counts, base=2))


def binned_ks(ref, win, e):
    """D_B at the fine edges, both sides of each edge and at +-inf (DESIGN.md)."""
    r = ref[~np.isnan(ref)]
    w = win[~np.isnan(win)]
    n, m = len(r), len(w)
    cands = [np.count_nonzero(r == -np.inf) / n - np.count_nonzero(w == -np.inf) / m,
             np.count_nonzero(r < np.inf) / n - np.count_nonzero(w < np.inf) / m]
    for x in e:
        cands.append(np.count_nonzero(r <= x) / n - np.count_nonzero(w <= x) / m)
        cands.append(np.count_nonzero(r < x) / n - np.count_nonzero(w < x) / m)
    return float(np.max(np.abs(cands)))


def ks_pvalue(d, n, m):
    """scipy.stats.ks_2samp(method='auto') two-sided p-value from D, n, m."""
    if max(n, m) <= 10000:
        g = math.gcd(n, m)
        ok, _, p = _stats_py._attempt_exact_2kssamp(n, m, g, d, "two-sided")
        if ok:
            return float(p)
    en = m * n / (m + n)
    return float(stats.kstwo.sf(d, np.round(en)))


def robust_mean_std(x):
    f = x[np.isfinite(x)]
    if len(f) == 0:
        return None, None
    scale = float(np.max(np.abs(f)))
    if scale == 0:
        return 0.0, 0.0
    e = math.frexp(scale)[1]
    g = np.ldexp(f, -e)  # exact scaling by a power of two: no overflow, no underflow
    return float(np.ldexp(np.mean(g), e)), float(np.ldexp(np.std(g), e))



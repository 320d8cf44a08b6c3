#!/usr/bin/env python3
"""Golden values for Driftline's statistics core, computed with numpy and scipy.

Writes, next to this script:
  drift_samples.f64   every sample array, float64 little-endian, concatenated
  drift_golden.json   the arrays' offsets and, per case, what numpy/scipy compute

The Swift tests (Tests/DriftStatsTests/DriftGoldenTests.swift) read both files, so
`swift test` needs no Python. Re-run after changing a case:
    python3 Fixtures/golden/make_drift_golden.py
Conventions are the ones of DESIGN.md ("Statistics conventions").
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
PSI_BINS = 10
KS_BINS = 1000
rng = np.random.default_rng(20261126)


def num(x):
    """JSON has no NaN/inf: write them as strings; None stays null."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# ---------------------------------------------------------------- sample arrays
arrays = {}


def add(name, values):
    arrays[name] = np.asarray(values, dtype=np.float64)


def with_specials(x, nan_share, inf_share):
    x = x.copy()
    n = len(x)
    idx = rng.permutation(n)
    k_nan = int(n * nan_share)
    k_inf = int(n * inf_share)
    x[idx[:k_nan]] = np.nan
    x[idx[k_nan:k_nan + k_inf]] = np.inf
    x[idx[k_nan + k_inf:k_nan + 2 * k_inf]] = -np.inf
    return x


add("normal_50", rng.normal(0, 1, 50))
add("normal_5", rng.normal(0, 1, 5))
add("normal_1000", rng.normal(10, 2, 1000))
add("normal_shift_500", rng.normal(11, 2, 500))
add("lognormal_200000", rng.lognormal(3, 1, 200_000))
add("lognormal_wide_100000", rng.lognormal(3, 1.3, 100_000))
add("lognormal_same_7", rng.lognormal(3, 1, 7))
add("cauchy_20000", rng.standard_cauchy(20_000))
add("cauchy_shift_5000", rng.standard_cauchy(5_000) + 0.3)
add("poisson_5000", rng.poisson(3, 5_000).astype(float))
add("poisson_2000", rng.poisson(3.5, 2_000).astype(float))
add("normal_10000", rng.normal(0, 1, 10_000))
add("normal_scaled_10000", rng.normal(0, 1.1, 10_000))
add("constant_100", np.full(100, 4.25))
add("normal_100", rng.normal(4.25, 1, 100))
add("constant_30", np.full(30, 4.25))
add("mixed_3000", with_specials(rng.normal(0, 1, 3000), 0.05, 0.01))
add("mixed_800", with_specials(rng.normal(0.2, 1, 800), 0.1, 0.02))
add("huge_2000", rng.normal(1, 0.5, 2000) * 1e300)
add("huge_500", rng.normal(1.5, 0.5, 500) * 1e300)
add("tiny_2000", rng.normal(0, 1, 2000) * 1e-310)
add("tiny_400", rng.normal(0.5, 1, 400) * 1e-310)
add("all_nan_50", np.full(50, np.nan))
add("rounded_3000", np.round(rng.normal(50, 10, 3000)))
add("rounded_1500", np.round(rng.normal(52, 10, 1500)))
add("single_value_20", np.full(20, 50.0))
add("mixture_8000", np.concatenate([rng.normal(-2, 0.5, 4000), rng.normal(3, 1, 4000)]))
add("mixture_3000", np.concatenate([rng.normal(-2, 0.5, 1000), rng.normal(3, 1, 2000)]))

numeric_cases = [
    ("normal_50", "normal_5"),
    ("normal_1000", "normal_shift_500"),
    ("normal_1000", "normal_1000"),
    ("lognormal_200000", "lognormal_wide_100000"),
    ("lognormal_200000", "lognormal_same_7"),
    ("cauchy_20000", "cauchy_shift_5000"),
    ("poisson_5000", "poisson_2000"),
    ("normal_10000", "normal_scaled_10000"),
    ("constant_100", "normal_100"),
    ("constant_100", "constant_30"),
    ("mixed_3000", "mixed_800"),
    ("huge_2000", "huge_500"),
    ("tiny_2000", "tiny_400"),
    ("normal_1000", "all_nan_50"),
    ("rounded_3000", "rounded_1500"),
    ("rounded_3000", "single_value_20"),
    ("mixture_8000", "mixture_3000"),
]


from drift_conventions import binned_ks, counts, edges, js, ks_pvalue, psi, robust_mean_std

cases = []
for ref_name, win_name in numeric_cases:
    ref, win = arrays[ref_name], arrays[win_name]
    pe, fe = edges(ref, PSI_BINS), edges(ref, KS_BINS)
    rc_psi, wc_psi = counts(ref, pe), counts(win, pe)
    rc_fine, wc_fine = counts(ref, fe), counts(win, fe)
    r_nn, w_nn = ref[~np.isnan(ref)], win[~np.isnan(win)]
    case = {
        "reference": ref_name, "window": win_name,
        "psi_edges": [num(v) for v in pe], "fine_edges": [num(v) for v in fe],
        "psi_reference_counts": rc_psi.tolist(), "psi_window_counts": wc_psi.tolist(),
        "fine_reference_counts": rc_fine.tolist(), "fine_window_counts": wc_fine.tolist(),
        "window_count": int(len(w_nn)), "window_missing": int(np.isnan(win).sum()),
        "psi": num(psi(rc_psi, wc_psi)), "js_distance": num(js(rc_psi, wc_psi)),
    }
    if len(r_nn) and len(w_nn):
        d_exact = float(stats.ks_2samp(r_nn, w_nn).statistic)
        d_b = binned_ks(ref, win, fe)
        case.update({
            "ks_exact_statistic": d_exact, "ks_binned_statistic": d_b,
            "ks_pvalue_of_binned": num(ks_pvalue(d_b, len(r_nn), len(w_nn))),
        })
    else:
        case.update({"ks_exact_statistic": None, "ks_binned_statistic": None, "ks_pvalue_of_binned": None})
    rf, wf = ref[np.isfinite(ref)], win[np.isfinite(win)]
    case["wasserstein_exact"] = (
        num(stats.wasserstein_distance(rf, wf)) if len(rf) and len(wf) else None)
    wm, ws = robust_mean_std(win)
    rm, rs = robust_mean_std(ref)
    case.update({"mean": num(wm), "std": num(ws), "ref_mean": num(rm), "ref_std": num(rs)})
    cases.append(case)

# ---------------------------------------------------------------- categorical
K = 5


def category_sample(n, weights, names):
    p = np.asarray(weights, dtype=float)
    p /= p.sum()
    return [names[i] for i in rng.choice(len(names), size=n, p=p)]


cat_names = [f"c{i}" for i in range(12)]
categorical_cases = []
cat_inputs = [
    ("same", category_sample(4000, [30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 0, 0], cat_names),
     category_sample(900, [30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 0, 0], cat_names)),
    ("shifted", category_sample(4000, [30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 0, 0], cat_names),
     category_sample(1200, [10, 20, 15, 30, 8, 6, 4, 3, 2, 1, 5, 3], cat_names)),
    ("tiny", category_sample(60, [5, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], cat_names),
     category_sample(6, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1], cat_names)),
    ("disjoint", category_sample(500, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], cat_names),
     category_sample(300, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], cat_names)),
]
for name, ref, win in cat_inputs:
    values, freq = np.unique(ref, return_counts=True)
    order = sorted(zip(values.tolist(), freq.tolist()), key=lambda t: (-t[1], t[0]))
    top = [v for v, _ in order[:K]]
    ref_counts = [c for _, c in order[:K]] + [int(sum(c for _, c in order[K:]))]
    ref_set = set(ref)
    win_counts = [sum(1 for v in win if v == t) for t in top]
    win_counts.append(len(win) - sum(win_counts))
    unseen = sum(1 for v in win if v not in ref_set)
    table = np.array([ref_counts, win_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] >= 2:
        chi2_p = float(stats.chi2_contingency(table, correction=False).pvalue)
    else:
        chi2_p = 1.0
    rc, wc = np.array(ref_counts), np.array(win_counts)
    categorical_cases.append({
        "name": name, "top_k": K, "reference_values": ref, "window_values": win,
        "dictionary": top, "reference_counts": ref_counts, "window_counts": win_counts,
        "unseen": unseen, "psi": num(psi(rc, wc)), "js_distance": num(js(rc, wc)),
        "chi2_pvalue": num(chi2_p), "new_category_rate": unseen / len(win),
    })

# ---------------------------------------------------------------- output
offsets = {}
blob = []
position = 0
for name, values in arrays.items():
    offsets[name] = {"offset": position, "count": int(len(values))}
    blob.append(values.astype("<f8").tobytes())
    position += len(values)
with open(os.path.join(HERE, "drift_samples.f64"), "wb") as f:
    f.write(b"".join(blob))
with open(os.path.join(HERE, "drift_golden.json"), "w") as f:
    json.dump({
        "generator": f"make_drift_golden.py (numpy {np.__version__}, scipy {scipy.__version__})",
        "psi_bins": PSI_BINS, "ks_bins": KS_BINS, "arrays": offsets,
        "numeric": cases, "categorical": categorical_cases,
    }, f, separators=(",", ":"))
print(f"wrote {len(cases)} numeric and {len(categorical_cases)} categorical cases, "
      f"{position} samples", file=sys.stderr)

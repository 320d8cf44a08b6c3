#!/usr/bin/env python3
"""Golden values for Driftline's chi-square p-values, computed with scipy.

Writes chi2_pvalues.json next to this script with four case lists:
  incomplete_gamma  scipy.special.gammainc / gammaincc at (a, x)
  survival          scipy.stats.chi2.sf(x, k)
  contingency       scipy.stats.chi2_contingency([ref, win], correction=False)
                    after dropping the columns whose total is zero
  degenerate        tables the Swift code defines itself (one non-empty column,
                    an empty row); scipy raises or is not consulted for them

Every case has a "regime" tag so the Swift tests can report the worst error per
regime. JSON has no NaN/inf: they are written as the strings "nan", "inf", "-inf".
The output is deterministic (fixed seed). Re-run after changing a case:
    python3 Fixtures/golden/make_chi2_pvalues.py
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import special, stats

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20260301)


def num(x):
    """JSON has no NaN/inf: write them as strings."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# ---------------------------------------------------------------- incomplete gamma
gamma_cases = []
seen = set()


def add_gamma(a, x, regime):
    a, x = float(a), float(x)
    if (a, x) in seen:
        return
    seen.add((a, x))
    gamma_cases.append({
        "a": num(a), "x": num(x), "regime": regime,
        "p": num(special.gammainc(a, x)), "q": num(special.gammaincc(a, x)),
    })


# a = k/2 for the degrees of freedom a chi-square test meets (1 ... 5000).
shapes = [0.5, 1, 1.5, 2, 2.5, 5, 7.5, 10, 20, 20.5, 35, 50, 99.5, 100,
          150, 199.5, 200, 200.5, 500, 999.5, 1000, 2000, 2499.5, 2500]
for a in shapes:
    # Around the mode, where the series and the continued fraction meet and where
    # Boost/scipy switch to Temme's expansion for large a.
    for c in (-6, -4, -3, -2, -1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6):
        x = a + c * math.sqrt(a)
        if x > 0:
            add_gamma(a, x, "near_mode")
    add_gamma(a, a + 1, "near_mode")
    add_gamma(a, max(a - 1, 1e-3), "near_mode")
    # Bulk: fractions and multiples of a.
    for f in (1e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 2, 3, 5, 10):
        add_gamma(a, a * f, "bulk")
    # Far upper tail: Q between 1e-20 and 1e-300.
    for q in (1e-20, 1e-50, 1e-100, 1e-150, 1e-200, 1e-250, 1e-280, 1e-300):
        add_gamma(a, special.gammainccinv(a, q), "far_tail")
    # Tiny x: P tiny, Q close to 1.
    for x in (1e-10, 1e-7, 1e-4):
        add_gamma(a, x, "small_x")

# Random shapes and arguments over the whole chi-square range.
for _ in range(150):
    k = int(rng.integers(1, 5001))
    a = k / 2
    x = float(np.exp(rng.uniform(math.log(1e-10), math.log(1e5))))
    add_gamma(a, x, "random")
for _ in range(120):
    k = int(rng.integers(1, 5001))
    a = k / 2
    x = a + float(rng.normal(0, 3)) * math.sqrt(a)
    if x > 0:
        add_gamma(a, x, "near_mode")
# Large x for small and moderate a (Q underflows to 0 at the end).
for a in (0.5, 1, 3, 10, 100, 1000):
    for x in (300, 700, 1e3, 1e4, 1e5):
        add_gamma(a, x, "large_x")
# Q at the smallest normal double and just below it (scipy flushes Q to 0 a little
# further down, around 1e-312, so no case goes deeper).
for a in (0.5, 1, 10, 100, 1000, 2500):
    for q in (2.5e-308, 1e-310):
        add_gamma(a, special.gammainccinv(a, q), "subnormal")

# Edges (scipy's own answer is stored; the tests document where Driftline differs).
for a, x in ((1, 0), (2.5, 0), (1, math.inf), (1000, math.inf), (0.5, 1e-300)):
    add_gamma(a, x, "edge")

# ---------------------------------------------------------------- chi2.sf
survival_cases = []


def add_sf(x, k, regime):
    survival_cases.append({"x": num(x), "k": num(k), "regime": regime,
                           "sf": num(stats.chi2.sf(x, k))})


for k in (1, 2, 3, 4, 5, 9, 10, 19, 30, 99, 100, 255, 500, 999, 1000, 2047, 4095, 4999, 5000):
    for p in (0.999, 0.9, 0.5, 0.1, 0.05, 0.01, 1e-3, 1e-6):
        add_sf(stats.chi2.isf(p, k), k, "bulk")
    for p in (1e-20, 1e-60, 1e-120, 1e-200, 1e-250, 1e-290, 1e-300):
        add_sf(stats.chi2.isf(p, k), k, "far_tail")
    for x in (1e-10, 1e-3, 0.5):
        add_sf(x, k, "small_x")
for _ in range(150):
    k = int(rng.integers(1, 5001))
    x = float(np.exp(rng.uniform(math.log(1e-10), math.log(1e5))))
    add_sf(x, k, "random")
for x in (0, -1, math.inf, math.nan):
    add_sf(x, 3, "edge")

# ---------------------------------------------------------------- chi2_contingency
contingency_cases = []


def add_table(ref, win, regime):
    ref = [int(v) for v in ref]
    win = [int(v) for v in win]
    table = np.array([ref, win], dtype=np.int64)
    kept = table[:, table.sum(axis=0) > 0]
    res = stats.chi2_contingency(kept, correction=False)
    contingency_cases.append({
        "reference": ref, "window": win, "regime": regime,
        "statistic": num(res.statistic), "dof": int(res.dof), "p": num(res.pvalue),
    })


for _ in range(25):
    k = int(rng.integers(2, 12))
    probs = rng.dirichlet(np.ones(k))
    ref = rng.multinomial(int(rng.integers(50, 5000)), probs)
    shifted = probs * rng.uniform(0.7, 1.3, k)
    win = rng.multinomial(int(rng.integers(50, 5000)), shifted / shifted.sum())
    add_table(ref, win, "small")
# Zero columns in the middle, at the edges, and zero cells in one row only.
add_table([10, 0, 20, 0, 30], [12, 0, 18, 0, 35], "zero_columns")
add_table([0, 5, 7, 0], [0, 9, 3, 0], "zero_columns")
add_table([0, 0, 100, 50, 0, 25], [0, 0, 80, 70, 0, 20], "zero_columns")
add_table([10, 0, 5], [0, 7, 5], "zero_columns")
add_table([1000, 1, 0, 0, 0], [0, 1000, 0, 0, 3], "zero_columns")
# Strong drift: p-values deep in the tail.
add_table([5000, 5000, 5000], [4500, 5000, 5500], "far_tail")
add_table([500, 300, 200], [300, 300, 400], "far_tail")
add_table([1500, 900, 600], [900, 900, 1200], "far_tail")
add_table([400, 100], [100, 400], "far_tail")
add_table([300, 10, 300], [10, 300, 10], "far_tail")
add_table([900, 600, 300, 200], [200, 300, 600, 900], "far_tail")
add_table([5000, 3000, 2000], [3000, 3000, 4000], "far_tail")
add_table([50000, 30000, 20000], [30000, 30000, 40000], "far_tail")  # p underflows to 0
# Many categories (large degrees of freedom).
for k in (200, 1000, 2000):
    probs = rng.dirichlet(np.ones(k) * 2)
    ref = rng.multinomial(20 * k, probs)
    win = rng.multinomial(15 * k, probs)
    add_table(ref, win, "large_dof")
    tilted = probs * np.exp(np.linspace(-0.3, 0.3, k))
    win = rng.multinomial(15 * k, tilted / tilted.sum())
    add_table(ref, win, "large_dof")
# Counts up to 2^53: the statistic must not overflow or lose the table's scale.
big = 2 ** 53
add_table([big, big // 2, big // 4], [big // 3, big // 2, big // 5], "large_counts")
add_table([big - 1, 1], [1, big - 1], "large_counts")
add_table([big // 2 + 12345, big // 2 - 12345], [big // 2 - 12345, big // 2 + 12345], "large_counts")
add_table([10 ** 15, 10 ** 15 + 10 ** 7], [10 ** 15 + 10 ** 7, 10 ** 15], "large_counts")
add_table([big // 7, big // 9, 0, big // 11, 3], [big // 8, big // 9, 0, big // 10, 5], "large_counts")
# No drift at all: statistic 0, p = 1.
add_table([10, 20, 30], [10, 20, 30], "identical")
add_table([1, 2, 3], [2, 4, 6], "identical")

degenerate_cases = [
    {"reference": [5, 0, 0], "window": [7, 0, 0], "note": "one non-empty column"},
    {"reference": [0, 0], "window": [0, 0], "note": "empty table"},
    {"reference": [], "window": [], "note": "no columns"},
    {"reference": [0, 0, 0], "window": [3, 4, 5], "note": "empty reference row"},
    {"reference": [3, 4, 5], "window": [0, 0, 0], "note": "empty window row"},
]

out = {
    "scipy_version": scipy.__version__,
    "incomplete_gamma": gamma_cases,
    "survival": survival_cases,
    "contingency": contingency_cases,
    "degenerate": degenerate_cases,
}
path = os.path.join(HERE, "chi2_pvalues.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {path}: {len(gamma_cases)} incomplete gamma, {len(survival_cases)} survival, "
      f"{len(contingency_cases)} contingency, {len(degenerate_cases)} degenerate cases, "
      f"{os.path.getsize(path)} bytes")

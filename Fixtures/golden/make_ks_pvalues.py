#!/usr/bin/env python3
"""Golden values for DriftStats' KolmogorovSmirnov (two-sample KS p-values).

Writes ks_pvalues.json next to this script. Deterministic (fixed seed); needs
numpy and scipy (generated with numpy 2.4.6, scipy 1.17.1):

    python3 Fixtures/golden/make_ks_pvalues.py

Sections of the JSON:
  exact      two-sided ks_2samp(method="auto") p-values for max(n, m) <= 10000,
             computed from (D, n, m) by calling scipy's internals the way
             ks_2samp does; "exact" is False where scipy's exact attempt fails
             and it falls back to the asymptotic distribution.
  asymptotic the same for max(n, m) > 10000: kstwo.sf(D, round(n*m/(n+m))).
  kstwo      scipy.stats.kstwo.sf(d, n), labelled with the branch of
             scipy.stats._ksstats._kolmogn that computes it.
  smirnov    scipy.special.smirnov(n, d).
  samples    end-to-end: ks_2samp on seeded random samples; (D, p) as returned.
Non-finite floats are written as the strings "nan", "inf", "-inf".
"""

import json
import math
import os
import warnings

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._stats_py import _attempt_exact_2kssamp

MAX_AUTO_N = 10000


def ks2_pvalue(d, n1, n2):
    """scipy's two-sided ks_2samp(method='auto') p-value for a given statistic.

    Mirrors ks_2samp after the statistic is computed: exact attempt when
    max(n1, n2) <= MAX_AUTO_N (with d rounded onto the lattice), asymptotic
    kstwo.sf otherwise or when the exact attempt fails.
    """
    g = math.gcd(n1, n2)
    exact_ok = None
    if max(n1, n2) <= MAX_AUTO_N:
        success, d, prob = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
        exact_ok = bool(success)
        if not success:
            m, n = sorted([float(n1), float(n2)], reverse=True)
            prob = stats.kstwo.sf(d, np.round(m * n / (m + n)))
    else:
        m, n = sorted([float(n1), float(n2)], reverse=True)
        prob = stats.kstwo.sf(d, np.round(m * n / (m + n)))
    return float(np.clip(prob, 0, 1)), exact_ok


def kolmogn_branch(n, x):
    """Which branch of scipy.stats._ksstats._kolmogn(n, x, cdf=False) runs."""
    if x >= 1.0:
        return "x>=1"
    if x <= 0.0:
        return "x<=0"
    t = n * x
    if t <= 1.0:
        if t <= 0.5:
            return "t<=0.5"
        return "ruben-gambino-low" + ("-prod" if n <= 140 else "-stirling")
    if t >= n - 1:
        return "ruben-gambino-high"
    if x >= 0.5:
        return "x>=0.5-smirnov"
    nx2 = t * x
    if n <= 140:
        if nx2 <= 0.754693:
            return "n<=140-dmtw"
        if nx2 <= 4:
            return "n<=140-pomeranz"
        return "n<=140-smirnov"
    if nx2 >= 370.0:
        return "nx2>=370"
    if nx2 >= 2.2:
        return "nx2>=2.2-smirnov"
    if n <= 100000 and n * x ** 1.5 <= 1.4:
        return "n>140-dmtw"
    return "pelz-good"


def lattice_ds(n1, n2, rng):
    """Statistics for one (n1, n2) pair: lattice points spanning p from 1 to tiny."""
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    en = n1 * n2 / (n1 + n2)
    # The exact recursion costs ~n*m*min(1, 2d); keep the slowest pairs to
    # statistics with p >= ~1e-15 so that `swift test` (debug) stays quick.
    heavy = n1 * n2 > 2_000_000
    hs = {h for h in (1, 2, 3) if h <= lcm}
    if not heavy:
        hs.add(lcm)
    targets = [0.999, 0.9, 0.7, 0.5, 0.3, 0.1, 0.05, 1e-2, 1e-3, 1e-4, 1e-6,
               1e-8, 1e-10, 1e-11, 1e-12, 1e-13, 1e-15]
    if not heavy:
        targets += [1e-20, 1e-40]
    # Points where the limiting distribution gives p ~ 1 ... 1e-40.
    for p in targets:
        d = stats.kstwobign.isf(p) / math.sqrt(en)
        h = int(round(d * lcm))
        if 0 < h <= lcm:
            hs.add(h)
    hs = sorted(hs)
    ds = [h / lcm for h in hs]
    # A few statistics off the lattice to exercise the rounding onto it.
    for h in rng.choice(hs, size=min(3, len(hs)), replace=False):
        ds.append(min(1.0, (h + rng.uniform(-0.45, 0.45)) / lcm))
    return ds


def exact_section(rng):
    pairs = [
        # n == m
        (1, 1), (2, 2), (3, 3), (5, 5), (10, 10), (37, 37), (100, 100),
        (135, 135), (500, 500), (1000, 1000), (2500, 2500), (10000, 10000),
        # coprime
        (1, 2), (3, 7), (10, 11), (13, 29), (99, 100), (101, 257),
        (1000, 999), (3001, 4999), (10000, 9999),
        # one divides the other
        (1, 10), (5, 10), (7, 21), (100, 300), (1000, 5000), (2000, 10000),
        (1, 10000), (3, 9000),
        # large gcd
        (600, 900), (2400, 3600), (4096, 6144), (9000, 6000), (250, 10000),
        # small and lopsided
        (2, 3), (4, 6), (8, 3), (17, 4000), (50, 60), (333, 777),
    ]
    rows = []
    for n1, n2 in pairs:
        for d in lattice_ds(n1, n2, rng):
            p, ok = ks2_pvalue(d, n1, n2)
            rows.append({"n": n1, "m": n2, "d": d, "p": p, "exact": ok})
    # Every equal-size case up to 150 with d = h/n for h = 1, 2, 3: this is
    # where scipy's exact attempt reports 1.0000000000000002 and falls back.
    for n in range(1, 151):
        for h in (1, 2, 3):
            if h <= n:
                p, ok = ks2_pvalue(h / n, n, n)
                if not ok or h == 1:
                    rows.append({"n": n, "m": n, "d": h / n, "p": p, "exact": ok})
    for n in (1361, 4999, 9973):
        for h in (1, 2, 3, 4):
            p, ok = ks2_pvalue(h / n, n, n)
            rows.append({"n": n, "m": n, "d": h / n, "p": p, "exact": ok})
    return rows


def asymptotic_section(rng):
    pairs = [(10001, 10001), (10001, 1), (20000, 1), (20000, 7), (20000, 300),
             (12000, 15000), (50000, 50000), (100000, 3000), (1000000, 1000000),
             (10001, 9000), (300000, 200000)]
    rows = []
    for n1, n2 in pairs:
        en = n1 * n2 / (n1 + n2)
        ds = {0.5 / max(en, 1) * 0.9, 1.0, 0.999}
        for p in [0.999, 0.9, 0.5, 0.1, 1e-2, 1e-4, 1e-8, 1e-12, 1e-20, 1e-60]:
            # 0.1 > p > 1e-160 is smirnov's O(n) sum: only one such point for huge n.
            if en > 50000 and 1e-160 < p < 0.1 and p != 1e-8:
                continue
            ds.add(stats.kstwobign.isf(p) / math.sqrt(en))
        ds.add(float(rng.uniform(0, 1)) if en <= 50000 else 0.5)
        for d in sorted(ds):
            if 0 < d <= 1:
                p, _ = ks2_pvalue(d, n1, n2)
                rows.append({"n": n1, "m": n2, "d": d, "p": p})
    return rows


def kstwo_section(rng):
    ns = [1, 2, 3, 5, 10, 20, 50, 100, 139, 140, 141, 200, 500, 1000, 5000,
          10000, 50000, 99999, 100000, 100001, 200000, 1000000]
    rows = []
    for n in ns:
        xs = {0.3 / n, 0.5 / n, 0.75 / n, 1.0 / n, (n - 1.0) / n, (n - 0.5) / n,
              0.5, 0.7, 0.95, 1.0}
        for nx2 in [0.1, 0.5, 0.754, 0.755, 1.0, 2.0, 2.19, 2.21, 3.0, 3.99,
                    4.01, 10.0, 17.9, 18.1, 30.0, 100.0, 369.0, 371.0]:
            xs.add(math.sqrt(nx2 / n))
        for c in [0.5, 1.3, 1.39, 1.41, 1.5]:  # n * x**1.5 around 1.4
            xs.add((c / n) ** (2.0 / 3.0))
        xs.update(float(v) for v in rng.uniform(0, min(1.0, 5.0 / math.sqrt(n)), 3))
        for x in sorted(xs):
            # smirnov's sum costs ~1us per unit of n (in scipy too): few large-n ones.
            # (The smirnov section covers n = 10^6 itself.)
            slow = n >= 50000 and 2.2 <= n * x * x < 370 and x < 0.5
            if slow and (n > 200000 or not abs(n * x * x - 30.0) < 1e-9):
                continue
            if 0 < x <= 1:
                p = float(stats.kstwo.sf(x, n))
                rows.append({"n": n, "d": x, "p": p, "branch": kolmogn_branch(n, x)})
    return rows


def smirnov_section(rng):
    rows = []
    for n in [1, 2, 3, 5, 10, 16, 50, 100, 141, 1000, 12345, 100000,
              1000000, 1000001, 5000000]:
        xs = {0.0, 1.0, 1.0 / n, 0.5 / n, 2.5 / n, 0.5 / math.sqrt(n),
              1 - 1.0 / n, 1 - 0.5 / n, 0.5, 0.25}
        for nx2 in [0.3, 1.0, 3.0, 10.0, 50.0, 300.0]:
            xs.add(math.sqrt(nx2 / n))
        xs.update(float(v) for v in rng.uniform(0, 1, 2))
        for x in sorted(xs):
            slow = 100000 <= n <= 1000000 and 1.5 / n < x < 1 - 1.5 / n and n * x * x < 745
            if slow and not abs(n * x * x - (300.0 if n == 1000000 else 3.0)) < 1e-9:
                continue
            if 0 <= x <= 1:
                rows.append({"n": n, "d": x, "p": float(special.smirnov(n, x))})
    return rows


def samples_section(rng):
    rows = []
    shapes = [(20, 30, 0.0), (20, 30, 1.0), (100, 110, 0.2), (100, 100, 0.5),
              (400, 1000, 0.1), (1000, 1000, 0.05), (2000, 3000, 0.3),
              (5000, 5000, 0.02), (8000, 9999, 0.08), (3, 10000, 1.0),
              (10001, 12000, 0.02), (20000, 15000, 0.05), (30000, 500, 0.3)]
    for n1, n2, shift in shapes:
        x = rng.normal(size=n1)
        y = rng.normal(loc=shift, size=n2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.ks_2samp(x, y)
        d = float(res.statistic)
        p = float(res.pvalue)
        mine, _ = ks2_pvalue(d, n1, n2)
        # The table above relies on this reproduction of ks_2samp.
        assert mine == p, (n1, n2, d, mine, p)
        rows.append({"n": n1, "m": n2, "d": d, "p": p})
    return rows


def encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def main():
    rng = np.random.default_rng(20240611)
    table = {
        "generator": f"make_ks_pvalues.py, numpy {np.__version__}, scipy {scipy.__version__}",
        "exact": exact_section(rng),
        "asymptotic": asymptotic_section(rng),
        "kstwo": kstwo_section(rng),
        "smirnov": smirnov_section(rng),
        "samples": samples_section(rng),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ks_pvalues.json")
    with open(path, "w") as f:
        json.dump(encode(table), f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    counts = {k: len(v) for k, v in table.items() if isinstance(v, list)}
    print(path, os.path.getsize(path), "bytes", counts)


if __name__ == "__main__":
    main()

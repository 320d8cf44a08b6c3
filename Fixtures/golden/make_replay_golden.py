#!/usr/bin/env python3
"""Golden window results for `driftline replay` over the example traffic.

Reads Fixtures/fraud.yaml's inputs (Fixtures/traffic/*.ndjson.zst), applies the
event-time rules of DESIGN.md (5-minute tumbling windows aligned to the epoch,
watermark = newest event time - 30 s, older events are late), and computes every
metric of every window with numpy/scipy, against a reference built from
reference.ndjson.zst. Writes replay_golden.json next to this script; the Swift
end-to-end test compares `driftline replay` with it.
"""
import json
import os
import subprocess
import sys

import numpy as np
from scipy import stats

from drift_conventions import binned_ks, counts, edges, js, ks_pvalue, psi, robust_mean_std

HERE = os.path.dirname(os.path.abspath(__file__))
TRAFFIC = os.path.join(HERE, "..", "traffic")
NUMERIC = ["features.amount", "features.age", "features.account_age_days", "features.txn_count_24h",
           "features.distance_km", "features.merchant_risk", "features.session_seconds",
           "features.failed_logins", "features.ip_reputation", "prediction.score"]
CATEGORICAL = ["features.country", "features.device"]
WINDOW_US = 300_000_000
LATENESS_US = 30_000_000
TOP_K = 1000


def read(name):
    out = subprocess.run(["zstd", "-dc", os.path.join(TRAFFIC, name)], capture_output=True, check=True).stdout
    return out.decode().splitlines()


def get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def parse(line):
    """The event, or None when the pipeline must reject the line."""
    try:
        e = json.loads(line)
    except ValueError:
        return None
    ts = get(e, "ts")
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return None
    row = {"t": int(ts) * 1000}
    for p in NUMERIC:
        v = get(e, p)
        if v is None:
            row[p] = np.nan
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(float(v)):
            return None
        else:
            row[p] = float(v)
    for p in CATEGORICAL:
        v = get(e, p)
        row[p] = v if v is None else str(v)
    return row


def main():
    ref = [r for r in (parse(l) for l in read("reference.ndjson.zst")) if r]
    stream_lines = read("stream.ndjson.zst")
    accepted, rejected, late = [], 0, 0
    max_t = None
    for line in stream_lines:
        r = parse(line)
        if r is None:
            rejected += 1
            continue
        if max_t is None or r["t"] > max_t:
            max_t = r["t"]
        if r["t"] < max_t - LATENESS_US:
            late += 1
            continue
        accepted.append(r)
    windows = {}
    for r in accepted:
        windows.setdefault((r["t"] // WINDOW_US) * WINDOW_US, []).append(r)

    ref_num = {p: np.array([r[p] for r in ref]) for p in NUMERIC}
    ref_cat = {}
    for p in CATEGORICAL:
        vals = [r[p] for r in ref if r[p] is not None]
        u, c = np.unique(vals, return_counts=True)
        order = sorted(zip(u.tolist(), c.tolist()), key=lambda t: (-t[1], t[0]))
        ref_cat[p] = ([v for v, _ in order[:TOP_K]], [c for _, c in order[:TOP_K]] + [sum(c for _, c in order[TOP_K:])], set(vals))

    results = []
    for start in sorted(windows):
        rows = windows[start]
        for p in NUMERIC:
            ref_x, win_x = ref_num[p], np.array([r[p] for r in rows])
            pe, fe = edges(ref_x, 10), edges(ref_x, 1000)
            rc, wc = counts(ref_x, pe), counts(win_x, pe)
            r_nn, w_nn = ref_x[~np.isnan(ref_x)], win_x[~np.isnan(win_x)]
            d_b = binned_ks(ref_x, win_x, fe)
            wm, ws = robust_mean_std(win_x)
            results.append({
                "window_start_us": start, "feature": p, "kind": "numeric", "count": int(len(w_nn)),
                "psi": psi(rc, wc), "js_distance": js(rc, wc),
                "ks_exact_statistic": float(stats.ks_2samp(r_nn, w_nn).statistic),
                "ks_binned_statistic": d_b, "ks_pvalue": ks_pvalue(d_b, len(r_nn), len(w_nn)),
                "wasserstein_exact": float(stats.wasserstein_distance(r_nn, w_nn)),
                "mean": wm, "std": ws,
            })
        for p in CATEGORICAL:
            top, ref_counts, ref_set = ref_cat[p]
            vals = [r[p] for r in rows if r[p] is not None]
            win_counts = [sum(1 for v in vals if v == t) for t in top]
            win_counts.append(len(vals) - sum(win_counts))
            table = np.array([ref_counts, win_counts])
            table = table[:, table.sum(axis=0) > 0]
            chi2_p = float(stats.chi2_contingency(table, correction=False).pvalue) if table.shape[1] >= 2 else 1.0
            rc, wc = np.array(ref_counts), np.array(win_counts)
            results.append({
                "window_start_us": start, "feature": p, "kind": "categorical", "count": len(vals),
                "psi": psi(rc, wc), "js_distance": js(rc, wc), "chi2_pvalue": chi2_p,
                "new_category_rate": sum(1 for v in vals if v not in ref_set) / len(vals),
            })
    with open(os.path.join(HERE, "replay_golden.json"), "w") as f:
        json.dump({"lines": len(stream_lines), "rejected": rejected, "late": late,
                   "accepted_in_windows": len(accepted), "drift_starts_us": 1_764_154_800_000_000,
                   "results": results}, f, separators=(",", ":"))
    print(f"{len(windows)} windows, {len(results)} results, rejected {rejected}, late {late}", file=sys.stderr)


if __name__ == "__main__":
    main()

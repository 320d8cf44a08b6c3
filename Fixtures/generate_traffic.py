#!/usr/bin/env python3
"""Generates Driftline's example traffic: a fraud-scoring model's prediction events.

Each event is one JSON object (~350 bytes) with nested features, like a real
scoring service would log:

  {"ts": 1764151200123, "model": "fraud-v3", "request_id": "...",
   "features": {"amount": 42.17, "age": 37, "account_age_days": 812.0, ...,
                "country": "DE", "device": "mobile"},
   "prediction": {"score": 0.0123, "label": 0}, "latency_ms": 3.2}

10 numeric paths (9 features + the score) and 2 categorical ones. Drift is injected
at a known time: from DRIFT_AT on, amounts are larger, the country mix moves to new
markets (with a country the reference never saw), mobile share grows, and the score
follows. Events arrive in time order with a few seconds of jitter; a handful of
late and malformed lines are mixed in on purpose (the pipeline must count them).

Usage:
  python3 Fixtures/generate_traffic.py                 # writes Fixtures/traffic/*.ndjson.zst
  python3 Fixtures/generate_traffic.py --events 2000000 --out /tmp/big.ndjson   # benchmark input
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

START_MS = 1_764_151_200_000          # 2025-11-26T10:00:00Z
REFERENCE_START_MS = START_MS - 86_400_000
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "BR", "IN", "JP", "CA", "AU", "MX"]
BASE_MIX = np.array([30, 12, 10, 8, 6, 6, 4, 3, 3, 5, 4, 3, 3, 2, 1], dtype=float)
DRIFT_MIX = np.array([18, 8, 7, 6, 4, 4, 3, 2, 2, 14, 12, 2, 2, 2, 6], dtype=float)
DEVICES = ["mobile", "desktop", "tablet", "unknown"]


def events(rng, n, start_ms, span_ms, drift_at_ms=None, model="fraud-v3"):
    """n events spread over [start_ms, start_ms + span_ms), in time order with jitter."""
    base = np.sort(rng.uniform(start_ms, start_ms + span_ms, n))
    jitter = rng.normal(0, 2000, n)          # a few seconds out of order
    ts = np.round(base + jitter).astype(np.int64)
    out = []
    for i in range(n):
        t = int(ts[i])
        drifted = drift_at_ms is not None and base[i] >= drift_at_ms
        amount = float(rng.lognormal(3.6 + (0.45 if drifted else 0.0), 1.0))
        age = int(np.clip(rng.normal(41, 13), 18, 95))
        account_age = float(rng.exponential(900))
        txn_24h = int(rng.poisson(2.5 + (1.5 if drifted else 0)))
        distance = float(rng.lognormal(2.0, 1.2))
        merchant_risk = float(rng.beta(2, 8 if not drifted else 5))
        session = float(rng.lognormal(4.0, 0.8))
        failed_logins = int(rng.poisson(0.2))
        ip_reputation = float(rng.normal(0.7, 0.15))
        mix = DRIFT_MIX if drifted else BASE_MIX
        country = COUNTRIES[rng.choice(len(COUNTRIES), p=mix / mix.sum())]
        if drifted and rng.uniform() < 0.03:
            country = "NG"                    # a market the reference never saw
        device = DEVICES[rng.choice(4, p=[0.7, 0.22, 0.06, 0.02] if drifted else [0.5, 0.38, 0.1, 0.02])]
        z = -5.0 + 0.6 * math.log(amount) + 2.2 * merchant_risk + 0.35 * failed_logins - 1.2 * ip_reputation + 0.1 * txn_24h
        score = 1 / (1 + math.exp(-z))
        out.append({
            "ts": t,
            "model": model,
            "request_id": f"{rng.integers(1 << 62):016x}",
            "features": {
                "amount": round(amount, 2), "age": age, "account_age_days": round(account_age, 3),
                "txn_count_24h": txn_24h, "distance_km": distance, "merchant_risk": merchant_risk,
                "session_seconds": round(session, 1), "failed_logins": failed_logins, "ip_reputation": ip_reputation,
                "country": country, "device": device,
            },
            "prediction": {"score": score, "label": int(score > 0.5)},
            "latency_ms": round(float(rng.gamma(2, 1.5)), 2),
        })
    return out


def write(path, lines, compress, level=19):
    text = "".join(l + "\n" for l in lines).encode()
    if compress:
        subprocess.run(["zstd", "-q", "-f", f"-{level}", "-o", path], input=text, check=True)
    else:
        with open(path, "wb") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, help="only write a stream of N events (for benchmarks)")
    ap.add_argument("--out", help="output path for --events")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.events:
        # Benchmark stream: drift halfway, 5-minute windows of ~N/100 events each.
        span = 100 * 300_000
        evs = events(rng, args.events, START_MS, span, START_MS + span // 2)
        out = args.out or "stream.ndjson"
        write(out, (json.dumps(e, separators=(",", ":")) for e in evs), out.endswith(".zst"), level=3)
        return
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "traffic")
    os.makedirs(here, exist_ok=True)
    ref = events(rng, 20_000, REFERENCE_START_MS, 86_400_000)
    write(os.path.join(here, "reference.ndjson.zst"), (json.dumps(e, separators=(",", ":")) for e in ref), True)
    # Two hours of live traffic in 5-minute windows, drift injected after one hour.
    stream = [json.dumps(e, separators=(",", ":")) for e in events(rng, 24_000, START_MS, 7_200_000, START_MS + 3_600_000)]
    # Late events: 10 minutes behind the stream, beyond the 30 s lateness.
    for k, pos in enumerate([8000, 12000, 20000]):
        late = json.loads(stream[pos])
        late["ts"] -= 600_000
        stream.insert(pos, json.dumps(late, separators=(",", ":")))
    # Malformed lines a real stream carries now and then.
    bad = [
        '{"ts": 1764152000000, "model": "fraud-v3", "features": {"amount": "12.5"}}',   # string for a number
        '{"model": "fraud-v3", "features": {"amount": 12.5}}',                            # no timestamp
        '{"ts": 1764152000000, "features": {"amount": 12.5',                               # truncated
        '{"ts": "yesterday", "features": {"amount": 1}}',                                  # bad timestamp
        '{"ts": 1764152000000, "features": {"amount": 1e999}}',                            # overflow
    ]
    for k, line in enumerate(bad):
        stream.insert(3000 + 4000 * k, line)
    write(os.path.join(here, "stream.ndjson.zst"), stream, True)
    print(f"wrote {len(ref)} reference and {len(stream)} stream lines to {here}", file=sys.stderr)


if __name__ == "__main__":
    main()

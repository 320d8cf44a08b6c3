#!/usr/bin/env bash
# End-to-end replay benchmark: a 2 M-event zstd NDJSON stream of the example
# fraud-scoring traffic (10 numeric + 2 categorical features, 5-minute windows),
# replayed by a release build. Prints events/s and peak RSS.
#
#   scripts/bench-replay.sh [EVENTS] [extra swift build flags...]
#   scripts/bench-replay.sh 2000000 -Xswiftc -target-cpu -Xswiftc native
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-2000000}
shift || true
. scripts/bench-common.sh
stream=$(bench_stream "$events")
bin=$(bench_binary "$@")
"$bin" profile --config Fixtures/fraud.yaml --input Fixtures/traffic/reference.ndjson.zst --output "$work/reference.drp" >&2
sed "s#profile: traffic/reference.drp#profile: $work/reference.drp#" Fixtures/fraud.yaml > "$work/fraud.yaml"
echo "stream: $(stat -c %s "$stream") bytes compressed, $(zstd -dc "$stream" | wc -c) bytes of NDJSON" >&2
/usr/bin/time -f "peak RSS %M KiB, wall %e s, user %U s" "$bin" replay --config "$work/fraud.yaml" --input "$stream" --results "$work/results.jsonl"

#!/usr/bin/env bash
# Live throughput from the embedded broker on loopback: `driftline run` against the
# consume-only baseline of the same consumer (`driftline run --consume-only`: no
# decoding, windows or checkpoints) and kcat -C, over the same topic.
#
#   scripts/bench-live.sh [EVENTS] [PARTITIONS]
#
# librdkafka 2.0.2's mock keeps at most ~5 MB per partition, so the default puts
# 300 000 events (~120 MB) into 32 partitions. The broker runs in its own process.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-300000}
partitions=${2:-32}
topic=bench
source scripts/bench-broker.sh

config() {
    sed "s#profile: traffic/reference.drp#profile: $work/reference.drp#" Fixtures/fraud.yaml
    printf 'kafka:\n  brokers: %s\n  topics: [bench]\n  group: %s\ncheckpoint:\n  dir: %s\n  interval: 5s\n' "$bootstrap" "$1" "$work/state-$1"
}
rm -rf "$work"/state-run-*
config consume > "$work/consume.yaml"
config "run-$$" > "$work/run.yaml"
echo "== consume-only (same consumer, no decoding)" >&2
"$bin" run --config "$work/consume.yaml" --consume-only --until-idle 2s
echo "== driftline run (decode, windows, checkpoints, commits)" >&2
/usr/bin/time -f "peak RSS %M KiB" "$bin" run --config "$work/run.yaml" --results "$work/live-results.jsonl" --until-idle 2s 2>&1 | grep -E "messages/s|peak RSS"
echo "== kcat -C (includes its start-up and metadata)" >&2
start=$(date +%s.%N)
n=$(kcat -C -b "$bootstrap" -t bench -o beginning -e -q -X log_level=0 | wc -l)
end=$(date +%s.%N)
echo "kcat: $n messages in $(echo "$end - $start" | bc) s"

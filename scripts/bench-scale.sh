#!/usr/bin/env bash
# Scale-out throughput on the embedded broker (loopback): 1, 2 and 3 `driftline run --role
# worker` processes and one `--role evaluator` over the same topic, each set in its own
# consumer group, and the single-process `driftline run` for comparison.
#
#   scripts/bench-scale.sh [EVENTS] [PARTITIONS] [WORKER COUNTS...]
#
# For each set: the wall time from starting the processes until the evaluator has written the
# last window (the workers' `--until-idle` wait, which only tells them the input has ended, is
# subtracted), events/s over that time, and the evaluator's results compared with the
# single-process run's (they must be identical). librdkafka 2.0.2's mock keeps at most ~5 MB per
# partition (the oldest data beyond is dropped; the figures use what the topic holds), so the
# default puts 1 000 000 events (~400 MB) into 128 partitions. The broker runs in
# its own process; everything shares this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
partitions=${2:-128}
shift $(( $# > 2 ? 2 : $# ))
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 2 3)
idle=3
topic=scale
source scripts/bench-broker.sh

config() {
    sed "s#profile: traffic/reference.drp#profile: $work/reference.drp#" Fixtures/fraud.yaml
    printf 'kafka:\n  brokers: %s\n  topics: [scale]\n  group: %s\n  properties:\n    log_level: "0"\n    session.timeout.ms: "6000"\n    heartbeat.interval.ms: "500"\ncheckpoint:\n  dir: %s\n  interval: 5s\n' \
        "$bootstrap" "$1" "$work/state-$1"
}

now() { date +%s.%N; }

group="single-$$"
config "$group" > "$work/$group.yaml"
start=$(now)
"$bin" run --config "$work/$group.yaml" --results "$work/single.jsonl" --until-idle ${idle}s > "$work/single.log" 2>&1
end=$(now)
# What the broker kept (it drops the oldest data beyond ~5 MB per partition).
events=$(grep -o "^messages [0-9]*" "$work/single.log" | awk '{print $2}')
echo "the topic holds $events events"
seconds=$(echo "$end - $start - $idle" | bc)
echo "single process: $(echo "$seconds" | awk '{printf "%.2f", $1}') s, $(echo "$events / $seconds" | bc) events/s"

for n in "${counts[@]}"; do
    group="scale$n-$$"
    config "$group" > "$work/$group.yaml"
    start=$(now)
    /usr/bin/time -o "$work/$group-evaluator.time" -f "%U %S %M" \
        "$bin" run --config "$work/$group.yaml" --role evaluator --results "$work/$group.jsonl" --until-idle 60s > "$work/$group-evaluator.log" 2>&1 &
    evaluator=$!
    workers=()
    for w in $(seq "$n"); do
        "$bin" run --config "$work/$group.yaml" --role worker --until-idle ${idle}s > "$work/$group-worker$w.log" 2>&1 &
        workers+=($!)
    done
    wait "${workers[@]}"
    wait "$evaluator"
    end=$(now)
    seconds=$(echo "$end - $start - $idle" | bc)
    same=$(cmp -s "$work/$group.jsonl" "$work/single.jsonl" && echo "identical to the single process" || echo "DIFFERENT from the single process")
    windows=$(grep -h "^windows closed" "$work/$group-evaluator.log" | awk '{print $3}')
    read -r user sys rss < "$work/$group-evaluator.time"
    sizes=$(kcat -C -b "$bootstrap" -t "$group.partials" -p 0 -o beginning -e -q -X log_level=0 -f '%S\n' | sort -n | awk '{s+=$1; a[NR]=$1} END {printf "%d records, mean %d B, median %d B, max %d B", NR, s/NR, a[int((NR+1)/2)], a[NR]}')
    echo "  evaluator: $windows windows, CPU $(echo "$user + $sys" | bc) s ($(echo "($user + $sys) * 1000 / $windows" | bc -l | awk '{printf "%.2f", $1}') ms per window and model), peak RSS $((rss / 1024)) MB; partials topic: $sizes"
    rates=$(grep -h "s from the first message to the last" "$work/$group"-worker*.log | sed 's/.*: \([0-9]*\) messages\/s/\1/' | paste -sd, -)
    echo "  workers' own rates from their first message to their last: $rates messages/s"
    echo "$n worker(s) + evaluator: $(echo "$seconds" | awk '{printf "%.2f", $1}') s, $(echo "$events / $seconds" | bc) events/s; results $same; partials records $(grep -h "partial aggregates published" "$work/$group"-worker*.log | awk '{s+=$4} END {print s}')"
done

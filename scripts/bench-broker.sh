# Sourced by the live benchmarks: builds the release binary, builds the reference profile,
# starts `driftline broker` in its own process with topic $topic of $partitions partitions and
# fills it with $events generated events. Sets $bin, $work and $bootstrap; the broker stops
# when the calling script exits.
. scripts/bench-common.sh
stream=$(bench_stream "$events")
bin=$(bench_binary)
"$bin" profile --config Fixtures/fraud.yaml --input Fixtures/traffic/reference.ndjson.zst --output "$work/reference.drp" 2>/dev/null

"$bin" broker --topic "$topic:$partitions" > "$work/broker.out" 2>/dev/null &
broker=$!
trap 'kill $broker 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$work/broker.out" | cut -d= -f2)
zstd -dc "$stream" | kcat -P -b "$bootstrap" -t "$topic" -X log_level=0
echo "produced $events events into $partitions partitions of $topic at $bootstrap ($(nproc) cores)" >&2

# Sourced by the bench-*.sh scripts: the work directory and the benchmark streams.
work=${BENCH_DIR:-/tmp/driftline-bench}
mkdir -p "$work"

# bench_stream EVENTS: prints the path of a zstd NDJSON stream of EVENTS example
# events (Fixtures/generate_traffic.py), generated on first use.
bench_stream() {
    local stream="$work/stream-$1.ndjson.zst"
    if [ ! -f "$stream" ]; then
        echo "generating $1 events into $stream" >&2
        python3 Fixtures/generate_traffic.py --events "$1" --out "$stream"
    fi
    echo "$stream"
}

# bench_binary [SWIFT BUILD FLAGS...]: builds driftline in release mode and prints
# the path of the executable.
bench_binary() {
    swift build -c release --product driftline "$@" >&2
    echo "$(swift build -c release --show-bin-path "$@")/driftline"
}

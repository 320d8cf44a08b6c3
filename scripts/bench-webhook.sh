#!/usr/bin/env bash
# Pipeline throughput with an alert webhook that is down, slow or failing, against none.
#
# A release `driftline replay` of the benchmark stream (scripts/bench-replay.sh) in
# 1-minute windows with a rule that changes state on about half the windows of every
# feature (the sign of each feature's mean shift), so thousands of alert changes go to
# the webhook: a port nothing listens on, a receiver that answers after 2 s, one that
# answers 500. Runs alternate between the cases; each prints the pipeline's own rate
# (events/s from the first event to the last window) and the process's wall time, which
# also holds the up to 5 s the webhook is given to deliver what is left when the
# replay ends.
#
#   scripts/bench-webhook.sh [EVENTS] [RUNS]        defaults 2000000 3
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-2000000}
runs=${2:-3}
. scripts/bench-common.sh
stream=$(bench_stream "$events")
bin=$(bench_binary)
"$bin" profile --config Fixtures/fraud.yaml --input Fixtures/traffic/reference.ndjson.zst --output "$work/reference.drp" >&2

# Receivers: MODE slow (200 after 2 s) or fail (500 at once); the first line is the port.
receiver() {
    python3 -u - "$1" <<'EOF' &
import http.server, socketserver, sys, time
mode = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "slow":
            time.sleep(2)
        self.send_response(200 if mode == "slow" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
}
receiver slow > "$work/slow.port"
slow_pid=$!
receiver fail > "$work/fail.port"
fail_pid=$!
trap 'kill $slow_pid $fail_pid 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$work/slow.port" ] && [ -s "$work/fail.port" ] && break; sleep 0.1; done
# A port nothing listens on: bound and released by the kernel's choice.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

config() {
    sed -e "s#profile: traffic/reference.drp#profile: $work/reference.drp#" \
        -e 's#^  size: 5m#  size: 1m#' -e 's#^  slide: 5m#  slide: 1m#' -e '/^alerts:/,$d' Fixtures/fraud.yaml
    cat <<EOF
alerts:
  rules:
    - name: mean-shift-sign
      metric: mean_shift
      op: ">"
      threshold: 0
      features: ["*"]
      for: 1
      resolve_after: 1
EOF
    if [ -n "$1" ]; then printf '  sinks:\n    - webhook: %s\n' "$1"; else printf '  sinks: []\n'; fi
}
config "" > "$work/webhook-none.yaml"
config "http://127.0.0.1:$dead/api/v2/alerts" > "$work/webhook-dead.yaml"
config "http://127.0.0.1:$(cat "$work/slow.port")/api/v2/alerts" > "$work/webhook-slow.yaml"
config "http://127.0.0.1:$(cat "$work/fail.port")/api/v2/alerts" > "$work/webhook-500.yaml"

for run in $(seq "$runs"); do
    for case in none dead slow 500; do
        start=$(date +%s.%N)
        out=$("$bin" replay --config "$work/webhook-$case.yaml" --input "$stream" --results "$work/webhook-results.jsonl" 2>&1)
        end=$(date +%s.%N)
        rate=$(grep -o '[0-9]* events/s' <<<"$out" | head -1)
        changes=$(grep -o 'alert changes [0-9]*' <<<"$out" | head -1)
        webhook=$(grep '^alert webhook:' <<<"$out" | tail -1 || true)
        printf 'run %s  %-5s %-18s wall %5.2f s  %s  %s\n' "$run" "$case" "$rate" "$(echo "$end - $start" | bc)" "$changes" "$webhook"
    done
done

#!/usr/bin/env bash
# Renders an HTML report in headless Chromium (Debian package `chromium`) and writes a
# PNG screenshot, to look at what a person would see.
#
#   scripts/render-report.sh REPORT.html OUT.png [WIDTH,HEIGHT]
set -euo pipefail
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1280,2400}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$size" \
    --screenshot="$out" "file://$report" 2>/dev/null
echo "wrote $out" >&2

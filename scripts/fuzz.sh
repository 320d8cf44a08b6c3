#!/usr/bin/env bash
# Long mutation fuzzing of the JSON event decoder (the same generator and checks as
# DecoderMutationTests in `swift test`, which runs 50 000 inputs), in a release build.
#
#   scripts/fuzz.sh [INPUTS]        default 10 000 000
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-10000000}
swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-fuzz >&2
bin=$(swift build -c release --show-bin-path --scratch-path .build-fuzz)/driftlinePackageTests.xctest
echo "fuzzing the decoder with $inputs mutated events" >&2
DRIFTLINE_FUZZ_ITERATIONS=$inputs /usr/bin/time -f "peak RSS %M KiB, %e s" \
    "$bin" --testing-library swift-testing --filter DecoderMutationTests

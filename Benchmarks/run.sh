#!/usr/bin/env bash
# Runs the StatsKernels suite with both flag sets and prints the figures in one table.
#
#   ./run.sh                  # everything (about 3 minutes per flag set once built)
#   ./run.sh 'Moments.*'      # only benchmarks whose name matches a regex
#
# The two runs, exactly:
#   default (x86-64 baseline, SSE2):
#     swift package --allow-writing-to-package-directory benchmark \
#       --target StatsKernels --scale --no-progress [--filter REGEX]
#   native (-target-cpu native: AVX-512 on the reference machine):
#     swift package -Xswiftc -target-cpu -Xswiftc native --scratch-path .build/native \
#       --allow-writing-to-package-directory benchmark \
#       --target StatsKernels --scale --no-progress [--filter REGEX]
#
# SwiftPM's global -Xswiftc (before the `benchmark` verb) reaches every module the
# plugin builds, DriftStats included. The plugin's own `--Xswiftc` option does not:
# in benchmark 1.38.1 it is only applied to the BenchmarkTool build. The native build
# has its own scratch path so the two flag sets do not rebuild each other.
#
# `--scale` prints counts per measured iteration: mallocs per 10^6 values (value
# kernels, 16 batches) or per 1000 features. The full tables are kept in
# .build/run/{default,native}.txt.
set -euo pipefail
cd "$(dirname "$0")"

filter=${1:-}
out=.build/run
mkdir -p "$out"

run() {
    local name=$1
    shift
    local args=(--allow-writing-to-package-directory benchmark --target StatsKernels --scale --no-progress)
    if [[ -n $filter ]]; then args+=(--filter "$filter"); fi
    echo "== $name: swift package $* ${args[*]}" >&2
    if ! swift package "$@" "${args[@]}" >"$out/$name.txt" 2>&1; then
        tail -40 "$out/$name.txt" >&2
        exit 1
    fi
}

run default
run native -Xswiftc -target-cpu -Xswiftc native --scratch-path .build/native

echo
echo "load during the runs: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo

# Extracts, per benchmark: p50 and best (p0) of the throughput or wall clock, and the
# p50 malloc count, from the plugin's text tables (columns split on │).
extract() {
    awk -F'│' '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        /^[A-Za-z]/ { name = trim($0); next }
        NF < 10 { next }
        {
            label = trim($2); p0 = trim($3); p50 = trim($5)
            if (label ~ /^Throughput/) { tp50[name] = p50; tp0[name] = p0; seen[name] = 1 }
            else if (label ~ /^Malloc \(total\)/) { m[name] = p50 }
            else if (label ~ /^Time \(wall clock\)/) {
                unit = label; sub(/.*\(/, "", unit); sub(/\).*/, "", unit)
                f = (unit == "ns") ? 1e-6 : (unit == "μs") ? 1e-3 : (unit == "ms") ? 1 : 1000
                w50[name] = p50 * f; w0[name] = p0 * f; seen[name] = 1
            }
        }
        END {
            for (n in seen) {
                if (n ~ /features/) {
                    # p0 of the wall clock is the best run.
                    printf "%s\t%.1f ms\t%.1f ms\t%s\n", n, w50[n], w0[n], m[n]
                } else {
                    printf "%s\t%d M/s\t%d M/s\t%s\n", n, tp50[n], tp0[n], m[n]
                }
            }
        }' "$1" | LC_ALL=C sort
}

target() {
    case $1 in
        Moments*) echo "≥ 1500 M/s" ;;
        "BinnedCounts 10 bins"*) echo "≥ 1000 M/s" ;;
        *"1000 bins"*) echo "≥ 250 M/s" ;;
        NumericDriftMetrics*) echo "≤ 5 ms" ;;
        *) echo "-" ;;
    esac
}

extract "$out/default.txt" >"$out/default.tsv"
extract "$out/native.txt" >"$out/native.tsv"

{
    printf 'benchmark\ttarget\tdefault p50\tdefault best\tnative p50\tnative best\tmallocs default/native\n'
    LC_ALL=C join -t $'\t' "$out/default.tsv" "$out/native.tsv" | while IFS=$'\t' read -r n d50 d0 dm n50 n0 nm; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s / %s\n' "$n" "$(target "$n")" "$d50" "$d0" "$n50" "$n0" "$dm" "$nm"
    done
} | column -t -s $'\t'
echo
echo "M/s = million values per second (10^6 values per measured iteration); ms = per 1000 features."
echo "mallocs: per 10^6 values (16 batches of <= 64 Ki values) or per 1000 features, p50."

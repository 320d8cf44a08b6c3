#!/usr/bin/env bash
# Installs the system packages Driftline builds and tests with, when missing:
# librdkafka (Kafka client, C), libzstd (compression, C), pkg-config, and the
# zstd and kcat command-line tools the tests interoperate with.
set -euo pipefail
need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev)
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}"

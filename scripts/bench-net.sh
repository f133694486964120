#!/usr/bin/env bash
# netprobe against iperf3, sockperf and qperf on loopback, interleaved, same placement.
# Prints a Markdown table: medians, and the ratio ours/peer per pair (median, min, max).
# Pairs alternate which tool runs first, so drift within a pair favours neither.
#
#   scripts/bench-net.sh                 5 pairs of 5 s runs, client on CPU 0, server on CPU 1
#   RUNS=7 DURATION=10 scripts/bench-net.sh
#   PLACEMENT=shared scripts/bench-net.sh   both sides on CPU 0
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in iperf3 sockperf qperf taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install iperf3 sockperf qperf util-linux" >&2; exit 2; }
done
cargo build --release -p netprobe --quiet
exec python3 scripts/bench_net.py "$@"

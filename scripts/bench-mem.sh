#!/usr/bin/env bash
# memprobe against likwid-bench, sysbench and mbw, interleaved, same threads and placement.
# Prints a Markdown table: medians (GB/s = 10^9 B/s, STREAM accounting) and ratios ours/peer,
# once with our best pass (STREAM's figure) and once with our median pass (likwid-bench reports
# the mean over its run). Runs alternate which tool goes first.
#
#   scripts/bench-mem.sh              5 interleaved runs, 1 and 2 threads, pinned to CPUs 0..T-1
#   RUNS=7 THREADS="1 2" scripts/bench-mem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in likwid-bench sysbench mbw python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install likwid sysbench mbw" >&2; exit 2; }
done
cargo build --release -p memprobe --quiet
exec python3 scripts/bench_mem.py "$@"

#!/usr/bin/env bash
# netprobe against iperf3, sockperf and qperf on loopback, interleaved, same placement.
# Prints a Markdown table: medians, and the ratio ours/peer per pair (median, min, max).
# Pairs alternate which tool runs first, so drift within a pair favours neither.
#
#   scripts/bench-net.sh                 5 pairs of 5 s runs, client on CPU 0, server on CPU 1
#   RUNS=7 DURATION=10 scripts/bench-net.sh
#   PLACEMENT=shared scripts/bench-net.sh   both sides on CPU 0
#   scripts/bench-net.sh quota busy-poll    only the cases whose names contain these words
#   QUOTAS=0.25,0.5 scripts/bench-net.sh quota
#   OURS_ARGS="--send-path copy" scripts/bench-net.sh quota   extra flags for every netprobe client
#
# netprobe's tcp-stream splices its sends by default (--send-path auto); the "copying" case holds
# its copying path, the one iperf3 takes, against iperf3.
#
# Cases beyond the plain ones:
# - busy-poll: tcp-rr and udp-rr with netprobe --busy-poll against sockperf's best wait mode
#   (its default epoll, or --nonblocked on both sides, which spins; whichever has the lower p50
#   in that pair);
# - quota: tcp-stream with each side in its own CPU cgroup at QUOTAS vCPUs (default 0.25, 0.5
#   and 1), on cgroup v2 (cpu.max) or, where the cpu controller is on v1, v1
#   (cpu.cfs_quota_us); needs root, and says which it used or why it skipped them. Each quota
#   runs twice: against iperf3's default (copying) send and against its -Z (sendfile);
# - the kernel's floor: scripts/rr_floor.c (built with cc), a spinning 64-byte ping-pong that
#   makes the four system calls of a round trip and nothing else, against sockperf's best mode:
#   the least any program on kernel sockets can take here, to read round-trip goals against.
# A second table gives the CPU each side spent: seconds per GB for streams, time per round
# trip for rr tests (iperf3's from its CPU utilisation, sockperf's from /proc and rusage).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in iperf3 sockperf qperf taskset python3 cc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install iperf3 sockperf qperf util-linux gcc" >&2; exit 2; }
done
cargo build --release -p netprobe --quiet
exec python3 scripts/bench_net.py "$@"

"""Runs memprobe and its peers interleaved and prints ratios (called by scripts/bench-mem.sh)."""
import json
import os
import re
import statistics
import subprocess
import sys

RUNS = int(os.environ.get("RUNS", "5"))
THREADS = [int(t) for t in os.environ.get("THREADS", "1 2").split()]
# The build bench-mem.sh just made: CARGO_TARGET_DIR's, else the workspace's target directory.
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.dirname(__file__), "..", "target")
MEMPROBE = os.environ.get("MEMPROBE") or os.path.join(TARGET, "release", "memprobe")
# likwid-bench -W N:1GB:T spreads 1 GB over the kernel's arrays; give memprobe the same total.
WORKING_SET = "1GB"
ARRAY = "320M"  # three arrays of 320 MiB = 1.0 GB


def sh(args):
    out = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {out.stderr[-400:]}")
    return out.stdout


def ours(threads):
    """(best, median) bytes/s per (kernel, stores). STREAM reports the best pass; likwid-bench
    reports the mean over its whole run, so both of ours are compared."""
    report = json.loads(sh([MEMPROBE, "--no-latency", "--threads", str(threads), "--pin",
                            "--size", ARRAY, "--json"]))
    figures = {}
    for b in report["metrics"]["memory_bandwidth"]:
        figures[(b["kernel"], b["stores"])] = (b["best_bytes_per_sec"], b["median_bytes_per_sec"])
    return figures


def likwid(kernel, threads):
    out = sh(["likwid-bench", "-t", kernel, "-W", f"N:{WORKING_SET}:{threads}"])
    return float(re.search(r"MByte/s:\s+([\d.]+)", out).group(1)) * 1e6


def sysbench(oper, threads):
    out = sh(["sysbench", "memory", "--memory-block-size=1G", "--memory-total-size=32G",
              f"--memory-oper={oper}", f"--threads={threads}", "run"])
    return float(re.search(r"\(([\d.]+) MiB/sec\)", out).group(1)) * 1048576


def mbw_best():
    out = sh(["mbw", "-n", "10", "1024"])
    rates = [float(m) for m in re.findall(r"AVG.*Copy:\s+([\d.]+) MiB/s", out)]
    return max(rates) * 1048576 * 2  # bytes copied once -> STREAM's read + write accounting


# name, our key, peer function, threads it applies to (None = all)
CASES = [
    ("read vs likwid load_avx", ("read", "none"), lambda t: likwid("load_avx", t), None),
    ("copy cached vs likwid copy_avx", ("copy", "cached"), lambda t: likwid("copy_avx", t), None),
    ("triad cached vs likwid stream_avx", ("triad", "cached"), lambda t: likwid("stream_avx", t), None),
    ("copy nontemporal vs likwid copy_mem_avx", ("copy", "nontemporal"), lambda t: likwid("copy_mem_avx", t), None),
    ("triad nontemporal vs likwid stream_mem_avx", ("triad", "nontemporal"), lambda t: likwid("stream_mem_avx", t), None),
    ("read vs sysbench read (1 GiB blocks)", ("read", "none"), lambda t: sysbench("read", t), None),
    ("write cached vs sysbench write (1 GiB blocks)", ("write", "cached"), lambda t: sysbench("write", t), None),
    ("copy nontemporal vs mbw best method", ("copy", "nontemporal"), lambda t: mbw_best(), [1]),
]


def main():
    print(f"{RUNS} interleaved runs per case (alternating which tool goes first); threads pinned "
          f"to CPUs 0..T-1 by both tools; working set {WORKING_SET}", file=sys.stderr)
    print("| threads | test | ours best (median GB/s) | peer (median GB/s) | ratio best/peer median (min-max) "
          "| ratio ours-median/peer median (min-max) |")
    print("|---|---|---|---|---|---|")
    for t in THREADS:
        values = {name: ([], [], []) for name, *_ in CASES}
        for run in range(RUNS):
            cases = [c for c in CASES if not c[3] or t in c[3]]
            if run % 2 == 0:
                mine = ours(t)
                peers = [peer(t) for _, _, peer, _ in cases]
            else:
                peers = [peer(t) for _, _, peer, _ in cases]
                mine = ours(t)
            for (name, key, _, _), p in zip(cases, peers):
                best, median = mine[key]
                values[name][0].append(best)
                values[name][1].append(median)
                values[name][2].append(p)
            print(f"  threads {t} run {run + 1} done", file=sys.stderr)
        for name, *_ in CASES:
            best, median, peer = values[name]
            if not best:
                continue
            r_best = [a / b for a, b in zip(best, peer)]
            r_med = [a / b for a, b in zip(median, peer)]
            print(f"| {t} | {name} | {statistics.median(best) / 1e9:.2f} "
                  f"({statistics.median(median) / 1e9:.2f}) | {statistics.median(peer) / 1e9:.2f} | "
                  f"{statistics.median(r_best):.3f} ({min(r_best):.3f}-{max(r_best):.3f}) | "
                  f"{statistics.median(r_med):.3f} ({min(r_med):.3f}-{max(r_med):.3f}) |")


if __name__ == "__main__":
    main()

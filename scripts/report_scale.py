#!/usr/bin/env python3
"""How `fargate-bench report` scales: one real tcp-rr item (a local 1 s run) copied into a
results directory of N items across the 7 CPU sizes, then `report` timed with its peak RSS.

  python3 scripts/report_scale.py [--items 10000] [--bin target/release/fargate-bench]

Target (issue 14): 10,000 items in under 1 s and under 200 MB.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ["0.25x0.5", "0.5x1", "1x2", "2x4", "4x8", "8x16", "16x32"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "fargate-bench"))
    p.add_argument("--format", default="json")
    p.add_argument("--probe-dir", default=os.path.join(ROOT, "target", "debug"),
                   help="netprobe for the one seed run (its speed does not matter here)")
    a = p.parse_args()
    tmp = tempfile.mkdtemp()
    one = subprocess.run([a.bin, "run", "--test", "tcp-rr", "--duration", "1", "-n", "1",
                          "--size", "1x2", "--results", os.path.join(tmp, "one"),
                          "--no-progress", "--format", "json", "--probe-dir", a.probe_dir],
                         capture_output=True, text=True)
    if one.returncode != 0:
        sys.exit(f"the seed run failed: {one.stderr[-2000:]}")
    seed_dir = os.path.join(tmp, "one", os.listdir(os.path.join(tmp, "one"))[0])
    with open(os.path.join(seed_dir, "results.jsonl")) as f:
        seed = json.loads(f.readline())
    with open(os.path.join(seed_dir, "run.json")) as f:
        meta = json.load(f)
    big = os.path.join(tmp, "big")
    os.makedirs(big)
    with open(os.path.join(big, "run.json"), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(big, "results.jsonl"), "w") as f:
        for i in range(a.items):
            rec = dict(seed)
            size = SIZES[i % len(SIZES)]
            rec.update(size=size, repetition=i // len(SIZES) + 1,
                       id=f"{i // len(SIZES) + 1}/{size}/tcp-rr")
            f.write(json.dumps(rec) + "\n")
    mb = os.path.getsize(os.path.join(big, "results.jsonl")) / 1e6
    start = time.time()
    proc = subprocess.Popen([a.bin, "report", big, "--format", a.format, "-o", os.devnull],
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    wall = time.time() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"report failed: {proc.stderr.read().decode()[-2000:]}")
    rss_mb = usage.ru_maxrss / 1024
    verdict = "meets" if wall < 1.0 and rss_mb < 200 else "misses"
    print(f"report --format {a.format} over {a.items} tcp-rr items ({mb:.1f} MB of results.jsonl): "
          f"{wall:.2f} s, peak RSS {rss_mb:.0f} MB ({verdict} the target of < 1 s and < 200 MB)")


if __name__ == "__main__":
    main()

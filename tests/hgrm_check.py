"""Checks fargate-bench's .hgrm export against the Python hdrhistogram package (PyPI), percentile
by percentile: every merged round-trip histogram of RESULTS_JSONL is decoded from its base64
with hdrh, merged with hdrh, and each row of the .hgrm must give the value hdrh computes at that
percentile (within the histogram's own resolution).

  python hgrm_check.py RESULTS_JSONL REPORT_HGRM
"""
import json
import math
import re
import sys

from hdrh.histogram import HdrHistogram


def merged(results):
    groups = {}
    with open(results) as f:
        for line in f:
            rec = json.loads(line)
            if rec["status"] != "ok":
                continue
            for report in rec["reports"]:
                lat = report.get("metrics", {}).get("latency")
                if report.get("role") != "client" or not lat:
                    continue
                h = HdrHistogram.decode(lat["rtt"])
                key = (rec["label"], rec["size"])
                if key in groups:
                    groups[key].add(h)
                else:
                    groups[key] = h
    return groups


def sections(hgrm):
    out, current = {}, None
    head = re.compile(r"^# (.+) at (\S+): round trips")
    with open(hgrm) as f:
        for line in f:
            m = head.match(line)
            if m:
                current = (m.group(1), m.group(2))
                out[current] = []
            elif line.startswith("#"):
                current = None if "raw" in line else current
            elif current and line.strip() and not line.strip().startswith("Value"):
                value, pct = line.split()[:2]
                out[current].append((float(value), float(pct)))
    return out


def main():
    groups, rows = merged(sys.argv[1]), sections(sys.argv[2])
    if set(groups) != set(rows):
        sys.exit(f"groups differ: results {sorted(groups)} vs hgrm {sorted(rows)}")
    checked = direct = 0
    for key, h in groups.items():
        ours = rows[key]
        if not ours:
            sys.exit(f"{key}: no rows")
        total = h.get_total_count()
        # hdrh's buckets and counts, cumulated: (highest equivalent value, count at or below).
        cumulative, running = [], 0
        for it in h.get_recorded_iterator():
            running += it.count_at_value_iterated_to
            cumulative.append((it.value_iterated_to, running))
        for value, q in ours:
            need = math.ceil(q * total - 1e-9) if q < 1.0 else total
            if int(q * total + 0.5) == max(need, 1):
                # hdrh's own value-at-percentile counts the same values: ask it directly.
                theirs = h.get_value_at_percentile(q * 100.0)
                direct += 1
            else:
                # It rounds the count where the step asks "at least": read its buckets.
                theirs = next(v for v, c in cumulative if c >= max(need, 1))
            if abs(value - theirs / 1000.0) > 0.0011:
                sys.exit(f"{key} at {q}: ours {value} us, hdrh {theirs / 1000.0} us")
            checked += 1
        top = ours[-1]
        if top[1] != 1.0 or abs(top[0] - h.get_max_value() / 1000.0) > h.get_max_value() * 2e-3:
            sys.exit(f"{key}: last row {top}, hdrh max {h.get_max_value()}")
    print(f"{len(groups)} histograms, {checked} rows match hdrhistogram (PyPI), "
          f"{direct} of them through its get_value_at_percentile")


if __name__ == "__main__":
    main()

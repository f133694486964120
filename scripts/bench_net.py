"""Runs netprobe and its peers interleaved (ours, peer, ours, peer ...) and prints ratios.

Called by scripts/bench-net.sh; see there for the knobs (RUNS, DURATION, PLACEMENT).
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

RUNS = int(os.environ.get("RUNS", "5"))
DURATION = int(os.environ.get("DURATION", "5"))
PLACEMENT = os.environ.get("PLACEMENT", "split")
NETPROBE = os.environ.get("NETPROBE") or os.path.join(os.path.dirname(__file__), "..", "target", "release", "netprobe")
CLIENT_CPU, SERVER_CPU = ("0", "1") if PLACEMENT == "split" else ("0", "0")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu, args):
    return ["taskset", "-c", cpu] + args


class Server:
    def __init__(self, args, ready_port, udp=False):
        self.proc = subprocess.Popen(pinned(SERVER_CPU, args), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        # Poll the socket table: a probe connection would be taken as the one client by
        # one-shot servers (iperf3 -1).
        deadline = time.time() + 5
        flag = "-lun" if udp else "-ltn"
        while time.time() < deadline:
            table = subprocess.run(["ss", "-H", flag, f"sport = :{ready_port}"],
                                   capture_output=True, text=True).stdout
            if table.strip():
                break
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def client(args):
    out = subprocess.run(pinned(CLIENT_CPU, args), capture_output=True, text=True, timeout=DURATION + 60)
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {out.stderr[-500:]}")
    return out.stdout


def ours(test, extra):
    port = free_port()
    srv = Server([NETPROBE, "server", "--bind", "127.0.0.1", "--port", str(port)], port)
    try:
        out = client([NETPROBE, "client", "--server", f"127.0.0.1:{port}", "--test", test,
                      "-t", str(DURATION), "--json"] + extra)
        return json.loads(out)
    finally:
        srv.stop()


def iperf3(extra):
    port = free_port()
    srv = Server(["iperf3", "-s", "-1", "-p", str(port)], port)
    try:
        return json.loads(client(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(DURATION), "-J"] + extra))
    finally:
        srv.stop()


def sockperf(udp, size):
    port = free_port()
    proto = [] if udp else ["--tcp"]
    srv = Server(["sockperf", "sr", "-p", str(port)] + proto, port, udp=udp)
    try:
        out = client(["sockperf", "pp", "-i", "127.0.0.1", "-p", str(port), "-t", str(DURATION),
                      "-m", str(size), "--mps=max"] + proto)
        p50 = float(re.search(r"percentile 50\.000 =\s+([\d.]+)", out).group(1))
        return p50 * 2 * 1000  # one-way usec -> round trip ns
    finally:
        srv.stop()


def qperf_tcp_lat():
    port = free_port()
    srv = Server(["qperf", "--listen_port", str(port)], port)
    try:
        out = client(["qperf", "127.0.0.1", "--listen_port", str(port), "-t", str(DURATION), "tcp_lat"])
        m = re.search(r"latency\s*=\s*([\d.]+)\s*(ns|us|ms)", out)
        value = float(m.group(1)) * {"ns": 1, "us": 1e3, "ms": 1e6}[m.group(2)]
        return value * 2  # one-way mean -> round trip
    finally:
        srv.stop()


def tput(report):
    return sum(t["bits_per_sec"] for t in report["metrics"]["throughput"])


def udp_loss(report):
    return report["metrics"]["udp"]["loss_ratio"] * 100


def p50(report):
    return report["metrics"]["latency"]["rtt_summary"]["p50_ns"]


def mean_rtt(report):
    return report["metrics"]["latency"]["rtt_summary"]["mean_ns"]


CASES = [
    # name, ours, peer, unit, higher_is_better
    ("tcp-stream 1 stream 128K", lambda: tput(ours("tcp-stream", ["-l", "128K"])),
     lambda: iperf3(["-l", "128K"])["end"]["sum_received"]["bits_per_second"], "Gbit/s", True),
    ("tcp-stream 1 stream, receivers blocking (--receive-wait block)",
     lambda: tput(ours("tcp-stream", ["-l", "128K", "--receive-wait", "block"])),
     lambda: iperf3(["-l", "128K"])["end"]["sum_received"]["bits_per_second"], "Gbit/s", True),
    ("tcp-stream 4 streams", lambda: tput(ours("tcp-stream", ["-l", "128K", "-P", "4"])),
     lambda: iperf3(["-l", "128K", "-P", "4"])["end"]["sum_received"]["bits_per_second"], "Gbit/s", True),
    ("tcp-stream reverse", lambda: tput(ours("tcp-stream", ["-l", "128K", "-R"])),
     lambda: iperf3(["-l", "128K", "-R"])["end"]["sum_received"]["bits_per_second"], "Gbit/s", True),
    ("tcp-stream zero-copy (ours -Z vs iperf3 -Z)", lambda: tput(ours("tcp-stream", ["-l", "128K", "-Z"])),
     lambda: iperf3(["-l", "128K", "-Z"])["end"]["sum_received"]["bits_per_second"], "Gbit/s", True),
    ("udp-stream 1G throughput", lambda: tput(ours("udp-stream", ["--rate", "1G", "-l", "1400"])),
     lambda: iperf3(["-u", "-b", "1G", "-l", "1400"])["end"]["sum"]["bits_per_second"], "Gbit/s", True),
    ("tcp-rr 64 B p50 RTT", lambda: p50(ours("tcp-rr", ["-l", "64"])),
     lambda: sockperf(False, 64), "us", False),
    ("udp-rr 64 B p50 RTT", lambda: p50(ours("udp-rr", ["-l", "64"])),
     lambda: sockperf(True, 64), "us", False),
    ("tcp-rr 64 B mean RTT vs qperf", lambda: mean_rtt(ours("tcp-rr", ["-l", "64"])),
     qperf_tcp_lat, "us", False),
]

LOSS_CASE = ("udp-stream 1G loss %", lambda: udp_loss(ours("udp-stream", ["--rate", "1G", "-l", "1400"])),
             lambda: iperf3(["-u", "-b", "1G", "-l", "1400"])["end"]["sum"]["lost_percent"])


def scale(value, unit):
    return value / 1e9 if unit == "Gbit/s" else value / 1e3 if unit == "us" else value


def main():
    only = sys.argv[1:]
    print(f"placement: {PLACEMENT} (client CPU {CLIENT_CPU}, server CPU {SERVER_CPU}); "
          f"{RUNS} interleaved pairs of {DURATION} s", file=sys.stderr)
    rows = []
    for name, mine, peer, unit, higher in CASES:
        if only and not any(o in name for o in only):
            continue
        ours_v, peer_v, ratios = [], [], []
        for i in range(RUNS):
            # Alternate who goes first (ours, peer / peer, ours ...): a machine that drifts
            # within a pair must not favour one tool.
            if i % 2 == 0:
                a = mine()
                b = peer()
            else:
                b = peer()
                a = mine()
            ours_v.append(a)
            peer_v.append(b)
            ratios.append(a / b if b else float("nan"))
            print(f"  {name} run {i + 1}: ours {scale(a, unit):.3f} peer {scale(b, unit):.3f} {unit}", file=sys.stderr)
        rows.append((name, unit, statistics.median(ours_v), statistics.median(peer_v),
                     statistics.median(ratios), min(ratios), max(ratios), higher))
    if not only or any(o in LOSS_CASE[0] for o in only):
        name, mine, peer = LOSS_CASE
        ours_v, peer_v = [], []
        for i in range(RUNS):
            pair = (mine, peer) if i % 2 == 0 else (peer, mine)
            first, second = pair[0](), pair[1]()
            ours_v.append(first if i % 2 == 0 else second)
            peer_v.append(second if i % 2 == 0 else first)
        rows.append((name, "%", statistics.median(ours_v), statistics.median(peer_v), None, None, None, False))
    print("| test | ours (median) | peer (median) | ratio ours/peer median (min-max) | better is |")
    print("|---|---|---|---|---|")
    for name, unit, o, p, r, lo, hi, higher in rows:
        ratio = f"{r:.3f} ({lo:.3f}-{hi:.3f})" if r is not None else "n/a"
        print(f"| {name} | {scale(o, unit):.3f} {unit} | {scale(p, unit):.3f} {unit} | {ratio} | "
              f"{'higher' if higher else 'lower'} |")


if __name__ == "__main__":
    main()

"""Runs netprobe and its peers interleaved (ours, peer, ours, peer ...) and prints ratios.

Called by scripts/bench-net.sh; see there for the knobs (RUNS, DURATION, PLACEMENT, QUOTAS).
"""
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from cpu_cgroups import CpuCgroups

RUNS = int(os.environ.get("RUNS", "5"))
DURATION = int(os.environ.get("DURATION", "5"))
PLACEMENT = os.environ.get("PLACEMENT", "split")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.dirname(__file__), "..", "target")
NETPROBE = os.environ.get("NETPROBE") or os.path.join(TARGET, "release", "netprobe")
CLIENT_CPU, SERVER_CPU = ("0", "1") if PLACEMENT == "split" else ("0", "0")
# vCPUs per side for the quota cases (each side in its own CPU cgroup).
QUOTAS = [float(q) for q in os.environ.get("QUOTAS", "0.25,0.5,1").split(",") if q]
# Extra flags for every netprobe client (OURS_ARGS="--send-path copy": the copying sender).
OURS_ARGS = os.environ.get("OURS_ARGS", "").split()

# Set while a quota case runs: the cgroup each side's processes go into.
CGROUPS = {"client": None, "server": None}


def enter(side):
    """A preexec_fn that moves the child into the side's cgroup, if a quota case runs."""
    cgroups, path = CGROUPS.get("manager"), CGROUPS[side]
    if cgroups is None or path is None:
        return None
    return lambda: cgroups.enter(path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu, args):
    return ["taskset", "-c", cpu] + args


class Server:
    def __init__(self, args, ready_port, udp=False):
        self.proc = subprocess.Popen(pinned(SERVER_CPU, args), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=enter("server"))
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

    def cpu_seconds(self):
        """User plus system time so far (from /proc; the server still runs)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def client(args):
    out = subprocess.run(pinned(CLIENT_CPU, args), capture_output=True, text=True,
                         timeout=DURATION + 60, preexec_fn=enter("client"))
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {out.stderr[-500:]}")
    return out.stdout


def ours(test, extra):
    port = free_port()
    srv = Server([NETPROBE, "server", "--bind", "127.0.0.1", "--port", str(port)], port)
    try:
        out = client([NETPROBE, "client", "--server", f"127.0.0.1:{port}", "--test", test,
                      "-t", str(DURATION), "--json"] + extra + OURS_ARGS)
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


# sockperf's wait modes: its default (epoll with a 10 ms timeout), and non-blocking sockets on
# both sides (`--nonblocked`: its receives spin, with the 10 ms epoll wait now and then).
SOCKPERF_MODES = {"epoll": [], "nonblocked": ["--nonblocked"]}
# What the last sockperf run cost, for the CPU table: mode -> (client, server) CPU ns per
# round trip.
SOCKPERF_CPU = {}


def sockperf(udp, size, mode="epoll"):
    port = free_port()
    proto = [] if udp else ["--tcp"]
    flags = SOCKPERF_MODES[mode]
    srv = Server(["sockperf", "sr", "-p", str(port)] + proto + flags, port, udp=udp)
    try:
        before = children_cpu_seconds()
        out = client(["sockperf", "pp", "-i", "127.0.0.1", "-p", str(port), "-t", str(DURATION),
                      "-m", str(size), "--mps=max"] + proto + flags)
        client_cpu = children_cpu_seconds() - before
        server_cpu = srv.cpu_seconds()
        p50 = float(re.search(r"percentile 50\.000 =\s+([\d.]+)", out).group(1))
        trips = re.search(r"ReceivedMessages=(\d+)", out)
        if trips and int(trips.group(1)) > 0:
            n = int(trips.group(1))
            SOCKPERF_CPU[mode] = (client_cpu * 1e9 / n, server_cpu * 1e9 / n)
        return p50 * 2 * 1000  # one-way usec -> round trip ns
    finally:
        srv.stop()


def sockperf_best(udp, size):
    """sockperf's best p50 over its wait modes (each mode one run, in alternating order)."""
    modes = list(SOCKPERF_MODES)
    best = min((sockperf(udp, size, m), m) for m in modes)
    SOCKPERF_CPU["best"] = SOCKPERF_CPU.get(best[1], (float("nan"), float("nan")))
    return best[0]


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


# CPU costs of the last run of each tool, for the CPU table: case -> list of (ours, peer)
# where each is {"client": x, "server": y}.
COSTS = {}
LAST = {}


def cpu_of(report, key):
    return {c["side"]: c.get(key, float("nan")) for c in report["metrics"].get("cpu", [])}


def tput(report):
    LAST["ours"] = cpu_of(report, "cpu_seconds_per_gb")
    return sum(t["bits_per_sec"] for t in report["metrics"]["throughput"])


def iperf3_received(report):
    """iperf3's received rate, and its CPU seconds per GB per side (from its CPU utilisation,
    which covers the whole process over the test)."""
    end = report["end"]
    seconds = end["sum_sent"]["seconds"]
    cpu = end.get("cpu_utilization_percent", {})
    gb = end["sum_received"]["bytes"] / 1e9
    per_gb = lambda pct: pct / 100 * seconds / gb if gb else float("nan")
    LAST["peer"] = {"client": per_gb(cpu.get("host_total", float("nan"))),
                    "server": per_gb(cpu.get("remote_total", float("nan")))}
    return end["sum_received"]["bits_per_second"]


def udp_loss(report):
    return report["metrics"]["udp"]["loss_ratio"] * 100


def p50(report):
    LAST["ours"] = cpu_of(report, "cpu_ns_per_round_trip")
    return report["metrics"]["latency"]["rtt_summary"]["p50_ns"]


def sockperf_p50(udp, size, best=False):
    def run():
        value = sockperf_best(udp, size) if best else sockperf(udp, size)
        c, s = SOCKPERF_CPU.get("best" if best else "epoll", (float("nan"),) * 2)
        LAST["peer"] = {"client": c, "server": s}
        return value
    return run


FLOOR = {}


def rr_floor(proto):
    """p50 round trip of scripts/rr_floor.c: four system calls and nothing else, the least a
    program on kernel sockets can spend (built with cc on first use)."""
    def run():
        if "binary" not in FLOOR:
            here = os.path.dirname(os.path.abspath(__file__))
            binary = os.path.join(tempfile.mkdtemp(prefix="rr-floor-"), "rr_floor")
            subprocess.run(["cc", "-O2", "-pthread", "-o", binary,
                            os.path.join(here, "rr_floor.c")], check=True)
            FLOOR["binary"] = binary
        before = children_cpu_seconds()
        out = subprocess.run([FLOOR["binary"], proto, str(DURATION), CLIENT_CPU, SERVER_CPU],
                             capture_output=True, text=True, timeout=DURATION + 60, check=True).stdout
        m = re.search(r"p50_ns (\d+) round_trips (\d+)", out)
        # One process, both sides: its CPU time split evenly, per round trip.
        per_side = (children_cpu_seconds() - before) * 1e9 / int(m.group(2)) / 2
        LAST["ours"] = {"client": per_side, "server": per_side}
        return float(m.group(1))
    return run


def quota_case(vcpus, peer_zerocopy=False):
    """tcp-stream with each side in its own CPU cgroup of `vcpus` CPUs (placement as set)."""
    def within(run):
        def wrapped():
            manager = CGROUPS["manager"]
            CGROUPS["client"] = manager.make("client", vcpus)
            CGROUPS["server"] = manager.make("server", vcpus)
            try:
                return run()
            finally:
                CGROUPS["client"] = CGROUPS["server"] = None
        return wrapped
    peer = ["-l", "128K"] + (["-Z"] if peer_zerocopy else [])
    against = " vs iperf3 -Z" if peer_zerocopy else ""
    return (f"tcp-stream 128K, quota: each side in its own cgroup at {vcpus:g} vCPU{against}",
            within(lambda: tput(ours("tcp-stream", ["-l", "128K"]))),
            within(lambda: iperf3_received(iperf3(peer))), "Gbit/s", True)


def mean_rtt(report):
    return report["metrics"]["latency"]["rtt_summary"]["mean_ns"]


CASES = [
    # name, ours, peer, unit, higher_is_better
    ("tcp-stream 1 stream 128K", lambda: tput(ours("tcp-stream", ["-l", "128K"])),
     lambda: iperf3_received(iperf3(["-l", "128K"])), "Gbit/s", True),
    ("tcp-stream 1 stream, ours copying like iperf3 (--send-path copy)",
     lambda: tput(ours("tcp-stream", ["-l", "128K", "--send-path", "copy"])),
     lambda: iperf3_received(iperf3(["-l", "128K"])), "Gbit/s", True),
    ("tcp-stream 1 stream, receivers blocking (--receive-wait block)",
     lambda: tput(ours("tcp-stream", ["-l", "128K", "--receive-wait", "block"])),
     lambda: iperf3_received(iperf3(["-l", "128K"])), "Gbit/s", True),
    ("tcp-stream 4 streams", lambda: tput(ours("tcp-stream", ["-l", "128K", "-P", "4"])),
     lambda: iperf3_received(iperf3(["-l", "128K", "-P", "4"])), "Gbit/s", True),
    ("tcp-stream reverse", lambda: tput(ours("tcp-stream", ["-l", "128K", "-R"])),
     lambda: iperf3_received(iperf3(["-l", "128K", "-R"])), "Gbit/s", True),
    ("tcp-stream zero-copy (ours -Z vs iperf3 -Z)", lambda: tput(ours("tcp-stream", ["-l", "128K", "-Z"])),
     lambda: iperf3_received(iperf3(["-l", "128K", "-Z"])), "Gbit/s", True),
    ("udp-stream 1G throughput", lambda: tput(ours("udp-stream", ["--rate", "1G", "-l", "1400"])),
     lambda: iperf3(["-u", "-b", "1G", "-l", "1400"])["end"]["sum"]["bits_per_second"], "Gbit/s", True),
    ("tcp-rr 64 B p50 RTT", lambda: p50(ours("tcp-rr", ["-l", "64"])),
     sockperf_p50(False, 64), "us", False),
    ("udp-rr 64 B p50 RTT", lambda: p50(ours("udp-rr", ["-l", "64"])),
     sockperf_p50(True, 64), "us", False),
    ("tcp-rr 64 B p50 RTT, ours --busy-poll vs sockperf's best mode",
     lambda: p50(ours("tcp-rr", ["-l", "64", "--busy-poll"])),
     sockperf_p50(False, 64, best=True), "us", False),
    ("udp-rr 64 B p50 RTT, ours --busy-poll vs sockperf's best mode",
     lambda: p50(ours("udp-rr", ["-l", "64", "--busy-poll"])),
     sockperf_p50(True, 64, best=True), "us", False),
    ("tcp-rr 64 B p50 RTT, the kernel's floor (scripts/rr_floor.c) vs sockperf's best mode",
     rr_floor("tcp"), sockperf_p50(False, 64, best=True), "us", False),
    ("udp-rr 64 B p50 RTT, the kernel's floor (scripts/rr_floor.c) vs sockperf's best mode",
     rr_floor("udp"), sockperf_p50(True, 64, best=True), "us", False),
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
    cases = list(CASES)
    cgroups = CpuCgroups.detect()
    if cgroups.error:
        print(f"quota cases skipped: {cgroups.error}", file=sys.stderr)
    else:
        print(f"quota cases: each side in its own CPU cgroup ({cgroups.describe()})",
              file=sys.stderr)
        CGROUPS["manager"] = cgroups
        cases += [quota_case(q) for q in QUOTAS]
        cases += [quota_case(q, peer_zerocopy=True) for q in QUOTAS]
    rows = []
    try:
        run_cases(cases, only, rows)
    finally:
        cgroups.remove_all()
    print_tables(only, rows)


def run_cases(cases, only, rows):
    for name, mine, peer, unit, higher in cases:
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
            COSTS.setdefault(name, []).append((LAST.pop("ours", {}), LAST.pop("peer", {})))
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


def median_of(values):
    values = [v for v in values if v == v]  # NaN is not a measurement
    return statistics.median(values) if values else float("nan")


def print_tables(only, rows):
    print("| test | ours (median) | peer (median) | ratio ours/peer median (min-max) | better is |")
    print("|---|---|---|---|---|")
    for name, unit, o, p, r, lo, hi, higher in rows:
        ratio = f"{r:.3f} ({lo:.3f}-{hi:.3f})" if r is not None else "n/a"
        print(f"| {name} | {scale(o, unit):.3f} {unit} | {scale(p, unit):.3f} {unit} | {ratio} | "
              f"{'higher' if higher else 'lower'} |")

    costs = [(name, runs) for name, runs in COSTS.items()
             if any(o or p for o, p in runs)]
    if not costs:
        return
    print()
    print("CPU cost, medians over the runs: CPU seconds per GB (10^9 bytes) for streams, per side; "
          "CPU time per round trip (us) for rr tests, per side.")
    print()
    print("| test | ours client | ours server | peer client | peer server |")
    print("|---|---|---|---|---|")
    for name, runs in costs:
        rr = "RTT" in name
        cells = []
        for who in (0, 1):
            for side in ("client", "server"):
                v = median_of([r[who].get(side, float("nan")) for r in runs])
                if v != v:
                    cells.append("-")  # not measured for this tool
                else:
                    cells.append(f"{v / 1e3:.2f} us" if rr else f"{v:.3f} s/GB")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

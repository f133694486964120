#!/usr/bin/env python3
"""Reliability figures for the README: hostile clients against a real netprobe server, and
faults against the controller, on loopback only, each bounded in time.

    cargo build --release -p netprobe -p fargate-bench
    scripts/reliability.py [--bin target/release]

For each attack it prints what was held, how long a legitimate client (from another loopback
address) took to complete a 2 s tcp-rr meanwhile, and the server's peak RSS and open
descriptors, read from /proc. For each controller fault it prints whether every finished
result survived and the directory stayed readable. Exits 1 if any check fails.
"""
import argparse
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

KEY = "reliability-check-key-0123456789"
ATTACKER = "127.0.0.2"
FAILED = []


def check(ok, what):
    if not ok:
        FAILED.append(what)
    return "ok" if ok else "FAILED"


class Sampler(threading.Thread):
    """Peak RSS and descriptor count of one process, sampled every 20 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.rss, self.fds, self.running = pid, 0, 0, True

    def run(self):
        while self.running:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.rss = max(self.rss, int(line.split()[1]) * 1024)
                self.fds = max(self.fds, len(os.listdir(f"/proc/{self.pid}/fd")))
            except OSError:
                return
            time.sleep(0.02)

    def reset(self):
        self.rss = self.fds = 0


def rss_now(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


class Server:
    def __init__(self, netprobe, *extra):
        self.proc = subprocess.Popen(
            [netprobe, "server", "--bind", "127.0.0.1", "--port", "0", "--psk", KEY, *extra],
            stderr=subprocess.PIPE, text=True)
        ready = self.proc.stderr.readline()
        self.addr = next(w for w in ready.split() if w.startswith("127.0.0.1:"))
        self.host, self.port = self.addr.rsplit(":", 1)
        self.port = int(self.port)
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain the log
        self.sampler = Sampler(self.proc.pid)
        self.sampler.start()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.sampler.running = False
        if self.alive():
            self.proc.kill()
        self.proc.wait()


def legit_client(netprobe, addr, *args, key=KEY, source="127.0.0.1", secs=2):
    start = time.monotonic()
    out = subprocess.run(
        [netprobe, "client", "--server", addr, "--psk", key, "--bind-source", source,
         "--test", "tcp-rr", "-t", str(secs), *args],
        capture_output=True, text=True, timeout=120)
    return out.returncode == 0, time.monotonic() - start, out.stderr.strip().splitlines()[-1:]


def idle_flood(server, count, stop):
    """Holds `count` idle connections from the attacker address, reopening each as it closes."""
    sel = selectors.DefaultSelector()
    opened = 0

    def open_one():
        nonlocal opened
        s = socket.socket()
        s.bind((ATTACKER, 0))
        s.setblocking(False)
        try:
            s.connect((server.host, server.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        opened += 1
        sel.register(s, selectors.EVENT_READ)

    for _ in range(count):
        open_one()
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.05):
            sel.unregister(key.fileobj)
            key.fileobj.close()
            open_one()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return f"{count} held, {opened} opened"


def garbage_flood(server, count, stop):
    """Connections that send garbage: random bytes, huge length prefixes, a replayed hello."""
    payloads = [b"\xff\xff\xff\xff" + b"x" * 64, b"\x80\x00\x00\x00", b"GET / HTTP/1.1\r\n\r\n",
                bytes(random.getrandbits(8) for _ in range(512))]
    sent = 0
    while sent < count and not stop.is_set():
        try:
            with socket.create_connection((server.host, server.port), timeout=1,
                                          source_address=(ATTACKER, 0)) as s:
                s.sendall(payloads[sent % len(payloads)])
        except OSError:
            pass
        sent += 1
    return f"{sent} sent"


def attack(netprobe, name, flood, size, run_to_the_end=False):
    server = Server(netprobe)
    stop = threading.Event()
    held = {}
    t = threading.Thread(target=lambda: held.update(n=flood(server, size, stop)), daemon=True)
    t.start()
    time.sleep(1.0)
    ok, took, last = legit_client(netprobe, server.addr)
    if run_to_the_end:
        t.join(timeout=120)
    stop.set()
    t.join(timeout=40)
    alive = server.alive()
    rss, fds = server.sampler.rss, server.sampler.fds
    server.stop()
    status = check(ok and took < 5 and alive, f"{name}: legit client {ok}, {took:.2f} s, {last}")
    print(f"{name:<28} {held.get('n', '?'):>24}   {took:6.2f} s   {rss / 2**20:6.1f} MB  {fds:5d}   {status}")


def memory_heavy(netprobe):
    server = Server(netprobe, "--memory-budget", "1G")
    big = subprocess.run([netprobe, "client", "--server", server.addr, "--psk", KEY, "--test",
                          "tcp-stream", "-R", "-P", "128", "-l", "16M", "-t", "1"],
                         capture_output=True, text=True, timeout=60)
    refused = big.returncode == 1 and "memory budget" in big.stderr
    server.sampler.reset()
    fits = subprocess.run([netprobe, "client", "--server", server.addr, "--psk", KEY, "--test",
                           "tcp-stream", "-R", "-P", "16", "-l", "16M", "-t", "2"],
                          capture_output=True, text=True, timeout=60)
    peak = server.sampler.rss
    end = time.monotonic() + 5
    after = rss_now(server.proc.pid)
    while after >= 32 << 20 and time.monotonic() < end:
        time.sleep(0.1)
        after = rss_now(server.proc.pid)
    server.stop()
    print(f"{'-P 128 -l 16M (2 GiB)':<28} refused naming the 1 GiB budget: "
          f"{check(refused, 'memory: big request not refused')}")
    print(f"{'-P 16 -l 16M (258 MiB)':<28} ran: {check(fits.returncode == 0, 'memory: fitting test failed')}, "
          f"peak RSS {peak / 2**20:.0f} MB, {after / 2**20:.1f} MB after it "
          f"{check(after < 32 << 20, 'memory: RSS not returned')}")


def sigterm_mid_test(netprobe):
    server = Server(netprobe, "--drain", "1")
    client = subprocess.Popen([netprobe, "client", "--server", server.addr, "--psk", KEY,
                               "--test", "tcp-stream", "-t", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=10)
    exited = time.monotonic() - start
    _, err = client.communicate(timeout=10)
    told = client.returncode == 1 and "the server was stopped" in err
    server.stop()
    print(f"{'SIGTERM mid-test, --drain 1':<28} server exited after {exited:.2f} s, client told why: "
          f"{check(told and exited < 3, 'sigterm: ' + err.strip()[-200:])}")


def controller_faults(controller):
    root = tempfile.mkdtemp(prefix="fb-reliability-")

    def run(*args, timeout=300):
        return subprocess.run([controller, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=root)

    def lines(d):
        with open(os.path.join(d, "results.jsonl"), "rb") as f:
            return f.read().split(b"\n")

    def run_dir():
        base = os.path.join(root, "results")
        return os.path.join(base, sorted(os.listdir(base))[-1])

    common = ["--test", "tcp-rr", "--duration", "1", "--results", "results"]
    # Torn tail: cut the last line in half, as a full disk or a crash mid-write leaves it.
    first = run("run", *common, "-n", "3")
    d = run_dir()
    whole = [l for l in lines(d) if l.strip()]
    with open(os.path.join(d, "results.jsonl"), "rb+") as f:
        f.truncate(os.path.getsize(f.name) - len(whole[-1]) // 2 - 1)
    report_torn = run("report", d)
    resumed = run("run", "--resume", d)
    report = run("report", d, "--format", "json")
    ok = (first.returncode == 0 and report_torn.returncode == 0 and "is torn" in report_torn.stdout
          and resumed.returncode == 0 and report.returncode == 0
          and json.loads(report.stdout).get("items_ok") == 3
          and len([l for l in lines(d) if l.strip()]) == 3)
    print(f"{'torn last line + --resume':<28} warned, repaired, resumed, 3 of 3 reported: "
          f"{check(ok, 'torn tail: ' + (resumed.stderr + report.stderr)[-300:])}")
    # SIGKILL mid-run, then resume: no finished result lost, none doubled.
    proc = subprocess.Popen([controller, "run", *common, "-n", "6"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    proc.kill()
    proc.wait()
    d = run_dir()
    before = len([l for l in lines(d) if l.strip()])
    resumed = run("run", "--resume", d)
    report = run("report", d, "--format", "json")
    items_ok = json.loads(report.stdout).get("items_ok") if report.returncode == 0 else None
    after = len([l for l in lines(d) if l.strip()])
    ok = resumed.returncode == 0 and items_ok == 6 and after == 6 and before >= 1
    print(f"{'SIGKILL mid-run + --resume':<28} {before} finished before the kill, 6 of 6 after: "
          f"{check(ok, 'sigkill: ' + resumed.stderr[-300:])}")
    # SIGTERM: stops, says where the results are, the directory stays readable.
    proc = subprocess.Popen([controller, "run", *common, "-n", "6"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    report = run("report", run_dir())
    ok = proc.returncode != 0 and report.returncode == 0 and "--resume" in err
    print(f"{'SIGTERM mid-run':<28} stopped, named --resume, report reads it: "
          f"{check(ok, 'sigterm controller: ' + err[-300:])}")
    shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release", help="where netprobe and fargate-bench are")
    args = parser.parse_args()
    netprobe = os.path.abspath(os.path.join(args.bin, "netprobe"))
    controller = os.path.abspath(os.path.join(args.bin, "fargate-bench"))
    for b in (netprobe, controller):
        if not os.access(b, os.X_OK):
            sys.exit(f"reliability.py: no {b}; run `cargo build --release -p netprobe -p fargate-bench`")
    print(f"{'attack (server up throughout)':<28} {'connections':>24}   {'legit 2 s':>8}   {'peak RSS':>9} {'fds':>5}")
    attack(netprobe, "idle flood, reopened", idle_flood, 1000)
    attack(netprobe, "garbage and huge prefixes", garbage_flood, 10000, run_to_the_end=True)
    memory_heavy(netprobe)
    sigterm_mid_test(netprobe)
    print()
    controller_faults(controller)
    if FAILED:
        print("\nfailed checks:\n  " + "\n  ".join(FAILED), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

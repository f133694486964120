#!/usr/bin/env python3
"""The controller's own overhead on ECS, measured against moto behind the strict ECS layer
(tests/ecs/strict_ecs.py) with Fargate's lifecycle delays, CloudWatch Logs' 10/s GetLogEvents
quota and the awslogs driver's 5 s batches: wall time beyond what the tasks themselves take,
ECS and Logs API calls per server/client pair, and the peak GetLogEvents rate.

  VENV/bin/python scripts/ecs_overhead.py [--pairs 48] [--concurrency 16]
      [--provisioning 2] [--pending 2] [--deprovisioning 1] [--log-delay 5]

Needs the venv scripts/test.sh creates (moto, boto3) and a built controller and probes
(`cargo build`). Prints one table; the README quotes it.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "ecs"))
import moto_env  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"nothing answered {url}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=48)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--provisioning", type=float, default=2.0)
    p.add_argument("--pending", type=float, default=2.0)
    p.add_argument("--deprovisioning", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=1.0)
    p.add_argument("--log-delay", type=float, default=5.0)
    p.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "debug"))
    a = p.parse_args()
    venv = os.path.dirname(sys.executable)
    procs = []
    try:
        port = free_port()
        procs.append(subprocess.Popen([os.path.join(venv, "moto_server"), "-H", "127.0.0.1",
                                       "-p", str(port)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        moto = f"http://127.0.0.1:{port}"
        wait_http(moto + "/moto-api/")
        env = moto_env.setup(moto)
        tmp = tempfile.mkdtemp()
        stats = os.path.join(tmp, "calls.json")
        proxy_port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/ecs/strict_ecs.py"), str(proxy_port), moto,
             "--provisioning", str(a.provisioning), "--pending", str(a.pending),
             "--deprovisioning", str(a.deprovisioning), "--stats", stats]))
        api = f"http://127.0.0.1:{proxy_port}"
        wait_http(api + "/moto-api/")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/ecs/harness.py"), api, env["cluster"],
             env["log_group"], a.bin_dir, os.path.join(tmp, "stop"),
             "--log-delay", str(a.log_delay), "--trace", os.path.join(tmp, "harness.trace")],
            cwd=os.path.join(ROOT, "tests/ecs"), stdout=subprocess.DEVNULL))
        suite = os.path.join(tmp, "suite.toml")
        with open(suite, "w") as f:
            f.write(f'repetitions = {a.pairs}\nsizes = ["1x2"]\nconcurrency = {a.concurrency}\n'
                    f'[[test]]\nkind = "tcp-rr"\nduration = {a.duration}\n')
        cmd = [os.path.join(a.bin_dir, "fargate-bench"), "run", "--backend", "ecs",
               "--region", "us-east-1", "--endpoint-url", api, "--cluster", env["cluster"],
               "--subnet", env["subnet"], "--security-group", env["security_group"],
               "--execution-role-arn", env["execution_role_arn"], "--log-group",
               env["log_group"], "--netprobe-image", "n:1", "--memprobe-image", "m:1",
               "--suite", suite, "--no-progress", "--format", "json", "--results",
               os.path.join(tmp, "results")]
        run_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_EC2_METADATA_DISABLED="true")
        start = time.time()
        out = subprocess.run(cmd, env=run_env, capture_output=True, text=True)
        with open(os.path.join(tmp, "controller.stderr"), "w") as f:
            f.write(out.stderr)
        wall = time.time() - start
        if out.returncode != 0:
            sys.exit(f"the run failed:\n{out.stderr[-3000:]}")
        if json.loads(out.stdout)["items_ok"] != a.pairs:
            sys.exit(f"not every pair ok (controller's output, results and the harness's trace "
                     f"are kept in {tmp}):\n{out.stderr[-3000:]}")
        summary = json.loads(out.stdout)
        with open(stats) as f:
            calls = json.load(f)
    finally:
        for proc in reversed(procs):
            proc.kill()
    # What the tasks themselves take per pair: the server's lifecycle until RUNNING, the
    # client's, the test, the client's deprovisioning before it counts as ended, and the log
    # pipeline's delay before its result line can be read.
    lifecycle = a.provisioning + a.pending
    own = 2 * lifecycle + a.duration + a.deprovisioning + a.log_delay
    lanes = min(a.concurrency, a.pairs)
    ideal = own * -(-a.pairs // lanes)
    peak = calls.pop("peak_per_sec", 0)
    throttled = calls.pop("throttled", {})
    logs_ops = ("GetLogEvents", "DescribeLogGroups")
    # Keys with a colon are the layer's own observations, not calls.
    calls = {op: n for op, n in calls.items() if ":" not in op}
    ecs = {op: n for op, n in calls.items() if op not in logs_ops}
    logs = {op: n for op, n in calls.items() if op in logs_ops}
    print(f"pairs {a.pairs} (ok {summary['items_ok']}), concurrency {a.concurrency}, "
          f"lifecycle provisioning {a.provisioning} s + pending {a.pending} s, "
          f"deprovisioning {a.deprovisioning} s, test {a.duration} s, "
          f"log delay {a.log_delay} s")
    print(f"{'wall time':<34} {wall:8.1f} s")
    print(f"{'tasks own time (ideal schedule)':<34} {ideal:8.1f} s")
    print(f"{'controller overhead per pair':<34} {(wall - ideal) / a.pairs * lanes:8.2f} s")
    print(f"{'ECS API calls per pair':<34} {sum(ecs.values()) / a.pairs:8.1f}")
    for op in sorted(ecs):
        print(f"  {op:<32} {ecs[op] / a.pairs:8.1f}")
    print(f"{'Logs API calls per pair':<34} {sum(logs.values()) / a.pairs:8.1f}")
    for op in sorted(logs):
        print(f"  {op:<32} {logs[op] / a.pairs:8.1f}")
    print(f"{'DescribeTasks calls per second':<34} {ecs.get('DescribeTasks', 0) / wall:8.2f}")
    print(f"{'GetLogEvents peak calls per second':<34} {peak:8d} (quota 10, limiter 5)")
    print(f"{'GetLogEvents throttled':<34} {throttled.get('GetLogEvents', 0):8d}")


if __name__ == "__main__":
    main()

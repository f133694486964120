"""Plays the containers moto does not run.

Watches the cluster for RUNNING tasks; for each, runs the real probe binary locally with the
command and environment the controller put in the task's overrides (a server's ENI address is
mapped to a loopback port), writes the probe's output to the task's log stream in moto's
CloudWatch Logs, then stops the task like an exited container would.

  python harness.py ENDPOINT CLUSTER LOG_GROUP BIN_DIR STOP_FILE [--fail-item ITEM_ID]

--fail-item ITEM stops that item's tasks at once with a pull error, as Fargate would (`*`: every
item). --log-delay SECS (default 5) writes each line that many seconds after the probe printed
it, as the awslogs driver ships a batch every 5 s (moby's awslogs `batchPublishFrequency`); a
task is stopped when its probe exits, so its last lines may show up after it is STOPPED. --late-server-logs SECS stops a server's task first and writes its last lines SECS later,
as CloudWatch Logs may show them. Lines longer than 262,118 bytes are split into several events,
as the awslogs driver does (CloudWatch Logs caps an event at 256 KiB with 26 bytes overhead).
"""
import argparse
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time

from moto_env import client

PULL_ERROR = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
AWSLOGS_SPLIT = 262_118
PR_SET_PDEATHSIG = 1


def die_with_harness():
    """A probe's preexec_fn: the kernel kills it when the harness ends, however it ends (the
    test drops the harness with SIGKILL), as Fargate ends a stopped task's container; it would
    otherwise outlive the test until its idle timeout."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Harness:
    def __init__(self, args):
        self.args = args
        self.ecs = client("ecs", args.endpoint)
        self.logs = client("logs", args.endpoint)
        self.servers = {}  # ENI address -> loopback port
        self.definition_memory = {}  # task definition ARN -> its memory (MiB)
        self.lock = threading.Lock()

    def trace(self, what):
        if self.args.trace:
            with self.lock, open(self.args.trace, "a") as f:
                f.write(f"{time.time():.3f} {what}\n")

    def write_log(self, arn, lines):
        # Like the awslogs driver, a batch that fails is sent again (a busy moto can refuse or
        # drop a call); what finally happened is in the trace.
        for attempt in range(5):
            try:
                self.put_lines(arn, lines)
                self.trace(f"wrote {arn.split('/')[-1]} {len(lines)} lines")
                return
            except Exception as e:  # noqa: BLE001 - any failure is retried, then traced
                self.trace(f"write-failed {arn.split('/')[-1]} attempt {attempt}: {e!r}")
                time.sleep(0.5 * (attempt + 1))

    def put_lines(self, arn, lines):
        stream = "fargate-bench/probe/" + arn.split("/")[-1]
        try:
            self.logs.create_log_stream(logGroupName=self.args.log_group, logStreamName=stream)
        except self.logs.exceptions.ResourceAlreadyExistsException:
            pass
        now = int(time.time() * 1000)
        pieces = []
        for line in lines:
            if not line.strip():
                continue
            data = line.encode()
            while data:
                piece, data = data[:AWSLOGS_SPLIT], data[AWSLOGS_SPLIT:]
                pieces.append(piece.decode(errors="replace"))
        events = [{"timestamp": now + i, "message": m} for i, m in enumerate(pieces)]
        for start in range(0, len(events), 1000):
            self.logs.put_log_events(logGroupName=self.args.log_group, logStreamName=stream,
                                     logEvents=events[start:start + 1000])

    def write_later(self, arn, lines, printed):
        """Writes `lines` --log-delay seconds after `printed` (a time.time()), in the background."""
        delay = max(0.0, printed + self.args.log_delay - time.time())
        timer = threading.Timer(delay, self.write_log, args=(arn, lines))
        timer.daemon = True
        timer.start()
        return timer

    def task_memory_mib(self, task):
        memory = task.get("memory")
        if not memory:
            arn = task["taskDefinitionArn"]
            with self.lock:
                memory = self.definition_memory.get(arn)
            if memory is None:
                definition = self.ecs.describe_task_definition(taskDefinition=arn)
                memory = definition["taskDefinition"]["memory"]
                with self.lock:
                    self.definition_memory[arn] = memory
        return int(memory)

    def stop(self, arn, reason):
        self.ecs.stop_task(cluster=self.args.cluster, task=arn, reason=reason)

    def play(self, task):
        arn = task["taskArn"]
        tags = {t["key"]: t["value"] for t in task.get("tags", [])}
        if self.args.fail_item and self.args.fail_item in ("*", tags.get("fargate-bench:item")):
            self.stop(arn, PULL_ERROR)
            return
        override = task["overrides"]["containerOverrides"][0]
        command = list(override.get("command", []))
        env = dict(os.environ)
        env.update({e["name"]: e["value"] for e in override.get("environment", [])})
        probe = "memprobe" if "memprobe" in task["taskDefinitionArn"] else "netprobe"
        ip = None
        for attachment in task.get("attachments", []):
            for d in attachment.get("details", []):
                if d["name"] == "privateIPv4Address":
                    ip = d["value"]
        if probe == "memprobe":
            # Fargate holds a task to its memory with a cgroup; here the probe runs as a plain
            # process, so the task's memory is handed to it as the limit a cgroup would be
            # (otherwise it sizes its arrays from this host's memory and cache).
            command += ["--memory-limit", f"{self.task_memory_mib(task)}M"]
        if probe == "netprobe" and command and command[0] == "server":
            port = free_port()
            with self.lock:
                self.servers[ip] = port
            command += ["--bind", "127.0.0.1", "--port", str(port)]
        elif probe == "netprobe" and command and command[0] == "client":
            i = command.index("--server") + 1
            server_ip = command[i].split(":")[0]
            deadline = time.time() + 20
            while time.time() < deadline and server_ip not in self.servers:
                time.sleep(0.05)
            command[i] = f"127.0.0.1:{self.servers.get(server_ip, 1)}"
        # Like awslogs, a line reaches the log while the container runs, a batch interval after
        # it was printed.
        self.trace(f"start {arn.split('/')[-1]} {probe} {command[:1]}")
        proc = subprocess.Popen([os.path.join(self.args.bin_dir, probe)] + command, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=die_with_harness)
        streamed, rest = [], []

        def follow_stderr():
            for line in proc.stderr:
                line = line.rstrip("\n")
                if line.startswith("netprobe server listening on "):
                    self.write_later(arn, [line], time.time())
                    streamed.append(line)
                else:
                    rest.append(line)

        reader = threading.Thread(target=follow_stderr, daemon=True)
        reader.start()
        killer = threading.Timer(600, proc.kill)
        killer.start()
        out = proc.stdout.read()
        proc.wait()
        reader.join(timeout=10)
        killer.cancel()
        lines = out.splitlines() + rest
        if proc.returncode == -9:
            lines.append("harness: probe timed out")
        if self.args.late_server_logs and command and command[0] == "server":
            self.stop(arn, "Essential container in task exited")
            time.sleep(self.args.late_server_logs)
            self.write_log(arn, lines)
            return
        exited = time.time()
        self.trace(f"exit {arn.split('/')[-1]} code {proc.returncode} {len(lines)} lines")
        self.stop(arn, "Essential container in task exited")
        self.write_later(arn, lines, exited)

    def run(self):
        seen = set()
        while not os.path.exists(self.args.stop_file):
            pages = self.ecs.get_paginator("list_tasks").paginate(
                cluster=self.args.cluster, desiredStatus="RUNNING")
            arns = [a for page in pages for a in page["taskArns"]]
            fresh = [a for a in arns if a not in seen]
            if fresh:
                tasks = self.ecs.describe_tasks(cluster=self.args.cluster, tasks=fresh,
                                                include=["TAGS"])["tasks"]
                for t in tasks:
                    if t["lastStatus"] == "RUNNING":
                        seen.add(t["taskArn"])
                        threading.Thread(target=self.play, args=(t,), daemon=True).start()
            time.sleep(0.2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("cluster")
    p.add_argument("log_group")
    p.add_argument("bin_dir")
    p.add_argument("stop_file")
    p.add_argument("--fail-item")
    p.add_argument("--late-server-logs", type=float, default=0)
    p.add_argument("--log-delay", type=float, default=5.0)
    p.add_argument("--trace", help="appends what the harness does, with times, to this file")
    Harness(p.parse_args()).run()


if __name__ == "__main__":
    main()

"""A loopback proxy in front of moto that enforces what ECS and Fargate enforce and moto does
not. Every rule comes from the Amazon ECS API reference (the operation named beside it); the
tests in crates/fargate-bench/tests/fargate-bench/ecs_moto.rs name the rule they rely on.

  python strict_ecs.py PORT UPSTREAM [options]

Rules always on:
  - ListTasks: "When you specify startedBy as the filter, it must be the only filter that you
    use" (ListTasks, startedBy) -> InvalidParameterException.
  - Tags on RunTask and RegisterTaskDefinition: at most 50; keys 1-128 and values 0-256
    characters of letters, digits, spaces and + - = . _ : / @ (Tag) -> InvalidParameterException.
  - RunTask clientToken: at most 64 characters in the range 33-126; a token seen in the last
    24 hours with the same parameters returns the same tasks (idempotent), with other parameters
    ConflictException (RunTask, clientToken; Errors: ConflictException).
  - RegisterTaskDefinition for FARGATE: networkMode awsvpc, and cpu/memory one of the 74 Linux
    combinations (RegisterTaskDefinition, cpu and memory) -> ClientException.
  - RegisterTaskDefinition runtimePlatform: cpuArchitecture one of X86_64 | ARM64 and
    operatingSystemFamily one of the listed values (RuntimePlatform, Valid Values); ARM64 only
    on Linux (RuntimePlatform, cpuArchitecture: "available for tasks that run on Linux")
    -> ClientException.
  - Task lifecycle (Amazon ECS task lifecycle): PROVISIONING, PENDING, RUNNING, DEPROVISIONING,
    STOPPED, each held for the delays given; no private IP before PENDING, no startedAt before
    RUNNING, no exit code before STOPPED.
CloudWatch Logs (the controller reads task output from it), always on:
  - GetLogEvents: "10 requests per second per account per Region. This quota can't be changed"
    (CloudWatch Logs quotas, GetLogEvents): more than --logs-quota calls (default 10) in any
    second get ThrottlingException, whoever makes them.
  - GetLogEvents pages: "Partially full or empty pages don't necessarily mean that pagination is
    finished. As long as the nextBackwardToken or nextForwardToken returned is NOT equal to the
    nextToken that you passed into the API call, there might be more log events available"
    (GetLogEvents, nextToken): the first --empty-pages (default 2) calls on each stream answer
    an empty page whose forward token moves; the real events follow.
  The harness writes each line about 5 s after the probe printed it, as the awslogs driver's
  batches do (harness.py --log-delay).
Faults on request:
  --throttle OP:N          the first N calls of OP get ThrottlingException
  --capacity-failures N    the first N RunTask calls return a capacity failure in `failures`
  --vcpu-quota VCPUS       RunTask answers "You've reached the limit on the number of vCPUs you
                           can run concurrently" in `failures` when the tasks not yet stopped
                           and the new one would hold more vCPUs (the account's Fargate vCPU
                           quota, "Fargate On-Demand vCPU resource count", Amazon ECS service
                           quotas)
  --capacity-for ROLE:SECS RunTask calls for tasks of ROLE (the fargate-bench:role tag: server,
                           client, memory) return a capacity failure for SECS seconds from the
                           first such call
  --fail-list-tasks        ListTasks from the controller (the Rust SDK) fails with
                           AccessDeniedException (the harness, boto3, still lists)
  --lose-run-task-reply N  the first N RunTask calls reach moto but their answer is lost (HTTP
                           500): the SDK retries with the same token
  --stats FILE             writes the count of the controller's calls per operation (JSON), ECS
                           and Logs alike, with "peak_per_sec" of GetLogEvents (the most calls
                           in any one-second window) and "throttled" (calls refused per op)
"""
import argparse
import hashlib
import http.server
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request

OS_FAMILIES = ("WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL",
               "WINDOWS_SERVER_2004_CORE", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL",
               "WINDOWS_SERVER_20H2_CORE", "LINUX")
TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)
VCPU_QUOTA = "You've reached the limit on the number of vCPUs you can run concurrently"
CAPACITY = ("Capacity is unavailable at this time. Please try again later or in a different "
            "availability zone")


def fargate_sizes():
    sizes = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)),
             1024: list(range(2048, 8193, 1024)), 2048: list(range(4096, 16385, 1024)),
             4096: list(range(8192, 30721, 1024)), 8192: list(range(16384, 61441, 4096)),
             16384: list(range(32768, 122881, 8192))}
    return {(c, m) for c, ms in sizes.items() for m in ms}


SIZES = fargate_sizes()
assert len(SIZES) == 74


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.throttle = {}
        for spec in args.throttle:
            op, n = spec.split(":")
            self.throttle[op] = int(n)
        self.capacity_failures = args.capacity_failures
        self.capacity_for = {}  # role -> seconds of failures from its first RunTask
        for spec in args.capacity_for:
            role, secs = spec.split(":")
            self.capacity_for[role] = float(secs)
        self.capacity_first = {}  # role -> time of its first RunTask
        self.task_vcpus = {}  # task ARN -> its vCPUs
        self.log_times = []  # times of GetLogEvents calls in the last second (all callers)
        self.log_peak = 0  # the controller's most GetLogEvents calls in one second
        self.controller_log_times = []
        self.empty_pages = {}  # stream -> empty pages answered so far
        self.empty_tokens = {}  # token of an empty page -> the token it stands for
        self.throttled = {}
        self.lost_replies = args.lose_run_task_reply
        self.tokens = {}  # token -> (params digest, response bytes, time)
        self.created = {}  # task ARN -> creation time
        self.stopped = {}  # task ARN -> StopTask time
        self.calls = {}


class ApiError(Exception):
    def __init__(self, kind, message, status=400):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


def check_tags(tags):
    if len(tags) > 50:
        raise ApiError("InvalidParameterException", "Tags: at most 50 tags per resource")
    for t in tags:
        key, value = t.get("key", ""), t.get("value", "")
        if not 1 <= len(key) <= 128 or not TAG_CHARS.match(key) or "\t" in key or "\n" in key:
            raise ApiError("InvalidParameterException", f"Tag key {key!r} is invalid")
        if len(value) > 256 or not TAG_CHARS.match(value) or "\t" in value or "\n" in value:
            raise ApiError("InvalidParameterException",
                           f"Tag value {value!r} is invalid: letters, numbers, spaces and "
                           "+ - = . _ : / @, at most 256 characters")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def reply(self, status, payload, kind=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        if kind:
            self.send_header("x-amzn-ErrorType", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def error(self, e):
        self.reply(e.status, json.dumps({"__type": e.kind, "message": e.message}).encode(), e.kind)

    def upstream(self, body):
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(self.state.args.upstream + self.path, data=body or None,
                                     headers=headers, method=self.command)
        try:
            resp = urllib.request.urlopen(req)
            return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def relay(self, status, data, headers):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server",
                                 "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def from_controller(self):
        return "aws-sdk-rust" in self.headers.get("User-Agent", "")

    def count(self, op):
        # Only the controller's calls (the Rust SDK): the harness's polling is not ours.
        if not self.from_controller():
            return
        st = self.state
        with st.lock:
            st.calls[op] = st.calls.get(op, 0) + 1
            self.write_stats()

    def write_stats(self):
        """Called with the lock held."""
        st = self.state
        if st.args.stats:
            with open(st.args.stats, "w") as f:
                json.dump(dict(st.calls, peak_per_sec=st.log_peak, throttled=st.throttled), f)

    def forward(self):
        st = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        service, _, op = target.partition(".")
        if service.startswith("Logs_"):
            self.count(op)
            try:
                if op == "GetLogEvents":
                    return self.logs_GetLogEvents(json.loads(body or b"{}"), body)
            except ApiError as e:
                return self.error(e)
            return self.relay(*self.upstream(body))
        if not service.startswith("AmazonEC2ContainerService"):
            return self.relay(*self.upstream(body))
        self.count(op)
        try:
            with st.lock:
                if st.throttle.get(op, 0) > 0:
                    st.throttle[op] -= 1
                    raise ApiError("ThrottlingException", "Rate exceeded")
            request = json.loads(body or b"{}")
            handler = getattr(self, "op_" + op, None)
            if handler:
                return handler(request, body)
            self.relay(*self.upstream(body))
        except ApiError as e:
            self.error(e)

    def logs_GetLogEvents(self, request, body):
        st, now = self.state, time.time()
        with st.lock:
            st.log_times = [t for t in st.log_times if now - t < 1.0]
            over = len(st.log_times) >= st.args.logs_quota
            if not over:
                st.log_times.append(now)
            if self.from_controller():
                st.controller_log_times = [t for t in st.controller_log_times if now - t < 1.0]
                st.controller_log_times.append(now)
                st.log_peak = max(st.log_peak, len(st.controller_log_times))
                if over:
                    st.throttled["GetLogEvents"] = st.throttled.get("GetLogEvents", 0) + 1
                self.write_stats()
        if over:
            raise ApiError("ThrottlingException", "Rate exceeded")
        stream = (request.get("logGroupName"), request.get("logStreamName"))
        token = request.get("nextToken")
        with st.lock:
            # The token of an empty page stands for where the stream really is.
            token = st.empty_tokens.get(token, token)
            answered = st.empty_pages.get(stream, 0)
            if answered < st.args.empty_pages:
                st.empty_pages[stream] = answered + 1
                moved = f"f/strict-empty-{len(st.empty_tokens)}"
                st.empty_tokens[moved] = token
        if answered < st.args.empty_pages:
            return self.reply(200, json.dumps({
                "events": [], "nextForwardToken": moved,
                "nextBackwardToken": "b/strict-empty"}).encode())
        if token is None:
            request.pop("nextToken", None)
        else:
            request["nextToken"] = token
        self.relay(*self.upstream(json.dumps(request).encode()))

    # ListTasks: startedBy must be the only filter.
    def op_ListTasks(self, request, body):
        others = [k for k in ("desiredStatus", "family", "serviceName", "containerInstance",
                              "launchType") if k in request]
        if "startedBy" in request and others:
            raise ApiError("InvalidParameterException",
                           "startedBy must be the only filter when it is specified; "
                           f"also given: {', '.join(others)}")
        if self.state.args.fail_list_tasks and "aws-sdk-rust" in self.headers.get("User-Agent", ""):
            raise ApiError("AccessDeniedException",
                           "User is not authorized to perform: ecs:ListTasks")
        self.relay(*self.upstream(body))

    def op_RegisterTaskDefinition(self, request, body):
        check_tags(request.get("tags", []))
        platform = request.get("runtimePlatform") or {}
        arch = platform.get("cpuArchitecture", "X86_64")
        family = platform.get("operatingSystemFamily", "LINUX")
        if arch not in ("X86_64", "ARM64"):
            raise ApiError("ClientException", f"runtimePlatform.cpuArchitecture {arch!r}: "
                           "Valid Values: X86_64 | ARM64")
        if family not in OS_FAMILIES:
            raise ApiError("ClientException", f"runtimePlatform.operatingSystemFamily "
                           f"{family!r} is not a valid value")
        if arch == "ARM64" and family != "LINUX":
            raise ApiError("ClientException", "ARM64 is available for Linux tasks only")
        if "FARGATE" in request.get("requiresCompatibilities", []):
            if request.get("networkMode") != "awsvpc":
                raise ApiError("ClientException",
                               "Fargate only supports network mode 'awsvpc'.")
            try:
                size = (int(request.get("cpu")), int(request.get("memory")))
            except (TypeError, ValueError):
                raise ApiError("ClientException", "Fargate requires task definition to have "
                               "execution role ARN to support log driver awslogs.")
            if size not in SIZES:
                raise ApiError("ClientException",
                               "No Fargate configuration exists for given values: "
                               f"{size[0]} CPU, {size[1]} memory.")
        self.relay(*self.upstream(body))

    def op_RunTask(self, request, body):
        st = self.state
        check_tags(request.get("tags", []))
        token = request.get("clientToken")
        params = dict(request)
        params.pop("clientToken", None)
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if token is not None:
            if len(token) > 64 or any(not 33 <= ord(c) <= 126 for c in token):
                raise ApiError("InvalidParameterException",
                               "clientToken: up to 64 characters in the range 33-126")
            with st.lock:
                seen = st.tokens.get(token)
            if seen and time.time() - seen[2] < 24 * 3600:
                if seen[0] != digest:
                    arns = [t["taskArn"] for t in json.loads(seen[1]).get("tasks", [])]
                    raise ApiError("ConflictException",
                                   "The RunTask request could not be processed due to "
                                   "conflicts. The provided clientToken is already in use with "
                                   f"a different RunTask request. resourceIds: {arns}")
                return self.reply(200, seen[1])
        role = {t.get("key"): t.get("value") for t in request.get("tags", [])}.get(
            "fargate-bench:role")
        with st.lock:
            capacity = st.capacity_failures > 0
            if capacity:
                st.capacity_failures -= 1
            if role in st.capacity_for:
                first = st.capacity_first.setdefault(role, time.time())
                capacity = capacity or time.time() - first < st.capacity_for[role]
        vcpus = 0.0
        if st.args.vcpu_quota is not None:
            vcpus = self.definition_vcpus(request.get("taskDefinition", ""))
            with st.lock:
                held = sum(v for arn, v in st.task_vcpus.items() if arn not in st.stopped)
            if held + vcpus > st.args.vcpu_quota:
                payload = json.dumps({"tasks": [], "failures": [
                    {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/none",
                     "reason": VCPU_QUOTA}]}).encode()
                return self.reply(200, payload)
        if capacity:
            payload = json.dumps({"tasks": [], "failures": [
                {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/none",
                 "reason": CAPACITY}]}).encode()
            return self.reply(200, payload)
        status, data, headers = self.upstream(body)
        if status != 200:
            return self.relay(status, data, headers)
        answer = json.loads(data)
        now = time.time()
        for t in answer.get("tasks", []):
            with st.lock:
                st.created[t["taskArn"]] = now
                st.task_vcpus[t["taskArn"]] = vcpus
            self.shape(t, now)
        data = json.dumps(answer).encode()
        with st.lock:
            if token is not None:
                st.tokens[token] = (digest, data, now)
            lose = st.lost_replies > 0
            if lose:
                st.lost_replies -= 1
        if lose:
            raise ApiError("ServerException", "Service unavailable (reply lost)", 500)
        self.reply(200, data)

    def op_StopTask(self, request, body):
        st = self.state
        status, data, headers = self.upstream(body)
        if status == 200:
            task = request.get("task", "")
            with st.lock:
                for arn in st.created:
                    if arn == task or arn.endswith("/" + task):
                        st.stopped.setdefault(arn, time.time())
        self.relay(status, data, headers)

    def op_DescribeTasks(self, request, body):
        status, data, headers = self.upstream(body)
        if status != 200:
            return self.relay(status, data, headers)
        answer = json.loads(data)
        now = time.time()
        for t in answer.get("tasks", []):
            self.shape(t, now)
        self.reply(200, json.dumps(answer).encode())

    def definition_vcpus(self, task_definition):
        """The task definition's vCPUs, asked of moto."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "x-amz-target")}
        headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"
        req = urllib.request.Request(self.state.args.upstream + "/", headers=headers,
                                     data=json.dumps({"taskDefinition": task_definition}).encode())
        with urllib.request.urlopen(req) as resp:
            return int(json.loads(resp.read())["taskDefinition"]["cpu"]) / 1024

    def shape(self, task, now):
        """Rewrites a task as Fargate would show it at `now` in its lifecycle."""
        st, args = self.state, self.state.args
        with st.lock:
            created = st.created.get(task.get("taskArn"))
            stopped = st.stopped.get(task.get("taskArn"))
        if created is None:
            return
        age = now - created
        if task.get("lastStatus") == "STOPPED" and stopped is None:
            # Stopped without a StopTask through us: it starts deprovisioning now.
            with st.lock:
                st.stopped.setdefault(task["taskArn"], now)
                stopped = st.stopped[task["taskArn"]]
        if stopped is not None and now - stopped < args.deprovisioning:
            task["lastStatus"] = "DEPROVISIONING"
            task["desiredStatus"] = "STOPPED"
            task.pop("stoppedAt", None)
            for c in task.get("containers", []):
                c.pop("exitCode", None)
            return
        if stopped is not None:
            return
        if age < args.provisioning:
            task["lastStatus"] = "PROVISIONING"
            for a in task.get("attachments", []):
                a["details"] = [d for d in a.get("details", [])
                                if d.get("name") != "privateIPv4Address"]
        elif age < args.provisioning + args.pending:
            task["lastStatus"] = "PENDING"
        else:
            return
        task.pop("startedAt", None)
        task.pop("pullStartedAt", None)

    do_GET = do_POST = do_PUT = do_DELETE = forward


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A caller that went away mid-answer (a test ending, a killed harness) is not an error
        # of the layer; anything else is printed as before.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("upstream")
    p.add_argument("--provisioning", type=float, default=1.0)
    p.add_argument("--pending", type=float, default=1.0)
    p.add_argument("--deprovisioning", type=float, default=1.0)
    p.add_argument("--throttle", action="append", default=[])
    p.add_argument("--capacity-failures", type=int, default=0)
    p.add_argument("--capacity-for", action="append", default=[])
    p.add_argument("--vcpu-quota", type=float)
    p.add_argument("--logs-quota", type=int, default=10)
    p.add_argument("--empty-pages", type=int, default=2)
    p.add_argument("--fail-list-tasks", action="store_true")
    p.add_argument("--lose-run-task-reply", type=int, default=0)
    p.add_argument("--stats")
    args = p.parse_args()
    Proxy.state = State(args)
    Server(("127.0.0.1", args.port), Proxy).serve_forever()


if __name__ == "__main__":
    main()

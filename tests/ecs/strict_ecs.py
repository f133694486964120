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
    STOPPED, each held for the delays given (--provisioning, --pending, --deprovisioning); no
    private IP before PENDING, no startedAt before RUNNING, no exit code before STOPPED. The
    image pull takes the first --pull seconds of PENDING (default: all of it); createdAt,
    pullStartedAt, pullStoppedAt and startedAt are the layer's own times, so a test knows each
    task's start-up exactly.
  - RunTask: count 1-10; startedBy up to 128 of [A-Za-z0-9-/_]; launchType and
    capacityProviderStrategy exclusive; a strategy names only providers associated with the
    cluster; overrides at most 8192 characters; platformVersion LATEST or 1.4.0 (1.0.0-1.3.0
    retired); an INACTIVE task definition cannot run. DescribeTasks: 1-100 tasks. ListTasks:
    maxResults 1-100, pages with nextToken, by default --list-page-size (2) per page so the
    caller's loop runs. RegisterTaskDefinition: cpu "1 vCPU" and memory "2 GB" forms accepted
    (stored as units/MiB); awslogs on Fargate needs an execution role and awslogs-stream-prefix;
    the containers' memory may not exceed the task's (ContainerDefinition, memory).
    DescribeTaskDefinition of a family: its latest ACTIVE revision. StopTask of an unknown
    task: InvalidParameterException "The referenced task was not found." (moto answers 500).
    Each rule's source is quoted beside its code.
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
  --stop-task-not-found S  StopTask answers "not found" for a task younger than S seconds, as
                           ECS may right after RunTask (eventual consistency)
  --list-tasks-lag S       ListTasks leaves out tasks younger than S seconds (the same)
  --run-task-delay S       RunTask answers S seconds after the task was created
  --deny OP                the controller's OP calls get AccessDeniedException
  --slow-register S        RegisterTaskDefinition takes S seconds more; the stats record the
                           most calls under way at once as "concurrent:RegisterTaskDefinition"
  --list-page-size N       ListTasks's page when maxResults is not given (AWS: 100)
"""
import argparse
import base64
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

# RunTask, startedBy: "Up to 128 letters (uppercase and lowercase), numbers, hyphens (-),
# forward slash (/), and underscores (_) are allowed." (API reference, RunTask)
STARTED_BY = re.compile(r"^[A-Za-z0-9/_-]{0,128}$")
# Fargate Linux platform versions (developer guide, "Fargate Linux platform versions": "When
# the LATEST platform version is selected, 1.4.0 platform version is used"; "AWS Fargate Linux
# platform version deprecation": 1.0.0-1.2.0 deprecated, and "Starting June 15, 2026, we will
# make the platform version 1.3.0 as Retired. At that time, you will not be able to launch new
# tasks ... configured with platform version 1.3.0").
PLATFORMS = ("LATEST", "1.4.0")
RETIRED_PLATFORMS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
NOT_FOUND = "The referenced task was not found."


def task_units(value, unit, scale):
    """An integer task cpu/memory from RegisterTaskDefinition's forms: "1024", or a string in
    `unit` ("1 vCPU", "0.25 vcpu"; "2 GB", "2GB"), scaled. RegisterTaskDefinition, cpu: "It can
    be expressed as an integer using CPU units (for example, 1024) or as a string using vCPUs
    (for example, 1 vCPU or 1 vcpu) in a task definition. String values are converted to an
    integer indicating the CPU units when the task definition is registered." memory: "as a
    string using GB (for example, 1GB or 1 GB)". None when it is neither."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*" + unit, text, re.IGNORECASE)
    if m and float(m.group(1)) * scale == int(float(m.group(1)) * scale):
        return int(float(m.group(1)) * scale)
    return None


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
        self.registering = 0  # RegisterTaskDefinition calls under way


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
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (--run-task-delay and Ctrl-C)

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

    def record(self, key, update):
        """A figure of the layer's own in the stats (`update` maps the old value to the new)."""
        st = self.state
        with st.lock:
            st.calls[key] = update(st.calls.get(key, 0))
            self.write_stats()

    def call(self, op, payload):
        """An ECS call of the layer's own to moto (not counted): the answer, or ApiError."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "x-amz-date", "user-agent")}
        headers.update({"X-Amz-Target": ECS_TARGET + op,
                        "Content-Type": "application/x-amz-json-1.1"})
        req = urllib.request.Request(self.state.args.upstream + "/",
                                     data=json.dumps(payload).encode(), headers=headers,
                                     method="POST")
        try:
            return json.loads(urllib.request.urlopen(req).read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                kind = json.loads(raw).get("__type", "ServerException").split("#")[-1]
            except ValueError:
                kind = "ServerException"
            raise ApiError(kind, raw.decode(errors="replace")[:300], e.code)

    def task_definition(self, ref):
        """The task definition `ref` names as ECS resolves it: a family alone means its latest
        ACTIVE revision (DescribeTaskDefinition, taskDefinition: "The family for the latest
        ACTIVE revision, family and revision (family:revision) for a specific revision in the
        family, or full Amazon Resource Name (ARN) of the task definition"); moto answers with
        the latest revision whatever its status. None when there is none."""
        if ":" not in ref.split("/")[-1]:
            arns = self.call("ListTaskDefinitions", {"familyPrefix": ref.split("/")[-1],
                                                     "status": "ACTIVE"})
            arns = arns.get("taskDefinitionArns", [])
            if not arns:
                return None
            ref = max(arns, key=lambda a: int(a.rsplit(":", 1)[1]))
        try:
            return self.call("DescribeTaskDefinition", {"taskDefinition": ref})["taskDefinition"]
        except ApiError as e:
            if e.kind == "ClientException":
                return None
            raise

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
            if op in st.args.deny and self.from_controller():
                raise ApiError("AccessDeniedException",
                               f"User is not authorized to perform: ecs:{op}")
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
        # ListTasks, maxResults: "This value can be between 1 and 100. If this parameter isn't
        # used, then ListTasks returns up to 100 results and a nextToken value if applicable."
        # moto never pages; here every answer is paged, by default in pages of
        # --list-page-size (smaller than AWS's 100, which "up to" allows) so that the caller's
        # nextToken loop is exercised by every test that lists more than a page.
        size = request.pop("maxResults", None)
        if size is not None and not (isinstance(size, int) and 1 <= size <= 100):
            raise ApiError("InvalidParameterException",
                           f"maxResults {size!r}: this value can be between 1 and 100")
        size = size or self.state.args.list_page_size
        token = request.pop("nextToken", None)
        status, data, headers = self.upstream(json.dumps(request).encode())
        if status != 200:
            return self.relay(status, data, headers)
        arns = json.loads(data).get("taskArns", [])
        lag = self.state.args.list_tasks_lag
        if lag:
            now = time.time()
            with self.state.lock:
                created = dict(self.state.created)
            arns = [a for a in arns if now - created.get(a, 0) >= lag]
        query = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16]
        start = 0
        if token is not None:
            try:
                mark = json.loads(base64.b64decode(token))
                assert mark["q"] == query
            except (ValueError, KeyError, AssertionError, TypeError):
                raise ApiError("InvalidParameterException",
                               "nextToken is not valid for this request")
            # Resume after the last task returned (tasks may have left the listing since).
            start = arns.index(mark["a"]) + 1 if mark["a"] in arns else mark["o"]
        page = arns[start:start + size]
        answer = {"taskArns": page}
        if start + size < len(arns):
            answer["nextToken"] = base64.b64encode(json.dumps(
                {"q": query, "a": page[-1], "o": start + size}).encode()).decode()
        self.reply(200, json.dumps(answer).encode())

    # DescribeTasks, tasks: "A list of up to 100 task IDs or full ARN entries."
    def check_describe_tasks(self, request):
        n = len(request.get("tasks") or [])
        if n == 0:
            raise ApiError("InvalidParameterException", "Tasks cannot be empty.")
        if n > 100:
            raise ApiError("InvalidParameterException",
                           f"tasks: {n} given; a list of up to 100 task IDs or full ARN entries")

    def op_DescribeTaskDefinition(self, request, body):
        found = self.task_definition(request.get("taskDefinition", ""))
        if found is None:
            raise ApiError("ClientException", "Unable to describe task definition.")
        self.relay(*self.upstream(json.dumps(
            dict(request, taskDefinition=found["taskDefinitionArn"])).encode()))

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
            size = (task_units(request.get("cpu"), "vcpu", 1024),
                    task_units(request.get("memory"), "gb", 1024))
            if size not in SIZES:
                raise ApiError("ClientException",
                               "No Fargate configuration exists for given values: "
                               f"{request.get('cpu')} CPU, {request.get('memory')} memory.")
            # Stored as integers, as AWS does ("String values are converted to an integer").
            request["cpu"], request["memory"] = str(size[0]), str(size[1])
            # ContainerDefinition, memory (API reference): "The total amount of memory reserved
            # for all containers within a task must be lower than the task memory value, if one
            # is specified." Each container reserves its `memory` (hard limit), else its
            # `memoryReservation`. Only more than the task's is refused: a container given the
            # whole task's memory (what the controller registers) is what AWS accepts, and its
            # refusal names a container whose setting "is greater than for the task".
            reserved = 0
            for c in request.get("containerDefinitions", []):
                mine = c.get("memory", c.get("memoryReservation")) or 0
                reserved += mine if isinstance(mine, int) else 0
                if reserved > size[1]:
                    raise ApiError("ClientException",
                                   f"Invalid 'memory' setting for container {c.get('name')!r}: "
                                   f"the containers reserve {reserved} MiB, more than the "
                                   f"task's {size[1]} MiB; the total amount of memory reserved "
                                   "for all containers within a task must be lower than the "
                                   "task memory value")
            for c in request.get("containerDefinitions", []):
                log = c.get("logConfiguration") or {}
                if log.get("logDriver") != "awslogs":
                    continue
                # Task execution IAM role (developer guide): the role is needed when the task
                # "is hosted on AWS Fargate ... and ... sends container logs to CloudWatch Logs
                # using the awslogs log driver"; AWS's refusal, word for word.
                if not request.get("executionRoleArn"):
                    raise ApiError("ClientException", "Fargate requires task definition to "
                                   "have execution role ARN to support log driver awslogs.")
                # LogConfiguration (API reference), awslogs-stream-prefix: "Required: Yes,
                # when using Fargate."
                if not (log.get("options") or {}).get("awslogs-stream-prefix"):
                    raise ApiError("ClientException",
                                   f"container {c.get('name')!r}: the awslogs option "
                                   "awslogs-stream-prefix is required when using Fargate")
        st = self.state
        with st.lock:
            st.registering += 1
            now = st.registering
        self.record("concurrent:RegisterTaskDefinition", lambda n: max(n, now))
        try:
            time.sleep(st.args.slow_register)
            self.relay(*self.upstream(json.dumps(request).encode()))
        finally:
            with st.lock:
                st.registering -= 1

    def check_run_task(self, request):
        """RunTask's documented rules that moto does not check, each with its source."""
        # count: "The number of instantiations of the specified task to place on your cluster.
        # You can specify up to 10 tasks for each call."
        count = request.get("count", 1)
        if not (isinstance(count, int) and 1 <= count <= 10):
            raise ApiError("InvalidParameterException",
                           f"count {count!r}: you can specify up to 10 tasks for each call")
        # startedBy: "Up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward
        # slash (/), and underscores (_) are allowed."
        started_by = request.get("startedBy")
        if started_by is not None and not STARTED_BY.match(started_by):
            raise ApiError("InvalidParameterException",
                           f"startedBy {started_by!r}: up to 128 letters, numbers, hyphens, "
                           "forward slashes and underscores")
        # capacityProviderStrategy: "If a capacityProviderStrategy is specified, the launchType
        # parameter must be omitted."
        strategy = request.get("capacityProviderStrategy") or []
        if strategy and request.get("launchType"):
            raise ApiError("InvalidParameterException",
                           "If a capacityProviderStrategy is specified, the launchType "
                           "parameter must be omitted.")
        # CapacityProviderStrategyItem: "Only capacity providers that are already associated
        # with a cluster and have an ACTIVE or UPDATING status can be used in a capacity
        # provider strategy." (AWS's own words below.)
        if strategy:
            clusters = self.call("DescribeClusters",
                                 {"clusters": [request.get("cluster", "default")]})
            cluster = (clusters.get("clusters") or [{}])[0]
            associated = cluster.get("capacityProviders") or []
            for item in strategy:
                if item.get("capacityProvider") not in associated:
                    raise ApiError("InvalidParameterException",
                                   "The specified capacity provider strategy cannot contain a "
                                   "capacity provider that is not associated with the cluster. "
                                   "Associate the capacity provider with the cluster or specify "
                                   "a valid capacity provider and try again.")
        # overrides: "A total of 8192 characters are allowed for overrides. This limit includes
        # the JSON formatting characters of the override structure."
        overrides = json.dumps(request.get("overrides") or {}, separators=(",", ":"))
        if len(overrides) > 8192:
            raise ApiError("InvalidParameterException",
                           f"Container Overrides length must be at most 8192 "
                           f"({len(overrides)} given)")
        # platformVersion: see PLATFORMS. RunTask's errors: PlatformUnknownException "The
        # specified platform version doesn't exist."
        version = request.get("platformVersion")
        if version is not None and version not in PLATFORMS:
            why = ("is retired: no new task launches on it" if version in RETIRED_PLATFORMS
                   else "doesn't exist")
            raise ApiError("PlatformUnknownException",
                           f"The specified platform version {version} {why}; valid: "
                           f"{', '.join(PLATFORMS)}.")
        # DeregisterTaskDefinition: "You can't use an INACTIVE task definition to run new tasks
        # or create new services" (AWS answers "TaskDefinition is inactive").
        definition = self.task_definition(request.get("taskDefinition", ""))
        if definition is None:
            raise ApiError("ClientException", "TaskDefinition not found.")
        if definition.get("status") == "INACTIVE":
            raise ApiError("InvalidParameterException", "TaskDefinition is inactive")

    def op_RunTask(self, request, body):
        st = self.state
        check_tags(request.get("tags", []))
        self.check_run_task(request)
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
        time.sleep(st.args.run_task_delay)
        self.reply(200, data)

    def op_StopTask(self, request, body):
        st = self.state
        task = request.get("task", "")
        with st.lock:
            born = [t for arn, t in st.created.items() if arn == task or arn.endswith("/" + task)]
        if born and time.time() - born[0] < st.args.stop_task_not_found:
            raise ApiError("InvalidParameterException", NOT_FOUND)  # not visible yet
        # An unknown task: AWS answers InvalidParameterException, moto a bare 500.
        known = self.call("DescribeTasks", {"cluster": request.get("cluster", "default"),
                                            "tasks": [task]})
        if not known.get("tasks"):
            raise ApiError("InvalidParameterException", NOT_FOUND)
        status, data, headers = self.upstream(body)
        if status == 200:
            task = request.get("task", "")
            with st.lock:
                for arn in st.created:
                    if arn == task or arn.endswith("/" + task):
                        st.stopped.setdefault(arn, time.time())
        self.relay(status, data, headers)

    def op_DescribeTasks(self, request, body):
        self.check_describe_tasks(request)
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
        # A task that reached RUNNING keeps its startedAt for the rest of its life (Task,
        # startedAt: "The Unix timestamp for the time when the task started. More specifically,
        # it's for the time when the task transitioned from the PENDING state to the RUNNING
        # state."); moto never sets it. One stopped before that has none.
        started_at = created + args.provisioning + args.pending
        if (stopped if stopped is not None else now) >= started_at:
            task.setdefault("startedAt", started_at)
        # The lifecycle's timestamps are the layer's, so a test knows them exactly: created when
        # RunTask answered, the image pulled during PENDING (Task, pullStartedAt / pullStoppedAt:
        # "The Unix timestamp for the time when the container image pull began / completed").
        task["createdAt"] = created
        # Task, platformVersion: "The platform version where your task runs on." DescribeTasks
        # names the version LATEST resolved to (1.4.0 for Linux), which the task metadata
        # endpoint does not give; moto leaves it out.
        if task.get("platformVersion") in (None, "LATEST"):
            task["platformVersion"] = "1.4.0"
        task.pop("pullStartedAt", None)
        task.pop("pullStoppedAt", None)
        pull_started = created + args.provisioning
        pull_stopped = pull_started + min(args.pull if args.pull is not None else args.pending,
                                          args.pending)
        reached = stopped if stopped is not None else now
        if reached >= pull_started:
            task["pullStartedAt"] = pull_started
        if reached >= pull_stopped:
            task["pullStoppedAt"] = pull_stopped
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
    p.add_argument("--pull", type=float)
    p.add_argument("--throttle", action="append", default=[])
    p.add_argument("--capacity-failures", type=int, default=0)
    p.add_argument("--capacity-for", action="append", default=[])
    p.add_argument("--vcpu-quota", type=float)
    p.add_argument("--logs-quota", type=int, default=10)
    p.add_argument("--empty-pages", type=int, default=2)
    p.add_argument("--fail-list-tasks", action="store_true")
    p.add_argument("--lose-run-task-reply", type=int, default=0)
    p.add_argument("--stats")
    p.add_argument("--stop-task-not-found", type=float, default=0)
    p.add_argument("--list-tasks-lag", type=float, default=0)
    p.add_argument("--run-task-delay", type=float, default=0)
    p.add_argument("--deny", action="append", default=[])
    p.add_argument("--slow-register", type=float, default=0)
    p.add_argument("--list-page-size", type=int, default=2)
    args = p.parse_args()
    Proxy.state = State(args)
    Server(("127.0.0.1", args.port), Proxy).serve_forever()


if __name__ == "__main__":
    main()

"""Calls that break one documented ECS rule each, sent through strict_ecs.py, beside the
nearest call that keeps it: the layer must refuse the first with the error AWS gives and let
the second through (so a layer that refused everything would fail too).

  python strict_rules.py LAYER_ENDPOINT SETUP_JSON   -> JSON [{case, expected, got, ok}]

SETUP_JSON is what `moto_env.py setup` printed (cluster, subnet, role, log group). boto3's
own parameter checks are off, so the layer is what answers. Run by ecs_moto.rs
(`the_strict_layer_refuses_what_ecs_refuses`).
"""
import json
import sys

import boto3
import botocore.config
from botocore.exceptions import ClientError

REGION = "us-east-1"


def ecs_client(endpoint):
    return boto3.client("ecs", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=botocore.config.Config(parameter_validation=False,
                                                      retries={"max_attempts": 1}))


class Cases:
    def __init__(self, endpoint, env):
        self.ecs = ecs_client(endpoint)
        self.env = env
        self.results = []

    def check(self, case, expected, call, says=""):
        """`expected`: an error code, or None when the call must succeed; `says`: words the
        layer's own refusal holds (where moto refuses the call too, in other words)."""
        try:
            answer = call()
            got = None
        except ClientError as e:
            answer = None
            got = e.response["Error"]["Code"]
            message = e.response["Error"].get("Message", "")
            if says not in message:
                got = f"{got}, not saying {says!r}"
            case = f"{case} ({message[:120]})"
        except Exception as e:  # a broken case fails, the others still run
            answer, got = None, f"{type(e).__name__}: {e}"
        self.results.append({"case": case, "expected": expected, "got": got,
                             "ok": got == expected})
        return answer

    def definition(self, family, **extra):
        log = {"logDriver": "awslogs", "options": {
            "awslogs-group": self.env["log_group"], "awslogs-region": REGION,
            "awslogs-stream-prefix": "fargate-bench"}}
        request = dict(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                       cpu="256", memory="512",
                       executionRoleArn=self.env["execution_role_arn"],
                       containerDefinitions=[{"name": "probe", "image": "example.com/x:1",
                                              "essential": True, "memory": 512,
                                              "logConfiguration": log}])
        request.update(extra)
        return request

    def register(self, case, expected, **request):
        answer = self.check(case, expected,
                            lambda: self.ecs.register_task_definition(**request))
        return answer["taskDefinition"] if answer else None

    def run(self, case, expected, task_definition, says="", **extra):
        request = dict(cluster=self.env["cluster"], taskDefinition=task_definition, count=1,
                       launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [self.env["subnet"]],
                           "securityGroups": [self.env["security_group"]],
                           "assignPublicIp": "ENABLED"}})
        request.update(extra)
        request = {k: v for k, v in request.items() if v is not None}
        return self.check(case, expected, lambda: self.ecs.run_task(**request), says)

    def all(self):
        ok = self.register("register: a plain Fargate definition", None,
                           **self.definition("rules-plain"))
        arn = ok["taskDefinitionArn"]

        # RegisterTaskDefinition, cpu and memory: the documented string forms.
        words = self.register("register: cpu '1 vCPU', memory '2 GB'", None,
                              **self.definition("rules-words", cpu="1 vCPU", memory="2 GB"))
        self.results.append({"case": "register: '1 vCPU'/'2 GB' stored as 1024/2048",
                             "expected": ["1024", "2048"],
                             "got": [words.get("cpu"), words.get("memory")] if words else None,
                             "ok": bool(words) and [words.get("cpu"), words.get("memory")]
                             == ["1024", "2048"]})
        self.register("register: cpu '0.25 vcpu', memory '0.5GB'", None,
                      **self.definition("rules-quarter", cpu="0.25 vcpu", memory="0.5GB"))
        self.register("register: cpu '3 vCPU' is no Fargate size", "ClientException",
                      **self.definition("rules-three", cpu="3 vCPU", memory="6 GB"))
        # awslogs on Fargate: an execution role and a stream prefix.
        no_role = self.definition("rules-norole")
        no_role.pop("executionRoleArn")
        self.register("register: awslogs on Fargate without an execution role",
                      "ClientException", **no_role)
        no_prefix = self.definition("rules-noprefix")
        no_prefix["containerDefinitions"][0]["logConfiguration"]["options"].pop(
            "awslogs-stream-prefix")
        self.register("register: awslogs on Fargate without awslogs-stream-prefix",
                      "ClientException", **no_prefix)

        # ContainerDefinition, memory: the containers' memory within the task's.
        def container_memory(family, *mib):
            request = self.definition(family)
            first = request["containerDefinitions"][0]
            request["containerDefinitions"] = [dict(first, name=f"c{i}", memory=m)
                                               for i, m in enumerate(mib)]
            return request
        self.register("register: a container with the task's 512 MiB", None,
                      **container_memory("rules-memory-whole", 512))
        self.register("register: a container with 513 MiB in a 512 MiB task", "ClientException",
                      **container_memory("rules-memory-over", 513))
        self.register("register: two containers of 256 MiB in a 512 MiB task", None,
                      **container_memory("rules-memory-two", 256, 256))
        self.register("register: two containers of 300 MiB in a 512 MiB task",
                      "ClientException", **container_memory("rules-memory-two-over", 300, 300))

        # RunTask count 1-10.
        self.run("run: count 1", None, arn)
        self.run("run: count 10", None, arn, count=10)
        self.run("run: count 0", "InvalidParameterException", arn, count=0)
        self.run("run: count 11", "InvalidParameterException", arn, count=11)
        # startedBy.
        self.run("run: startedBy of 128 allowed characters", None, arn,
                 startedBy="a-b/c_D" + "x" * 121)
        self.run("run: startedBy of 129 characters", "InvalidParameterException", arn,
                 startedBy="x" * 129)
        self.run("run: startedBy with '.'", "InvalidParameterException", arn,
                 startedBy="run.1")
        # launchType and capacityProviderStrategy exclusive; providers associated.
        fargate = [{"capacityProvider": "FARGATE", "weight": 1}]
        spot = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        # (moto refuses this too, in its own words: the layer's are the API reference's)
        self.run("run: launchType and capacityProviderStrategy both",
                 "InvalidParameterException", arn, capacityProviderStrategy=fargate,
                 says="the launchType parameter must be omitted")
        self.run("run: FARGATE strategy on a cluster without providers",
                 "InvalidParameterException", arn, launchType=None,
                 capacityProviderStrategy=fargate)
        self.run("run: FARGATE_SPOT strategy on a cluster without providers",
                 "InvalidParameterException", arn, launchType=None,
                 capacityProviderStrategy=spot)
        self.ecs.create_cluster(clusterName="rules-spot",
                                capacityProviders=["FARGATE", "FARGATE_SPOT"])
        self.run("run: FARGATE_SPOT strategy on a cluster that has it", None, arn,
                 cluster="rules-spot", launchType=None, capacityProviderStrategy=spot)
        self.ecs.create_cluster(clusterName="rules-ondemand", capacityProviders=["FARGATE"])
        self.run("run: FARGATE_SPOT strategy on a cluster with FARGATE only",
                 "InvalidParameterException", arn, cluster="rules-ondemand", launchType=None,
                 capacityProviderStrategy=spot)
        # overrides at most 8192 characters of JSON.
        def overrides(n):
            return {"containerOverrides": [{"name": "probe", "command": ["x" * n]}]}
        small = len(json.dumps(overrides(0), separators=(",", ":")))
        self.run("run: overrides of 8192 characters", None, arn,
                 overrides=overrides(8192 - small))
        self.run("run: overrides of 8193 characters", "InvalidParameterException", arn,
                 overrides=overrides(8193 - small))
        # Platform versions.
        for version in ("LATEST", "1.4.0"):
            self.run(f"run: platformVersion {version}", None, arn, platformVersion=version)
        for version in ("1.3.0", "1.2.0", "1.0.0", "1.5.0", "2.0"):
            self.run(f"run: platformVersion {version}", "PlatformUnknownException", arn,
                     platformVersion=version)
        # An INACTIVE revision cannot run; its family alone means the latest ACTIVE one.
        gone = self.register("register: a revision to deregister", None,
                             **self.definition("rules-gone"))["taskDefinitionArn"]
        self.ecs.deregister_task_definition(taskDefinition=gone)
        self.run("run: an INACTIVE revision", "InvalidParameterException", gone)
        self.check("describe: a family whose only revision is INACTIVE", "ClientException",
                   lambda: self.ecs.describe_task_definition(taskDefinition="rules-gone"))

        # DescribeTasks: 1-100 tasks.
        listed = self.ecs.list_tasks(cluster=self.env["cluster"], maxResults=100)["taskArns"]
        some = (listed * 100)[:100]
        self.check("describe tasks: 100", None, lambda: self.ecs.describe_tasks(
            cluster=self.env["cluster"], tasks=some))
        self.check("describe tasks: 101", "InvalidParameterException",
                   lambda: self.ecs.describe_tasks(cluster=self.env["cluster"],
                                                   tasks=some + some[:1]))
        self.check("describe tasks: none", "InvalidParameterException",
                   lambda: self.ecs.describe_tasks(cluster=self.env["cluster"], tasks=[]))

        # ListTasks pages: maxResults honoured, a small default page, tokens that lead through.
        for bad in (0, 101):
            self.check(f"list: maxResults {bad}", "InvalidParameterException",
                       lambda: self.ecs.list_tasks(cluster=self.env["cluster"], maxResults=bad))
        everything = self.ecs.list_tasks(cluster=self.env["cluster"], maxResults=100)
        first = self.check("list: no maxResults", None,
                           lambda: self.ecs.list_tasks(cluster=self.env["cluster"]))
        seen, token, pages, widest = [], None, 0, 0
        while True:
            page = self.ecs.list_tasks(cluster=self.env["cluster"], maxResults=3,
                                       **({"nextToken": token} if token else {}))
            seen += page["taskArns"]
            pages += 1
            widest = max(widest, len(page["taskArns"]))
            token = page.get("nextToken")
            if not token or pages > 100:
                break
        total = len(everything["taskArns"])
        self.results += [
            {"case": "list: more than a page of tasks to list", "expected": True,
             "got": total > 3, "ok": total > 3 and "nextToken" not in everything},
            {"case": "list: the default page holds 2 and has a nextToken", "expected": 2,
             "got": len(first["taskArns"]) if first else None,
             "ok": bool(first) and len(first["taskArns"]) == 2 and "nextToken" in first},
            {"case": "list: pages of 3 lead through every task once", "expected": total,
             "got": len(seen), "ok": sorted(seen) == sorted(everything["taskArns"])
             and widest == 3 and pages == -(-total // 3)},
        ]
        self.check("list: a nextToken from another query", "InvalidParameterException",
                   lambda: self.ecs.list_tasks(cluster=self.env["cluster"],
                                               desiredStatus="STOPPED",
                                               nextToken=first["nextToken"]))

        # StopTask of a task ECS does not know.
        self.check("stop: an unknown task", "InvalidParameterException",
                   lambda: self.ecs.stop_task(cluster=self.env["cluster"],
                                              task="0123456789abcdef0123456789abcdef"))
        return self.results


def main():
    endpoint, env = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(Cases(endpoint, env).all(), indent=1))


if __name__ == "__main__":
    main()

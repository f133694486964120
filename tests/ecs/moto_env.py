"""Shared helpers for the ECS tests against moto: clients, account setup, queries.

Usage (from the Rust tests):
  python moto_env.py setup ENDPOINT          -> JSON with cluster, subnet, sg, role, log group
  python moto_env.py running ENDPOINT CLUSTER -> number of tasks not yet STOPPED
  python moto_env.py launched ENDPOINT CLUSTER -> number of tasks ever launched
  python moto_env.py revisions ENDPOINT FAMILY... -> JSON {family: number of revisions}
  python moto_env.py platforms ENDPOINT FAMILY... -> JSON {family: latest runtimePlatform}
  python moto_env.py providers ENDPOINT CLUSTER PROVIDER... -> associates the capacity providers
  python moto_env.py launches ENDPOINT CLUSTER -> JSON [{launchType, capacityProvider}] per task

The cluster `setup` makes has no capacity provider, like one made by `aws ecs create-cluster
--cluster-name X`: RunTask with launchType FARGATE runs on it, a FARGATE_SPOT strategy does not
until a test associates the provider (the deploy template's cluster associates both).
"""
import json
import sys
import urllib.request

import boto3

REGION = "us-east-1"


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def setup(endpoint):
    # Hold tasks RUNNING until StopTask (moto otherwise advances one state per DescribeTasks).
    req = urllib.request.Request(
        f"{endpoint}/moto-api/state-manager/set-transition",
        data=json.dumps({"model_name": "ecs::task",
                         "transition": {"progression": "manual", "times": 1000000}}).encode(),
        method="POST")
    urllib.request.urlopen(req).read()
    ec2 = client("ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/20")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="fargate-bench", Description="probes",
                                   VpcId=vpc)["GroupId"]
    client("ecs", endpoint).create_cluster(clusterName="fargate-bench")
    logs = client("logs", endpoint)
    try:
        logs.create_log_group(logGroupName="/fargate-bench")
    except logs.exceptions.ResourceAlreadyExistsException:
        # botocore retried a call moto had answered too slowly on a loaded machine: the
        # group exists, which is all setup needs.
        pass
    return {
        "cluster": "fargate-bench",
        "subnet": subnet,
        "security_group": sg,
        "execution_role_arn": "arn:aws:iam::123456789012:role/fargate-bench-execution",
        "log_group": "/fargate-bench",
    }


def not_stopped(endpoint, cluster):
    ecs = client("ecs", endpoint)
    arns = []
    for status in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]
    if not arns:
        return 0
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    return sum(1 for t in tasks if t["lastStatus"] != "STOPPED")


def launched(endpoint, cluster):
    ecs = client("ecs", endpoint)
    return sum(len(ecs.list_tasks(cluster=cluster, desiredStatus=s)["taskArns"])
               for s in ("RUNNING", "STOPPED"))


def stack(endpoint, name, template):
    """Creates the stack from deploy/cloudformation.yaml; prints its status and outputs."""
    cfn = client("cloudformation", endpoint)
    with open(template) as f:
        body = f.read()
    try:
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    except Exception as e:  # a refusal is the answer the test checks
        return {"status": "REFUSED", "reason": str(e)}
    desc = cfn.describe_stacks(StackName=name)["Stacks"][0]
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    failed = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events
              if e["ResourceStatus"].endswith("FAILED")]
    return {"status": desc["StackStatus"], "failed": failed,
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}}


def providers(endpoint, cluster, names):
    client("ecs", endpoint).put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=names,
        defaultCapacityProviderStrategy=[{"capacityProvider": names[0], "weight": 1}])


def launches(endpoint, cluster):
    ecs = client("ecs", endpoint)
    arns = []
    for status in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    return [{"launchType": t.get("launchType") or None,
             "capacityProvider": t.get("capacityProviderName")} for t in tasks]


def revisions(endpoint, families):
    # familyPrefix is the full family name (an exact match), as on AWS.
    ecs = client("ecs", endpoint)
    return {f: len(ecs.list_task_definitions(familyPrefix=f)["taskDefinitionArns"]) for f in families}


def platforms(endpoint, families):
    ecs = client("ecs", endpoint)
    return {f: ecs.describe_task_definition(taskDefinition=f)["taskDefinition"]
            .get("runtimePlatform") for f in families}


if __name__ == "__main__":
    cmd, endpoint = sys.argv[1], sys.argv[2]
    if cmd == "setup":
        print(json.dumps(setup(endpoint)))
    elif cmd == "running":
        print(not_stopped(endpoint, sys.argv[3]))
    elif cmd == "stack":
        print(json.dumps(stack(endpoint, sys.argv[3], sys.argv[4])))
    elif cmd == "launched":
        print(launched(endpoint, sys.argv[3]))
    elif cmd == "revisions":
        print(json.dumps(revisions(endpoint, sys.argv[3:])))
    elif cmd == "providers":
        providers(endpoint, sys.argv[3], sys.argv[4:])
    elif cmd == "launches":
        print(json.dumps(launches(endpoint, sys.argv[3])))
    elif cmd == "platforms":
        print(json.dumps(platforms(endpoint, sys.argv[3:])))
    else:
        sys.exit(f"unknown command {cmd}")

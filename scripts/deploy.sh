#!/usr/bin/env bash
# Deploys deploy/cloudformation.yaml with the aws CLI and writes the controller's ECS config.
#
#   scripts/deploy.sh                       stack "fargate-bench" in the CLI's default region
#   AZ=us-east-1b scripts/deploy.sh         the created subnet in that AZ (a name, or an AZ ID
#                                           such as use1-az6); default: the region's first
#   STACK=bench-2 REGION=ap-northeast-2 CONFIG=bench-2.toml scripts/deploy.sh
#                                           a second stack beside the first, with its own config
#   EXISTING_VPC=vpc-1 EXISTING_SUBNET=subnet-1 scripts/deploy.sh    your own VPC and subnet
#   EXISTING_VPC=vpc-1 EXISTING_SUBNET=subnet-2 ASSIGN_PUBLIC_IP=false scripts/deploy.sh
#                                           a private subnet (NAT gateway or VPC endpoints)
#   CPU_ARCHITECTURE=ARM64 CAPACITY_PROVIDER=FARGATE_SPOT scripts/deploy.sh
#
# Every resource is named after the stack, so stacks live side by side in one region. What is
# wrong with the combination is said before anything is deployed. Running it again is safe: an
# unchanged stack is left as it is and the config is written again (so CPU_ARCHITECTURE,
# CAPACITY_PROVIDER or ASSIGN_PUBLIC_IP can change without a stack update). Creates the ECS
# service-linked role when the account has none (a brand-new account). Writes ecs.toml (or
# $CONFIG); use it with `fargate-bench run --backend ecs --ecs-config ecs.toml` after
# scripts/push-images.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "deploy: $*" >&2; exit 2; }
stack=${STACK:-fargate-bench}
vpc=${EXISTING_VPC:-}
subnet=${EXISTING_SUBNET:-}
arch=${CPU_ARCHITECTURE:-X86_64}
capacity=${CAPACITY_PROVIDER:-FARGATE}
public_ip=${ASSIGN_PUBLIC_IP:-true}
az=${AZ:-}

# Names: a CloudFormation stack name, lower case because the ECR repositories carry it.
[[ $stack =~ ^[a-z][a-z0-9-]{0,62}$ ]] ||
  fail "STACK=$stack: use 1-63 lower-case letters, digits and hyphens, starting with a letter (ECR repository names are lower case)"
[ -z "$subnet" ] || [ -n "$vpc" ] ||
  fail "EXISTING_SUBNET=$subnet needs EXISTING_VPC (its VPC), or the security group lands in another VPC"
[ -z "$vpc" ] || [ -n "$subnet" ] ||
  fail "EXISTING_VPC=$vpc needs EXISTING_SUBNET, a subnet of it that reaches ECR; a subnet created there would have no route out"
case $arch in X86_64|ARM64) ;; *) fail "CPU_ARCHITECTURE=$arch: use X86_64 or ARM64";; esac
case $capacity in FARGATE|FARGATE_SPOT) ;; *) fail "CAPACITY_PROVIDER=$capacity: use FARGATE or FARGATE_SPOT";; esac
case $public_ip in true|false) ;; *) fail "ASSIGN_PUBLIC_IP=$public_ip: use true or false";; esac
[ -z "$az" ] || [ -z "$subnet" ] ||
  fail "AZ=$az applies to the subnet the stack creates; EXISTING_SUBNET=$subnet is already in its own AZ (unset AZ, or pick a subnet in $az)"
# The created subnet is public: its only way out is the internet gateway, and it has no NAT
# gateway and no VPC endpoints. "When a Fargate task is launched, its elastic network interface
# requires a route to the internet to pull container images" (ECS developer guide,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html).
[ "$public_ip" = true ] || [ -n "$subnet" ] ||
  fail "ASSIGN_PUBLIC_IP=false with the subnet this stack creates: that subnet reaches ECR only through its internet gateway, so a task without a public IP cannot pull its image and stops in PENDING. Use ASSIGN_PUBLIC_IP=true (the default), or EXISTING_VPC and EXISTING_SUBNET naming a private subnet with a NAT gateway route or the ECR (ecr.api, ecr.dkr), S3 and CloudWatch Logs VPC endpoints"

command -v aws >/dev/null || fail "the aws CLI is needed (https://aws.amazon.com/cli/)"
region=${REGION:-$(aws configure get region || true)}
[ -n "$region" ] || fail "no region; set REGION or configure the aws CLI"
config=${CONFIG:-ecs.toml}

if [ -n "$subnet" ]; then
  # The subnet must be in the VPC, and reach ECR: a route to an internet gateway (with public
  # IPs), a NAT gateway, or the VPC endpoints Fargate pulls through.
  owner=$(aws ec2 describe-subnets --region "$region" --subnet-ids "$subnet" \
    --query 'Subnets[0].VpcId' --output text) || fail "subnet $subnet not found in $region"
  [ "$owner" = "$vpc" ] || fail "subnet $subnet is in $owner, not in EXISTING_VPC=$vpc"
  query='RouteTables[].Routes[?DestinationCidrBlock==`0.0.0.0/0`].[GatewayId,NatGatewayId,TransitGatewayId,NetworkInterfaceId]'
  routes=$(aws ec2 describe-route-tables --region "$region" \
    --filters "Name=association.subnet-id,Values=$subnet" --query "$query" --output text)
  if [ -z "$routes" ]; then
    # No table of its own: the subnet uses the VPC's main route table.
    routes=$(aws ec2 describe-route-tables --region "$region" \
      --filters "Name=vpc-id,Values=$vpc" "Name=association.main,Values=true" --query "$query" --output text)
  fi
  case $routes in
    *igw-*) [ "$public_ip" = true ] ||
      fail "subnet $subnet routes out through an internet gateway: tasks need ASSIGN_PUBLIC_IP=true to pull images" ;;
    *nat-*) ;;
    *tgw-*|*eni-*)
      echo "deploy: warning: subnet $subnet routes 0.0.0.0/0 to $(grep -o -E '(tgw|eni)-[0-9a-f]+' <<<"$routes" | head -1), which deploy cannot see past: tasks pull images only if that path reaches ECR, S3 and CloudWatch Logs" >&2 ;;
    *)
      # No way to the internet: only VPC endpoints let a task pull its image and log. ECR
      # needs ecr.api, ecr.dkr and the S3 gateway endpoint (the layers are in S3); awslogs
      # needs logs (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html,
      # https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).
      endpoints=$(aws ec2 describe-vpc-endpoints --region "$region" \
        --filters "Name=vpc-id,Values=$vpc" "Name=vpc-endpoint-state,Values=available" \
        --query 'VpcEndpoints[].ServiceName' --output text) ||
        fail "could not list the VPC endpoints of $vpc (ec2:DescribeVpcEndpoints)"
      missing=()
      for service in ecr.api ecr.dkr s3 logs; do
        [[ " $(echo $endpoints) " == *".$region.$service "* ]] || missing+=("com.amazonaws.$region.$service")
      done
      [ ${#missing[@]} = 0 ] ||
        fail "subnet $subnet has no default route (no internet gateway, no NAT gateway) and VPC $vpc lacks the endpoints a task needs to pull its image and log: ${missing[*]}; add them, or use a subnet with a NAT gateway route" ;;
  esac
fi

if [ -n "$az" ]; then
  # A name (us-east-1b) or an AZ ID (use1-az6, the same zone in every account) of this region.
  zones=$(aws ec2 describe-availability-zones --region "$region" \
    --filters Name=zone-type,Values=availability-zone \
    --query 'AvailabilityZones[].[ZoneName,ZoneId]' --output text) ||
    fail "could not list the availability zones of $region (ec2:DescribeAvailabilityZones)"
  zone=$(awk -v z="$az" '$1 == z || $2 == z { print $1 }' <<<"$zones")
  [ -n "$zone" ] ||
    fail "AZ=$az is not an availability zone of $region; its zones: $(awk '{ printf "%s%s (%s)", sep, $1, $2; sep = ", " }' <<<"$zones")"
  [ "$zone" = "$az" ] || echo "deploy: AZ=$az is $zone in this account" >&2
  az=$zone
fi

# A stack whose creation failed is left in ROLLBACK_COMPLETE, and CloudFormation can only
# delete it, not update it: say so rather than fail inside `cloudformation deploy`.
if status=$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
  --query 'Stacks[0].StackStatus' --output text 2>&1); then
  delete="aws cloudformation delete-stack --region $region --stack-name $stack && aws cloudformation wait stack-delete-complete --region $region --stack-name $stack"
  case $status in
    ROLLBACK_COMPLETE|ROLLBACK_FAILED)
      fail "stack $stack in $region is in $status: its first deploy failed (its events say why: aws cloudformation describe-stack-events --region $region --stack-name $stack) and CloudFormation cannot update it. Delete it, then run this again: $delete" ;;
    DELETE_FAILED)
      fail "stack $stack in $region is in DELETE_FAILED; finish deleting it (the console names the resource that held it), then run this again: $delete" ;;
    UPDATE_ROLLBACK_FAILED)
      fail "stack $stack in $region is in UPDATE_ROLLBACK_FAILED; recover it with: aws cloudformation continue-update-rollback --region $region --stack-name $stack" ;;
    REVIEW_IN_PROGRESS) ;; # a change set never executed: `deploy` creates the stack from it
    *_IN_PROGRESS)
      fail "stack $stack in $region is in $status; wait until it ends (aws cloudformation describe-stacks --region $region --stack-name $stack), then run this again" ;;
  esac
elif [[ $status != *"does not exist"* ]]; then
  fail "cannot read stack $stack in $region: $status"
fi

# In a new account, a cluster with capacity providers cannot be created before the ECS
# service-linked role exists ("Unable to assume the service linked role"), and the stack is
# left in ROLLBACK_COMPLETE: create the role first. It is made once per account, by IAM.
if ! aws iam get-role --role-name AWSServiceRoleForECS >/dev/null 2>&1; then
  if ! created=$(aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com 2>&1); then
    # "has been taken": it exists, and only iam:GetRole was missing.
    [[ $created == *"has been taken"* ]] ||
      fail "the account has no ECS service-linked role (AWSServiceRoleForECS) and creating it failed: $created. It needs iam:CreateServiceLinkedRole for ecs.amazonaws.com, or an administrator running once: aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"
  else
    echo "deploy: created the ECS service-linked role AWSServiceRoleForECS" >&2
  fi
fi

# --no-fail-on-empty-changeset: an unchanged stack is not an error (the CLI's default exits
# 255 on "No changes to deploy"), so the config below is written on every run.
aws cloudformation deploy --region "$region" --stack-name "$stack" \
  --template-file deploy/cloudformation.yaml --capabilities CAPABILITY_IAM \
  --no-fail-on-empty-changeset \
  --parameter-overrides "ExistingVpcId=$vpc" "ExistingSubnetId=$subnet" "AvailabilityZone=$az"
out() {
  aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > "$config" <<TOML
# Written by scripts/deploy.sh for stack $stack in $region.
cluster = "$(out Cluster)"
subnet = "$(out Subnet)"
security_groups = ["$(out SecurityGroup)"]
assign_public_ip = $public_ip
execution_role_arn = "$(out ExecutionRoleArn)"
log_group = "$(out LogGroup)"
netprobe_image = "$(out NetprobeRepositoryUri):$version"
memprobe_image = "$(out MemprobeRepositoryUri):$version"
cpu_architecture = "$arch"
capacity_provider = "$capacity"
region = "$region"
TOML
echo "deploy: wrote $config"
cat >&2 <<TEXT
deploy: for users who are not administrators (README, Permissions), attach
  to run fargate-bench:                        $(out OperatorPolicyArn)
  to run deploy.sh again and push-images.sh:   $(out DeployerPolicyArn)
TEXT

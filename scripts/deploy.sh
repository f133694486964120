#!/usr/bin/env bash
# Deploys deploy/cloudformation.yaml with the aws CLI and writes the controller's ECS config.
#
#   scripts/deploy.sh                       stack "fargate-bench" in the CLI's default region
#   STACK=bench-2 REGION=ap-northeast-2 scripts/deploy.sh      a second stack beside the first
#   EXISTING_VPC=vpc-1 EXISTING_SUBNET=subnet-1 scripts/deploy.sh    your own VPC and subnet
#   CPU_ARCHITECTURE=ARM64 CAPACITY_PROVIDER=FARGATE_SPOT ASSIGN_PUBLIC_IP=false scripts/deploy.sh
#
# Every resource is named after the stack, so stacks live side by side in one region. What is
# wrong with the combination is said before anything is deployed. Writes ecs.toml (or $CONFIG);
# use it with `fargate-bench run --backend ecs --ecs-config ecs.toml` after
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

command -v aws >/dev/null || fail "the aws CLI is needed (https://aws.amazon.com/cli/)"
region=${REGION:-$(aws configure get region || true)}
[ -n "$region" ] || fail "no region; set REGION or configure the aws CLI"
config=${CONFIG:-ecs.toml}

if [ -n "$subnet" ]; then
  # The subnet must be in the VPC, and reach ECR: a route to an internet gateway (with public
  # IPs) or a NAT gateway. VPC endpoints also work; say so rather than refuse.
  owner=$(aws ec2 describe-subnets --region "$region" --subnet-ids "$subnet" \
    --query 'Subnets[0].VpcId' --output text) || fail "subnet $subnet not found in $region"
  [ "$owner" = "$vpc" ] || fail "subnet $subnet is in $owner, not in EXISTING_VPC=$vpc"
  routes=$(aws ec2 describe-route-tables --region "$region" \
    --filters "Name=association.subnet-id,Values=$subnet" \
    --query 'RouteTables[].Routes[?DestinationCidrBlock==`0.0.0.0/0`].[GatewayId,NatGatewayId]' --output text)
  if [ -z "$routes" ]; then
    routes=$(aws ec2 describe-route-tables --region "$region" \
      --filters "Name=vpc-id,Values=$vpc" "Name=association.main,Values=true" \
      --query 'RouteTables[].Routes[?DestinationCidrBlock==`0.0.0.0/0`].[GatewayId,NatGatewayId]' --output text)
  fi
  case $routes in
    *igw-*) [ "$public_ip" = true ] ||
      fail "subnet $subnet routes out through an internet gateway: tasks need ASSIGN_PUBLIC_IP=true to pull images" ;;
    *nat-*) ;;
    *) echo "deploy: warning: subnet $subnet has no default route; tasks can pull images only through VPC endpoints (ecr.api, ecr.dkr, s3, logs)" >&2 ;;
  esac
fi

aws cloudformation deploy --region "$region" --stack-name "$stack" \
  --template-file deploy/cloudformation.yaml --capabilities CAPABILITY_IAM \
  --parameter-overrides "ExistingVpcId=$vpc" "ExistingSubnetId=$subnet"
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

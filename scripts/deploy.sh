#!/usr/bin/env bash
# Deploys deploy/cloudformation.yaml with the aws CLI and writes the controller's ECS config.
#
#   scripts/deploy.sh                       stack "fargate-bench" in the CLI's default region
#   STACK=bench REGION=ap-northeast-2 ASSIGN_PUBLIC_IP=true scripts/deploy.sh
#   EXISTING_VPC=vpc-1 EXISTING_SUBNET=subnet-1 scripts/deploy.sh
#
# Writes ecs.toml (or $CONFIG); use it with `fargate-bench run --backend ecs --ecs-config ecs.toml`
# after scripts/push-images.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v aws >/dev/null || { echo "deploy: the aws CLI is needed (https://aws.amazon.com/cli/)" >&2; exit 2; }
stack=${STACK:-fargate-bench}
region=${REGION:-$(aws configure get region || true)}
[ -n "$region" ] || { echo "deploy: no region; set REGION or configure the aws CLI" >&2; exit 2; }
config=${CONFIG:-ecs.toml}
aws cloudformation deploy --region "$region" --stack-name "$stack" \
  --template-file deploy/cloudformation.yaml --capabilities CAPABILITY_IAM \
  --parameter-overrides "ExistingVpcId=${EXISTING_VPC:-}" "ExistingSubnetId=${EXISTING_SUBNET:-}"
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
assign_public_ip = ${ASSIGN_PUBLIC_IP:-true}
execution_role_arn = "$(out ExecutionRoleArn)"
log_group = "$(out LogGroup)"
netprobe_image = "$(out NetprobeRepositoryUri):$version"
memprobe_image = "$(out MemprobeRepositoryUri):$version"
cpu_architecture = "${CPU_ARCHITECTURE:-X86_64}"
capacity_provider = "${CAPACITY_PROVIDER:-FARGATE}"
region = "$region"
TOML
echo "deploy: wrote $config"

#!/usr/bin/env bash
# Builds the probe images for the architecture the ECS settings run (cpu_architecture in the
# config), checks that each image is that architecture, then logs in to ECR and pushes both to
# the repositories that scripts/deploy.sh created. A mismatch is refused before anything is
# pushed: on Fargate it would fail every task with "exec format error".
#
#   scripts/push-images.sh                 uses ecs.toml (or $CONFIG)
#   SKIP_BUILD=1 scripts/push-images.sh    push images already built (still checked)
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "push-images: $*" >&2; exit 2; }
config=${CONFIG:-ecs.toml}
[ -f "$config" ] || fail "$config not found; run scripts/deploy.sh first"
value() { sed -n "s/^$1 = \"\(.*\)\"/\1/p" "$config"; }
region=$(value region)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cpu=$(value cpu_architecture)
case ${cpu:-X86_64} in
  X86_64) arch=amd64;;
  ARM64) arch=arm64;;
  *) fail "cpu_architecture = \"$cpu\" in $config: use X86_64 or ARM64";;
esac
[ "${SKIP_BUILD:-0}" = 1 ] || scripts/build-images.sh --arch "$arch"
for probe in netprobe memprobe; do
  built=$(docker image inspect -f '{{.Architecture}}' "$probe:$version" 2>/dev/null) ||
    fail "no image $probe:$version; run scripts/build-images.sh --arch $arch"
  [ "$built" = "$arch" ] ||
    fail "$probe:$version is $built but $config runs cpu_architecture = \"${cpu:-X86_64}\" ($arch); rebuild with scripts/build-images.sh --arch $arch, or set cpu_architecture to match"
done
for probe in netprobe memprobe; do
  uri=$(value "${probe}_image")
  registry=${uri%%/*}
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
  docker tag "$probe:$version" "$uri"
  docker push "$uri"
done

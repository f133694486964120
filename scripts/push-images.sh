#!/usr/bin/env bash
# Builds the probe images for the architecture(s) the ECS runs use, checks that each image is
# that architecture, then logs in to ECR and pushes them to the repositories that
# scripts/deploy.sh created. A mismatch is refused before anything is pushed: on Fargate it
# would fail every task with "exec format error".
#
#   scripts/push-images.sh                 the config's cpu_architecture (ecs.toml, or $CONFIG)
#   scripts/push-images.sh --arch both     X86_64 and ARM64, for runs with
#                                          architectures = ["X86_64", "ARM64"] (or
#                                          run --architecture X86_64,ARM64)
#   SKIP_BUILD=1 scripts/push-images.sh    push images already built (still checked)
#   DRY_RUN=1 scripts/push-images.sh       check, and print the docker commands instead
#
# With both, each architecture's image goes to URI-amd64 and URI-arm64, and URI itself (the
# netprobe_image / memprobe_image of the config) becomes a multi-architecture manifest list of
# the two: every task definition names URI, and ECS pulls the entry of its runtimePlatform.
# The list is made with `docker buildx imagetools create` where buildx is installed (it takes
# images that are themselves indexes, as BuildKit with Docker's containerd image store makes
# them), else with `docker manifest`.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "push-images: $*" >&2; exit 2; }
arch=
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 || fail "--arch needs amd64, arm64 or both";;
    --arch=*) arch=${1#--arch=}; shift;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) fail "unknown argument $1 (use --arch amd64|arm64|both)";;
  esac
done
config=${CONFIG:-ecs.toml}
[ -f "$config" ] || fail "$config not found; run scripts/deploy.sh first"
value() { sed -n "s/^$1 = \"\(.*\)\"/\1/p" "$config"; }
region=$(value region)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
prefix=${IMAGE_PREFIX:-}
cpu=$(value cpu_architecture)
case ${cpu:-X86_64} in
  X86_64) configured=amd64;;
  ARM64) configured=arm64;;
  *) fail "cpu_architecture = \"$cpu\" in $config: use X86_64 or ARM64";;
esac
case ${arch:-$configured} in
  amd64|x86_64|X86_64) arches=(amd64);;
  arm64|aarch64|ARM64) arches=(arm64);;
  both|all) arches=(amd64 arm64);;
  *) fail "--arch $arch: use amd64 (X86_64), arm64 (ARM64) or both";;
esac
if [ ${#arches[@]} = 1 ] && [ "${arches[0]}" != "$configured" ]; then
  fail "--arch ${arches[0]} but $config runs cpu_architecture = \"${cpu:-X86_64}\" ($configured); set cpu_architecture to match, or push --arch both for runs over both architectures"
fi
run() { if [ "${DRY_RUN:-0}" = 1 ]; then echo "$*"; else "$@"; fi; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ${#arches[@]} = 2 ]; then scripts/build-images.sh --arch both; else scripts/build-images.sh --arch "${arches[0]}"; fi
fi
# Every image is checked before anything is pushed: PROBE:VERSION-ARCH, else the plain
# PROBE:VERSION when it is that architecture.
declare -A source
arch_of() { docker image inspect -f '{{.Architecture}}' "$1" 2>/dev/null; }
for a in "${arches[@]}"; do
  for probe in netprobe memprobe; do
    tagged="${prefix}$probe:$version-$a" plain="${prefix}$probe:$version"
    if built=$(arch_of "$tagged"); then
      [ "$built" = "$a" ] ||
        fail "$tagged is $built, not $a; rebuild with scripts/build-images.sh --arch $a"
      source[$probe-$a]=$tagged
    elif built=$(arch_of "$plain"); then
      [ "$built" = "$a" ] ||
        fail "$plain is $built but $config runs cpu_architecture = \"${cpu:-X86_64}\" ($a); rebuild with scripts/build-images.sh --arch $a, or set cpu_architecture to match"
      source[$probe-$a]=$plain
    else
      fail "no image $tagged; run scripts/build-images.sh --arch $a"
    fi
  done
done
buildx=0
if [ ${#arches[@]} = 2 ] && docker buildx version >/dev/null 2>&1; then buildx=1; fi
for probe in netprobe memprobe; do
  uri=$(value "${probe}_image")
  [ -n "$uri" ] || fail "${probe}_image is empty in $config; run scripts/deploy.sh"
  registry=${uri%%/*}
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry"
  else
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
  fi
  if [ ${#arches[@]} = 1 ]; then
    run docker tag "${source[$probe-${arches[0]}]}" "$uri"
    run docker push "$uri"
    continue
  fi
  entries=()
  for a in "${arches[@]}"; do
    run docker tag "${source[$probe-$a]}" "$uri-$a"
    run docker push "$uri-$a"
    entries+=("$uri-$a")
  done
  # The manifest list under the config's own URI: one name, an image per architecture.
  # `docker manifest create` refuses a source that is an index ("... is a manifest list"),
  # which every BuildKit image with an attestation is; imagetools merges indexes and reads
  # each image's platform from its config.
  if [ "$buildx" = 1 ]; then
    run docker buildx imagetools create -t "$uri" "${entries[@]}"
  else
    run docker manifest create --amend "$uri" "${entries[@]}"
    for a in "${arches[@]}"; do
      run docker manifest annotate "$uri" "$uri-$a" --os linux --arch "$a"
    done
    run docker manifest push --purge "$uri"
  fi
done

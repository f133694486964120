#!/usr/bin/env bash
# Builds the static probe binaries and the two FROM-scratch images for one CPU architecture or
# both, labelled with their architecture (Fargate's cpu_architecture must match it, or the task
# fails with "exec format error").
#
#   scripts/build-images.sh                 for this machine's architecture
#   scripts/build-images.sh --arch arm64    for ARM64 (Graviton): cpu_architecture = "ARM64"
#   scripts/build-images.sh --arch amd64    for X86_64
#   scripts/build-images.sh --arch both     both, for runs with architectures = ["X86_64", "ARM64"]
#   IMAGE_PREFIX=fargate-bench/ scripts/build-images.sh
#   CARGO_TARGET_DIR=DIR scripts/build-images.sh    cargo's target directory (scripts/test.sh's cache)
#
# Tags: PROBE:VERSION-ARCH and PROBE:latest-ARCH for each architecture built (the docker
# backend and push-images.sh find each architecture's image by these), and PROBE:VERSION and
# PROBE:latest for the one architecture built (with --arch both: this machine's).
#
# A fully static binary is needed (scratch has no libc): the musl target when
# `rustup target add <arch>-unknown-linux-musl` works here; else, for this machine's own
# architecture, glibc with crt-static; else, for the other one, Debian's rustc-web with the
# foreign standard library and cross gcc (scripts/setup-cross.sh installs them). It says which.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "build-images: $*" >&2; exit 2; }
arch=${ARCH:-}
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 || fail "--arch needs amd64, arm64 or both";;
    --arch=*) arch=${1#--arch=}; shift;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) fail "unknown argument $1 (use --arch amd64|arm64|both)";;
  esac
done
# uname -m names (x86_64, aarch64, and arm64 on macOS) to Docker's and Rust's.
case $(uname -m) in x86_64|amd64) host=amd64;; aarch64|arm64) host=arm64;; *) host=$(uname -m);; esac
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
prefix=${IMAGE_PREFIX:-}
# BuildKit (docker build through buildx) adds a provenance attestation by default, which makes
# each image an index of the image and the attestation; `docker manifest create` then refuses it
# as a source ("is a manifest list"). Plain images, where the builder knows the flags (the
# classic builder has none and makes plain images anyway).
attest=()
if docker build --help 2>/dev/null | grep -q -- '--provenance'; then
  attest=(--provenance=false --sbom=false)
fi

# Builds both probes and their images for one architecture ($1: amd64 or arm64).
build_arch() {
local arch=$1
case $arch in
  amd64|x86_64|X86_64) arch=amd64; rust_arch=x86_64;;
  arm64|aarch64|ARM64) arch=arm64; rust_arch=aarch64;;
  *) fail "--arch $arch: use amd64 (X86_64), arm64 (ARM64) or both";;
esac
musl="${rust_arch}-unknown-linux-musl"
gnu="${rust_arch}-unknown-linux-gnu"
if rustup target list --installed 2>/dev/null | grep -qx "$musl" || rustup target add "$musl" >/dev/null 2>&1; then
  target=$musl
  linker=()
  if [ "$arch" != "$host" ]; then
    # The host's cc cannot link foreign objects: a cross gcc if there is one, else rust-lld.
    linker_var="CARGO_TARGET_$(echo "$musl" | tr 'a-z-' 'A-Z_')_LINKER"
    if command -v "${rust_arch}-linux-gnu-gcc" >/dev/null; then
      linker=("$linker_var=${rust_arch}-linux-gnu-gcc")
    else
      linker=("$linker_var=rust-lld")
    fi
  fi
  echo "build-images: static $arch binaries for $target (musl, rustup${linker:+, ${linker[0]#*=}})" >&2
  env "${linker[@]}" cargo build --profile image --target "$target" -p netprobe -p memprobe \
    --bins --quiet
elif [ "$arch" = "$host" ]; then
  target=$gnu
  echo "build-images: musl target unavailable; static glibc binaries (crt-static) for $target" >&2
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --profile image --target "$target" \
    -p netprobe -p memprobe --bins --quiet
elif [ -x /usr/bin/rustc ] && [ -d "/usr/lib/rustlib/$gnu/lib" ] && command -v "${rust_arch}-linux-gnu-gcc" >/dev/null; then
  # Debian's own Rust (rustc-web) ships the foreign standard library as a package: used where
  # rustup cannot fetch targets (see scripts/setup-cross.sh).
  target=$gnu
  echo "build-images: static glibc $arch binaries for $target with Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2) (rustup could not add $musl)" >&2
  linker_var="CARGO_TARGET_$(echo "$gnu" | tr 'a-z-' 'A-Z_')_LINKER"
  env RUSTC=/usr/bin/rustc "$linker_var=${rust_arch}-linux-gnu-gcc" \
    RUSTFLAGS="-C target-feature=+crt-static" \
    /usr/bin/cargo build --profile image --target "$target" -p netprobe -p memprobe --bins --quiet
else
  fail "cannot build for $arch here: \`rustup target add $musl\` failed (no rustup, or offline) and Debian's cross toolchain is not installed; run scripts/setup-cross.sh (Debian) or build on an $arch machine"
fi
for probe in netprobe memprobe; do
  bin="${CARGO_TARGET_DIR:-target}/$target/image/$probe"
  if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "build-images: $bin is dynamically linked; it would not run FROM scratch" >&2
    exit 1
  fi
  ctx=$(mktemp -d)
  cp "$bin" "$ctx/$probe"
  # --no-cache: the classic builder would reuse a cached layer of the other architecture.
  docker build --quiet --no-cache ${attest[@]+"${attest[@]}"} --platform "linux/$arch" -f "docker/$probe.Dockerfile" \
    --build-arg VERSION="$version" --label "org.opencontainers.image.architecture=$arch" \
    ${IMAGE_SOURCE_KEY:+--label "fargate-bench.source=$IMAGE_SOURCE_KEY"} \
    -t "${prefix}$probe:$version-$arch" -t "${prefix}$probe:latest-$arch" "$ctx" >/dev/null 2>"$ctx.log" \
    || { cat "$ctx.log" >&2; exit 1; }
  rm -f "$ctx.log"
  rm -rf "$ctx"
  size=$(docker image inspect -f '{{.Size}}' "${prefix}$probe:$version-$arch")
  built=$(docker image inspect -f '{{.Architecture}}' "${prefix}$probe:$version-$arch")
  [ "$built" = "$arch" ] || fail "${prefix}$probe:$version-$arch came out $built, not $arch"
  echo "${prefix}$probe:$version-$arch $arch $size bytes"
done
}

# The plain tags name one architecture: the one built, or with both this machine's.
plain_tags() {
  for probe in netprobe memprobe; do
    for tag in "$version" latest; do
      docker tag "${prefix}$probe:$tag-$1" "${prefix}$probe:$tag"
    done
  done
  echo "build-images: ${prefix}netprobe:$version and ${prefix}memprobe:$version are $1" >&2
}

arch=${arch:-$host}
case $arch in
  amd64|x86_64|X86_64) arch=amd64;;
  arm64|aarch64|ARM64) arch=arm64;;
  both|all) arch=both;;
  *) fail "--arch $arch: use amd64 (X86_64), arm64 (ARM64) or both";;
esac
case $arch in
  both)
    # This machine's last: the other one is the slow (cross) build and fails first if it must.
    other=$([ "$host" = arm64 ] && echo amd64 || echo arm64)
    build_arch "$other"
    build_arch "$host"
    plain_tags "$host"
    ;;
  *)
    build_arch "$arch"
    plain_tags "$arch"
    ;;
esac

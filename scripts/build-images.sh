#!/usr/bin/env bash
# Builds the static probe binaries and the two FROM-scratch images, tagged VERSION and latest.
#
#   scripts/build-images.sh            images netprobe:VERSION, memprobe:VERSION (+ :latest)
#   IMAGE_PREFIX=fargate-bench/ scripts/build-images.sh
#
# A fully static binary is needed (scratch has no libc): the musl target when
# `rustup target add x86_64-unknown-linux-musl` works here, else glibc with crt-static.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$(uname -m)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
prefix=${IMAGE_PREFIX:-}
musl="${arch}-unknown-linux-musl"
gnu="${arch}-unknown-linux-gnu"
if rustup target list --installed 2>/dev/null | grep -qx "$musl" || rustup target add "$musl" >/dev/null 2>&1; then
  target=$musl
  echo "build-images: static binaries for $target (musl)" >&2
  cargo build --profile image --target "$target" -p netprobe -p memprobe --bins --quiet
else
  target=$gnu
  echo "build-images: musl target unavailable; static glibc binaries (crt-static) for $target" >&2
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --profile image --target "$target" \
    -p netprobe -p memprobe --bins --quiet
fi
for probe in netprobe memprobe; do
  bin="target/$target/image/$probe"
  if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "build-images: $bin is dynamically linked; it would not run FROM scratch" >&2
    exit 1
  fi
  ctx=$(mktemp -d)
  cp "$bin" "$ctx/$probe"
  docker build --quiet -f "docker/$probe.Dockerfile" --build-arg VERSION="$version" \
    -t "${prefix}$probe:$version" -t "${prefix}$probe:latest" "$ctx" >/dev/null 2>"$ctx.log" \
    || { cat "$ctx.log" >&2; exit 1; }
  rm -f "$ctx.log"
  rm -rf "$ctx"
  size=$(docker image inspect -f '{{.Size}}' "${prefix}$probe:$version")
  echo "${prefix}$probe:$version $size bytes"
done

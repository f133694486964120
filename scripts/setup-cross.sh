#!/usr/bin/env bash
# Lets this Debian (bookworm) x86_64 machine build and run the ARM64 probes, with no rustup
# target download: Debian's rustc-web with its arm64 standard library and cross gcc build them
# (scripts/build-images.sh --arch arm64 finds these), and qemu-user-static through
# binfmt_misc runs them, directly and in `docker run --platform linux/arm64`.
# Needs root. Idempotent.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
packages=(rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross qemu-user-static)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  as_root dpkg --add-architecture arm64
  as_root apt-get update -qq
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Register qemu-aarch64 with the kernel (the F flag lets containers use it too).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  as_root sh -c 'cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register'
fi
echo "setup-cross: arm64 builds with $(/usr/bin/rustc --version); qemu-aarch64 registered" >&2

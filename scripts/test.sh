#!/usr/bin/env bash
# Runs every check and test of fargate-bench, installing first what the tests need.
#
#   scripts/test.sh            everything: packages (with the arm64 cross toolchain and qemu),
#                              lint, docs, unit tests, and the tests that need root, Docker,
#                              qemu or moto (run with --ignored)
#   SKIP_INSTALL=1 scripts/test.sh   skip the apt/pip step (offline re-runs)
#
# Needs: a Debian machine with the Rust toolchain; root (or sudo) for apt-get and the network
# namespace tests; a running Docker engine for the container tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

# Peers for the benchmark scripts and ground truth for the tests (shared/peers.md).
DEBIAN_PACKAGES=(iperf3 sockperf qperf likwid sysbench mbw iproute2 python3-venv chromium)

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  step "Debian packages: ${DEBIAN_PACKAGES[*]}"
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  step "ARM64 cross toolchain and qemu-aarch64 (the arm64 probes, run under emulation)"
  scripts/setup-cross.sh
  step "Python venv with moto (AWS API server for the ECS tests)"
  python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install -q --disable-pip-version-check \
    'moto[cloudformation]==5.2.5' flask flask-cors boto3 cfn-lint 'hdrhistogram==0.10.8'
fi
export FARGATE_BENCH_MOTO_SERVER="$root/.venv/bin/moto_server"
export FARGATE_BENCH_PYTHON="$root/.venv/bin/python"
# The ECS tests talk to moto on loopback with static test keys, never to AWS.
export AWS_EC2_METADATA_DISABLED=true

step "cfn-lint deploy/cloudformation.yaml"
"$root/.venv/bin/cfn-lint" deploy/cloudformation.yaml

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo build --release of the probes (the benchmark scripts measure them optimised)"
cargo build --release -p netprobe -p memprobe --quiet

step "cargo test: unit, property and loopback tests"
cargo test --workspace --no-fail-fast

step "memprobe's kernels on aarch64 under qemu (their results; timings under emulation mean nothing)"
# The same choice as build-images.sh: rustup's musl target when it can be had, else Debian's
# rustc-web (installed above by setup-cross.sh).
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl ||
  rustup target add aarch64-unknown-linux-musl >/dev/null 2>&1; then
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
    cargo test --target aarch64-unknown-linux-musl --target-dir target/arm64 -p memprobe --lib kernels
else
  RUSTC=/usr/bin/rustc CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    RUSTFLAGS="-C target-feature=+crt-static" \
    /usr/bin/cargo test --target aarch64-unknown-linux-gnu --target-dir target/arm64 -p memprobe --lib kernels
fi

step "cargo test --ignored: tests that need root (netns), Docker or moto"
cargo test --workspace --no-fail-fast -- --ignored

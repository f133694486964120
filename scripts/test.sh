#!/usr/bin/env bash
# Runs every check and test of fargate-bench, installing first what the tests need.
#
#   scripts/test.sh            everything: packages (with the arm64 cross toolchain and qemu),
#                              lint, docs, unit tests, and the tests that need root, Docker,
#                              qemu or moto (run with --ignored, theme by theme)
#   SKIP_INSTALL=1 scripts/test.sh   skip the apt/pip step (offline re-runs)
#   CARGO_TARGET_DIR=DIR scripts/test.sh   build there instead of the machine's build cache
#
# Every artefact is built once: the test profile's binaries serve the unit tests and every
# suite that spawns a probe or the controller; one `build-images.sh --arch both` serves the
# docker and the arm64 suites. The build cache outlives a checkout: cargo's target directory
# and the Python venv live under ~/.cache/fargate-bench (XDG_CACHE_HOME), so a new clone on a
# machine that has built before compiles only the workspace's own crates. A fresh machine
# builds everything from nothing, and passes the same way.
#
# Every check runs in a mirror of the checkout under the cache, so that files whose bytes did
# not change keep their mtimes from one clone to the next (see "mirror" below).
#
# Each stage's wall seconds are printed as it ends and in one table at the end (also when a
# stage fails), so a slow change shows the day it lands.
#
# Needs: a Debian machine with the Rust toolchain; root (or sudo) for apt-get and the network
# namespace tests; a running Docker engine for the container tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cache=${XDG_CACHE_HOME:-$HOME/.cache}/fargate-bench
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
mkdir -p "$CARGO_TARGET_DIR"
# One run at a time per cache: two would share the mirror, the target directory and apt.
exec 9>"$cache/lock"
flock -w 3600 9 || { echo "another scripts/test.sh holds $cache/lock" >&2; exit 1; }

# --- stage timing -------------------------------------------------------------------------
started=$SECONDS
stage_names=()
stage_secs=()
stage_marks=()
side_rows=()
current=""
current_start=0

stage() {
  end_stage
  current=$1
  current_start=$SECONDS
  printf '\n==> %s\n' "$current"
}

end_stage() {
  if [ -n "$current" ]; then
    local secs=$((SECONDS - current_start))
    stage_names+=("$current")
    stage_secs+=("$secs")
    stage_marks+=("${1:-ok}")
    printf -- '--- %s: %d s\n' "$current" "$secs"
    current=""
  fi
}

budget() {
  local rc=$?
  [ -z "${install_pid:-}" ] || kill "$install_pid" 2>/dev/null || true
  end_stage "$([ "$rc" = 0 ] && echo ok || echo FAILED)"
  printf '\n==> Stage budget (wall seconds)\n'
  local i
  for i in "${!stage_names[@]}"; do
    printf '%6d  %-6s  %s\n' "${stage_secs[$i]}" "${stage_marks[$i]}" "${stage_names[$i]}"
    if [[ "${stage_names[$i]}" == "ignored, side by side:"* ]]; then
      local row
      for row in ${side_rows[@]+"${side_rows[@]}"}; do printf '%s\n' "$row"; done
    fi
  done
  printf '%6d  %-6s  %s\n' "$((SECONDS - started))" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" \
    "total (target dir: $CARGO_TARGET_DIR)"
  exit "$rc"
}
trap budget EXIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

# --- what the tests need --------------------------------------------------------------------
# Peers for the benchmark scripts and ground truth for the tests (shared/peers.md).
DEBIAN_PACKAGES=(iperf3 sockperf qperf likwid sysbench mbw iproute2 python3-venv chromium)
PYTHON_PACKAGES=('moto[cloudformation]==5.2.5' flask flask-cors boto3 cfn-lint 'hdrhistogram==0.10.8')
# The venv is kept with the build cache, one per set of packages and Python.
venv_key=$( { printf '%s\n' "${PYTHON_PACKAGES[@]}"; python3 --version; } | sha256sum | cut -c1-12)
venv=$cache/venv-$venv_key

# Installing is mostly waiting on the network and dpkg, building is all CPU: on a fresh machine
# the packages, the cross toolchain and the venv are installed beside the first builds (none of
# which needs them), and joined before the first stage that does.
install_everything() {
  local began=$SECONDS
  echo "== Debian packages: ${DEBIAN_PACKAGES[*]}"
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  echo "   $((SECONDS - began)) s"; began=$SECONDS
  echo "== ARM64 cross toolchain and qemu-aarch64 (the arm64 probes, run under emulation)"
  scripts/setup-cross.sh
  echo "   $((SECONDS - began)) s"; began=$SECONDS
  echo "== Python venv with moto (AWS API server for the ECS tests): $venv"
  if [ ! -e "$venv/.complete" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
    touch "$venv/.complete"
  else
    echo "kept from an earlier run"
  fi
  echo "   $((SECONDS - began)) s"
}
install_pid=""
install_log=$(mktemp)
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  stage "start installing in the background: packages, cross toolchain, venv"
  (install_everything >"$install_log" 2>&1) &
  install_pid=$!
fi

# Waits for the installs and shows what they printed; a failed install fails the command.
join_install() {
  [ -n "$install_pid" ] || return 0
  stage "installs (they ran beside the builds above; their own times are in their log)"
  local rc=0
  wait "$install_pid" || rc=$?
  install_pid=""
  cat "$install_log"
  [ "$rc" = 0 ] || { echo "installing what the tests need failed (exit $rc)" >&2; exit 1; }
}

# The ECS tests talk to moto on loopback with static test keys, never to AWS.
export AWS_EC2_METADATA_DISABLED=true

# --- the checkout, mirrored where its mtimes last ---------------------------------------------
# cargo decides what to rebuild by comparing mtimes, and a new clone gives every file a new one,
# so on a machine that has built before, the workspace's own crates would compile again in
# every profile (about 160 s here) though not a byte changed. So every check runs in a mirror of
# this checkout kept beside the build cache: a file whose bytes equal the mirror's copy is left
# alone (and keeps its mtime), a changed or new one is copied (a new mtime: cargo rebuilds what
# depends on it), and a file the checkout no longer has is removed. The mirror holds exactly the
# checkout's files (tracked, and untracked ones git does not ignore), byte for byte. A lock keeps
# two runs on one machine from sharing the mirror and the target directory at once.
stage "mirror the checkout into $cache/src (unchanged files keep their mtimes)"
mirror=$cache/src
mkdir -p "$mirror"
listing=$(mktemp)
git -C "$root" ls-files -z -co --exclude-standard >"$listing"
copied=0
while IFS= read -r -d '' f; do
  [ -f "$root/$f" ] || continue # deleted in the working tree, not yet in the index
  if ! cmp -s "$root/$f" "$mirror/$f"; then
    mkdir -p "$mirror/$(dirname "$f")"
    rm -f "$mirror/$f"
    cp --preserve=mode "$root/$f" "$mirror/$f"
    copied=$((copied + 1))
  fi
done <"$listing"
removed=0
while IFS= read -r f; do
  rm -f "$mirror/$f"
  removed=$((removed + 1))
done < <(LC_ALL=C comm -13 <(tr '\0' '\n' <"$listing" | LC_ALL=C sort) \
  <(cd "$mirror" && find . -type f -printf '%P\n' | LC_ALL=C sort))
rm -f "$listing"
echo "$copied file(s) copied, $removed removed; every check below runs in $mirror"
cd "$mirror"

stage "cargo fmt --check"
cargo fmt --all -- --check

# --- builds ----------------------------------------------------------------------------------
if [ -d "$CARGO_TARGET_DIR/debug" ]; then
  echo "build cache: $CARGO_TARGET_DIR ($(du -sh "$CARGO_TARGET_DIR" | cut -f1), from an earlier build)"
else
  echo "build cache: $CARGO_TARGET_DIR (empty: everything builds from nothing)"
fi

stage "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

stage "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

stage "cargo test --no-run: the test profile's libraries, binaries and test binaries"
cargo test --workspace --no-run

join_install
# The checkout's .venv (as earlier versions made it) still works for the tests' defaults.
[ -e "$venv/bin/python" ] || venv=$root/.venv
export FARGATE_BENCH_MOTO_SERVER="$venv/bin/moto_server"
export FARGATE_BENCH_PYTHON="$venv/bin/python"

stage "cfn-lint deploy/cloudformation.yaml"
"$venv/bin/cfn-lint" deploy/cloudformation.yaml

stage "cargo test: unit, property and loopback tests"
cargo test --workspace --no-fail-fast

# The same choice as build-images.sh: rustup's musl target when it can be had, else Debian's
# rustc-web (installed above by setup-cross.sh).
aarch64_target=aarch64-unknown-linux-gnu
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl ||
  rustup target add aarch64-unknown-linux-musl >/dev/null 2>&1; then
  aarch64_target=aarch64-unknown-linux-musl
fi

stage "probe images, both architectures (one build for the docker and arm64 suites)"
# The images are content-addressed: the key hashes every file that goes into them (the probes'
# crates, the workspace manifests, the Dockerfiles, the build script) and the toolchain. When
# the engine already holds all four images labelled with this key, they are these sources'
# build and are reused; cargo alone would rebuild them on every new clone (it compares mtimes).
image_key=$( { git -C "$root" ls-files -z -co --exclude-standard -- Cargo.toml Cargo.lock \
    crates/probe-core crates/netprobe crates/memprobe docker scripts/build-images.sh | sort -z |
    xargs -0 sha256sum 2>/dev/null || true  # a deleted file drops out, and the key changes
  rustc -Vv; } | sha256sum | cut -c1-16)
image_log=$CARGO_TARGET_DIR/build-images-$image_key.log
images_current() {
  local probe arch
  [ -s "$image_log" ] || return 1
  for probe in netprobe memprobe; do
    for arch in amd64 arm64; do
      [ "$(docker image inspect -f '{{index .Config.Labels "fargate-bench.source"}}' \
        "$probe:latest-$arch" 2>/dev/null)" = "$image_key" ] || return 1
    done
  done
}
if images_current; then
  echo "the engine holds this source's images (key $image_key): reused, as built in $image_log"
else
  IMAGE_SOURCE_KEY=$image_key scripts/build-images.sh --arch both 2>"$image_log" ||
    { cat "$image_log" >&2; rm -f "$image_log"; exit 1; }
fi
cat "$image_log" >&2
export FARGATE_BENCH_IMAGE_BUILD_LOG=$image_log

stage "memprobe's kernels on aarch64 under qemu (their results; timings under emulation mean nothing)"
if [ "$aarch64_target" = aarch64-unknown-linux-musl ]; then
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc \
    cargo test --target aarch64-unknown-linux-musl -p memprobe --lib kernels
else
  # Debian's rustc builds into its own directory: its artefacts cannot mix with rustup's.
  RUSTC=/usr/bin/rustc CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    RUSTFLAGS="-C target-feature=+crt-static" \
    /usr/bin/cargo test --target aarch64-unknown-linux-gnu --target-dir "$CARGO_TARGET_DIR/debian-rustc" \
    -p memprobe --lib kernels
fi

# --- the ignored tests, theme by theme ---------------------------------------------------------
# One stage per theme, so each shows its own time and the themes that measure time never run
# beside each other (or beside anything else); the last stage runs every ignored test no theme
# named, so a new one is never left out. The second field is the theme's test filters (several
# separated by commas), the third its test threads (`-`: one per CPU): the moto tests measure no
# time and mostly wait on task lifecycles, each with its own moto server, so eight of them share
# the two CPUs (26 tests: 155 s alone, 4 threads took 269 s).
themes=(
  "netprobe netns_link:: - root: two network namespaces, a veth pair shaped by tc tbf"
  "netprobe token_bucket:: - root: a token-bucket link in the path, with iperf3 beside"
  "netprobe refill:: - root: a tbf bucket drained, left idle and burst again"
  "netprobe latency_under_load:: - root: round trips beside a stream through a tbf shaper's queue and a short one"
  "fargate-bench local_backend:: - root: the local backend on shaped links"
  "fargate-bench simulate_link:: - root: a rate profile through a tbf link against simulate"
  # The docker tests whose assertions depend on time (they hold the engine alone); the
  # rest of the docker suite runs side by side below.
  "fargate-bench docker_backend::a_link_shapes,docker_backend::killing_a_server,docker_backend::recommend_picks - Docker: the docker backend's timed tests (a shaped link, a kill mid-test, a bucket read off the emulated link)"
)
# These measure no time (figures under emulation mean nothing; moto's API; a page in a browser;
# containers that only have to finish) and mostly wait (qemu, task lifecycles and log delays,
# a page load, container starts), so they run side by side, after every theme that measures
# time, each on the integration binary cargo already built, skipping what a theme above ran.
together=(
  "fargate-bench arm64_emulated:: - Docker and qemu: ARM64 probes under emulation"
  "fargate-bench ecs_moto:: 8 moto behind the strict ECS layer"
  "fargate-bench html_report:: - Chromium and Python hdrhistogram: the HTML page and .hgrm"
  "fargate-bench docker_backend:: - Docker: the images and the docker backend"
)
skip=()
failed=()
for theme in "${themes[@]}"; do
  read -r crate filter threads why <<<"$theme"
  stage "ignored: $crate $filter ($why)"
  threads_arg=()
  [ "$threads" = - ] || threads_arg=(--test-threads "$threads")
  IFS=, read -ra filters <<<"$filter"
  # --workspace, not -p: with -p cargo resolves that crate's features alone (tokio's differ)
  # and rebuilds half the tree; the filter leaves the other crates' binaries with no test.
  # A failed theme is marked and the next one still runs (like --no-fail-fast): one broken
  # suite does not hide the state of the others; the command fails at the end.
  if ! cargo test --workspace --test integration --no-fail-fast -- --ignored "${filters[@]}" \
    ${threads_arg[@]+"${threads_arg[@]}"}; then
    end_stage FAILED
    failed+=("$crate $filter")
  fi
  for f in "${filters[@]}"; do skip+=(--skip "$f"); done
done

names=()
for theme in "${together[@]}"; do read -r _ filter _ <<<"$theme"; names+=("$filter"); done
stage "ignored, side by side: ${names[*]}"
# The integration binaries, as cargo built them above (no cargo lock is held while they run).
bins=$(cargo test --workspace --test integration --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "integration":
        print(m["manifest_path"].split("/")[-2], m["executable"])')
side_dir=$(mktemp -d)
pids=()
for i in "${!together[@]}"; do
  read -r crate filter threads why <<<"${together[$i]}"
  bin=$(awk -v c="$crate" '$1 == c { print $2 }' <<<"$bins")
  [ -n "$bin" ] || { echo "no integration test binary for $crate" >&2; exit 1; }
  threads_arg=()
  [ "$threads" = - ] || threads_arg=(--test-threads "$threads")
  (
    began=$SECONDS
    rc=0
    # Run from the crate's directory, as cargo test would.
    (cd "crates/$crate" && "$bin" --ignored "$filter" ${threads_arg[@]+"${threads_arg[@]}"} \
      ${skip[@]+"${skip[@]}"}) \
      >"$side_dir/$i.log" 2>&1 || rc=$?
    echo "$((SECONDS - began)) $rc" >"$side_dir/$i.done"
  ) &
  pids+=($!)
  skip+=(--skip "$filter")
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
side_failed=0
for i in "${!together[@]}"; do
  read -r crate filter threads why <<<"${together[$i]}"
  printf '\n==> %s %s (%s), side by side\n' "$crate" "$filter" "$why"
  cat "$side_dir/$i.log"
  read -r secs rc <"$side_dir/$i.done"
  mark=ok
  if [ "$rc" != 0 ]; then
    mark=FAILED
    side_failed=1
    failed+=("$crate $filter")
  fi
  printf -- '--- %s %s: %d s (%s)\n' "$crate" "$filter" "$secs" "$mark"
  side_rows+=("$(printf '%6d  %-6s    side by side: %s %s' "$secs" "$mark" "$crate" "$filter")")
done
rm -rf "$side_dir"
[ "$side_failed" = 0 ] || end_stage FAILED
stage "ignored: every other ignored test"
if ! cargo test --workspace --no-fail-fast -- --ignored "${skip[@]}"; then
  end_stage FAILED
  failed+=("the other ignored tests")
fi
end_stage
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED suites: %s\n' "${failed[*]}" >&2
  exit 1
fi

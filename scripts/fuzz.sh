#!/usr/bin/env bash
# Fuzzes every decoder that reads outside input, for a set number of executions each, and
# prints one line per target: executions, time, crashes. A crash input is copied into
# fuzz/regressions/TARGET/, where the ordinary test run replays it
# (crates/fargate-bench/tests/fargate-bench/fuzz_regressions.rs), and the script exits 1.
#
#   scripts/fuzz.sh                 10,000,000 executions of each target
#   scripts/fuzz.sh 100000          a quick pass
#   scripts/fuzz.sh 10000000 suite  one target
#   MAX_LEN=4096 scripts/fuzz.sh     smaller inputs (default 65536), several times faster
#
# Needs the nightly toolchain (libFuzzer's sanitizer flags) and cargo-fuzz, which it installs
# from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(control_frame result_line suite iperf3_json)
case $runs in '' | *[!0-9]*) echo "fuzz.sh: runs must be a whole number, not '$runs'" >&2; exit 2 ;; esac

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p logs
found=0
for target in "${targets[@]}"; do
  grep -qx "name = \"$target\"" Cargo.toml || { echo "fuzz.sh: no target '$target' (see fuzz/Cargo.toml)" >&2; exit 2; }
  mkdir -p "corpus/$target" "regressions/$target" "seeds/$target"
  crashes() { ls "artifacts/$target" 2>/dev/null || true; }
  before=$(crashes | wc -l)
  start=$(date +%s)
  # -max_len bounds inputs like the readers' own caps would, scaled to keep runs fast.
  if cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -runs="$runs" -max_len="${MAX_LEN:-65536}" -print_final_stats=1 >"logs/$target.log" 2>&1; then
    status=ok
  else
    status=CRASH
  fi
  secs=$(( $(date +%s) - start ))
  done_runs=$(grep -o 'Done [0-9]* runs' "logs/$target.log" | grep -o '[0-9]*' | tail -1 || true)
  for crash in $(crashes | tail -n +$((before + 1))); do
    cp "artifacts/$target/$crash" "regressions/$target/$crash"
    echo "fuzz.sh: $target: kept $crash in fuzz/regressions/$target/" >&2
    found=1
  done
  if [ "$status" != ok ] && ! grep -q "^==[0-9]*==\|panicked\|deadly signal" "logs/$target.log"; then
    status="FAILED to build or run: see fuzz/logs/$target.log"
  fi
  [ "$status" = ok ] || found=1
  printf '%-14s %12s executions %6d s  %s\n' "$target" "${done_runs:-?}" "$secs" "$status"
done
exit $found

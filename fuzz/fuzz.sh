#!/usr/bin/env bash
# Runs one fuzz target the way fuzz/README.md's figures were made: nightly cargo-fuzz, no
# sanitizer (the code is safe Rust: panics, overflow checks and debug assertions are the
# oracles), one process at nice 19, at most 10 million runs or SECONDS seconds, whichever first.
# The builds go to ../utkik-target/fuzz-shared (targets of utkik-shared only) and
# ../utkik-target/fuzz (with the ground, onboard and simulator crates), never into the
# repository: two dirs so a fuzzer of a shared target can run while the big one builds. The log
# goes to ../utkik-target/fuzz/logs/TARGET.log.
#
#   fuzz/fuzz.sh TARGET [SECONDS] [extra libFuzzer flags...]
#   fuzz/fuzz.sh --build-apps      # the targets in ground/onboard/sim (builds Bevy, tract: slow)
set -euo pipefail
cd "$(dirname "$0")/.."
log_dir=../utkik-target/fuzz/logs
common=(-s none --codegen-units 16)
apps_targets="users_file onboard_config scenario_toml geojson mbtiles console_command"
if [ "${1:-}" = "--build-apps" ]; then
  exec nice -n 10 cargo +nightly fuzz build "${common[@]}" --target-dir ../utkik-target/fuzz --features libfuzzer,apps
fi
target=$1
seconds=${2:-600}
shift $(( $# < 2 ? $# : 2 ))
if [[ " $apps_targets " == *" $target "* ]]; then
  features=(--target-dir ../utkik-target/fuzz --features libfuzzer,apps)
else
  features=(--target-dir ../utkik-target/fuzz-shared --no-default-features --features libfuzzer)
fi
mkdir -p "$log_dir"
# Build at nice 10 (as every build here), fuzz at nice 19.
nice -n 10 cargo +nightly fuzz build "${common[@]}" "${features[@]}" "$target" 2>&1 | tail -3
echo "fuzz: $target for at most ${seconds}s / 10M runs, $(date -u +%FT%TZ)" | tee "$log_dir/$target.log"
nice -n 19 cargo +nightly fuzz run "${common[@]}" "${features[@]}" "$target" -- \
  -runs=10000000 -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@" \
  2>&1 | tee -a "$log_dir/$target.log" | grep -E "^#|DONE|ERROR|panicked|SUMMARY|stat::" || true

#!/usr/bin/env bash
# Sets up (idempotent) and runs every test: formatting, the workspace tests
# with cargo-nextest (models, pymavlink and GStreamer included: they are part
# of the product's code paths, not optional), and the ground station
# screenshot smoke test under Xvfb once the ground station has one.
# Each step prints its wall time (README "First run" has the fresh-machine figures).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
step_t0=$T0
step_done() { # name
  local now; now=$(date +%s)
  echo "test: $1 done in $((now - step_t0)) s"
  step_t0=$now
}
scripts/setup.sh
step_done "set-up"

echo "test: cargo fmt --check"
cargo fmt --all -- --check

echo "test: compile the workspace's tests (and the bins they start)"
# --timings: ../utkik-target/cargo-timings/cargo-timing.html shows where the compile time went.
cargo nextest run --workspace --locked --no-run --timings
step_done "compile"

echo "test: cargo nextest (workspace)"
cargo nextest run --workspace --locked --no-fail-fast
step_done "tests"

# Benchmarks are run by hand in release (see each crate's README); CI keeps them compiling
# (dev profile: reuses the test build's dependencies, runs nothing).
echo "test: benchmarks compile"
cargo build --workspace --benches --locked -q
step_done "benchmarks compile"

if [ -x scripts/screenshot-smoke.sh ]; then
  echo "test: ground station screenshot smoke test"
  scripts/screenshot-smoke.sh
  step_done "screenshot smoke test"
fi
echo "test: all passed in $(( $(date +%s) - T0 )) s"

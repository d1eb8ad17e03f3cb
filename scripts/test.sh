#!/usr/bin/env bash
# Sets up (idempotent) and runs every test: formatting, the workspace tests
# with cargo-nextest (models, pymavlink and GStreamer included: they are part
# of the product's code paths, not optional), and the ground station
# screenshot smoke test under Xvfb once the ground station has one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "test: cargo fmt --check"
cargo fmt --all -- --check

echo "test: cargo nextest (workspace)"
cargo nextest run --workspace --locked --no-fail-fast

# Benchmarks are run by hand in release (see each crate's README); CI keeps them compiling
# (dev profile: reuses the test build's dependencies, runs nothing).
echo "test: benchmarks compile"
cargo build --workspace --benches --locked -q

if [ -x scripts/screenshot-smoke.sh ]; then
  echo "test: ground station screenshot smoke test"
  scripts/screenshot-smoke.sh
fi
echo "test: all passed"

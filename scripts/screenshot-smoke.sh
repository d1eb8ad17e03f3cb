#!/usr/bin/env bash
# Ground station smoke test: writes a synthetic mission (tlog + GeoJSON), renders the real
# window under Xvfb with software Vulkan (Mesa llvmpipe), saves a PNG and checks it is not blank
# (enough distinct colours). Usage: scripts/screenshot-smoke.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)/ground-smoke.png}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The whole workspace's bins, as the tests build them: `-p utkik-ground` alone resolves other
# features for shared dependencies (serde, smallvec, num-traits...) and rebuilt Bevy after the tests.
cargo build --locked --workspace --bins
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/utkik-ground"

"$bin" synth --out "$work" --duration-s 20
# Software rendering: no GPU needed. A second xvfb-run on the machine must not collide (-a).
WGPU_BACKEND=vulkan timeout 180 xvfb-run -a -s "-screen 0 1600x900x24" \
  "$bin" screenshot --demo --record-dir "$work/rec" --out "$out" --tlog "$work"/synth-001.tlog --geojson "$work"/synth.geojson --after-s 3

python3 - "$out" <<'PY'
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("RGB")
w, h = img.size
colors = img.getcolors(maxcolors=1 << 20) or []
print(f"screenshot {sys.argv[1]}: {w}x{h}, {len(colors)} distinct colours")
if w < 320 or h < 200 or len(colors) < 50:
    sys.exit("screenshot looks blank")
PY
echo "screenshot smoke: ok ($out)"

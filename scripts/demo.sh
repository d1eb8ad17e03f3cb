#!/usr/bin/env bash
# The live demo on one machine: the simulator (drone, autopilot telemetry,
# camera video), the onboard pipeline (real detectors on the simulator's RTP
# video, telemetry from the simulated autopilot) and the ground station.
#
#   sim --MAVLink UDP :14540--> onboard --MAVLink UDP :14550--> ground
#   sim --RTP/H.264 UDP :5600--> onboard
#   sim --MAVLink UDP :14550 (autopilot telemetry, like a telemetry radio)--> ground
#
# With a display, the ground station opens its window; without one it says
# so and prints a live summary (vehicle, tracks, alerts) instead.
# Options: --scenario NAME (urban | anpr | search | centre, default search; centre: five
#            cameras, two stations and an operations centre, scripts/demo-centre.sh)
#          --duration-s N (default: until Ctrl-C)
#          --onboard-set KEY=VALUE (repeatable): an onboard setting, e.g.
#            --onboard-set 'detect.runtime="onnxruntime"' (applied after the scenario's own)
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=search
DURATION_S=""
EXTRA_ONBOARD_SET=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO=$2; shift 2 ;;
    --duration-s) DURATION_S=$2; shift 2 ;;
    --onboard-set) EXTRA_ONBOARD_SET+=(--set "$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# The operations centre: five cameras, two stations and a centre (scripts/demo-centre.sh).
if [ "$SCENARIO" = centre ]; then
  exec scripts/demo-centre.sh ${DURATION_S:+--duration-s "$DURATION_S"}
fi
# The simulator's scenario files by the demo's short names (a full file name also works).
case "$SCENARIO" in
  urban) SCENARIO_FILE=assets/scenarios/urban-street.toml ;;
  anpr) SCENARIO_FILE=assets/scenarios/anpr-road.toml ;;
  search) SCENARIO_FILE=assets/scenarios/person-search.toml ;;
  *) SCENARIO_FILE="assets/scenarios/$SCENARIO.toml" ;;
esac
[ -f "$SCENARIO_FILE" ] || { echo "demo: no scenario $SCENARIO_FILE" >&2; exit 2; }

scripts/setup.sh
echo "demo: building (the first build takes several minutes)"
cargo build --locked --workspace --bins -q

BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
RUN_DIR="$(mktemp -d /tmp/utkik-demo.XXXXXX)"
echo "demo: logs and recordings in $RUN_DIR"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/utkik-sim" geojson --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.geojson"
# The offline map: an orthophoto of the simulated street as MBTiles (no internet needed).
"$BIN/utkik-sim" tiles --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.mbtiles"

# Simulator: autopilot telemetry to onboard (14540) and ground (14550), camera
# as RTP/H.264 to onboard (5600), ground truth for `utkik-sim evaluate`; without
# --duration-s it runs (a day) until Ctrl-C instead of the scenario's duration.
"$BIN/utkik-sim" run --scenario "$SCENARIO_FILE" --realtime \
  --telemetry-out 127.0.0.1:14540 --telemetry-out 127.0.0.1:14550 \
  --video-out udp://127.0.0.1:5600 --video-size 1280x720 --truth "$RUN_DIR/truth.jsonl" \
  --duration-s "${DURATION_S:-86400}" > "$RUN_DIR/sim.log" 2>&1 &
pids+=($!)

# Onboard: its default configuration is the demo's wiring (video udp :5600,
# autopilot udp :14540, ground 127.0.0.1:14550, masked re-stream to :5700);
# the scenario's camera (field of view) comes from `utkik-sim camera` as --set overrides.
CAMERA_OVERRIDES="$("$BIN/utkik-sim" camera --scenario "$SCENARIO_FILE")"
ONBOARD_SET=(); while IFS= read -r kv; do if [ -n "$kv" ]; then ONBOARD_SET+=(--set "$kv"); fi; done <<< "$CAMERA_OVERRIDES"
# The scenario's ANPR hit list (DEMO entries): a read of a listed car is a plate-hit alert. A
# signed document (utkik-hit-list/1), signed with the DEMO senior officer cecilia's public key and
# valid 24 h: the drone verifies it against the DEMO trust store that --demo gives it.
"$BIN/utkik-sim" hitlist --scenario "$SCENARIO_FILE" --out "$RUN_DIR/hitlist.json"
ONBOARD_SET+=(--set "detect.plate_hit_list=\"$RUN_DIR/hitlist.json\"")
# The signed link: --demo gives the drone the public DEMO link key and trust store (written 0600
# under its audit dir; there is no silent demo: without --demo and a gate.link_key it refuses
# to start). It takes authorization commands and alert acks only when signed with that key.
ONBOARD_SET+=(--set "gate.audit_dir=\"$RUN_DIR/onboard-audit\"")
# The drone's state (boot epoch, unacknowledged alerts) belongs to this demo run.
ONBOARD_SET+=(--set "link.boot_epoch_file=\"$RUN_DIR/utkik-state/boot-epoch\"")
# The search scenario: the onboard biometric gate holds the DEMO authorization, pending until a
# senior officer or operator activates it at the ground (panel, or `authz activate` at the console).
if [ "$SCENARIO" = search ]; then
  ONBOARD_SET+=(--set 'gate.authorization="assets/authz/person-search.authz.json"')
fi
# The ANPR mission profile: plates only (MTCNN is ~240 ms a frame here; without it the plate
# reader runs ~3-10 frames/s and follows cars across the zoomed view).
# Plates only: no face detector, so no masked video leaves the drone (LAW.md 8.1): say so up front.
if [ "$SCENARIO" = anpr ]; then ONBOARD_SET+=(--set detect.faces=false --set detect.plate_every_n_frames=1 --set privacy.restream=false); fi
ONBOARD_SET+=("${EXTRA_ONBOARD_SET[@]}")
"$BIN/utkik-onboard" --demo "${ONBOARD_SET[@]}" > "$RUN_DIR/onboard.log" 2>&1 &
pids+=($!)

# Ground station: listens on :14550 for both the autopilot and onboard, records
# every packet under $RUN_DIR. Without a display it prints a live summary.
# --demo: the public DEMO users (assets/users/README.md) and keys; the window title, the console
# banner and the audit log say DEMO.
GROUND_ARGS=(--demo --link udp:0.0.0.0:14550 --geojson "$RUN_DIR/basemap.geojson" --tiles "$RUN_DIR/basemap.mbtiles" --record-dir "$RUN_DIR")
# The same signed hit list as the drone's: each plate hit is kept as a sighting until its entry
# expires (console `history PLATE REASON...`, signed in; issue 19 item 4).
GROUND_ARGS+=(--hit-list "$RUN_DIR/hitlist.json")
if [ -n "${DURATION_S}" ]; then GROUND_ARGS+=(--duration-s "$DURATION_S"); fi
# The search scenario runs under the DEMO authorization (verified at start, activated from the panel).
if [ "$SCENARIO" = search ]; then GROUND_ARGS+=(--authorization assets/authz/person-search.authz.json); fi
# The drone's masked re-stream (faces and plates masked on the drone) in a window and recorded to
# $RUN_DIR/video-<UTC>.mkv; the plates-only profile sends no video (privacy.restream=false above).
if [ "$SCENARIO" != anpr ]; then GROUND_ARGS+=(--video udp:127.0.0.1:5700); fi
"$BIN/utkik-ground" "${GROUND_ARGS[@]}"

#!/usr/bin/env bash
# The operations-centre demo on one machine (issue 19; `scripts/demo.sh --scenario centre` runs
# it): the scenario assets/scenarios/centre-road.toml seen by five cameras at once, two ground
# stations and a centre, events over a Zenoh router.
#
#   fixed-west (road authority), drone-2, drone-1 --MAVLink--> station stn-north (:14550)
#   drone-3, fixed-east (road authority)        --MAVLink--> station stn-south (:14560)
#   each source: utkik-sim run --source NAME (video RTP :5600+i) -> utkik-onboard (plates, ONNX Runtime)
#   stn-north, stn-south --signed events (Zenoh, client)--> router tcp/127.0.0.1:7447 --> centre
#   centre: utkik-ground --link none --subscribe-events zenoh: every source on one map, the plate
#           hits of both stations in one hit history (`history PLATE REASON`, signed in, logged)
#
# Fixed cameras have no autopilot: their onboard takes its pose from [site] (utkik-sim camera
# --source prints it from the scenario) and reports source kind "fixed", legal basis
# "other_operator". The stations run headless (summaries in their logs); the centre opens a
# window when there is a display. At the end the script signs in at the centre's console as the
# DEMO senior officer and queries the movement history of the hit car ABC 123.
# Options: --duration-s N (default 120)  --screenshot FILE.png (the centre's window after N-10 s;
#          needs a display, e.g. under xvfb-run)  --station-screenshot FILE.png (station stn-north's
#          window instead of running it headless: its three sources in their colours)
#          --with-car (also the police car car-1, pose over NMEA, at stn-south: six pipelines)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION_S=120
SHOT=""
STATION_SHOT=""
WITH_CAR=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) DURATION_S=$2; shift 2 ;;
    --screenshot) SHOT=$2; shift 2 ;;
    --station-screenshot) STATION_SHOT=$2; shift 2 ;;
    --with-car) WITH_CAR=1; shift ;;
    --onboard-set) shift 2 ;; # accepted for demo.sh's sake; the centre demo sets its own
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "demo-centre: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
SCENARIO_FILE=assets/scenarios/centre-road.toml

scripts/setup.sh
echo "demo-centre: building (the first build takes several minutes)"
cargo build --locked --workspace --bins -q
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
RUN_DIR="$(mktemp -d /tmp/utkik-centre.XXXXXX)"
echo "demo-centre: logs and recordings in $RUN_DIR"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/utkik-sim" geojson --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.geojson"
"$BIN/utkik-sim" tiles --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.mbtiles"
# One DEMO hit list (signed with the DEMO senior officer's key) for every drone, station and the
# centre: a sighting is kept until its entry expires, so the centre needs the list too.
"$BIN/utkik-sim" hitlist --scenario "$SCENARIO_FILE" --out "$RUN_DIR/hitlist.json"

# Each station signs its events with its own key (made now, mode 0600); the centre trusts both.
for s in north south; do
  "$BIN/utkik-ground" station-key new --station-id "stn-$s" --region "$s" \
    --out "$RUN_DIR/stn-$s.station.key.json" > "$RUN_DIR/stn-$s.trusted.json" 2>/dev/null
done
python3 - "$RUN_DIR" <<'PY'
import json, sys
d = sys.argv[1]
stations = [json.load(open(f"{d}/stn-{s}.trusted.json"))["stations"][0] for s in ("north", "south")]
json.dump({"format": "utkik-trusted-stations/1", "stations": stations}, open(f"{d}/trusted-stations.json", "w"), indent=1)
PY

ROUTER=tcp/127.0.0.1:7447
BUS=(--zenoh-mode client --zenoh-connect "$ROUTER" --zenoh-no-multicast)
"$BIN/utkik-ground" router --zenoh-listen "$ROUTER" --zenoh-no-multicast > "$RUN_DIR/router.log" 2>&1 &
pids+=($!)
sleep 1

# Stations: headless, each listening for its sources' MAVLink, publishing signed events.
station() { # name port
  local mode=(--headless)
  if [ "$1" = north ] && [ -n "$STATION_SHOT" ]; then
    mode=(screenshot --out "$STATION_SHOT" --after-s "$((DURATION_S - 15))" --geojson "$RUN_DIR/basemap.geojson"
      --tiles "$RUN_DIR/basemap.mbtiles")
  fi
  "$BIN/utkik-ground" "${mode[@]}" --demo --link "udp:0.0.0.0:$2" --record-dir "$RUN_DIR/stn-$1" \
    --hit-list "$RUN_DIR/hitlist.json" --duration-s "$((DURATION_S + 15))" \
    --publish-events zenoh --station-key "$RUN_DIR/stn-$1.station.key.json" --station-id "stn-$1" \
    --region "$1" "${BUS[@]}" < /dev/null > "$RUN_DIR/stn-$1.log" 2>&1 &
  pids+=($!)
  if [ "$1" = north ]; then NORTH_PID=$!; fi
}
station north 14550
station south 14560

# The centre: no drone of its own; its console on a FIFO for the history query at the end.
mkfifo "$RUN_DIR/centre.fifo"
CENTRE=(--demo --link none --record-dir "$RUN_DIR/centre" --hit-list "$RUN_DIR/hitlist.json"
  --geojson "$RUN_DIR/basemap.geojson" --tiles "$RUN_DIR/basemap.mbtiles"
  --subscribe-events zenoh --trusted-stations "$RUN_DIR/trusted-stations.json" "${BUS[@]}")
if [ -n "$SHOT" ]; then
  # The window's clock starts after the app is up (software rendering takes a while), so the
  # picture is taken a little after the history query below.
  "$BIN/utkik-ground" screenshot --out "$SHOT" --after-s "$((DURATION_S - 5))" --console "${CENTRE[@]}" \
    < "$RUN_DIR/centre.fifo" > "$RUN_DIR/centre.log" 2>&1 &
elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$BIN/utkik-ground" --console --duration-s "$((DURATION_S + 20))" "${CENTRE[@]}" \
    < "$RUN_DIR/centre.fifo" > "$RUN_DIR/centre.log" 2>&1 &
else
  "$BIN/utkik-ground" --headless --duration-s "$((DURATION_S + 20))" "${CENTRE[@]}" \
    < "$RUN_DIR/centre.fifo" > "$RUN_DIR/centre.log" 2>&1 &
fi
CENTRE_PID=$!
pids+=($CENTRE_PID)
exec 3> "$RUN_DIR/centre.fifo"
say() { echo "$1" >&3; }

# The sources: name, station port. Index i gives each its ports (video 5600+i, autopilot
# 14540+i for the drone's onboard, the simulator's command port 14600+i, the onboard's 14650+i).
SOURCES=("fixed-west 14550" "drone-2 14550" "drone-1 14550" "drone-3 14560" "fixed-east 14560")
if [ "$WITH_CAR" = 1 ]; then SOURCES+=("car-1 14560"); fi
i=0
for entry in "${SOURCES[@]}"; do
  read -r name port <<< "$entry"
  kind=fixed; case "$name" in drone-*) kind=drone ;; car-*) kind=vehicle ;; esac
  # A car's GNSS receiver: NMEA over TCP from the simulator (port 10120+i).
  nmea=(); if [ "$kind" = vehicle ]; then nmea=(--nmea-listen "127.0.0.1:$((10120 + i))"); fi
  set_args=(); while IFS= read -r kv; do [ -n "$kv" ] && set_args+=(--set "$kv"); done \
    < <("$BIN/utkik-sim" camera --scenario "$SCENARIO_FILE" --source "$name" "${nmea[@]}")
  sim=("$BIN/utkik-sim" run --scenario "$SCENARIO_FILE" --source "$name" --realtime
    --video-out "udp://127.0.0.1:$((5600 + i))"
    --truth "$RUN_DIR/truth-$name.jsonl" --duration-s "$((DURATION_S + 10))" "${nmea[@]}")
  # A drone's autopilot reports to its onboard and, like a telemetry radio, to its station; a
  # traffic camera has no autopilot; a car has a GNSS receiver (its onboard reads the NMEA).
  telemetry=()
  if [ "$kind" = drone ]; then
    sim+=(--telemetry-listen "127.0.0.1:$((14600 + i))" --telemetry-out "127.0.0.1:$((14540 + i))" --telemetry-out "127.0.0.1:$port")
  elif [ "$kind" = fixed ]; then
    sim+=(--telemetry-listen "127.0.0.1:$((14600 + i))")
  fi
  if [ "$kind" != vehicle ]; then telemetry=(--set "telemetry.endpoint=\"udp://127.0.0.1:$((14540 + i))\""); fi
  "${sim[@]}" > "$RUN_DIR/sim-$name.log" 2>&1 &
  pids+=($!)
  "$BIN/utkik-onboard" --demo "${set_args[@]}" \
    --set "video.source=\"udp://0.0.0.0:$((5600 + i))\"" "${telemetry[@]}" \
    --set "link.bind=\"0.0.0.0:$((14650 + i))\"" --set "link.ground=\"127.0.0.1:$port\"" \
    --set detect.faces=false --set detect.plate_every_n_frames=1 --set detect.threads=1 \
    --set privacy.restream=false --set 'detect.runtime="onnxruntime"' \
    --set "detect.plate_hit_list=\"$RUN_DIR/hitlist.json\"" \
    --set "gate.audit_dir=\"$RUN_DIR/onboard-$name/audit\"" \
    --set "link.boot_epoch_file=\"$RUN_DIR/onboard-$name/boot-epoch\"" \
    > "$RUN_DIR/onboard-$name.log" 2>&1 &
  pids+=($!)
  i=$((i + 1))
done

echo "demo-centre: running ${DURATION_S} s: ${#SOURCES[@]} sources, stations stn-north and stn-south, a centre (logs in $RUN_DIR)"
sleep "$((DURATION_S - 10))"
# The movement history of the hit car at the centre: signed in, with a reason, logged.
say "login cecilia"; say "demo-cecilia"
say "history ABC123 demo: movements of a hit car across both stations"
sleep 6
say "logout"
sleep 2
# With --screenshot the centre ends itself once the picture is saved.
if [ -z "$SHOT" ]; then say "quit"; fi
exec 3>&-
wait "$CENTRE_PID" || true
# With --station-screenshot stn-north ends itself once its picture is saved.
if [ -n "$STATION_SHOT" ]; then wait "$NORTH_PID" || true; fi
echo "demo-centre: centre console and summary (centre.log):"
grep -E "hit history of|^  20|centre:|stn-" "$RUN_DIR/centre.log" | tail -40 || true
for s in north south; do
  echo "demo-centre: stn-$s: $(grep -c . "$RUN_DIR/stn-$s.log") log lines; last summary:"
  grep -E "^(vehicles|[0-9]+ vehicles)|tracks" "$RUN_DIR/stn-$s.log" | tail -2 || true
done

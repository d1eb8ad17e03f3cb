#!/usr/bin/env bash
# The "search for a designated person" mission, end to end and scripted: what an operator crew
# does at the ground station, typed into the headless station's console by this script.
#
#   1. simulator (person-search scenario) -> onboard (real detectors, the biometric gate loaded
#      with the DEMO authorization) -> headless ground station (records the tlog, audit log);
#   2. cecilia (senior officer) signs in and activates the authorization (signed command);
#   3. when a possible match reaches the ground, anna and bertil each sign in and confirm it;
#   4. after the run: both audit logs are verified, the tlog is scored against the simulator's
#      ground truth (`utkik-sim evaluate`) and the mission report is written.
#
# Everything ends up in the run folder (printed at the start; --out DIR to choose it).
# Options: --duration-s N (default 300)  --out DIR  --release (use release binaries)
#          --window: the ground station with its window (under Xvfb when there is no display),
#          saving ground-match.png (one confirmation) and ground-confirmed.png (two)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION_S=300
OUT=""
PROFILE=debug
WINDOW=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) DURATION_S=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --release) PROFILE=release; shift ;;
    --window) WINDOW=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "search-run: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

SCENARIO_FILE=assets/scenarios/person-search.toml
AUTHZ=assets/authz/person-search.authz.json
scripts/setup.sh
echo "search-run: building ($PROFILE)"
if [ "$PROFILE" = release ]; then cargo build --locked --workspace --release --bins -q; else cargo build --locked --workspace --bins -q; fi
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/$PROFILE"

RUN_DIR="${OUT:-$(mktemp -d /tmp/utkik-search.XXXXXX)}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
echo "search-run: everything goes to $RUN_DIR"

pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/utkik-sim" geojson --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.geojson"
# The offline map: an orthophoto of the simulated street as MBTiles (no internet needed).
"$BIN/utkik-sim" tiles --scenario "$SCENARIO_FILE" --out "$RUN_DIR/basemap.mbtiles"

# Ground station first (it must be listening before the drone talks), its console on a FIFO.
mkfifo "$RUN_DIR/console.fifo"
GROUND=("$BIN/utkik-ground" --headless)
if [ -n "$WINDOW" ]; then
  GROUND=("$BIN/utkik-ground" --console)
  if [ -z "${DISPLAY:-}" ]; then
    GROUND=(env WGPU_BACKEND=vulkan xvfb-run -a -s "-screen 0 1600x900x24" "${GROUND[@]}")
  fi
fi
# --demo: the public DEMO users and keys (written 0600 under $RUN_DIR/DEMO-keys); everything says DEMO.
"${GROUND[@]}" --demo --link udp:0.0.0.0:14550 --geojson "$RUN_DIR/basemap.geojson" --tiles "$RUN_DIR/basemap.mbtiles" \
  --record-dir "$RUN_DIR" --authorization "$AUTHZ" --duration-s "$((DURATION_S + 30))" \
  < "$RUN_DIR/console.fifo" > "$RUN_DIR/ground.log" 2>&1 &
pids+=($!)
exec 3> "$RUN_DIR/console.fifo"
say() { echo "$1" >&3; }

"$BIN/utkik-sim" run --scenario "$SCENARIO_FILE" --realtime \
  --telemetry-out 127.0.0.1:14540 --telemetry-out 127.0.0.1:14550 \
  --video-out udp://127.0.0.1:5600 --video-size 1280x720 --truth "$RUN_DIR/truth.jsonl" \
  --duration-s "$DURATION_S" > "$RUN_DIR/sim.log" 2>&1 &
pids+=($!)

# --demo: the DEMO link key and trust store (written 0600 under the onboard audit dir).
ONBOARD_SET=(--set "gate.authorization=\"$AUTHZ\"")
while IFS= read -r kv; do if [ -n "$kv" ]; then ONBOARD_SET+=(--set "$kv"); fi; done \
  <<< "$("$BIN/utkik-sim" camera --scenario "$SCENARIO_FILE")"
# The drone signs its audit log's checkpoints (DEMO key, a 0600 copy: a secret file must be), so
# the log can be verified with the public key alone (docs/LAW.md 5.4).
install -m 600 assets/audit/DEMO-onboard-audit.key.NOT-SECRET.json "$RUN_DIR/DEMO-onboard-audit.key.json"
ONBOARD_SET+=(--set "gate.audit_key=\"$RUN_DIR/DEMO-onboard-audit.key.json\"")
"$BIN/utkik-onboard" --demo "${ONBOARD_SET[@]}" --audit-dir "$RUN_DIR/onboard-audit" > "$RUN_DIR/onboard.log" 2>&1 &
pids+=($!)

# Wait until the ground sees the vehicle, then activate (a senior officer; an operator may too).
for _ in $(seq 30); do say status; sleep 2; grep -q "^vehicle 1 onboard authorization" "$RUN_DIR/ground.log" && break; done
say "login cecilia"; say "demo-cecilia"; say "authz activate"; say "status"; say "logout"
echo "search-run: authorization activated; waiting for a possible match (up to ${DURATION_S}s)"

MATCH=""
end=$((SECONDS + DURATION_S))
while [ $SECONDS -lt $end ]; do
  say alerts
  sleep 3
  MATCH="$(grep -oE '^[0-9]+/[0-9]+ Possible match' "$RUN_DIR/ground.log" | head -1 || true)"
  [ -n "$MATCH" ] && break
done
if [ -z "$MATCH" ]; then
  echo "search-run: no possible match reached the ground in ${DURATION_S}s (see $RUN_DIR/onboard.log)" >&2
  RESULT=1
else
  SYS="$(sed -E 's/^([0-9]+)\/([0-9]+).*/\1/' <<< "$MATCH")"
  ID="$(sed -E 's/^([0-9]+)\/([0-9]+).*/\2/' <<< "$MATCH")"
  echo "search-run: $MATCH (vehicle $SYS alert $ID); two operators review it"
  sleep 3 # let the evidence crop arrive
  say "login anna"; say "demo-anna"; say "alerts"; say "evidence $SYS $ID"; say "confirm $SYS $ID"
  # Close enough to see the street on the orthophoto tiles (0.35 m per screen pixel).
  if [ -n "$WINDOW" ]; then say "map 0.35"; sleep 1; say "screenshot $RUN_DIR/ground-match.png"; sleep 4; fi
  say "login bertil"; say "demo-bertil"; say "evidence $SYS $ID"; say "confirm $SYS $ID"; say "export $SYS $ID"; say "logout"
  if [ -n "$WINDOW" ]; then sleep 2; say "screenshot $RUN_DIR/ground-confirmed.png"; sleep 4; fi
  for _ in $(seq 20); do grep -q "CONFIRMED by anna and bertil" "$RUN_DIR/ground.log" && break; sleep 1; done
  if grep -q "CONFIRMED by anna and bertil" "$RUN_DIR/ground.log"; then RESULT=0; else RESULT=1; fi
  sleep 5
fi
say "login cecilia"; say "demo-cecilia"; say "authz stop"; say "logout"
sleep 3
# End the ground station from its console so its recording is closed cleanly, then the rest.
say quit
for _ in $(seq 20); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.5; done
cleanup
pids=()

echo "search-run: console transcript (ground.log, console lines):"
grep -E '^(> |signed|password|refused|saving|[0-9]+/[0-9]+|.*sent to vehicle)' "$RUN_DIR/ground.log" \
  | grep -vE '^> (alerts|status)$' | uniq || true

TLOG="$(ls -1 "$RUN_DIR"/*.tlog | head -1)"
echo "search-run: scoring $TLOG against the ground truth"
# The default IoU 0.5: the simulator's face truth box is the face brow to chin, like MTCNN's.
"$BIN/utkik-sim" evaluate --truth "$RUN_DIR/truth.jsonl" --detections "$TLOG" \
  --out "$RUN_DIR/evaluation.json" --plots "$RUN_DIR/plots" || RESULT=1
# The report is a disclosure: written for a signed-in senior officer (evidence included) and
# logged in the ground's audit log with the hashes of the images it embeds.
echo demo-cecilia | "$BIN/utkik-ground" report "$TLOG" -o "$RUN_DIR/report.html" \
  --audit "$RUN_DIR/audit/ground-audit.jsonl" --geojson "$RUN_DIR/basemap.geojson" --tiles "$RUN_DIR/basemap.mbtiles" \
  --users "$RUN_DIR/DEMO-keys/DEMO-users.json" --audit-dir "$RUN_DIR/audit" \
  --audit-key "$RUN_DIR/DEMO-keys/DEMO-ground-audit.key.NOT-SECRET.json" --user cecilia || RESULT=1

# As a third party would: public keys only (no secret), then both logs read together.
echo "search-run: verifying the audit logs with the public keys"
"$BIN/utkik-ground" verify-audit "$RUN_DIR/audit/ground-audit.jsonl" \
  --public-key assets/audit/DEMO-ground-audit.pub.json || RESULT=1
"$BIN/utkik-ground" verify-audit "$RUN_DIR/onboard-audit/onboard-audit.log" \
  --public-key assets/audit/DEMO-onboard-audit.pub.json || RESULT=1
"$BIN/utkik-ground" reconcile --onboard "$RUN_DIR/onboard-audit/onboard-audit.log" \
  --ground "$RUN_DIR/audit/ground-audit.jsonl" \
  --public-key assets/audit/DEMO-onboard-audit.pub.json --public-key assets/audit/DEMO-ground-audit.pub.json || RESULT=1
echo "search-run: results in $RUN_DIR (report.html, evaluation.json, plots/, audit/, onboard-audit/)"
exit "$RESULT"

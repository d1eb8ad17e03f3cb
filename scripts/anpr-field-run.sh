#!/usr/bin/env bash
# The ANPR mission over a field link (issue 14 item 5), scripted and checked:
#   simulator (anpr-road scenario, its DEMO hit list) -> onboard (plates only) -> impairment proxy
#   (`utkik-sim impair`: LOSS of the datagrams lost each way, seeded, and two 5 s cuts) ->
#   headless ground station. The onboard is killed with kill -9 right after it queued its first
#   plate-hit alert and started again (it resends what the ground had not acknowledged from its
#   outbox); the ground station is killed once it stored an alert and started again (it takes its
#   alerts back from its audit log).
# At the end every plate-hit alert the drone queued (its log: alert id and image size, never the
# plate) must be stored at the ground (its audit log: AlertStored) with its plate image, CRC-checked
# on arrival: 0 alerts and 0 plate images lost. Exit 0 when so.
#
# Options: --duration-s N (default 240)  --loss P (default 0.3)  --out DIR
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION_S=240
LOSS=0.3
OUT=""
ONBOARD_KILL_S=150
GROUND_KILL_S=200
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) DURATION_S=$2; shift 2 ;;
    --loss) LOSS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "anpr-field-run: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

SCENARIO_FILE=assets/scenarios/anpr-road.toml
scripts/setup.sh
echo "anpr-field-run: building (debug)"
cargo build --locked --workspace --bins -q
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
RUN_DIR="${OUT:-$(mktemp -d /tmp/utkik-anpr-field.XXXXXX)}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
echo "anpr-field-run: everything goes to $RUN_DIR"

pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mkfifo "$RUN_DIR/console.fifo"
start_ground() {
  "$BIN/utkik-ground" --headless --demo --link udp:0.0.0.0:14550 --record-dir "$RUN_DIR" \
    --duration-s "$((DURATION_S + 60))" < "$RUN_DIR/console.fifo" >> "$RUN_DIR/ground.log" 2>&1 &
  GROUND_PID=$!
  pids+=("$GROUND_PID")
}
start_ground
exec 3> "$RUN_DIR/console.fifo"
sleep 1
kill -0 "$GROUND_PID" 2>/dev/null || { echo "anpr-field-run: the ground station did not start:" >&2; tail -3 "$RUN_DIR/ground.log" >&2; exit 1; }

"$BIN/utkik-sim" run --scenario "$SCENARIO_FILE" --realtime \
  --telemetry-out 127.0.0.1:14540 --telemetry-out 127.0.0.1:14550 \
  --video-out udp://127.0.0.1:5600 --video-size 1280x720 --truth "$RUN_DIR/truth.jsonl" \
  --duration-s "$DURATION_S" > "$RUN_DIR/sim.log" 2>&1 &
pids+=($!)

"$BIN/utkik-sim" impair --listen 127.0.0.1:14560 --forward 127.0.0.1:14550 --seed 11 --loss "$LOSS" \
  --cut 60s+5s --cut 120s+5s > "$RUN_DIR/impair.log" 2>&1 &
pids+=($!)

ONBOARD_SET=()
while IFS= read -r kv; do if [ -n "$kv" ]; then ONBOARD_SET+=(--set "$kv"); fi; done \
  <<< "$("$BIN/utkik-sim" camera --scenario "$SCENARIO_FILE")"
# Every car of the scenario on the list (a field test wants many alerts, not two): a DEMO list
# signed with the DEMO senior officer's public key (the drone verifies it against the DEMO trust
# store of --demo; an unsigned or edited list stops it at start-up).
"$BIN/utkik-sim" hitlist --scenario "$SCENARIO_FILE" --every-vehicle --out "$RUN_DIR/hitlist.json"
python3 - "$SCENARIO_FILE" "$RUN_DIR/hitlist.json" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[2]))["document"]
norm = lambda p: re.sub(r"[^A-Z0-9]", "", p.upper())
listed = {norm(e["plate"]) for e in doc["entries"]}
plates = {norm(p) for p in re.findall(r'^plate = "([^"]+)"', open(sys.argv[1]).read(), re.M)}
missing = sorted(plates - listed)
if missing:
    sys.exit(f"anpr-field-run: hit list {doc['list_id']} lacks {missing}")
print(f"anpr-field-run: hit list {doc['list_id']} signed by {doc['signer']}, {len(listed)} entries, "
      f"valid until {doc['valid_until']}")
PY
# Plates only: no face detector, so no masked video leaves the drone (LAW.md 8.1).
ONBOARD_SET+=(--set "detect.plate_hit_list=\"$RUN_DIR/hitlist.json\"" --set detect.faces=false
  --set privacy.restream=false
  --set detect.plate_every_n_frames=1 --set 'link.ground="127.0.0.1:14560"')
ONBOARD_SET+=(--set "link.boot_epoch_file=\"$RUN_DIR/utkik-state/boot-epoch\"")
start_onboard() {
  "$BIN/utkik-onboard" --demo "${ONBOARD_SET[@]}" --audit-dir "$RUN_DIR/onboard-audit" >> "$RUN_DIR/onboard.log" 2>&1 &
  ONBOARD_PID=$!
  pids+=("$ONBOARD_PID")
}
start_onboard
echo "anpr-field-run: link loss $LOSS each way, cuts at 60 s and 120 s"

t0=$SECONDS
wait_until() { local left=$(( $1 - (SECONDS - t0) )); if [ "$left" -gt 0 ]; then sleep "$left"; fi; }
queued() { local n; n=$(grep -c 'plate hit alert queued' "$RUN_DIR/onboard.log" 2>/dev/null); echo "${n:-0}"; }
# The onboard dies right after it queued its first plate-hit alert (before the ground's ack can
# be back, so the alert is only in its outbox), or at ONBOARD_KILL_S if none came by then.
while [ "$(queued)" -lt 1 ] && [ $((SECONDS - t0)) -lt "$ONBOARD_KILL_S" ]; do sleep 0.2; done
echo "anpr-field-run: kill -9 of the onboard (pid $ONBOARD_PID) at $((SECONDS - t0)) s, $(queued) alert(s) queued"
kill -9 "$ONBOARD_PID"; wait "$ONBOARD_PID" 2>/dev/null || true
sleep 2
start_onboard
# The ground station dies once it has stored an alert (or at GROUND_KILL_S).
stored() { local n; n=$(grep -c '"kind":"alert_stored"' "$RUN_DIR/audit/ground-audit.jsonl" 2>/dev/null); echo "${n:-0}"; }
while [ "$(stored)" -lt 1 ] && [ $((SECONDS - t0)) -lt "$GROUND_KILL_S" ]; do sleep 0.5; done
sleep 2
echo "anpr-field-run: kill -9 of the ground station (pid $GROUND_PID) at $((SECONDS - t0)) s, $(stored) alert(s) stored"
kill -9 "$GROUND_PID"; wait "$GROUND_PID" 2>/dev/null || true
sleep 2
start_ground
sleep 4
grep -E '^utkik-ground: restored' "$RUN_DIR/ground.log" || echo "anpr-field-run: (nothing to restore)"
# The rest of the mission, then time for the last alerts' resends.
wait_until "$DURATION_S"
echo "anpr-field-run: scenario over; 30 s more for the last resends"
sleep 30
echo quit >&3
for _ in $(seq 20); do kill -0 "$GROUND_PID" 2>/dev/null || break; sleep 0.5; done
cleanup
pids=()
tail -4 "$RUN_DIR/impair.log" | grep -E 'impair: (drone|ground)' || true

python3 - "$RUN_DIR/onboard.log" "$RUN_DIR/audit/ground-audit.jsonl" <<'PY'
import json, re, sys
queued = {}
for line in open(sys.argv[1], errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    m = re.search(r"plate hit alert queued for the ground alert_id=(\d+) image_bytes=(\d+)", line)
    if m:
        queued[int(m.group(1))] = int(m.group(2))
stored = {}
for line in open(sys.argv[2]):
    e = json.loads(line)["body"]["event"]
    if e.get("kind") != "alert_stored":
        continue
    frame = bytes.fromhex(e["frame_hex"])
    if int.from_bytes(frame[7:10], "little") == 59901:  # UTKIK_PLATE_READ
        stored[e["alert_id"]] = (e.get("image") or {}).get("len_bytes", 0)
lost = sorted(set(queued) - set(stored))
no_image = sorted(a for a in queued if a in stored and queued[a] > 0 and stored[a] != queued[a])
print(f"anpr-field-run: {len(queued)} plate-hit alerts queued onboard, {len(stored)} stored at the ground; "
      f"lost {len(lost)}, plate image missing or wrong size {len(no_image)}")
if lost or no_image:
    print(f"  lost: {lost}  image: {no_image}")
sys.exit(1 if lost or no_image or not queued else 0)
PY

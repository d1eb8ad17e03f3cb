#!/usr/bin/env bash
# The person-search mission (scripts/search-run.sh) over a field link, as issue 14 item 5 asks:
# the drone-ground link through `utkik-sim impair` with 30 % of the datagrams lost each way
# (seeded) and two 5 s cuts, STOP given during the second cut (the drone must carry it out within
# 2 s of the link coming back), the onboard killed with kill -9 during the active use and the
# ground station killed with kill -9 between the two confirmations; both are started again and the
# mission must still end with the match confirmed by two users, its evidence stored, both audit
# logs verified and reconciled (no match one side has and the other lacks).
# Extra options go to search-run.sh (e.g. --out DIR, --release).
set -euo pipefail
exec "$(dirname "$0")/search-run.sh" --duration-s 240 --loss 0.3 --cut 45s+5s --cut 170s+5s --stop-in-cut 2 \
  --kill-onboard --kill-ground "$@"

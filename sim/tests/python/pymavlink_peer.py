#!/usr/bin/env python3
"""A standard MAVLink peer (pymavlink) talking to utkik-sim over UDP.

Usage: pymavlink_peer.py LISTEN_PORT
Listens like a ground station (udpin), waits for a HEARTBEAT, a
GLOBAL_POSITION_INT and a SYSTEM_TIME, sends a COMMAND_LONG with a command
id no dialect has and one gimbal command, and prints one JSON object with
what it decoded. Exit 1 on timeout.
"""
import json
import os
import sys

os.environ["MAVLINK20"] = "1"
from pymavlink import mavutil  # noqa: E402


def main():
    port = int(sys.argv[1])
    m = mavutil.mavlink_connection(f"udpin:127.0.0.1:{port}", source_system=255, source_component=190)
    out = {}
    hb = m.recv_match(type="HEARTBEAT", blocking=True, timeout=20)
    if hb is None:
        print(json.dumps({"error": "no heartbeat"}))
        return 1
    out["heartbeat"] = {"type": hb.type, "autopilot": hb.autopilot, "sysid": hb.get_srcSystem()}
    gp = m.recv_match(type="GLOBAL_POSITION_INT", blocking=True, timeout=10)
    if gp is None:
        print(json.dumps({"error": "no GLOBAL_POSITION_INT"}))
        return 1
    out["global_position_int"] = {"time_boot_ms": gp.time_boot_ms, "lat": gp.lat, "lon": gp.lon, "alt": gp.alt,
                                  "relative_alt": gp.relative_alt, "hdg": gp.hdg}
    st = m.recv_match(type="SYSTEM_TIME", blocking=True, timeout=10)
    out["system_time"] = None if st is None else {"time_unix_usec": st.time_unix_usec, "time_boot_ms": st.time_boot_ms}
    acks = {}
    for command in (31999, mavutil.mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW):
        m.mav.command_long_send(1, 1, command, 0, -60.0, 15.0, 0, 0, 0, 0, 0)
        while True:
            ack = m.recv_match(type="COMMAND_ACK", blocking=True, timeout=10)
            if ack is None:
                print(json.dumps({"error": f"no COMMAND_ACK for {command}"}))
                return 1
            if ack.command == command:
                acks[str(command)] = ack.result
                break
    out["acks"] = acks
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

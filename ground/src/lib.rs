//! Ground station (Bevy): map, vehicle, tracks, alerts, authorization, recording, replay.

//! The operations-centre side of issue 19: station events published on a Zenoh bus and a
//! centre (`utkik-ground` in centre mode) that subscribes to many stations, verifying each
//! event's signature against the stations it trusts.

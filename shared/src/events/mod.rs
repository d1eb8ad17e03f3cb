//! Events a ground station shares with other stations and operations centres (issue 19):
//! tracks, plate hits, alerts, verdicts and authorization states, each signed by the station
//! that produced it. Pure logic (encoding, signing, verification); the transport (Zenoh) lives
//! in `utkik_ground::centre`.

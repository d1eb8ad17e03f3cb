//! A synthetic mission as real MAVLink 2 frames (vehicle circling, cars and people tracked, a
//! plate hit, a possible match with an evidence transfer, pipeline and authorization status) and
//! a matching GeoJSON street map. Used by the tests, the benchmark and the screenshot smoke test
//! when no simulator recording is at hand; every byte goes through the real decoder.

use mavlink_core::MavHeader;
use utkik_shared::dialect::*;

use crate::link::encode_v2;

/// Centre of the synthetic mission (lat, lon).
pub const CENTRE: (f64, f64) = (59.9127, 10.7461);

const M_PER_DEG_LAT: f64 = 111_195.0;

fn m_per_deg_lon() -> f64 {
    M_PER_DEG_LAT * CENTRE.0.to_radians().cos()
}

fn e7(lat: f64, lon: f64) -> (i32, i32) {
    ((lat * 1e7).round() as i32, (lon * 1e7).round() as i32)
}

fn offset(east_m: f64, north_m: f64) -> (f64, f64) {
    (CENTRE.0 + north_m / M_PER_DEG_LAT, CENTRE.1 + east_m / m_per_deg_lon())
}

/// Frames with their reception time (µs since the start), in time order.
pub struct SynthMission {
    /// (time µs, frame bytes).
    pub frames: Vec<(u64, Vec<u8>)>,
}

struct Seq(u8);
impl Seq {
    fn next(&mut self) -> u8 {
        let s = self.0;
        self.0 = self.0.wrapping_add(1);
        s
    }
}

/// Generates `duration_s` seconds of a mission at 10 Hz telemetry; `cars` tracked cars.
pub fn mission(duration_s: u32, cars: u32) -> SynthMission {
    let mut frames = Vec::new();
    let (mut ap, mut ob) = (Seq(0), Seq(0));
    let hdr = |comp: u8, seq: u8| MavHeader {
        system_id: 1,
        component_id: comp,
        sequence: seq,
    };
    let (hlat, hlon) = e7(CENTRE.0, CENTRE.1);
    let t0_unix_us: u64 = 1_790_000_000_000_000;
    for step in 0..duration_s * 10 {
        let t_s = step as f64 / 10.0;
        let t_us = (t_s * 1e6) as u64;
        let mut push = |comp: u8, seq: u8, m: MavMessage| frames.push((t_us, encode_v2(hdr(comp, seq), &m)));
        // Vehicle: circle of 150 m radius, 8 m/s.
        let w = 8.0 / 150.0;
        let a = w * t_s;
        let (e, n) = (150.0 * a.cos(), 150.0 * a.sin());
        let (lat, lon) = offset(e, n);
        let (late7, lone7) = e7(lat, lon);
        // Velocity direction: derivative of the circle (counter-clockwise).
        let (ve, vn) = (-8.0 * a.sin(), 8.0 * a.cos());
        let hdg = ve.atan2(vn).to_degrees().rem_euclid(360.0);
        push(
            1,
            ap.next(),
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                time_boot_ms: (t_s * 1000.0) as u32,
                lat: late7,
                lon: lone7,
                alt: 80_000,
                relative_alt: 60_000,
                vx: (vn * 100.0) as i16,
                vy: (ve * 100.0) as i16,
                vz: 0,
                hdg: (hdg * 100.0) as u16,
            }),
        );
        push(
            1,
            ap.next(),
            MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: (t_s * 1000.0) as u32,
                yaw: hdg.to_radians() as f32,
                ..Default::default()
            }),
        );
        // Gimbal pitched 55° down, yaw in the vehicle frame.
        let pitch = (-55.0f64).to_radians();
        push(
            1,
            ap.next(),
            MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
                q: [(pitch / 2.0).cos() as f32, 0.0, (pitch / 2.0).sin() as f32, 0.0],
                flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
                ..Default::default()
            }),
        );
        if step % 10 == 0 {
            push(
                1,
                ap.next(),
                MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                    mavtype: MavType::MAV_TYPE_QUADROTOR,
                    autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
                    base_mode: MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
                    ..Default::default()
                }),
            );
            push(
                1,
                ap.next(),
                MavMessage::SYS_STATUS(SYS_STATUS_DATA {
                    voltage_battery: 15_800 - (t_s * 2.0) as u16,
                    battery_remaining: (95.0 - t_s / 20.0) as i8,
                    ..Default::default()
                }),
            );
            push(
                1,
                ap.next(),
                MavMessage::HOME_POSITION(HOME_POSITION_DATA {
                    latitude: hlat,
                    longitude: hlon,
                    altitude: 20_000,
                    ..Default::default()
                }),
            );
            push(
                191,
                ob.next(),
                MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                    time_usec: t0_unix_us + t_us,
                    frames_in: step * 3,
                    frames_processed: step * 3 - step / 4,
                    frames_dropped: step / 4,
                    fps: 2_400,
                    latency_p50: 110,
                    latency_p95: 180,
                    cpu_load: 63,
                    tracks_active: cars as u16 + 3,
                    link_budget_used: 41,
                    ..Default::default()
                }),
            );
            push(
                191,
                ob.next(),
                MavMessage::UTKIK_AUTHZ_STATUS(UTKIK_AUTHZ_STATUS_DATA {
                    time_usec: t0_unix_us + t_us,
                    state: UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE,
                    inside_area: 1,
                    remaining: 7_200 - t_s as u32,
                    ..Default::default()
                }),
            );
        }
        // Cars drive east along the main road (y = 0) and north along the cross street (x = 60).
        if step % 2 == 0 {
            for c in 0..cars {
                let speed = 6.0 + (c % 5) as f64;
                let along = ((c as f64 * 37.0 + speed * t_s) % 500.0) - 250.0;
                let (e, n) = if c % 2 == 0 {
                    (along, -4.0 + (c % 4) as f64 * 2.5)
                } else {
                    (60.0 + (c % 3) as f64 * 2.5, along)
                };
                let (lat, lon) = offset(e, n);
                let (la, lo) = e7(lat, lon);
                let class = if c % 3 == 0 {
                    UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE
                } else {
                    UtkikObjectClass::UTKIK_OBJECT_CLASS_VEHICLE
                };
                let (vn, ve) = if c % 2 == 0 { (0.0, speed) } else { (speed, 0.0) };
                push(
                    191,
                    ob.next(),
                    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
                        time_usec: t0_unix_us + t_us,
                        track_id: 100 + c,
                        object_class: class,
                        flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
                        confidence: 80,
                        lat: la,
                        lon: lo,
                        alt: 20_000,
                        h_acc: 250,
                        vn: (vn * 100.0) as i16,
                        ve: (ve * 100.0) as i16,
                        hits: (step / 2) as u16,
                        ..Default::default()
                    }),
                );
            }
            for p in 0..3u32 {
                let (lat, lon) = offset(-40.0 + p as f64 * 30.0 + t_s * 0.8, 20.0 + p as f64 * 4.0);
                let (la, lo) = e7(lat, lon);
                push(
                    191,
                    ob.next(),
                    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
                        time_usec: t0_unix_us + t_us,
                        track_id: 10 + p,
                        object_class: if p == 0 {
                            UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE
                        } else {
                            UtkikObjectClass::UTKIK_OBJECT_CLASS_PERSON
                        },
                        flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
                        confidence: 70,
                        lat: la,
                        lon: lo,
                        alt: 20_000,
                        h_acc: 300,
                        ..Default::default()
                    }),
                );
            }
        }
        // Plate reads: every plate car is read once; car 100 is on the hit list (sent twice: the
        // drone resends until acknowledged); the others are not hits and come without their text,
        // as the onboard sends them by default (LAW.md section 7).
        if step == 20 || step == 25 {
            for c in (0..cars).step_by(3) {
                let text = format!("AB{:05}", 12_000 + c);
                let hit = c == 0;
                if step == 25 && !hit {
                    continue;
                }
                push(
                    191,
                    ob.next(),
                    MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                        time_usec: t0_unix_us + t_us,
                        track_id: 100 + c,
                        alert_id: if hit { 1 } else { 0 },
                        hit_entry_id: if hit { 42 } else { 0 },
                        plate: if hit { text.as_str().into() } else { "".into() },
                        confidence: 91,
                        status: if hit {
                            UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT
                        } else {
                            UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT
                        },
                        reads: 5,
                        image_transfer_id: 0,
                        image_size: 0,
                        image_crc32: 0,
                        image_sealed: 0,
                    }),
                );
            }
        }
        // A possible match on the face track with a 600-byte evidence crop.
        if step == 30 {
            let evidence: Vec<u8> = (0..600u32).map(|i| (i * 7 % 256) as u8).collect();
            let (lat, lon) = offset(-40.0 + t_s * 0.8, 20.0);
            let (la, lo) = e7(lat, lon);
            push(
                191,
                ob.next(),
                MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
                    time_usec: t0_unix_us + t_us,
                    alert_id: 2,
                    track_id: 10,
                    score: 0.58,
                    subject_id: "SUBJ-A".into(),
                    evidence_transfer_id: 1,
                    evidence_size: evidence.len() as u32,
                    lat: la,
                    lon: lo,
                    ..Default::default()
                }),
            );
            let packets = evidence.len().div_ceil(253) as u16;
            push(
                191,
                ob.next(),
                MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
                    size: evidence.len() as u32,
                    packets,
                    payload: 253,
                    ..Default::default()
                }),
            );
            for (i, chunk) in evidence.chunks(253).enumerate() {
                let mut data = [0u8; 253];
                data[..chunk.len()].copy_from_slice(chunk);
                push(
                    191,
                    ob.next(),
                    MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: i as u16, data }),
                );
            }
        }
        // A message the ground does not use (counted as ignored).
        if step % 50 == 0 {
            push(
                1,
                ap.next(),
                MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                    time_unix_usec: t0_unix_us + t_us,
                    ..Default::default()
                }),
            );
        }
    }
    SynthMission { frames }
}

/// The street map of the synthetic mission as GeoJSON (roads, buildings, authorized area).
pub fn geojson() -> String {
    let ring = |pts: &[(f64, f64)]| -> String {
        let v: Vec<String> = pts
            .iter()
            .chain(pts.first())
            .map(|&(e, n)| {
                let (lat, lon) = offset(e, n);
                format!("[{lon:.7},{lat:.7}]")
            })
            .collect();
        format!("[{}]", v.join(","))
    };
    let line = |pts: &[(f64, f64)]| -> String {
        let v: Vec<String> = pts
            .iter()
            .map(|&(e, n)| {
                let (lat, lon) = offset(e, n);
                format!("[{lon:.7},{lat:.7}]")
            })
            .collect();
        format!("[{}]", v.join(","))
    };
    let mut f = Vec::new();
    for (name, pts) in [
        ("Main street", vec![(-300.0, 0.0), (300.0, 0.0)]),
        ("Cross street", vec![(62.0, -300.0), (62.0, 300.0)]),
        (
            "Park lane",
            vec![(-300.0, 120.0), (-100.0, 120.0), (0.0, 160.0), (300.0, 160.0)],
        ),
    ] {
        f.push(format!(
            r#"{{"type":"Feature","properties":{{"kind":"road","name":"{name}"}},"geometry":{{"type":"LineString","coordinates":{}}}}}"#,
            line(&pts)
        ));
    }
    for i in 0..8 {
        let x = -260.0 + i as f64 * 60.0;
        for (y0, y1) in [(12.0, 40.0), (-40.0, -14.0)] {
            if (x..x + 40.0).contains(&62.0) {
                continue;
            }
            let pts = [(x, y0), (x + 40.0, y0), (x + 40.0, y1), (x, y1)];
            f.push(format!(
                r#"{{"type":"Feature","properties":{{"kind":"building"}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}"#,
                ring(&pts)
            ));
        }
    }
    f.push(format!(
        r#"{{"type":"Feature","properties":{{"kind":"authorized_area","name":"Authorized area"}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}"#,
        ring(&[(-220.0, -200.0), (220.0, -200.0), (220.0, 200.0), (-220.0, 200.0)])
    ));
    format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, f.join(","))
}

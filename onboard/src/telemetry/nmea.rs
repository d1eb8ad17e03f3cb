//! The GNSS receiver of a camera in a car (`source.kind = "vehicle"`): NMEA 0183 over TCP (a
//! serial-to-TCP bridge, or gpsd asked for NMEA) or a serial port, into the [`PoseBuffer`].
//!
//! A car has no autopilot telling its attitude: the position comes from GGA/RMC, the heading
//! from RMC's course over ground, the car taken level. Below [`MIN_COURSE_SPEED_M_S`] the course
//! is noise (a standing receiver's course wanders all round the compass), so the last heading
//! is held; before the car first moved there is no heading and frames are POSE_STALE. The camera
//! sits `height_m_agl` above the road: the ground level is the GGA altitude minus that height.
//! Parsing is `utkik_shared::nmea`; this file owns the connection and its retries.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use utkik_shared::nmea::{Fix, FixTracker, LineSplitter, parse_sentence};

use super::link::TelemetryStatus;
use super::pose::{PoseBuffer, PoseFix};
use crate::config::{ConfigError, VehicleCameraConfig};
use crate::shutdown::Shutdown;

/// Slowest speed at which the course over ground is taken as the car's heading, m/s.
pub const MIN_COURSE_SPEED_M_S: f64 = 1.0;

/// What gpsd needs before it sends anything: NMEA sentences, not its JSON reports.
pub const GPSD_WATCH_NMEA: &[u8] = b"?WATCH={\"enable\":true,\"nmea\":true};\n";

/// Where the NMEA stream comes from (`telemetry.endpoint` with `source.kind = "vehicle"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NmeaEndpoint {
    /// `nmea+tcp://HOST:PORT`: a TCP server that sends NMEA as is (a serial-to-TCP bridge).
    Tcp(String),
    /// `nmea+gpsd://HOST:PORT`: gpsd (port 2947), asked for NMEA with `?WATCH`.
    Gpsd(String),
    /// `nmea+serial:///dev/ttyUSB0:4800`: the receiver on a serial port at a baud rate.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate (NMEA 0183's standard is 4800; many receivers use 9600 or more).
        baud: u32,
    },
}

/// Why an NMEA endpoint string is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "NMEA endpoint {endpoint:?}: {what} (use nmea+tcp://HOST:PORT, nmea+gpsd://HOST:PORT or nmea+serial:///dev/ttyX:BAUD)"
)]
pub struct NmeaEndpointError {
    /// The string given.
    pub endpoint: String,
    /// What is wrong.
    pub what: String,
}

impl NmeaEndpoint {
    /// Whether `s` names an NMEA source at all (scheme `nmea+...`).
    pub fn is_nmea(s: &str) -> bool {
        s.starts_with("nmea+")
    }

    /// Parses `nmea+tcp://127.0.0.1:10110`, `nmea+gpsd://127.0.0.1:2947`,
    /// `nmea+serial:///dev/ttyUSB0:4800`.
    ///
    /// # Errors
    /// An unknown scheme, a missing or bad port or baud rate, naming the string.
    pub fn parse(s: &str) -> Result<Self, NmeaEndpointError> {
        let err = |what: &str| NmeaEndpointError {
            endpoint: s.into(),
            what: what.into(),
        };
        let (scheme, rest) = s.split_once("://").ok_or_else(|| err("missing scheme"))?;
        match scheme {
            "nmea+tcp" | "nmea+gpsd" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(|| err("missing :PORT"))?;
                if host.is_empty() {
                    return Err(err("missing host"));
                }
                port.parse::<u16>().map_err(|_| err("bad port"))?;
                Ok(if scheme == "nmea+tcp" {
                    Self::Tcp(rest.into())
                } else {
                    Self::Gpsd(rest.into())
                })
            }
            "nmea+serial" => {
                let (path, baud) = rest.rsplit_once(':').ok_or_else(|| err("missing :BAUD"))?;
                if path.is_empty() {
                    return Err(err("missing device path"));
                }
                let baud = baud
                    .parse()
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| err("bad baud rate"))?;
                Ok(Self::Serial {
                    path: path.into(),
                    baud,
                })
            }
            _ => Err(err("unknown scheme")),
        }
    }
}

/// The camera on the car (`[vehicle_camera]`), validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleCamera {
    /// Camera (and GNSS antenna) height above the road, m.
    pub height_m_agl: f64,
    /// Camera azimuth relative to the direction of travel, degrees, clockwise (0 = forward).
    pub yaw_offset_deg: f64,
}

impl VehicleCamera {
    /// The camera of `[vehicle_camera]`, both keys present and in range.
    ///
    /// # Errors
    /// The table or a key missing, or a value out of range: [`ConfigError::Invalid`] naming
    /// the dotted key and the value.
    pub fn from_config(c: Option<&VehicleCameraConfig>) -> Result<Self, ConfigError> {
        let Some(c) = c else {
            return Err(ConfigError::Invalid {
                key: "vehicle_camera".into(),
                message: "is missing: source.kind = \"vehicle\" needs the camera's height on the car and its \
                          direction ([vehicle_camera] height_m_agl, yaw_offset_deg)"
                    .into(),
            });
        };
        let get = |key: &str,
                   value: Option<f64>,
                   range: std::ops::RangeInclusive<f64>,
                   what: &str|
         -> Result<f64, ConfigError> {
            let v = value.ok_or_else(|| ConfigError::Invalid {
                key: format!("vehicle_camera.{key}"),
                message: format!("is missing: source.kind = \"vehicle\" needs it ({what})"),
            })?;
            if !range.contains(&v) {
                return Err(ConfigError::Invalid {
                    key: format!("vehicle_camera.{key}"),
                    message: format!("must be in {}..={} ({what}), got {v}", range.start(), range.end()),
                });
            }
            Ok(v)
        };
        let camera = Self {
            height_m_agl: get("height_m_agl", c.height_m_agl, 0.0..=10.0, "camera above the road, m")?,
            yaw_offset_deg: get(
                "yaw_offset_deg",
                c.yaw_offset_deg,
                -180.0..=180.0,
                "camera azimuth relative to the direction of travel, degrees, 0 = forward",
            )?,
        };
        if camera.height_m_agl <= 0.0 {
            return Err(ConfigError::Invalid {
                key: "vehicle_camera.height_m_agl".into(),
                message: format!("must be above 0 m, got {}", camera.height_m_agl),
            });
        }
        Ok(camera)
    }
}

/// Bytes of an NMEA stream to pose-buffer fixes: splitting, parsing, dating, heading.
#[derive(Debug)]
pub struct NmeaFeed {
    splitter: LineSplitter,
    tracker: FixTracker,
    height_m_agl: f64,
    last_alt_m_amsl: Option<f64>,
    warned_no_altitude: bool,
    sentences: u64,
    bad_sentences: u64,
}

impl NmeaFeed {
    /// A feed for a camera `height_m_agl` above the road.
    pub fn new(height_m_agl: f64) -> Self {
        Self {
            splitter: LineSplitter::new(),
            tracker: FixTracker::new(),
            height_m_agl,
            last_alt_m_amsl: None,
            warned_no_altitude: false,
            sentences: 0,
            bad_sentences: 0,
        }
    }

    /// A new connection: a partial line of the old one is dropped.
    pub fn reconnected(&mut self) {
        self.splitter.discard_partial();
    }

    /// Feeds `bytes` as read; the fixes go into `poses`, the counts into `status` (`messages`:
    /// sentences with a valid checksum, `bad_frames`: refused sentences, `garbage_bytes`: bytes
    /// outside sentences).
    pub fn push(&mut self, bytes: &[u8], poses: &Mutex<PoseBuffer>, status: &TelemetryStatus) {
        let mut fixes = Vec::new();
        let (tracker, sentences, bad) = (&mut self.tracker, &mut self.sentences, &mut self.bad_sentences);
        self.splitter.push(bytes, |line| match parse_sentence(line) {
            Ok(s) => {
                *sentences += 1;
                fixes.extend(tracker.push(&s));
            }
            Err(e) => {
                *bad += 1;
                // A noisy line would flood the log: the first few, then every power of two.
                if bad.is_power_of_two() {
                    tracing::warn!(refused = *bad, "GNSS receiver: {e}");
                }
            }
        });
        status.messages.store(self.sentences, Ordering::Relaxed);
        status.bad_frames.store(self.bad_sentences, Ordering::Relaxed);
        status
            .garbage_bytes
            .store(self.splitter.stats().garbage_bytes, Ordering::Relaxed);
        if fixes.is_empty() {
            return;
        }
        let fixes: Vec<PoseFix> = fixes.iter().map(|f| self.pose_fix(f)).collect();
        let mut p = poses.lock().unwrap_or_else(|e| e.into_inner());
        for f in &fixes {
            p.push_fix(f);
        }
    }

    fn pose_fix(&mut self, fix: &Fix) -> PoseFix {
        if fix.alt_m_amsl.is_some() {
            self.last_alt_m_amsl = fix.alt_m_amsl;
        }
        // A receiver that sends only RMC gives no altitude: the geometry needs only the height
        // above the road, so the ground is taken at 0 m AMSL (the points' altitudes are then
        // wrong, their positions are not).
        let alt_m_amsl = self.last_alt_m_amsl.unwrap_or_else(|| {
            if !self.warned_no_altitude {
                self.warned_no_altitude = true;
                tracing::warn!("GNSS receiver sent no GGA altitude yet: ground level taken as 0 m AMSL");
            }
            self.height_m_agl
        });
        let heading_rad = fix
            .course_deg
            .filter(|_| fix.speed_m_s.is_some_and(|v| v >= MIN_COURSE_SPEED_M_S))
            .map(f64::to_radians);
        PoseFix {
            time_usec: fix.time_usec,
            lat_deg: fix.lat_deg,
            lon_deg: fix.lon_deg,
            alt_m_amsl,
            ground_alt_m_amsl: alt_m_amsl - self.height_m_agl,
            heading_rad,
        }
    }
}

/// Reads the GNSS receiver until `shutdown`, reconnecting with back-off (250 ms doubling to 5 s)
/// when the connection cannot be opened or is lost.
pub fn run_nmea(
    endpoint: &NmeaEndpoint,
    mut feed: NmeaFeed,
    poses: Arc<Mutex<PoseBuffer>>,
    status: Arc<TelemetryStatus>,
    shutdown: &Shutdown,
) {
    let mut buf = vec![0u8; 4096];
    let mut backoff = Duration::from_millis(250);
    while !shutdown.is_triggered() {
        let stream: std::io::Result<Box<dyn Read + Send>> = match endpoint {
            NmeaEndpoint::Tcp(a) | NmeaEndpoint::Gpsd(a) => TcpStream::connect(a).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_millis(100)))?;
                if matches!(endpoint, NmeaEndpoint::Gpsd(_)) {
                    s.write_all(GPSD_WATCH_NMEA)?;
                }
                Ok(Box::new(s) as Box<dyn Read + Send>)
            }),
            NmeaEndpoint::Serial { path, baud } => serialport::new(path, *baud)
                .timeout(Duration::from_millis(100))
                .open()
                .map(|p| Box::new(p) as Box<dyn Read + Send>)
                .map_err(std::io::Error::other),
        };
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                status.link_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(?endpoint, retry_ms = backoff.as_millis() as u64, "GNSS receiver: {e}");
                shutdown.sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        feed.reconnected();
        while !shutdown.is_triggered() {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => feed.push(&buf[..n], &poses, &status),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => {
                    tracing::warn!("GNSS receiver connection lost: {e}");
                    break;
                }
            }
        }
        status.link_errors.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::georef::{FrameGeoref, GeorefConfig};
    use crate::telemetry::{PoseConfig, PoseStale};
    use std::io::BufRead;
    use std::time::Instant;
    use utkik_shared::camera::PoseUncertainty;
    use utkik_shared::geo::{GeoPoint, LocalFrame};
    use utkik_shared::utc::parse_utc_usec;

    /// `body` (between `$` and `*`) as a sentence with its checksum and CR LF.
    fn sentence(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{sum:02X}\r\n")
    }

    /// An RMC and a GGA at 2026-12-07 hh:mm:ss at 59.3 N 18.1 E (+ `north_m` metres north).
    fn epoch(hhmmss: &str, north_m: f64, speed_kn: f64, course_deg: Option<f64>) -> String {
        let lat_min = 18.0 + north_m / 1852.0;
        let course = course_deg.map(|c| format!("{c:.1}")).unwrap_or_default();
        sentence(&format!(
            "GNRMC,{hhmmss}.00,A,59{lat_min:07.4},N,01806.0000,E,{speed_kn:.2},{course},071226,,,A,V"
        )) + &sentence(&format!(
            "GNGGA,{hhmmss}.00,59{lat_min:07.4},N,01806.0000,E,1,12,0.8,31.5,M,22.1,M,,"
        ))
    }

    fn t(hhmmss: &str) -> u64 {
        parse_utc_usec(&format!(
            "2026-12-07T{}:{}:{}Z",
            &hhmmss[0..2],
            &hhmmss[2..4],
            &hhmmss[4..6]
        ))
        .unwrap()
    }

    fn buffer() -> Mutex<PoseBuffer> {
        Mutex::new(
            PoseBuffer::new(PoseConfig {
                max_age_usec: 600_000,
                fixed_pitch_rad: Some(-45f64.to_radians()),
            })
            .with_camera_yaw_offset(90f64.to_radians()),
        )
    }

    #[test]
    fn endpoints_parse_and_errors_name_the_string() {
        assert_eq!(
            NmeaEndpoint::parse("nmea+tcp://127.0.0.1:10110").unwrap(),
            NmeaEndpoint::Tcp("127.0.0.1:10110".into())
        );
        assert_eq!(
            NmeaEndpoint::parse("nmea+gpsd://localhost:2947").unwrap(),
            NmeaEndpoint::Gpsd("localhost:2947".into())
        );
        assert_eq!(
            NmeaEndpoint::parse("nmea+serial:///dev/ttyUSB0:4800").unwrap(),
            NmeaEndpoint::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 4800
            }
        );
        for (bad, what) in [
            ("nmea+serial:///dev/ttyUSB0", "missing :BAUD"),
            ("nmea+tcp://host:x", "bad port"),
            ("nmea+udp://host:1", "unknown scheme"),
            ("nmea+serial:///dev/ttyUSB0:0", "bad baud rate"),
        ] {
            let e = NmeaEndpoint::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(what), "{e}");
        }
        assert!(NmeaEndpoint::is_nmea("nmea+tcp://a:1") && !NmeaEndpoint::is_nmea("tcp://a:1"));
    }

    #[test]
    fn heading_follows_the_course_and_is_held_when_stopped() {
        let poses = buffer();
        let status = TelemetryStatus::default();
        let mut feed = NmeaFeed::new(1.5);
        // Parked: the course is noise (and often empty): no heading yet, so no pose.
        feed.push(epoch("120000", 0.0, 0.3, Some(217.0)).as_bytes(), &poses, &status);
        let e = poses.lock().unwrap().pose_at(t("120000")).unwrap_err();
        assert!(matches!(e, PoseStale::TooOld { series: "attitude", .. }), "{e}");
        // Driving east at 20 kn: heading 90°.
        feed.push(epoch("120001", 0.0, 20.0, Some(90.0)).as_bytes(), &poses, &status);
        let p = poses.lock().unwrap().pose_at(t("120001")).unwrap();
        assert!((p.pose.vehicle.yaw_rad - 90f64.to_radians()).abs() < 1e-9);
        assert!((p.pose.position.alt_m_amsl - 31.5).abs() < 1e-9, "GGA altitude");
        assert!((p.ground_alt_m_amsl - 30.0).abs() < 1e-9, "altitude - height_m_agl");
        // Stopped at a light: the receiver's course wanders, the heading is held.
        for (time, course) in [("120002", 3.0), ("120003", 181.0), ("120004", 300.0)] {
            feed.push(epoch(time, 0.0, 0.5, Some(course)).as_bytes(), &poses, &status);
            let p = poses.lock().unwrap().pose_at(t(time)).unwrap();
            assert!(
                (p.pose.vehicle.yaw_rad - 90f64.to_radians()).abs() < 1e-9,
                "{time}: {}",
                p.pose.vehicle.yaw_rad
            );
        }
        // Off again, north.
        feed.push(epoch("120005", 10.0, 5.0, Some(0.0)).as_bytes(), &poses, &status);
        let p = poses.lock().unwrap().pose_at(t("120005")).unwrap();
        assert!(p.pose.vehicle.yaw_rad.abs() < 1e-9);
        assert_eq!(status.messages.load(Ordering::Relaxed), 12, "two sentences an epoch");
        assert_eq!(status.bad_frames.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_camera_looks_sideways_from_the_car_and_georeferences() {
        // Driving east, camera on the right side (yaw offset 90°) 45° down from 1.5 m: a plate
        // 0.5 m up at the image centre is 1.0 m south of the car.
        let poses = buffer();
        let status = TelemetryStatus::default();
        let mut feed = NmeaFeed::new(1.5);
        feed.push(epoch("120001", 0.0, 20.0, Some(90.0)).as_bytes(), &poses, &status);
        let pose = poses.lock().unwrap().pose_at(t("120001")).unwrap();
        let g = FrameGeoref::new(
            &GeorefConfig {
                hfov_rad: 1.2,
                uncertainty: PoseUncertainty::default(),
            },
            1280,
            720,
            &pose,
        )
        .unwrap();
        let fix = g.locate([640.0, 360.0], 0.5).unwrap();
        let car = GeoPoint {
            lat_deg: pose.pose.position.lat_deg,
            lon_deg: pose.pose.position.lon_deg,
            alt_m_amsl: 30.0,
        };
        let ned = LocalFrame::new(car).to_ned(&fix.point);
        assert!((ned.x + 1.0).abs() < 0.01 && ned.y.abs() < 0.01, "{ned}");
    }

    #[test]
    fn garbage_and_bad_checksums_are_counted_not_fatal() {
        let poses = buffer();
        let status = TelemetryStatus::default();
        let mut feed = NmeaFeed::new(1.5);
        let good = epoch("120001", 0.0, 20.0, Some(90.0));
        let corrupted = good.replacen("59", "58", 1);
        let stream = format!("\u{1}\u{2}noise{corrupted}{good}");
        // A byte at a time: reads may cut anywhere.
        for b in stream.as_bytes() {
            feed.push(std::slice::from_ref(b), &poses, &status);
        }
        assert_eq!(status.bad_frames.load(Ordering::Relaxed), 1, "the changed RMC");
        assert_eq!(status.garbage_bytes.load(Ordering::Relaxed), 7);
        assert!(poses.lock().unwrap().pose_at(t("120001")).is_ok());
    }

    /// Waits for `cond` up to 10 s.
    fn wait_for(mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn tcp_reader_takes_fixes_from_a_real_socket_and_reconnects() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint = NmeaEndpoint::parse(&format!("nmea+tcp://{addr}")).unwrap();
        let poses = Arc::new(buffer());
        let status = Arc::new(TelemetryStatus::default());
        let shutdown = Shutdown::new();
        let (p, s, sd) = (poses.clone(), status.clone(), shutdown.clone());
        let h = std::thread::spawn(move || run_nmea(&endpoint, NmeaFeed::new(1.5), p, s, &sd));
        // First connection: noise, one epoch, then half a sentence and the connection drops.
        let (mut c, _) = listener.accept().unwrap();
        let first = epoch("120001", 0.0, 20.0, Some(90.0));
        c.write_all(b"\x00garbage\r\n").unwrap();
        c.write_all(first.as_bytes()).unwrap();
        c.write_all(&epoch("120002", 10.0, 20.0, Some(90.0)).as_bytes()[..30])
            .unwrap();
        wait_for(|| poses.lock().unwrap().newest_position_usec() == Some(t("120001")));
        drop(c);
        // The reader reconnects; the half sentence is not glued to the next one.
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"23,A,5918").unwrap();
        c.write_all(epoch("120003", 20.0, 20.0, Some(0.0)).as_bytes()).unwrap();
        wait_for(|| poses.lock().unwrap().newest_position_usec() == Some(t("120003")));
        let p = poses.lock().unwrap().pose_at(t("120003")).unwrap();
        assert!(p.pose.vehicle.yaw_rad.abs() < 1e-9, "course 0 while moving");
        assert!(status.link_errors.load(Ordering::Relaxed) >= 1);
        assert_eq!(status.bad_frames.load(Ordering::Relaxed), 0, "no spliced sentence");
        shutdown.trigger();
        h.join().unwrap();
    }

    #[test]
    fn gpsd_is_asked_for_nmea() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint = NmeaEndpoint::parse(&format!("nmea+gpsd://{addr}")).unwrap();
        let poses = Arc::new(buffer());
        let status = Arc::new(TelemetryStatus::default());
        let shutdown = Shutdown::new();
        let (p, s, sd) = (poses.clone(), status.clone(), shutdown.clone());
        let h = std::thread::spawn(move || run_nmea(&endpoint, NmeaFeed::new(1.5), p, s, &sd));
        let (c, _) = listener.accept().unwrap();
        let mut reader = std::io::BufReader::new(c.try_clone().unwrap());
        let mut watch = String::new();
        reader.read_line(&mut watch).unwrap();
        assert_eq!(watch.as_bytes(), GPSD_WATCH_NMEA);
        // gpsd answers with JSON reports before the NMEA: they are skipped as noise.
        let mut c = c;
        c.write_all(b"{\"class\":\"VERSION\",\"release\":\"3.25\"}\r\n")
            .unwrap();
        c.write_all(epoch("120001", 0.0, 20.0, Some(90.0)).as_bytes()).unwrap();
        wait_for(|| poses.lock().unwrap().newest_position_usec() == Some(t("120001")));
        assert_eq!(status.bad_frames.load(Ordering::Relaxed), 0);
        shutdown.trigger();
        h.join().unwrap();
    }
}

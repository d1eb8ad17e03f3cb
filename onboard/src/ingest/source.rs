//! Where the video comes from: a URI (`udp://`, `rtsp://`, `file://` or a path, `v4l2://`,
//! `test://`) or a GStreamer pipeline string, turned into one launch description whose
//! last element is an appsink named `sink` that delivers packed RGB.

use std::path::Path;

/// The tail every built pipeline ends in: packed RGB into our appsink. `max-buffers=1 drop=true`
/// because the newest frame wins already inside GStreamer, before our own channel.
pub const RGB_APPSINK: &str =
    "videoconvert ! video/x-raw,format=RGB ! appsink name=sink max-buffers=1 drop=true sync=false";

/// Caps of the H.264 RTP stream the simulator and drone cameras send (`utkik_media`, the one
/// sender). `extmap-1` announces the RFC 6051 64-bit NTP header extension so the depayloader
/// attaches each frame's capture time (see `ingest::time`).
pub use utkik_media::RTP_H264_CAPS;

/// Why a video source could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// The URI scheme is not one we know.
    #[error(
        "video source {uri:?}: unsupported scheme {scheme:?} (use udp://, rtsp://, file://, v4l2://, test://, a path or a pipeline string with '!')"
    )]
    UnsupportedScheme {
        /// The whole source string.
        uri: String,
        /// Its scheme.
        scheme: String,
    },
    /// A part of the URI is malformed.
    #[error("video source {uri:?}: {what}")]
    Malformed {
        /// The whole source string.
        uri: String,
        /// What is wrong.
        what: String,
    },
    /// The source string is empty.
    #[error("video source is empty")]
    Empty,
}

/// Builds the GStreamer launch description for `source`.
///
/// - `udp://HOST:PORT` (or `udp://:PORT`): RTP/H.264 as sent by the simulator.
/// - `rtsp://...`: RTSP with low latency.
/// - `file:///path` or a plain existing path: any file GStreamer can decode.
/// - `v4l2:///dev/videoN`: a V4L2 camera.
/// - `test://` or `test://PATTERN`: `videotestsrc` (live, 1280x720 at 30 fps).
/// - anything containing `!`: a pipeline string; if it has no appsink, the RGB appsink tail is
///   appended; if it has one, it must be named `sink` (the caps are checked on the first frame).
pub fn launch_description(source: &str) -> Result<String, SourceError> {
    let s = source.trim();
    if s.is_empty() {
        return Err(SourceError::Empty);
    }
    if s.contains('!') {
        if s.contains("appsink") {
            if !s.contains("name=sink") {
                return Err(SourceError::Malformed {
                    uri: s.into(),
                    what: "the pipeline's appsink must be named `sink` (appsink name=sink)".into(),
                });
            }
            return Ok(s.to_string());
        }
        return Ok(format!("{s} ! {RGB_APPSINK}"));
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        if Path::new(s).exists() {
            return Ok(uridecode(&format!("file://{}", absolute(s))));
        }
        return Err(SourceError::Malformed {
            uri: s.into(),
            what: "neither a URI (scheme://...), an existing file nor a pipeline string".into(),
        });
    };
    match scheme {
        "udp" | "rtp" => {
            let (host, port) = host_port(s, rest.trim_start_matches('@'))?;
            let address = if host.is_empty() { "0.0.0.0".to_string() } else { host };
            Ok(format!(
                "udpsrc address={address} port={port} caps=\"{RTP_H264_CAPS}\" ! rtpjitterbuffer latency=50 ! \
                 rtph264depay ! h264parse ! avdec_h264 ! {RGB_APPSINK}"
            ))
        }
        "rtsp" | "rtsps" => Ok(format!(
            "rtspsrc location=\"{s}\" latency=50 ! rtph264depay ! h264parse ! avdec_h264 ! {RGB_APPSINK}"
        )),
        "file" => Ok(uridecode(s)),
        "v4l2" => {
            let device = if rest.is_empty() { "/dev/video0" } else { rest };
            Ok(format!("v4l2src device={device} ! {RGB_APPSINK}"))
        }
        "test" => {
            let pattern = if rest.is_empty() { "smpte" } else { rest };
            if !pattern.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(SourceError::Malformed {
                    uri: s.into(),
                    what: format!("bad test pattern {pattern:?}"),
                });
            }
            Ok(format!(
                "videotestsrc is-live=true pattern={pattern} ! video/x-raw,width=1280,height=720,framerate=30/1 ! \
                 {RGB_APPSINK}"
            ))
        }
        other => Err(SourceError::UnsupportedScheme {
            uri: s.into(),
            scheme: other.into(),
        }),
    }
}

fn uridecode(uri: &str) -> String {
    format!("uridecodebin uri=\"{uri}\" ! {RGB_APPSINK}")
}

fn absolute(path: &str) -> String {
    std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

fn host_port(uri: &str, rest: &str) -> Result<(String, u16), SourceError> {
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| SourceError::Malformed {
        uri: uri.into(),
        what: "missing :PORT".into(),
    })?;
    let port: u16 = port.trim_end_matches('/').parse().map_err(|_| SourceError::Malformed {
        uri: uri.into(),
        what: format!("bad port {port:?}"),
    })?;
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_uri_builds_the_simulator_receiver() {
        let d = launch_description("udp://:5600").unwrap();
        assert!(d.starts_with("udpsrc address=0.0.0.0 port=5600"), "{d}");
        assert!(d.contains("rtph264depay") && d.contains("avdec_h264") && d.ends_with(RGB_APPSINK));
        let d = launch_description("udp://127.0.0.1:6000").unwrap();
        assert!(d.contains("address=127.0.0.1 port=6000"));
    }

    #[test]
    fn pipeline_strings_get_the_tail_once() {
        assert_eq!(
            launch_description("videotestsrc ! videoscale").unwrap(),
            format!("videotestsrc ! videoscale ! {RGB_APPSINK}")
        );
        let own = "videotestsrc ! appsink name=sink";
        assert_eq!(launch_description(own).unwrap(), own);
        assert!(matches!(
            launch_description("videotestsrc ! appsink"),
            Err(SourceError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_sources_are_named() {
        let e = launch_description("gopher://x").unwrap_err();
        assert!(e.to_string().contains("gopher"), "{e}");
        let e = launch_description("udp://:notaport").unwrap_err();
        assert!(e.to_string().contains("notaport"), "{e}");
        assert_eq!(launch_description("  "), Err(SourceError::Empty));
        assert!(matches!(
            launch_description("/no/such/file.mp4"),
            Err(SourceError::Malformed { .. })
        ));
        assert!(matches!(
            launch_description("test://a b"),
            Err(SourceError::Malformed { .. })
        ));
    }

    #[test]
    fn other_schemes() {
        assert!(
            launch_description("rtsp://cam/live")
                .unwrap()
                .starts_with("rtspsrc location=\"rtsp://cam/live\"")
        );
        assert!(
            launch_description("file:///tmp/a.mp4")
                .unwrap()
                .starts_with("uridecodebin uri=\"file:///tmp/a.mp4\"")
        );
        assert!(
            launch_description("v4l2:///dev/video2")
                .unwrap()
                .starts_with("v4l2src device=/dev/video2")
        );
        assert!(launch_description("test://ball").unwrap().contains("pattern=ball"));
    }
}

//! The masked video back to the ground: RGB frames (already masked) as H.264 over RTP/UDP, each
//! frame's capture time kept in the RFC 6051 NTP-64 header extension as on the camera's own
//! stream. The sender is `utkik_media::H264RtpSender`, the one the simulated camera uses too;
//! this adapter rebuilds it when the frame size changes, and after a stream error (logged by
//! the caller) on the next frame, so the re-stream never stops the pipeline.
//!
//! Only masked video may leave the drone (LAW.md 8.1), whatever `[detect]` asks for: a class
//! whose detector is not running would go out unmasked, so [`refusal`] keeps the re-stream from
//! starting then (the rest of the pipeline runs: an ANPR mission without faces still reads
//! plates) and says which setting to change.

use utkik_media::{H264RtpSender, MediaError, RtpSenderConfig};
use utkik_shared::dialect::UtkikRestreamState;

use crate::frame::RgbFrame;
use crate::pipeline::ObjectClass;

/// Why the masked re-stream must not start when the detectors of `running` are all that run:
/// `None` when faces and plates both have a detector (every face and plate can be masked),
/// otherwise the message to log, naming the `[detect]` keys that are off and `privacy.restream`.
pub fn refusal(running: &[ObjectClass]) -> Option<String> {
    let missing: Vec<(&str, &str)> = [
        (ObjectClass::Face, "faces", "detect.faces"),
        (ObjectClass::Plate, "plates", "detect.plates"),
    ]
    .into_iter()
    .filter(|(class, _, _)| !running.contains(class))
    .map(|(_, what, key)| (what, key))
    .collect();
    if missing.is_empty() {
        return None;
    }
    let what = missing.iter().map(|m| m.0).collect::<Vec<_>>().join(" and ");
    let keys = missing
        .iter()
        .map(|m| format!("{} = true", m.1))
        .collect::<Vec<_>>()
        .join(" and ");
    Some(format!(
        "privacy re-stream NOT started: no detector for {what} is running, so {what} in the video \
         would leave the drone unmasked (LAW.md 8.1). Set {keys} to re-stream masked video, or \
         privacy.restream = false to run without video; detection, tracks and alerts go on as \
         configured"
    ))
}

/// What UTKIK_PIPELINE_STATUS.restream_state says before the first frame: off by
/// configuration, refused (naming the missing detector, faces first) or streaming.
pub fn restream_state(enabled: bool, running: &[ObjectClass]) -> UtkikRestreamState {
    if !enabled {
        UtkikRestreamState::UTKIK_RESTREAM_STATE_OFF_CONFIG
    } else if !running.contains(&ObjectClass::Face) {
        UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR
    } else if !running.contains(&ObjectClass::Plate) {
        UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR
    } else {
        UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING
    }
}

/// The state back from the `u8` the pipeline counters keep it in (an unknown value: ERROR).
pub fn restream_state_from_u8(v: u8) -> UtkikRestreamState {
    use UtkikRestreamState::*;
    [
        UTKIK_RESTREAM_STATE_OFF_CONFIG,
        UTKIK_RESTREAM_STATE_STREAMING,
        UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR,
        UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR,
    ]
    .into_iter()
    .find(|s| *s as u8 == v)
    .unwrap_or(UTKIK_RESTREAM_STATE_ERROR)
}

/// Re-stream settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RestreamConfig {
    /// Ground address, `HOST:PORT`.
    pub destination: String,
    /// Encoder bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// Frames per second announced to the encoder.
    pub fps: u32,
    /// SRTP key (`privacy.srtp_key`); `None`: plain RTP.
    pub srtp_key: Option<utkik_media::SrtpKey>,
}

/// Why the re-stream could not be built or fed.
#[derive(Debug, thiserror::Error)]
pub enum RestreamError {
    /// Building the GStreamer pipeline failed.
    #[error("privacy re-stream: {0}")]
    Build(MediaError),
    /// Pushing a frame failed.
    #[error("privacy re-stream: {0}")]
    Flow(MediaError),
}

/// A running re-stream; the sender is built for the size of the frames it gets.
pub struct Restream {
    config: RestreamConfig,
    sender: Option<H264RtpSender>,
    /// Frames pushed.
    pub frames: u64,
}

impl std::fmt::Debug for Restream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restream")
            .field("config", &self.config)
            .field("frames", &self.frames)
            .finish()
    }
}

impl Restream {
    /// A re-stream; the pipeline is built on the first frame (its size fixes the caps).
    pub fn new(config: RestreamConfig) -> Self {
        Self {
            config,
            sender: None,
            frames: 0,
        }
    }

    fn build(&mut self, w: u32, h: u32) -> Result<(), RestreamError> {
        let sender = H264RtpSender::start(RtpSenderConfig {
            destination: self.config.destination.clone(),
            width_px: w,
            height_px: h,
            fps: f64::from(self.config.fps),
            bitrate_kbps: self.config.bitrate_kbps,
            key_int_max_frames: self.config.fps * 2,
            // The pipeline must not stall on the encoder: frames queue in appsrc.
            block_when_behind: false,
            // Capture times relative to the first frame of this sender.
            epoch_unix_usec: None,
            srtp_key: self.config.srtp_key.clone(),
        })
        .map_err(RestreamError::Build)?;
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends one (already masked) frame.
    pub fn push(&mut self, frame: &RgbFrame) -> Result<(), RestreamError> {
        if let Some(s) = &self.sender
            && s.size_px() != (frame.width, frame.height)
        {
            self.stop();
        }
        if self.sender.is_none() {
            self.build(frame.width, frame.height)?;
        }
        let Some(sender) = self.sender.as_mut() else {
            return Ok(());
        };
        if let Err(e) = sender.push(&frame.data, frame.time_usec) {
            self.stop();
            return Err(RestreamError::Flow(e));
        }
        self.frames += 1;
        Ok(())
    }

    /// Stops the pipeline.
    pub fn stop(&mut self) {
        if let Some(s) = self.sender.take() {
            // Drop sets the pipeline to Null at once; a finish() would wait for the drain.
            drop(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status field agrees with [`refusal`]: refused exactly when `refusal` refuses, naming
    /// the face detector first; off by configuration whatever runs.
    #[test]
    fn restream_state_says_off_refused_which_or_streaming() {
        use UtkikRestreamState::*;
        let (f, p) = (ObjectClass::Face, ObjectClass::Plate);
        assert_eq!(restream_state(false, &[f, p]), UTKIK_RESTREAM_STATE_OFF_CONFIG);
        assert_eq!(restream_state(true, &[p, f]), UTKIK_RESTREAM_STATE_STREAMING);
        assert_eq!(
            restream_state(true, &[p]),
            UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR
        );
        assert_eq!(restream_state(true, &[]), UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR);
        assert_eq!(
            restream_state(true, &[f]),
            UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR
        );
        for running in [vec![f, p], vec![p], vec![f], vec![]] {
            let refused = restream_state(true, &running) as u8 >= 2;
            assert_eq!(refused, refusal(&running).is_some(), "{running:?}");
        }
        for s in [
            UTKIK_RESTREAM_STATE_OFF_CONFIG,
            UTKIK_RESTREAM_STATE_STREAMING,
            UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR,
            UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR,
            UTKIK_RESTREAM_STATE_ERROR,
        ] {
            assert_eq!(restream_state_from_u8(s as u8), s);
        }
        assert_eq!(restream_state_from_u8(200), UTKIK_RESTREAM_STATE_ERROR);
    }

    /// Both classes running: the re-stream may start; either missing: refused naming its key.
    #[test]
    fn restream_refused_unless_faces_and_plates_both_have_a_detector() {
        assert_eq!(refusal(&[ObjectClass::Plate, ObjectClass::Face]), None);
        let anpr = refusal(&[ObjectClass::Plate]).expect("faces off: refused");
        assert!(
            anpr.contains("detect.faces = true")
                && !anpr.contains("detect.plates")
                && anpr.contains("privacy.restream = false")
                && anpr.contains("unmasked"),
            "{anpr}"
        );
        let faces_only = refusal(&[ObjectClass::Face]).expect("plates off: refused");
        assert!(faces_only.contains("detect.plates = true") && !faces_only.contains("detect.faces"));
        let none = refusal(&[]).expect("nothing running: refused");
        assert!(none.contains("faces and plates") && none.contains("detect.faces = true and detect.plates = true"));
    }
    use crate::ingest::{IngestConfig, IngestStatus, latest, run_ingest};
    use crate::privacy::mask::{MaskConfig, mask_boxes};
    use crate::shutdown::Shutdown;
    use crate::track::BoxPx;
    use std::sync::Arc;
    use std::time::Duration;

    /// A checkerboard of 8 px squares: high detail everywhere, so masking is visible after H.264.
    fn checker(w: u32, h: u32, t: u64) -> RgbFrame {
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let v = if ((x / 8) + (y / 8)) % 2 == 0 { 230 } else { 20 };
                data.extend([v, v, v]);
            }
        }
        RgbFrame::new(w, h, data, t).unwrap()
    }

    fn contrast(f: &RgbFrame, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in y0..y1 {
            for x in x0 + 1..x1 {
                sum += (f64::from(f.pixel(x, y)[0]) - f64::from(f.pixel(x - 1, y)[0])).abs();
                n += 1.0;
            }
        }
        sum / n
    }

    #[test]
    fn masked_frames_arrive_masked_with_their_capture_time() {
        // Receiver first: our own ingest on a free loopback port.
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let (tx, rx, _) = latest();
        let status = Arc::new(IngestStatus::default());
        let shutdown = Shutdown::new();
        let cfg = IngestConfig {
            source: format!("udp://127.0.0.1:{port}"),
            retry_initial: Duration::from_millis(50),
            retry_max: Duration::from_millis(200),
            stall_timeout: Duration::from_secs(30),
        };
        let (st, sd) = (status.clone(), shutdown.clone());
        let receiver = std::thread::spawn(move || run_ingest(&cfg, tx, st, &sd));

        let mut rs = Restream::new(RestreamConfig {
            destination: format!("127.0.0.1:{port}"),
            bitrate_kbps: 4000,
            fps: 30,
            srtp_key: None,
        });
        let t0 = 1_763_800_000_000_000u64;
        let face = BoxPx::from_xywh(96.0, 64.0, 64.0, 64.0);
        let mut got = None;
        for i in 0..300u64 {
            let mut f = checker(320, 240, t0 + i * 33_333);
            mask_boxes(&mut f, &[face], &MaskConfig::default());
            rs.push(&f).unwrap();
            if let Ok(frame) = rx.recv_timeout(Duration::from_millis(33))
                && i > 5
            {
                got = Some(frame);
                break;
            }
        }
        let frame = got.expect("re-streamed frames arrive");
        shutdown.trigger();
        receiver.join().unwrap().unwrap();
        assert_eq!((frame.width, frame.height), (320, 240));
        // The capture time travelled in the RTP header extension.
        assert!(
            frame.time_usec >= t0 && frame.time_usec < t0 + 300 * 33_333,
            "{}",
            frame.time_usec
        );
        assert!(
            status
                .frames_with_capture_time
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
        // Inside the masked box the checkerboard is gone; outside it survives the codec.
        let inside = contrast(&frame, 100, 68, 156, 124);
        let outside = contrast(&frame, 200, 150, 300, 230);
        assert!(outside > 15.0, "outside contrast {outside}");
        assert!(inside < outside / 4.0, "inside {inside} vs outside {outside}");
    }
}

//! The masked video back to the ground: RGB frames (already masked) into appsrc, H.264
//! (x264, zero latency) and RTP over UDP, each frame's capture time kept in the RFC 6051
//! NTP-64 header extension as on the camera's own stream. A stream error is logged and the
//! re-stream rebuilt on the next frame; it never stops the pipeline.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::frame::RgbFrame;
use crate::ingest::source::RTP_H264_CAPS;
use crate::ingest::time::{CaptureTimes, NTP_UNIX_OFFSET_S, reference_unix_usec};

/// Re-stream settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RestreamConfig {
    /// Ground address, `HOST:PORT`.
    pub destination: String,
    /// Encoder bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// Frames per second announced to the encoder.
    pub fps: u32,
}

/// Why the re-stream could not be built or fed.
#[derive(Debug, thiserror::Error)]
pub enum RestreamError {
    /// Building the GStreamer pipeline failed.
    #[error("privacy re-stream pipeline {description:?}: {message}")]
    Build {
        /// Launch description.
        description: String,
        /// GStreamer's message.
        message: String,
    },
    /// Pushing a frame failed.
    #[error("privacy re-stream: {0}")]
    Flow(String),
}

/// A running re-stream for one frame size.
pub struct Restream {
    config: RestreamConfig,
    pipeline: Option<(gst::Pipeline, gst_app::AppSrc, u32, u32)>,
    first_time_usec: Option<u64>,
    times: CaptureTimes,
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
            pipeline: None,
            first_time_usec: None,
            times: CaptureTimes::default(),
            frames: 0,
        }
    }

    fn description(&self) -> Result<String, RestreamError> {
        let (host, port) = self
            .config
            .destination
            .rsplit_once(':')
            .ok_or_else(|| RestreamError::Build {
                description: String::new(),
                message: format!("destination {:?} is not HOST:PORT", self.config.destination),
            })?;
        Ok(format!(
            "appsrc name=src is-live=true format=time do-timestamp=false ! videoconvert ! video/x-raw,format=I420 ! \
             x264enc tune=zerolatency speed-preset=ultrafast bitrate={} key-int-max={} ! video/x-h264,profile=baseline ! \
             rtph264pay name=pay config-interval=1 pt=96 ! {caps} ! udpsink host={host} port={port} sync=false async=false",
            self.config.bitrate_kbps,
            self.config.fps * 2,
            caps = RTP_H264_CAPS.replace(' ', ""),
        ))
    }

    fn build(&mut self, w: u32, h: u32) -> Result<(), RestreamError> {
        gst::init().map_err(|e| RestreamError::Flow(e.to_string()))?;
        let description = self.description()?;
        let err = |message: String| RestreamError::Build {
            description: description.clone(),
            message,
        };
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| err("not a pipeline".into()))?;
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| err("no appsrc".into()))?;
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "RGB")
            .field("width", w as i32)
            .field("height", h as i32)
            .field("framerate", gst::Fraction::new(self.config.fps as i32, 1))
            .build();
        src.set_caps(Some(&caps));
        // x264enc does not carry reference-timestamp metas from its input to its output, so the
        // capture time is put back on each encoded frame, by PTS, before the payloader writes
        // the NTP-64 header extension from it.
        if let Some(pad) = pipeline.by_name("pay").and_then(|p| p.static_pad("sink")) {
            let times = self.times.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer_mut()
                    && reference_unix_usec(buffer).is_none()
                    && let Some(t) = buffer.pts().and_then(|p| times.lookup(p.nseconds()))
                {
                    let ntp_ns = (t + NTP_UNIX_OFFSET_S * 1_000_000) * 1000;
                    gst::ReferenceTimestampMeta::add(
                        buffer.make_mut(),
                        &gst::Caps::new_empty_simple("timestamp/x-ntp"),
                        gst::ClockTime::from_nseconds(ntp_ns),
                        None,
                    );
                }
                gst::PadProbeReturn::Ok
            });
        }
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| err(e.to_string()))?;
        self.pipeline = Some((pipeline, src, w, h));
        Ok(())
    }

    /// Sends one (already masked) frame.
    pub fn push(&mut self, frame: &RgbFrame) -> Result<(), RestreamError> {
        if let Some((_, _, w, h)) = &self.pipeline
            && (*w, *h) != (frame.width, frame.height)
        {
            self.stop();
        }
        if let Some((p, ..)) = &self.pipeline
            && let Some(bus) = p.bus()
        {
            while let Some(msg) = bus.pop() {
                if let gst::MessageView::Error(e) = msg.view() {
                    let m = e.error().to_string();
                    self.stop();
                    return Err(RestreamError::Flow(m));
                }
            }
        }
        if self.pipeline.is_none() {
            self.build(frame.width, frame.height)?;
        }
        let first = *self.first_time_usec.get_or_insert(frame.time_usec);
        let Some((_, src, ..)) = &self.pipeline else {
            return Ok(());
        };
        let mut buffer = gst::Buffer::from_mut_slice(frame.data.clone());
        {
            let b = buffer.get_mut().expect("fresh buffer");
            // x264enc shifts timestamps below 1000 h up by its "min PTS" (to keep DTS positive);
            // starting there keeps the PTS we remember equal to the one the payloader sees.
            let pts = gst::ClockTime::from_seconds(1000 * 3600)
                + gst::ClockTime::from_useconds(frame.time_usec.saturating_sub(first));
            b.set_pts(pts);
            self.times.insert(pts.nseconds(), frame.time_usec);
        }
        src.push_buffer(buffer)
            .map_err(|e| RestreamError::Flow(format!("{e:?}")))?;
        self.frames += 1;
        Ok(())
    }

    /// Stops the pipeline.
    pub fn stop(&mut self) {
        if let Some((p, src, ..)) = self.pipeline.take() {
            let _ = src.end_of_stream();
            let _ = p.set_state(gst::State::Null);
        }
        self.first_time_usec = None;
    }
}

impl Drop for Restream {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

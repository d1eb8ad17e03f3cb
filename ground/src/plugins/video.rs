//! Video plugin: the drone's re-stream with faces and plates masked on the drone (onboard
//! `privacy`, LAW.md 8.1), received by [`utkik_media::H264RtpReceiver`], shown in an egui window
//! "Video (masked by the drone)" and recorded as received (H.264 in Matroska, no re-encode) in
//! the recording folder, where the station's retention ages it out like the tlogs.
//!
//! [`VideoPlugin`] (in [`super::GroundCorePlugins`], so a headless station records too) pulls
//! the newest frame each update and keeps the figures (frames/s, latency = received - capture
//! time from the RTP NTP-64 extension); [`VideoWindowPlugin`] (in [`super::GroundViewPlugins`])
//! copies that frame into an egui texture and draws the window. Both do nothing without a
//! [`VideoRes`] (no `--video`). On exit the receiver is stopped so the file gets its index.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use utkik_media::{H264RtpReceiver, ReceiverError, ReceiverStats, RtpReceiverConfig, VideoFrame};

use super::GroundSet;
use crate::audit_log::wall_clock_usec;

/// No frame for this long: the view says "stalled".
pub const STALLED_AFTER_S: f64 = 2.0;

/// What `--video` names: where the re-stream arrives (and `--video-key`: its SRTP key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSource {
    /// `IP:PORT` to listen on.
    pub address: String,
    /// The re-stream is SRTP under this key (the drone's `privacy.srtp_key`); `None`: plain RTP.
    pub srtp_key: Option<utkik_media::SrtpKey>,
}

impl std::str::FromStr for VideoSource {
    type Err = String;

    /// `udp:IP:PORT` (e.g. `udp:127.0.0.1:5700`, `udp:0.0.0.0:5700`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("--video {s:?}: expected udp:IP:PORT (e.g. udp:127.0.0.1:5700)");
        let rest = s.strip_prefix("udp:").ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .map_err(|_| bad())?;
        Ok(Self {
            address: rest.into(),
            srtp_key: None,
        })
    }
}

/// `RECORD_DIR/video-<UTC time>.mkv` for a recording started at `now_usec` (colons of the time
/// as dashes, so the name is valid on every file system).
pub fn video_recording_path(record_dir: &Path, now_usec: u64) -> PathBuf {
    let stamp = utkik_shared::utc::format_utc_usec(now_usec).replace(':', "-");
    record_dir.join(format!("video-{stamp}.mkv"))
}

/// The station's video from its command line: `None` without `--video`; with `record`, the
/// recording goes to [`video_recording_path`] in `record_dir` (created if missing), where the
/// station's retention ages it out with the tlogs (every file under the recording folder).
///
/// # Errors
/// The folder cannot be made or the receiver cannot start (names the address or element).
pub fn start_station_video(
    source: Option<&VideoSource>,
    record: bool,
    record_dir: &Path,
    now_usec: u64,
) -> Result<Option<VideoRes>, ReceiverError> {
    let Some(source) = source else { return Ok(None) };
    let path = if record {
        std::fs::create_dir_all(record_dir).map_err(|e| ReceiverError::RecordPath {
            path: record_dir.to_path_buf(),
            message: format!("cannot create the recording folder: {e}"),
        })?;
        // A station restarted within the same second must not take the earlier file's name.
        let first = video_recording_path(record_dir, now_usec);
        let stem = first.file_stem().unwrap_or_default().display().to_string();
        std::iter::once(first.clone())
            .chain((2..).map(|n| first.with_file_name(format!("{stem}-r{n}.mkv"))))
            .find(|p| !p.exists())
    } else {
        None
    };
    VideoRes::start(source, path).map(Some)
}

/// Figures of the view, updated from the receiver each frame.
#[derive(Default)]
pub struct VideoView {
    /// Size of the newest frame, pixels.
    pub size_px: Option<(u32, u32)>,
    /// Received - capture time of the newest frame, ms (`None` without a capture time).
    pub latency_ms: Option<f64>,
    /// When the newest frame arrived, Unix µs.
    pub last_frame_unix_usec: Option<u64>,
    /// Receiver counters.
    pub stats: ReceiverStats,
    /// Arrival times (Unix µs) of the frames of the last second, for frames/s.
    recent: VecDeque<u64>,
    /// Newest frame not yet in the texture.
    pending: Option<VideoFrame>,
    texture: Option<egui::TextureHandle>,
}

impl VideoView {
    /// Takes in a frame that arrived at its `received_unix_usec`.
    pub fn push(&mut self, frame: VideoFrame) {
        let t = frame.received_unix_usec;
        self.size_px = Some((frame.width, frame.height));
        self.latency_ms = frame.latency_usec().map(|l| l as f64 / 1000.0);
        self.last_frame_unix_usec = Some(t);
        self.recent.push_back(t);
        self.pending = Some(frame);
        self.forget_before(t);
    }

    fn forget_before(&mut self, now_usec: u64) {
        while self.recent.front().is_some_and(|&f| f + 1_000_000 < now_usec) {
            self.recent.pop_front();
        }
    }

    /// Frames received in the second before `now_usec`.
    pub fn fps(&mut self, now_usec: u64) -> usize {
        self.forget_before(now_usec);
        self.recent.len()
    }

    /// One line for the window and the console: "no video", "stalled N s" or the figures.
    pub fn state_text(&mut self, now_usec: u64) -> String {
        let Some(last) = self.last_frame_unix_usec else {
            return match &self.stats.last_error {
                Some(e) => format!("no video ({e})"),
                None => "no video".into(),
            };
        };
        let silent_s = now_usec.saturating_sub(last) as f64 / 1e6;
        if silent_s >= STALLED_AFTER_S {
            return format!("stalled {silent_s:.0} s");
        }
        let (w, h) = self.size_px.unwrap_or_default();
        let latency = self.latency_ms.map_or_else(
            || "latency ? (no capture time)".into(),
            |l| format!("latency {l:.0} ms"),
        );
        format!("{} frames/s, {latency}, {w}x{h}", self.fps(now_usec))
    }
}

/// The running receiver and its view; inserted by the station when `--video` is given.
#[derive(Resource)]
pub struct VideoRes {
    receiver: Option<H264RtpReceiver>,
    /// Where it listens.
    pub address: String,
    /// The recording file being written first (later segments after a stall: `-2`, `-3`...).
    pub recording: Option<PathBuf>,
    /// Figures.
    pub view: VideoView,
}

impl std::fmt::Debug for VideoRes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoRes")
            .field("address", &self.address)
            .field("recording", &self.recording)
            .field("stats", &self.view.stats)
            .finish_non_exhaustive()
    }
}

impl VideoRes {
    /// Starts receiving on `source`, recording to `record` when given.
    ///
    /// # Errors
    /// The receiver could not start (names the address, element or file).
    pub fn start(source: &VideoSource, record: Option<PathBuf>) -> Result<Self, ReceiverError> {
        let mut config = RtpReceiverConfig::new(source.address.clone(), record.clone());
        config.srtp_key = source.srtp_key.clone();
        let receiver = H264RtpReceiver::start(config)?;
        Ok(Self {
            receiver: Some(receiver),
            address: source.address.clone(),
            recording: record,
            view: VideoView::default(),
        })
    }

    /// Stops the receiver and finishes the recording (idempotent).
    ///
    /// # Errors
    /// The recording could not be finished.
    pub fn stop(&mut self) -> Result<Option<ReceiverStats>, ReceiverError> {
        match self.receiver.take() {
            Some(r) => r.stop().map(Some),
            None => Ok(None),
        }
    }
}

/// Pulls frames (headless too: the recording runs in the receiver) and stops the receiver on
/// exit.
pub struct VideoPlugin;

impl Plugin for VideoPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            pull_frames
                .in_set(GroundSet::Ingest)
                .run_if(resource_exists::<VideoRes>),
        )
        .add_systems(Last, stop_on_exit.run_if(resource_exists::<VideoRes>));
    }
}

fn pull_frames(mut video: ResMut<VideoRes>) {
    let v = &mut *video;
    let Some(r) = &v.receiver else { return };
    if let Some(frame) = r.latest() {
        v.view.push(frame);
    }
    v.view.stats = r.stats();
}

fn stop_on_exit(mut exit: MessageReader<AppExit>, mut video: ResMut<VideoRes>) {
    if exit.read().next().is_none() {
        return;
    }
    match video.stop() {
        Ok(Some(s)) => info!(
            "video: stopped; {} frames, {} bytes, {} stalls; recordings {:?}",
            s.frames, s.bytes, s.stalls, s.recordings
        ),
        Ok(None) => {}
        Err(e) => warn!("video: {e}"),
    }
}

/// The window "Video (masked by the drone)" (needs `EguiPlugin`).
pub struct VideoWindowPlugin;

impl Plugin for VideoWindowPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(EguiPrimaryContextPass, video_window.run_if(resource_exists::<VideoRes>));
    }
}

fn video_window(mut contexts: EguiContexts, mut video: ResMut<VideoRes>) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let v = &mut *video;
    if let Some(f) = v.view.pending.take() {
        let image = egui::ColorImage::from_rgba_unmultiplied([f.width as usize, f.height as usize], &f.rgba);
        match &mut v.view.texture {
            Some(t) => t.set(image, egui::TextureOptions::LINEAR),
            None => v.view.texture = Some(ctx.load_texture("masked-video", image, egui::TextureOptions::LINEAR)),
        }
    }
    let now = wall_clock_usec();
    let state = v.view.state_text(now);
    let live = v.view.last_frame_unix_usec.is_some() && !state.starts_with("stalled");
    egui::Window::new("Video (masked by the drone)")
        .default_size([480.0, 320.0])
        .resizable(true)
        .show(&ctx, |ui| {
            ui.small("Faces and number plates are masked on the drone before the video leaves it; the station never receives them unmasked (LAW.md 8.1).");
            ui.horizontal(|ui| {
                ui.colored_label(
                    if live {
                        egui::Color32::LIGHT_GREEN
                    } else {
                        egui::Color32::from_rgb(230, 150, 40)
                    },
                    &state,
                );
                ui.small(format!("udp {}", v.address));
            });
            match &v.view.stats.recordings.last() {
                Some(p) => ui.small(format!("recording {}", p.display())),
                None if v.recording.is_some() => ui.small("recording starts with the first frame"),
                None => ui.small("not recorded"),
            };
            if let (Some(t), Some((w, h))) = (&v.view.texture, v.view.size_px) {
                let avail = ui.available_size();
                let scale = (avail.x / w as f32).min(avail.y / h as f32).max(0.05);
                ui.image(egui::load::SizedTexture::new(t.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(received: u64, capture: Option<u64>) -> VideoFrame {
        VideoFrame {
            width: 4,
            height: 2,
            rgba: vec![0; 32],
            capture_unix_usec: capture,
            received_unix_usec: received,
        }
    }

    #[test]
    fn video_source_takes_udp_ip_port_and_names_what_is_wrong() {
        let s: VideoSource = "udp:127.0.0.1:5700".parse().unwrap();
        assert_eq!(s.address, "127.0.0.1:5700");
        assert_eq!("udp:[::1]:5700".parse::<VideoSource>().unwrap().address, "[::1]:5700");
        for bad in [
            "127.0.0.1:5700",
            "udp:host.example:5700",
            "udp:127.0.0.1",
            "tcp:1.2.3.4:5",
        ] {
            let e = bad.parse::<VideoSource>().unwrap_err();
            assert!(e.contains(bad) && e.contains("udp:IP:PORT"), "{e}");
        }
    }

    #[test]
    fn video_recording_is_named_by_its_utc_start_in_the_record_dir() {
        let p = video_recording_path(Path::new("/rec"), 1_796_652_000_000_000);
        assert_eq!(p, Path::new("/rec/video-2026-12-07T14-00-00Z.mkv"));
    }

    /// The station's retention (`AgedDir` "recording" over RECORD_DIR, as in `main.rs`) erases
    /// a masked-video recording exactly like a tlog beside it: kept inside the period, erased
    /// and logged after it.
    #[test]
    fn video_recordings_age_out_with_the_tlogs_under_the_station_retention() {
        use utkik_shared::audit::RetentionPolicy;
        use utkik_shared::audit::erase::AgedDir;
        let dir = tempfile::tempdir().unwrap();
        let record_dir = dir.path().join("recordings");
        std::fs::create_dir_all(&record_dir).unwrap();
        let now = wall_clock_usec();
        let video = video_recording_path(&record_dir, now);
        let tlog = record_dir.join("utkik-000.tlog");
        std::fs::write(&video, b"mkv").unwrap();
        std::fs::write(&tlog, b"tlog").unwrap();
        let mut audit = crate::audit_log::GroundAudit::open(&record_dir.join("audit"), None).unwrap();
        let days = utkik_shared::audit::MIN_IDENTIFICATION_RETENTION_DAYS;
        let policy = RetentionPolicy::new(days, days).unwrap();
        let dirs = [AgedDir {
            what: "recording",
            dir: record_dir.clone(),
        }];
        let day_usec = 86_400_000_000u64;
        let run = audit
            .apply_retention(&policy, &dirs, now + u64::from(days - 1) * day_usec)
            .unwrap();
        assert!(run.files.is_empty() && video.exists() && tlog.exists(), "{run:?}");
        let run = audit
            .apply_retention(&policy, &dirs, now + u64::from(days + 1) * day_usec)
            .unwrap();
        let mut erased = run.files.clone();
        erased.sort();
        let mut want = vec![tlog.clone(), video.clone()];
        want.sort();
        assert_eq!(erased, want, "{run:?}");
        assert!(!video.exists() && !tlog.exists());
        let log = std::fs::read_to_string(audit.path()).unwrap();
        assert!(
            log.contains("recording") && log.contains(".mkv"),
            "erasure logged: {log}"
        );
    }

    #[test]
    fn video_station_without_video_starts_nothing_and_a_bad_port_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(start_station_video(None, true, dir.path(), 1).unwrap().is_none());
        let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let source: VideoSource = format!("udp:{}", held.local_addr().unwrap()).parse().unwrap();
        let e = start_station_video(Some(&source), true, dir.path(), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&source.address), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file left behind");
        // Two stations started in the same second (a quick restart) never share a file.
        let source = |p: u16| format!("udp:127.0.0.1:{p}").parse::<VideoSource>().unwrap();
        let port = || {
            std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let a = start_station_video(Some(&source(port())), true, dir.path(), 1_796_652_000_000_000)
            .unwrap()
            .unwrap();
        let b = start_station_video(Some(&source(port())), true, dir.path(), 1_796_652_000_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(
            a.recording.as_deref(),
            Some(dir.path().join("video-2026-12-07T14-00-00Z.mkv").as_path())
        );
        assert_eq!(
            b.recording.as_deref(),
            Some(dir.path().join("video-2026-12-07T14-00-00Z-r2.mkv").as_path())
        );
    }

    /// Headless (MinimalPlugins, no window): the plugin pulls the drone's frames into the view
    /// and, on AppExit, stops the receiver so the recording is finished and kept.
    #[test]
    fn video_plugin_headless_pulls_frames_and_finishes_the_recording_on_exit() {
        use utkik_media::{H264RtpSender, RtpSenderConfig};
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let source: VideoSource = format!("udp:127.0.0.1:{port}").parse().unwrap();
        let video = start_station_video(Some(&source), true, dir.path(), wall_clock_usec())
            .unwrap()
            .unwrap();
        let file = video.recording.clone().unwrap();
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(VideoPlugin)
            .insert_resource(video);
        let mut tx = H264RtpSender::start(RtpSenderConfig {
            destination: format!("127.0.0.1:{port}"),
            width_px: 96,
            height_px: 64,
            fps: 30.0,
            bitrate_kbps: 300,
            key_int_max_frames: 10,
            block_when_behind: true,
            epoch_unix_usec: None,
            srtp_key: None,
        })
        .unwrap();
        for i in 0..60u32 {
            tx.push(&vec![(i * 4) as u8; 96 * 64 * 3], wall_clock_usec()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(33));
            app.update();
        }
        tx.finish().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        app.update();
        {
            let mut v = app.world_mut().resource_mut::<VideoRes>();
            assert_eq!(v.view.size_px, Some((96, 64)));
            assert!(v.view.stats.frames >= 30, "{:?}", v.view.stats);
            let l = v.view.latency_ms.expect("capture times travel");
            assert!((0.0..1000.0).contains(&l), "latency {l} ms");
            let text = v.view.state_text(wall_clock_usec());
            assert!(text.contains("96x64"), "{text}");
        }
        app.world_mut().write_message(AppExit::Success);
        app.update();
        let v = app.world().resource::<VideoRes>();
        assert!(v.receiver.is_none(), "stopped on exit");
        let len = std::fs::metadata(&file).unwrap().len();
        // 60 flat 96x64 frames are ~8 KB of H.264; a header-only Matroska file is a few hundred bytes.
        assert!(len > 2_000, "{} is {len} bytes", file.display());
    }

    #[test]
    fn video_view_says_no_video_stalled_or_the_figures() {
        let mut v = VideoView::default();
        let t0 = 1_796_652_000_000_000u64;
        assert_eq!(v.state_text(t0), "no video");
        v.stats.last_error = Some("udpsrc: port in use".into());
        assert_eq!(v.state_text(t0), "no video (udpsrc: port in use)");
        // 30 frames in one second, captured 80 ms before they arrived.
        for i in 0..30 {
            let r = t0 + i * 33_333;
            v.push(frame(r, Some(r - 80_000)));
        }
        let now = t0 + 30 * 33_333;
        assert_eq!(v.state_text(now), "30 frames/s, latency 80 ms, 4x2");
        assert!(v.pending.is_some(), "the newest frame waits for the texture");
        // 5 s without a frame.
        assert_eq!(v.state_text(now + 5_000_000), "stalled 5 s");
        assert_eq!(v.fps(now + 5_000_000), 0);
        // A sender without capture times.
        v.push(frame(now + 6_000_000, None));
        assert_eq!(
            v.state_text(now + 6_000_000),
            "1 frames/s, latency ? (no capture time), 4x2"
        );
    }
}

//! Rendering camera frames of a scenario: [`FrameRenderer`] turns a frame
//! number, its sim time and the camera pose into RGB pixels plus ground
//! truth; [`FrameSource`] drives a [`Simulation`] and yields the frames in
//! order, in process (tests, benchmarks, the detector tests of other crates).
//!
//! A frame depends only on the scenario, the video settings, its number, its
//! sim time and the pose: the same seed gives byte-identical frames, in a
//! [`FrameSource`] and in `utkik-sim run` alike.

use std::sync::Arc;

use utkik_shared::camera::{Camera, CameraPose, Intrinsics};

use super::{VideoError, VideoSettings};
use crate::camera::{VideoSize, camera_pose, intrinsics};
use crate::render::{Assets, RenderOptions, TruthBox, render};
use crate::scenario::Scenario;
use crate::simulation::Simulation;
use crate::truth::TruthFrame;
use crate::vehicle::SimRng;
use crate::world::World;

/// Sim time of frame `index` at `fps`, microseconds (rounded to the nearest µs).
pub fn frame_time_usec(index: u64, fps: f64) -> u64 {
    (index as f64 * 1e6 / fps).round() as u64
}

/// Noise seed of frame `index` for a base seed: every frame gets its own
/// noise (a fixed pattern would look like dirt on the lens) that is still a
/// pure function of the seed.
pub fn frame_seed(seed: u64, index: u64) -> u64 {
    SimRng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

/// One rendered camera frame.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// Frame number since the start (0-based).
    pub index: u64,
    /// Sim time of capture, microseconds since the scenario start.
    pub sim_time_usec: u64,
    /// Capture time, microseconds since the Unix epoch (the telemetry's base).
    pub capture_unix_usec: u64,
    /// Image size.
    pub size: VideoSize,
    /// RGB8 pixels, row-major, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Every visible face, plate, person and vehicle.
    pub truth: Vec<TruthBox>,
    /// The pose it was rendered from.
    pub camera: CameraPose,
}

impl VideoFrame {
    /// The frame's ground-truth record.
    pub fn truth_frame(&self) -> TruthFrame {
        TruthFrame {
            frame: self.index,
            time_usec: self.capture_unix_usec,
            sim_time_usec: self.sim_time_usec,
            width_px: self.size.width_px,
            height_px: self.size.height_px,
            camera: self.camera,
            objects: self.truth.clone(),
        }
    }
}

/// Renders frames of one scenario with fixed settings.
#[derive(Debug, Clone)]
pub struct FrameRenderer {
    world: World,
    intrinsics: Intrinsics,
    settings: VideoSettings,
}

impl FrameRenderer {
    /// A renderer for `scenario` (its field of view) at `settings`.
    pub fn new(scenario: &Scenario, assets: Arc<Assets>, settings: VideoSettings) -> Result<Self, VideoError> {
        if !(settings.fps.is_finite() && settings.fps > 0.0) {
            return Err(VideoError::Fps(settings.fps));
        }
        let intrinsics = intrinsics(&scenario.camera, settings.size).map_err(|source| VideoError::Camera {
            size: settings.size,
            source,
        })?;
        Ok(Self {
            world: World::new(scenario, assets),
            intrinsics,
            settings,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &VideoSettings {
        &self.settings
    }

    /// Frame `index` captured at `sim_time_usec` from `pose`; `epoch_unix_usec`
    /// is the Unix time of sim time zero.
    pub fn render(&self, index: u64, sim_time_usec: u64, epoch_unix_usec: u64, pose: CameraPose) -> VideoFrame {
        let scene = self.world.scene_at(sim_time_usec);
        let camera = Camera::new(self.intrinsics, pose);
        let options = RenderOptions {
            seed: frame_seed(self.settings.render.seed, index),
            ..self.settings.render
        };
        let f = render(&scene, &camera, &options);
        VideoFrame {
            index,
            sim_time_usec,
            capture_unix_usec: epoch_unix_usec + sim_time_usec,
            size: self.settings.size,
            rgb: f.rgb,
            truth: f.truth,
            camera: pose,
        }
    }
}

/// The camera frames of a scenario run without telemetry, in order, as fast
/// as they render. The vehicle flies its route as in `utkik-sim run`
/// (no MAVLink commands), so frame `i` equals frame `i` of an undisturbed run
/// with the same epoch.
#[derive(Debug)]
pub struct FrameSource {
    sim: Simulation,
    renderer: FrameRenderer,
    next_index: u64,
    end_usec: u64,
}

impl FrameSource {
    /// Frames of `scenario` up to `duration_s` of sim time (default: the
    /// scenario's), capture times counted from `epoch_unix_usec`.
    pub fn new(
        scenario: &Scenario,
        assets: Arc<Assets>,
        settings: VideoSettings,
        epoch_unix_usec: u64,
        duration_s: Option<f64>,
    ) -> Result<Self, VideoError> {
        let renderer = FrameRenderer::new(scenario, assets, settings)?;
        let end_usec = (duration_s.unwrap_or(scenario.duration_s).max(0.0) * 1e6) as u64;
        Ok(Self {
            sim: Simulation::new(scenario.clone(), epoch_unix_usec),
            renderer,
            next_index: 0,
            end_usec,
        })
    }

    /// The renderer (settings, for instance).
    pub fn renderer(&self) -> &FrameRenderer {
        &self.renderer
    }
}

impl Iterator for FrameSource {
    type Item = VideoFrame;

    fn next(&mut self) -> Option<VideoFrame> {
        let index = self.next_index;
        let t = frame_time_usec(index, self.renderer.settings.fps);
        if t > self.end_usec {
            return None;
        }
        self.next_index += 1;
        self.sim.step_to(t);
        let pose = camera_pose(self.sim.frame(), &self.sim.vehicle_at(t));
        Some(self.renderer.render(index, t, self.sim.epoch_unix_usec(), pose))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::TruthClass;
    use crate::scenario::scenarios_dir;
    use sha2::{Digest, Sha256};

    fn settings(seed: u64) -> VideoSettings {
        VideoSettings {
            size: VideoSize {
                width_px: 640,
                height_px: 360,
            },
            fps: 10.0,
            render: RenderOptions {
                noise_amplitude: 4,
                motion_blur_px: None,
                seed,
            },
        }
    }

    fn source(name: &str, seed: u64, duration_s: f64) -> FrameSource {
        let s = Scenario::load(&scenarios_dir().join(name)).unwrap();
        let assets = Arc::new(Assets::load_default().unwrap());
        FrameSource::new(&s, assets, settings(seed), 1_700_000_000_000_000, Some(duration_s)).unwrap()
    }

    fn digests(frames: &[VideoFrame]) -> Vec<String> {
        frames.iter().map(|f| hex::encode(Sha256::digest(&f.rgb))).collect()
    }

    #[test]
    fn same_seed_gives_byte_identical_frames_and_another_seed_does_not() {
        let a: Vec<VideoFrame> = source("anpr-road.toml", 7, 1.0).collect();
        let b: Vec<VideoFrame> = source("anpr-road.toml", 7, 1.0).collect();
        let c: Vec<VideoFrame> = source("anpr-road.toml", 8, 1.0).collect();
        assert_eq!(a.len(), 11, "frames at 0, 0.1 .. 1.0 s");
        assert_eq!(digests(&a), digests(&b));
        assert_eq!(
            a.iter().map(|f| &f.truth).collect::<Vec<_>>(),
            b.iter().map(|f| &f.truth).collect::<Vec<_>>()
        );
        // Another seed changes the noise (every frame) but not what is seen.
        assert!(digests(&a).iter().zip(digests(&c)).all(|(x, y)| *x != y));
        assert_eq!(a[5].truth, c[5].truth);
        // Frames differ from each other: cars move, noise changes.
        assert_ne!(digests(&a)[0], digests(&a)[1]);
    }

    #[test]
    fn frames_are_timed_in_the_telemetry_base_and_show_the_scenario() {
        let frames: Vec<VideoFrame> = source("anpr-road.toml", 1, 2.0).collect();
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.index, i as u64);
            assert_eq!(f.sim_time_usec, i as u64 * 100_000);
            assert_eq!(f.capture_unix_usec, 1_700_000_000_000_000 + f.sim_time_usec);
            assert_eq!(f.rgb.len(), 640 * 360 * 3);
            let t = f.truth_frame();
            assert_eq!((t.width_px, t.height_px, t.time_usec), (640, 360, f.capture_unix_usec));
        }
        // The ANPR camera looks at the road: vehicles are in view, with their plates as labels.
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let plates: Vec<String> = s
            .vehicles
            .iter()
            .map(|v| crate::render::normalize_plate(&v.plate))
            .collect();
        let seen: Vec<&TruthBox> = frames
            .iter()
            .flat_map(|f| &f.truth)
            .filter(|t| t.class == TruthClass::Vehicle)
            .collect();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|t| plates.contains(&t.label)), "{seen:?}");
    }
}

//! The inference stage, one frame at a time: pose -> detectors -> per-class tracking and
//! georeferencing -> plate votes and hit checks -> biometric gate, with per-stage times.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use utkik_shared::camera::PoseUncertainty;
use utkik_shared::dialect::MavMessage;

use super::georef::{FrameGeoref, GeorefConfig};
use super::plates::PlateVotes;
use super::{Detected, FrameContext, ModelIds, ObjectClass, ObjectDetector, OutItem, hits, messages};
use crate::config::Config;
use crate::frame::RgbFrame;
use crate::out::{Clock, PipelineCounters, SystemClock};
use crate::shutdown::Shutdown;
use crate::telemetry::{FramePose, PoseBuffer};
use crate::track::{BoxPx, Detection, Tracker, TrackerConfig};

/// Pairs each alert with its evidence transfer (none when the crop could not be made).
fn alerts_with_evidence(
    alerts: Vec<(u32, MavMessage)>,
    mut evidence: Vec<(u32, Vec<MavMessage>)>,
) -> Vec<(u32, MavMessage, Vec<MavMessage>)> {
    alerts
        .into_iter()
        .map(|(id, m)| {
            let follow = evidence
                .iter()
                .position(|(e, _)| *e == id)
                .map(|i| evidence.swap_remove(i).1)
                .unwrap_or_default();
            (id, m, follow)
        })
        .collect()
}

fn send_gate_output(o: crate::gate::GateOutput, out: &Sender<OutItem>) {
    for id in o.cancelled_alerts {
        let _ = out.send(OutItem::Cancel(id));
    }
    for (id, m, follow) in alerts_with_evidence(o.alerts, o.evidence) {
        let _ = out.send(OutItem::Alert(id, m, follow));
    }
    for m in o.messages {
        let _ = out.send(OutItem::Message(m));
    }
}

/// Time spent in each stage of one frame, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Pose lookup and camera placement.
    pub pose_usec: u64,
    /// Face detector.
    pub faces_usec: u64,
    /// Plate detector and reader (0 on frames it skips).
    pub plates_usec: u64,
    /// All detectors, wall time (less than faces + plates when they run side by side).
    pub detect_usec: u64,
    /// Tracking, georeferencing, votes and message building.
    pub track_usec: u64,
}

impl StageTimes {
    /// The frame's wall time through the stages.
    pub fn total_usec(&self) -> u64 {
        self.pose_usec + self.detect_usec + self.track_usec
    }
}

/// One detection of a frame and the track it went to.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameDetection {
    /// Its class.
    pub class: ObjectClass,
    /// The confirmed track it was associated with (`None`: tentative or unmatched).
    pub track_id: Option<u32>,
    /// Box, score, plate text or face landmarks.
    pub detected: Detected,
}

/// What one frame produced.
#[derive(Debug, Clone, Default)]
pub struct FrameOutput {
    /// Messages for the ground.
    pub messages: Vec<MavMessage>,
    /// Every box to mask in the re-stream.
    pub boxes: Vec<BoxPx>,
    /// Every detection of this frame (faces with their landmarks, for the gate's alignment).
    pub detections: Vec<FrameDetection>,
    /// Possible matches from the gate: (alert id, UTKIK_BIOMETRIC_MATCH, its evidence transfer),
    /// resent until acknowledged.
    pub alerts: Vec<(u32, MavMessage, Vec<MavMessage>)>,
    /// Stage timings.
    pub times: StageTimes,
}

/// The inference stage: detectors, per-class trackers, georeferencing, plate votes. Public so
/// the benchmark can time it on in-process frames.
pub struct Inference {
    detectors: Vec<Box<dyn ObjectDetector>>,
    trackers: HashMap<ObjectClass, Tracker>,
    /// Votes of the plate tracks, by plate track id (ids are per class).
    votes: HashMap<u32, PlateVotes>,
    poses: Arc<Mutex<PoseBuffer>>,
    georef: GeorefConfig,
    face_height_m: f64,
    plate_height_m: f64,
    counters: Arc<PipelineCounters>,
    gate: Option<crate::gate::Gate>,
    /// ANPR hit-list check of voted reads (no list: every read is a no-hit).
    plate_hits: hits::PlateHits,
    /// Detectors run side by side on their own threads (`detect.threads` > 1).
    parallel: bool,
}

impl Inference {
    /// An inference stage for `config` with `detectors`, reading poses from `poses`.
    pub fn new(
        config: &Config,
        detectors: Vec<Box<dyn ObjectDetector>>,
        poses: Arc<Mutex<PoseBuffer>>,
        counters: Arc<PipelineCounters>,
    ) -> Self {
        let t = &config.track;
        let tc = TrackerConfig {
            high_score: t.high_score,
            low_score: t.low_score,
            new_track_score: t.new_track_score,
            match_iou: t.match_iou,
            low_match_iou: t.low_match_iou,
            min_hits: t.min_hits,
            max_age_usec: t.max_age_ms * 1000,
            ..TrackerConfig::default()
        };
        let mut ids = ModelIds::default();
        for d in &detectors {
            let m = d.model_ids();
            ids.face_detector |= m.face_detector;
            ids.plate_detector |= m.plate_detector;
            ids.plate_reader |= m.plate_reader;
        }
        counters.face_detector_model.store(ids.face_detector, Ordering::Relaxed);
        counters
            .plate_detector_model
            .store(ids.plate_detector, Ordering::Relaxed);
        counters.plate_reader_model.store(ids.plate_reader, Ordering::Relaxed);
        let trackers = detectors.iter().map(|d| (d.class(), Tracker::new(tc))).collect();
        Self {
            detectors,
            trackers,
            votes: HashMap::new(),
            poses,
            georef: GeorefConfig {
                hfov_rad: config.camera.hfov_deg.to_radians(),
                uncertainty: PoseUncertainty {
                    attitude_sigma_rad: config.camera.attitude_sigma_deg.to_radians(),
                    altitude_sigma_m: config.camera.altitude_sigma_m,
                    position_sigma_m: config.camera.position_sigma_m,
                },
            },
            face_height_m: config.camera.face_height_m,
            plate_height_m: config.camera.plate_height_m,
            counters,
            gate: None,
            plate_hits: hits::PlateHits::new(None).with_non_hit_text(config.detect.send_non_hit_text),
            parallel: config.detect.threads > 1,
        }
    }

    /// Numbers this run's alerts (plate hits and, with a gate, possible matches) in boot epoch
    /// `epoch` (`out::boot_epoch`). Call after [`Self::set_hit_list`] and [`Self::set_gate`].
    pub fn set_boot_epoch(&mut self, epoch: u32) {
        self.plate_hits = std::mem::take(&mut self.plate_hits).with_boot_epoch(epoch);
        if let Some(gate) = &mut self.gate {
            gate.set_boot_epoch(epoch);
        }
    }

    /// Checks voted plate reads against `hit_list` (LAW.md section 7).
    pub fn set_hit_list(&mut self, hit_list: utkik_shared::hitlist::HitList) {
        self.plate_hits.set_list(Some(hit_list));
    }

    /// Seals every plate image to the ground station's public key (`gate.ground_seal_public`;
    /// `system_id` is this drone's, bound into each sealing).
    pub fn seal_plate_images(&mut self, pk: Option<utkik_shared::seal::SealPublicKey>, system_id: u8) {
        self.plate_hits = std::mem::take(&mut self.plate_hits).with_seal(pk, system_id);
    }

    /// Puts the biometric gate behind the face detector: faces go to it with their ground
    /// points; it alone decides whether a template is computed.
    pub fn set_gate(&mut self, gate: crate::gate::Gate) {
        self.gate = Some(gate);
    }

    /// Each detector's internal stage times of the last frame (the benchmark prints them).
    pub fn detector_stage_times(&self) -> Vec<(ObjectClass, Vec<(&'static str, u64)>)> {
        self.detectors
            .iter()
            .map(|d| (d.class(), d.last_stage_times()))
            .collect()
    }

    /// The gate, if any (tests read its counters).
    pub fn gate(&self) -> Option<&crate::gate::Gate> {
        self.gate.as_ref()
    }

    /// Gate housekeeping on the drone's clock: signed frames from the ground (commands, and all
    /// of them for the link-loss stop), window and deadline, UTKIK_AUTHZ_STATUS at 1 Hz (also
    /// while no frame arrives).
    fn gate_step(
        &mut self,
        commands: &crossbeam_channel::Receiver<Vec<u8>>,
        out: &Sender<OutItem>,
        next_status_usec: &mut u64,
    ) {
        let Some(gate) = &mut self.gate else { return };
        let now = SystemClock.now_usec();
        let mut outputs = Vec::new();
        while let Ok(frame) = commands.try_recv() {
            outputs.push(gate.handle_ground_frame(&frame, now));
        }
        outputs.push(gate.tick(now));
        if now >= *next_status_usec {
            *next_status_usec = now + 1_000_000;
            let _ = out.send(OutItem::Message(gate.status_message(now, None)));
        }
        for o in outputs {
            send_gate_output(o, out);
        }
    }

    pub(super) fn run(
        mut self,
        frames: crossbeam_channel::Receiver<RgbFrame>,
        out: Sender<OutItem>,
        commands: crossbeam_channel::Receiver<Vec<u8>>,
        restream: Option<crate::ingest::LatestSender<(RgbFrame, Vec<BoxPx>)>>,
        shutdown: &Shutdown,
    ) {
        let mut index = 0u64;
        let mut next_status_usec = 0u64;
        while !shutdown.is_triggered() {
            self.gate_step(&commands, &out, &mut next_status_usec);
            let frame = match frames.recv_timeout(Duration::from_millis(100)) {
                Ok(f) => f,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let output = self.process(&frame, index);
            index += 1;
            for m in output.messages {
                let _ = out.send(OutItem::Message(m));
            }
            for (id, m, follow) in output.alerts {
                let _ = out.send(OutItem::Alert(id, m, follow));
            }
            if let Some(tx) = &restream {
                tx.send((frame, output.boxes));
            }
        }
        if let Some(gate) = &mut self.gate {
            gate.shutdown(SystemClock.now_usec());
        }
    }

    /// One frame: the messages to send, every box to mask, and the stage times.
    pub fn process(&mut self, frame: &RgbFrame, index: u64) -> FrameOutput {
        let t0 = std::time::Instant::now();
        let pose = self
            .poses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pose_at(frame.time_usec);
        let pose = match pose {
            Ok(p) => Some(p),
            Err(why) => {
                self.counters.frames_pose_stale.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(time_usec = frame.time_usec, "pose stale: {why}");
                None
            }
        };
        let lookup_usec = t0.elapsed().as_micros() as u64;
        let mut out = self.process_at(frame, index, pose.as_ref());
        out.times.pose_usec += lookup_usec;
        out
    }

    /// [`Inference::process`] with the camera pose given (`None`: stale) instead of looked up
    /// in the pose buffer: the benchmark gives each simulator frame the pose it was rendered
    /// from.
    pub fn process_at(&mut self, frame: &RgbFrame, index: u64, pose: Option<&FramePose>) -> FrameOutput {
        let mut times = StageTimes::default();
        let t0 = std::time::Instant::now();
        let georef = pose.and_then(|p| FrameGeoref::new(&self.georef, frame.width, frame.height, p));
        let stale = georef.is_none();
        times.pose_usec = t0.elapsed().as_micros() as u64;
        let mut messages = Vec::new();
        let mut boxes = Vec::new();
        let mut detections = Vec::new();
        let mut plate_alerts: Vec<(u32, MavMessage, Vec<MavMessage>)> = Vec::new();
        // Each detector learns the camera and its class's live tracks, then all run: side by
        // side on their own threads when there are several and the config allows it.
        for d in &mut self.detectors {
            let tracks = self
                .trackers
                .get(&d.class())
                .map(|t| t.boxes_at(frame.time_usec))
                .unwrap_or_default();
            d.prepare(&FrameContext {
                index,
                width: frame.width,
                height: frame.height,
                georef: georef.as_ref(),
                tracks: &tracks,
            });
        }
        let td = std::time::Instant::now();
        let run = |d: &mut Box<dyn ObjectDetector>| {
            let t = std::time::Instant::now();
            let r = d.detect(frame, index);
            (r, t.elapsed().as_micros() as u64)
        };
        let results: Vec<_> = if self.parallel && self.detectors.len() > 1 {
            std::thread::scope(|s| {
                let (first, rest) = self.detectors.split_at_mut(1);
                let handles: Vec<_> = rest.iter_mut().map(|d| s.spawn(move || run(d))).collect();
                let mut all = vec![run(&mut first[0])];
                all.extend(handles.into_iter().map(|h| h.join().expect("detector thread panicked")));
                all
            })
        } else {
            self.detectors.iter_mut().map(run).collect()
        };
        times.detect_usec = td.elapsed().as_micros() as u64;
        let classes: Vec<ObjectClass> = self.detectors.iter().map(|d| d.class()).collect();
        for (class, (result, dt)) in classes.into_iter().zip(results) {
            match class {
                ObjectClass::Face => times.faces_usec += dt,
                ObjectClass::Plate => times.plates_usec += dt,
            }
            let tt = std::time::Instant::now();
            let found = match result {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(?class, "detector failed on frame {}: {e}", frame.time_usec);
                    continue;
                }
            };
            boxes.extend(found.iter().map(|f| f.bbox));
            let dets: Vec<Detection> = found
                .iter()
                .map(|f| Detection {
                    bbox: f.bbox,
                    score: f.score,
                    // A read plate's text is its identity for the tracker.
                    key: f.text.as_ref().map(|(t, _)| t.clone()),
                })
                .collect();
            let height = if class == ObjectClass::Face {
                self.face_height_m
            } else {
                self.plate_height_m
            };
            let locate = |px: [f64; 2]| georef.as_ref().and_then(|g| g.locate(px, height));
            let tracker = self.trackers.get_mut(&class).expect("one tracker per detector class");
            let reports = tracker.update(frame.time_usec, &dets, &locate);
            let mut track_of = vec![None; found.len()];
            for r in &reports {
                if let Some(i) = r.detection.filter(|&i| i < found.len()) {
                    track_of[i] = Some(r.id);
                }
            }
            for r in &reports {
                messages.push(messages::track_message(
                    class,
                    r,
                    frame.time_usec,
                    frame.width,
                    frame.height,
                    stale,
                ));
                if class != ObjectClass::Plate {
                    continue;
                }
                // The track carries its plate between plate frames: each read adds a vote, and
                // the voted text is reported when it first wins (or when another takes over).
                let read = r.detection.and_then(|i| found.get(i));
                if let Some((text, conf)) = read.and_then(|f| f.text.clone()) {
                    let votes = self.votes.entry(r.id).or_default();
                    if let Some(voted) = votes.add(&text, conf, frame.time_usec, 2) {
                        // A hit's image is cut from this frame, where the plate was just read.
                        let image = || read.and_then(|f| hits::plate_image(frame, &f.bbox));
                        match self.plate_hits.report(r.id, &voted, image) {
                            hits::PlateReport::Read(m) => messages.push(m),
                            hits::PlateReport::Alert(id, m, follow) => plate_alerts.push((id, m, follow)),
                            hits::PlateReport::AlreadyAlerted => {}
                        }
                    }
                }
                if r.lost {
                    self.votes.remove(&r.id);
                    self.plate_hits.track_lost(r.id);
                }
            }
            detections.extend(
                found
                    .into_iter()
                    .zip(track_of)
                    .map(|(detected, track_id)| FrameDetection {
                        class,
                        track_id,
                        detected,
                    }),
            );
            times.track_usec += tt.elapsed().as_micros() as u64;
        }
        // Mask also what trackers still hold (a face the detector missed this frame), where it
        // is now: a plate track is only updated on plate frames and moves on in between.
        for t in self.trackers.values() {
            boxes.extend(t.boxes_at(frame.time_usec));
        }
        let mut alerts = Vec::new();
        if let Some(gate) = &mut self.gate {
            // The face's ground point (flat ground raised by the face height) decides the area.
            let faces: Vec<crate::gate::GateFace> = detections
                .iter()
                .filter(|d| d.class == ObjectClass::Face)
                .filter_map(|d| {
                    let lm = d.detected.landmarks_px?;
                    let b = d.detected.bbox;
                    let centre = [(b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0];
                    Some(crate::gate::GateFace {
                        track_id: d.track_id,
                        bbox: b,
                        landmarks_px: lm,
                        ground: georef
                            .as_ref()
                            .and_then(|g| g.locate(centre, self.face_height_m))
                            .map(|f| f.point),
                    })
                })
                .collect();
            let o = gate.process(SystemClock.now_usec(), frame, &faces);
            alerts = alerts_with_evidence(o.alerts, o.evidence);
            messages.extend(o.messages);
        }
        alerts.extend(plate_alerts);
        let active: usize = self.trackers.values().map(Tracker::confirmed).sum();
        self.counters.tracks_active.store(active as u64, Ordering::Relaxed);
        self.counters.frames_processed.fetch_add(1, Ordering::Relaxed);
        FrameOutput {
            messages,
            boxes,
            detections,
            alerts,
            times,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tract;
    use crate::telemetry::PoseConfig;

    /// A plate detector that reads `texts[frame]` at a box moving 150 px a frame (no overlap).
    struct ScriptedPlates(Vec<Vec<&'static str>>);

    impl ObjectDetector for ScriptedPlates {
        fn class(&self) -> ObjectClass {
            ObjectClass::Plate
        }
        fn detect(&mut self, _: &RgbFrame, i: u64) -> Result<Option<Vec<Detected>>, String> {
            let texts = self.0.get(i as usize).cloned().unwrap_or_default();
            Ok(Some(
                texts
                    .iter()
                    .enumerate()
                    .map(|(k, t)| Detected {
                        bbox: BoxPx::from_xywh(20.0 + 150.0 * i as f64, 40.0 + 100.0 * k as f64, 90.0, 28.0),
                        score: 0.95,
                        text: Some(((*t).to_string(), 0.9)),
                        landmarks_px: None,
                    })
                    .collect(),
            ))
        }
    }

    /// LAW.md section 7: a voted read of a listed plate is a HIT alert (entry id, alert id,
    /// queued as an alert so it is resent until acknowledged), once per track and text; a read
    /// not on the list, or on an expired entry, is a plain no-hit read.
    #[test]
    fn a_listed_plate_is_one_hit_alert_and_others_are_plain_reads() {
        let grammar = utkik_shared::plate::PlateGrammar::for_countries(&["SE"]).unwrap();
        // Signed by the DEMO senior officer at 2027-01-01, valid until 2100-01-01.
        let list = utkik_shared::hitlist::demo::verified_from_tsv(
            "# plate\texpires\treason\nABC 123\t2099-01-01\tDEMO stolen\nXYZ 12A\t2001-01-01\tDEMO expired\n",
            &grammar,
            1_798_761_600_000_000,
            4_102_444_800_000_000,
        )
        .unwrap();
        let script = vec![vec!["ABC123", "XYZ12A", "KLM45A"]; 6];
        let config = Config::default();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 1,
            fixed_pitch_rad: None,
        })));
        let mut inf = Inference::new(&config, vec![Box::new(ScriptedPlates(script))], poses, Arc::default());
        inf.set_hit_list(list);
        let frame = RgbFrame::new(64, 64, vec![0; 64 * 64 * 3], 0).unwrap();
        let (mut alerts, mut reads) = (Vec::new(), Vec::new());
        for i in 0..6u64 {
            let f = RgbFrame::new(64, 64, frame.data.clone(), 1_800_000_000_000_000 + i * 100_000).unwrap();
            let out = inf.process(&f, i);
            alerts.extend(out.alerts);
            reads.extend(out.messages.into_iter().filter_map(|m| match m {
                MavMessage::UTKIK_PLATE_READ(r) => Some(r),
                _ => None,
            }));
        }
        let text = |r: &utkik_shared::dialect::UTKIK_PLATE_READ_DATA| -> String {
            r.plate.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect()
        };
        assert_eq!(alerts.len(), 1, "one alert for the listed plate: {alerts:?}");
        let (id, MavMessage::UTKIK_PLATE_READ(hit), follow) = &alerts[0] else {
            panic!("{alerts:?}")
        };
        assert_eq!(text(hit), "ABC123");
        assert_eq!(
            hit.status,
            utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT
        );
        assert_eq!(
            (hit.alert_id, *id, hit.hit_entry_id),
            (1, 1, 1),
            "alert id and the entry's place in the signed list"
        );
        assert!(follow.is_empty());
        let mut plain: Vec<String> = reads.iter().map(text).collect();
        plain.sort();
        assert_eq!(
            plain,
            vec!["", ""],
            "expired entry and unlisted plate are no-hits, sent without their text (LAW.md 7.2)"
        );
        assert!(
            reads
                .iter()
                .all(|r| r.status == utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT)
        );
    }

    /// The real detectors on rendered frames of a slowly moving camera: the face track is
    /// confirmed with landmarks on every frame; the plate reader looks on every 3rd frame only,
    /// its track carries the plate in between (its mask box moves on), and two reads of the
    /// same text are voted into one UTKIK_PLATE_READ.
    #[test]
    fn tracks_carry_plates_between_plate_frames_and_vote_their_reads() {
        use glam::DVec3;
        use utkik_sim::render::TruthClass;

        use crate::testing::{CLOSE_UP_PLATE, close_up, coverage, truth_of};

        // The voted text is what this test checks, so the drone is set to send non-hit text.
        let mut config = Config::default();
        config.detect.send_non_hit_text = true;
        let cache = utkik_models::ModelCache::locate().unwrap();
        let detectors = tract::detectors_with_cache(&config, &cache).unwrap();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 250_000,
            fixed_pitch_rad: None,
        })));
        let mut inf = Inference::new(&config, detectors, poses, Arc::default());
        let corners = |b: &BoxPx| [b.x0, b.y0, b.x1, b.y1];
        let mut plate_reads = Vec::new();
        let mut face_tracks = std::collections::HashSet::new();
        for i in 0..16u64 {
            // 3 cm a frame to the right at 30 frames/s: the scene slides ~12 px a frame.
            let (frame, rendered) = close_up(DVec3::new(0.03 * i as f64, -9.0, 3.0), i, 1_000_000 + i * 33_333);
            let out = inf.process(&frame, i);
            let faces: Vec<&FrameDetection> = out.detections.iter().filter(|d| d.class == ObjectClass::Face).collect();
            let plates: Vec<&FrameDetection> = out
                .detections
                .iter()
                .filter(|d| d.class == ObjectClass::Plate)
                .collect();
            let truth_plate = truth_of(&rendered, TruthClass::Plate)[0].1;
            assert_eq!(faces.len(), 1, "frame {i}: {faces:?}");
            assert!(faces[0].detected.landmarks_px.is_some());
            if i > 0 {
                face_tracks.insert(faces[0].track_id.expect("confirmed from the second frame"));
            }
            if i % 3 != 0 {
                assert!(plates.is_empty(), "frame {i} is not a plate frame");
                assert!(out.times.plates_usec < 1000, "frame {i}: {:?}", out.times);
            }
            if i >= 9 {
                // Found by frame 6 (third scan strip) and followed since: the plate is masked on
                // every frame, where it is now.
                assert!(
                    out.boxes.iter().any(|b| coverage(corners(b), truth_plate) > 0.6),
                    "frame {i}: plate {truth_plate:?} not masked: {:?}",
                    out.boxes
                );
            }
            for m in &out.messages {
                if let MavMessage::UTKIK_PLATE_READ(r) = m {
                    plate_reads.push((i, r.clone()));
                }
            }
        }
        assert_eq!(face_tracks.len(), 1, "one face track all along");
        assert_eq!(plate_reads.len(), 1, "reported once: {plate_reads:?}");
        let (at, r) = &plate_reads[0];
        let text: String = r.plate.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
        assert_eq!(text, utkik_shared::plate::normalize(CLOSE_UP_PLATE));
        assert!(r.reads >= 2 && r.confidence > 50, "{r:?}");
        assert!(*at <= 12 && at % 3 == 0, "voted on plate frame {at}");
    }
}

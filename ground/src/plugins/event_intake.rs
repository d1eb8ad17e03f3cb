//! Centre mode (issue 19 item 3): the station subscribes to other stations' signed events on
//! the Zenoh bus (`--subscribe-events zenoh --trusted-stations FILE`) and shows them beside, or
//! instead of (`--link none`), its own drones. "The same `utkik-ground` in a centre mode".
//!
//! A thread owns the [`Centre`] subscriber: it verifies every sample (signature of a trusted
//! station, key expression, sequence) and passes on only accepted events; refusals are counted
//! and logged there, never shown. Each frame [`intake`] applies what arrived to
//! [`RemoteRes`] (sources with their tracks, alerts, authorization state) and records each
//! plate hit in the hit history through [`crate::ops::GroundOps::record_remote_sighting`] (with
//! the expiry of its entry in this station's `--hit-list`; without one nothing is kept), so a
//! plate hit seen by a fixed camera at one station and later by a drone at another is one path
//! at the centre (console `history PLATE REASON`, signed in, logged).
//!
//! The centre commands nothing from here: events are reports. A drone is commanded only over
//! its own signed MAVLink link by the station that holds its link key, so a centre cannot
//! activate identification on a drone it does not command.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_egui::egui;
use crossbeam_channel::{Receiver, Sender};
use utkik_shared::events::{EventBody, TrackClass, TrustedStations};

use super::GroundSet;
use super::map::MapView;
use super::palette::source_color;
use super::session::OpsRes;
use crate::audit_log::wall_clock_usec;
use crate::centre::{BusConfig, Centre, CentreError, CentreStats, Outcome, ReceivedEvent};
use crate::state::remote::{RemoteKey, RemoteSources};

/// Most events applied in one frame (the rest wait for the next; the channel is unbounded, so
/// nothing is dropped).
const MAX_EVENTS_PER_FRAME: usize = 20_000;

/// Remote sources as the centre knows them.
#[derive(Resource, Debug, Default)]
pub struct RemoteRes(pub RemoteSources);

/// Counts of the intake, for the panel and the headless summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeCounts {
    /// The subscriber's counts (accepted, refused by reason), copied about once a second.
    pub centre: CentreStats,
    /// Plate hits added to the hit history.
    pub sightings_kept: u64,
    /// Plate hits not kept (no list, no such entry, expired: each logged).
    pub sightings_not_kept: u64,
}

/// The subscriber thread and what it hands over.
#[derive(Resource)]
pub struct EventIntake {
    rx: Receiver<ReceivedEvent>,
    stats: Arc<Mutex<CentreStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// What the intake did.
    pub counts: IntakeCounts,
    key_expr: String,
}

impl EventIntake {
    /// Subscribes (the session opens here, so a bad endpoint or TLS file fails start-up) and
    /// starts the thread.
    ///
    /// # Errors
    /// As [`Centre::open`].
    pub fn start(bus: &BusConfig, trusted: TrustedStations, key_expr: &str) -> Result<Self, CentreError> {
        let centre = Centre::open(bus, trusted, key_expr)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(Mutex::new(CentreStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::Builder::new()
                .name("event-intake".into())
                .spawn(move || subscribe_loop(centre, tx, stats, stop))
                .expect("spawning the event-intake thread")
        };
        Ok(Self {
            rx,
            stats,
            stop,
            thread: Some(thread),
            counts: IntakeCounts::default(),
            key_expr: key_expr.to_string(),
        })
    }

    /// The key expression subscribed to.
    pub fn key_expr(&self) -> &str {
        &self.key_expr
    }
}

impl Drop for EventIntake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn subscribe_loop(
    mut centre: Centre,
    tx: Sender<ReceivedEvent>,
    stats: Arc<Mutex<CentreStats>>,
    stop: Arc<AtomicBool>,
) {
    let mut copied = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match centre.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(Outcome::Accepted(ev))) => {
                if tx.send(ev).is_err() {
                    break;
                }
            }
            // Counted and logged with the reason by the centre; never shown.
            Ok(Some(Outcome::Refused { .. })) | Ok(None) => {}
            Err(e) => {
                error!("event intake: the subscription ended: {e}");
                break;
            }
        }
        if copied.elapsed() >= Duration::from_secs(1) {
            copied = Instant::now();
            *stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = centre.stats().clone();
        }
    }
    *stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = centre.stats().clone();
    info!("event intake: {}", centre.stats());
    if let Err(e) = centre.close() {
        warn!("event intake: {e}");
    }
}

/// Applies what arrived: remote sources, and plate hits into the hit history.
pub fn intake(intake: Option<ResMut<EventIntake>>, mut remote: ResMut<RemoteRes>, mut ops: Option<ResMut<OpsRes>>) {
    let Some(mut intake) = intake else { return };
    let now_usec = wall_clock_usec();
    for ev in intake.rx.try_iter().take(MAX_EVENTS_PER_FRAME).collect::<Vec<_>>() {
        remote.0.apply(&ev.region, &ev.event);
        if let EventBody::PlateHit(hit) = &ev.event.body {
            let kept = match ops.as_mut() {
                Some(ops) => ops
                    .ops
                    .record_remote_sighting(&ev.event.station_id, &ev.event.source, hit, now_usec),
                None => Ok(false),
            };
            match kept {
                Ok(true) => intake.counts.sightings_kept += 1,
                Ok(false) => intake.counts.sightings_not_kept += 1,
                Err(e) => {
                    intake.counts.sightings_not_kept += 1;
                    error!(
                        "event intake: plate hit {} of {} not kept: {e}",
                        hit.alert_id, ev.event.station_id
                    );
                }
            }
        }
    }
    remote.0.expire(now_usec);
    let stats = intake
        .stats
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    intake.counts.centre = stats;
}

fn draw(mut gizmos: Gizmos, remote: Res<RemoteRes>, view: Res<MapView>) {
    let px = view.m_per_px.max(0.01);
    let now = wall_clock_usec();
    let keys: Vec<&RemoteKey> = remote.0.iter().map(|(k, _)| k).collect();
    for (key, t) in remote.0.live_tracks(now) {
        let Some(c) = view.xy(t.position.lon_deg, t.position.lat_deg) else {
            continue;
        };
        let color = source_color(keys.iter().position(|k| *k == key).unwrap_or(0));
        let s = 5.0 * px;
        match t.class {
            TrackClass::Plate | TrackClass::Vehicle => gizmos.rect_2d(c, Vec2::new(2.0 * s, 1.2 * s), color),
            _ => {
                gizmos.circle_2d(c, s, color);
            }
        }
    }
}

/// The centre's panel: the subscription, its counts, and one line per remote source in its
/// colour (drawn by the UI plugin when the intake runs).
pub fn centre_panel(ui: &mut egui::Ui, intake: &EventIntake, remote: &RemoteRes) {
    ui.heading("Operations centre");
    let c = &intake.counts;
    ui.monospace(format!("subscribed to {}", intake.key_expr));
    ui.monospace(format!(
        "events accepted {}, refused {}; hits kept {}, not kept {}",
        c.centre.accepted,
        c.centre.refused_total(),
        c.sightings_kept,
        c.sightings_not_kept
    ));
    if !c.centre.refused.is_empty() {
        ui.colored_label(egui::Color32::LIGHT_RED, format!("refused: {:?}", c.centre.refused));
    }
    if remote.0.is_empty() {
        ui.label("no station heard yet");
    }
    for (i, line) in remote.0.summary_lines(wall_clock_usec()).into_iter().enumerate() {
        let [r, g, b, _] = source_color(i).to_srgba().to_u8_array();
        ui.colored_label(egui::Color32::from_rgb(r, g, b), line);
    }
}

/// Applies the intake each frame (headless too); nothing happens without an [`EventIntake`].
pub struct EventIntakePlugin;

impl Plugin for EventIntakePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<RemoteRes>()
            .add_systems(Update, intake.in_set(GroundSet::Ingest));
    }
}

/// Draws the remote sources' tracks (needs a window).
pub struct RemoteTracksPlugin;

impl Plugin for RemoteTracksPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, draw.in_set(GroundSet::Draw));
    }
}

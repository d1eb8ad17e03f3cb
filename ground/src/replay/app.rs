//! Bevy side of replay: indexes the file on a background thread (progress shown in the UI),
//! then drives the shared [`WorldRes`] from a [`Cursor`] that the playback clock moves, so the
//! same map, vehicle, track and alert plugins as live draw the recording. The timeline panel
//! (egui) has play/pause, speed, a scrub slider with event markers (damage and link losses
//! included), next/previous event buttons and the audit-log banner. Operator verdicts from the
//! mission's audit log (`--audit`) are attached to the recording while it is indexed, so alerts
//! show the states operators gave them at the time on the clock.
//!
//! Nothing of the recording reaches the views until a reviewer has signed in ([`ReviewRes`],
//! `review.rs`): the world stays empty and the clock does not run; without a [`ReviewRes`]
//! (no users or audit log given) replay shows nothing at all.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use crossbeam_channel::Receiver;

use super::clock::SPEEDS;
use super::review::{ReviewRes, review_panel};
use super::{AuditTrail, Cursor, PlaybackClock, Replay};
use crate::plugins::{GroundSet, WorldRes};

/// What the replay knows about the mission's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditStatus {
    /// No `--audit` given: confirmations and dismissals by operators are not in the tlog.
    NotGiven,
    /// Given but cannot be read.
    Missing {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Read (possibly only up to a damaged record: see [`AuditTrail::damage`]).
    Loaded {
        /// The path.
        path: PathBuf,
        /// Its good records and the operator verdicts in them.
        trail: AuditTrail,
    },
}

impl AuditStatus {
    /// Checks the audit log argument; a missing or unreadable file is logged (never ignored).
    pub fn check(path: Option<&std::path::Path>) -> Self {
        let status = match path {
            None => AuditStatus::NotGiven,
            Some(p) => match AuditTrail::read(p) {
                Ok(trail) => AuditStatus::Loaded {
                    path: p.to_path_buf(),
                    trail,
                },
                Err(e) => AuditStatus::Missing {
                    path: p.to_path_buf(),
                    reason: e.reason.to_string(),
                },
            },
        };
        if let Some(b) = status.banner() {
            warn!("{b}");
        }
        status
    }

    /// The verdicts read, when a log was loaded.
    pub fn trail(&self) -> Option<&AuditTrail> {
        match self {
            AuditStatus::Loaded { trail, .. } => Some(trail),
            _ => None,
        }
    }

    /// The banner text, when something is missing, damaged or not understood.
    pub fn banner(&self) -> Option<String> {
        match self {
            AuditStatus::NotGiven => {
                Some("No audit log given (--audit): operator confirmations and dismissals are not shown".into())
            }
            AuditStatus::Missing { path, reason } => Some(format!(
                "Audit log {} missing: {reason}; confirmations and dismissals not shown",
                path.display()
            )),
            AuditStatus::Loaded { path, trail } => {
                let mut parts = Vec::new();
                if let Some(d) = trail.damage_text() {
                    parts.push(format!(
                        "Audit log {} {d}: later confirmations and dismissals are not shown",
                        path.display()
                    ));
                }
                if trail.unparsed_plate_checks > 0 {
                    parts.push(format!(
                        "{} plate-check record(s) in {} not understood (text format changed?): those checks are not shown",
                        trail.unparsed_plate_checks,
                        path.display()
                    ));
                }
                (!parts.is_empty()).then(|| parts.join("; "))
            }
        }
    }
}

/// The replay resource: loading, ready, or failed.
#[derive(Resource)]
pub enum ReplayState {
    /// Indexing on a background thread.
    Loading {
        /// Bytes indexed so far.
        done: Arc<AtomicU64>,
        /// Size of the file.
        total: Arc<AtomicU64>,
        /// The result.
        rx: Receiver<Result<Replay, String>>,
    },
    /// Playing or paused.
    Ready {
        /// The indexed recording.
        replay: Box<Replay>,
        /// The playback clock.
        clock: PlaybackClock,
        /// World at the clock's position.
        cursor: Box<Cursor>,
    },
    /// Indexing failed.
    Failed(String),
}

/// Replays a tlog into the ground station's world.
pub struct ReplayPlugin {
    /// The recording.
    pub path: PathBuf,
    /// The mission's audit log, if given.
    pub audit: Option<PathBuf>,
    /// Start playing as soon as indexed.
    pub autoplay: bool,
    /// Initial speed.
    pub speed: f64,
    /// The station's seal key (`--seal-key`): opens sealed images in the recording.
    pub seal_key: Option<utkik_shared::seal::SealKeyPair>,
}

/// The audit status as a resource.
#[derive(Resource, Debug, Clone)]
pub struct AuditRes(pub AuditStatus);

/// Starts indexing `path` on a thread; the verdicts of `trail` are attached to the result.
pub fn start_loading(
    path: PathBuf,
    trail: Option<AuditTrail>,
    seal_key: Option<utkik_shared::seal::SealKeyPair>,
) -> ReplayState {
    let done = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)));
    let (tx, rx) = crossbeam_channel::bounded(1);
    let (d, t) = (done.clone(), total.clone());
    std::thread::spawn(move || {
        let r = Replay::open_with_seal_key(&path, seal_key, |a, b| {
            d.store(a, Ordering::Relaxed);
            t.store(b, Ordering::Relaxed);
        })
        .map(|mut replay| {
            if let Some(t) = &trail {
                replay.attach_verdicts(t);
            }
            replay
        })
        .map_err(|e| e.to_string());
        tx.send(r).ok();
    });
    ReplayState::Loading { done, total, rx }
}

#[derive(Resource)]
struct Autoplay(bool, f64);

impl Plugin for ReplayPlugin {
    fn build(&self, app: &mut App) {
        let audit = AuditStatus::check(self.audit.as_deref());
        app.insert_resource(start_loading(
            self.path.clone(),
            audit.trail().cloned(),
            self.seal_key.clone(),
        ))
        .insert_resource(AuditRes(audit))
        .insert_resource(Autoplay(self.autoplay, self.speed))
        .add_systems(Update, step.in_set(GroundSet::Ingest));
        if app.is_plugin_added::<bevy_egui::EguiPlugin>() {
            app.add_systems(EguiPrimaryContextPass, timeline_panel);
        }
    }
}

fn step(
    mut state: ResMut<ReplayState>,
    mut world: ResMut<WorldRes>,
    time: Res<Time>,
    auto: Res<Autoplay>,
    review: Option<Res<ReviewRes>>,
    mut hidden: Local<bool>,
) {
    // No reviewer signed in: the recording is not shown (LAW.md section 5: every consultation
    // is logged, and this one would not be). Indexing goes on meanwhile.
    let may_show = review.is_some_and(|r| r.may_show_recording());
    if !may_show {
        *hidden = true;
        if !world.0.alerts.is_empty() || !world.0.tracks.is_empty() || !world.0.vehicles.is_empty() {
            world.0 = crate::state::World::new();
        }
        if !matches!(&*state, ReplayState::Loading { .. }) {
            return;
        }
    } else if std::mem::take(&mut *hidden)
        && let ReplayState::Ready { cursor, .. } = &*state
    {
        // Signed in: show the world where the cursor stands.
        world.0.clone_from(&cursor.world);
    }
    let next = match &mut *state {
        ReplayState::Loading { rx, .. } => match rx.try_recv() {
            Ok(Ok(replay)) => {
                let mut clock = replay.clock();
                clock.set_speed(auto.1);
                if auto.0 {
                    clock.play();
                }
                let cursor = Box::new(replay.seek(clock.position_usec()));
                info!(
                    "replay indexed: {} records, {} events, {} keyframes, {} damaged stretches, {} gaps, {} operator verdicts ({} dated before the recording, not used)",
                    replay.stats.records,
                    replay.events.len(),
                    replay.stats.keyframes,
                    replay.index.damage.len(),
                    replay.index.gaps.len(),
                    replay.verdicts().len(),
                    replay.verdicts_before_start
                );
                Some(ReplayState::Ready {
                    replay: Box::new(replay),
                    clock,
                    cursor,
                })
            }
            Ok(Err(e)) => {
                error!("replay: {e}");
                Some(ReplayState::Failed(e))
            }
            Err(_) => None,
        },
        ReplayState::Ready { replay, clock, cursor } => {
            let before = cursor.time_usec;
            let pos = clock.advance(time.delta_secs_f64());
            if pos != before {
                replay.advance(cursor, pos);
                world.0.clone_from(&cursor.world);
            }
            None
        }
        ReplayState::Failed(_) => None,
    };
    if let Some(n) = next {
        if let ReplayState::Ready { cursor, .. } = &n
            && may_show
        {
            world.0.clone_from(&cursor.world);
        }
        *state = n;
    }
}

fn fmt_t(usec: u64, start: u64) -> String {
    let s = usec.saturating_sub(start) / 1_000_000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Marker colour of an event category.
pub fn category_color(cat: &str) -> egui::Color32 {
    match cat {
        "plate" => egui::Color32::from_rgb(255, 200, 0),
        "match" => egui::Color32::from_rgb(230, 40, 200),
        "verdict" => egui::Color32::from_rgb(40, 190, 90),
        "authz" => egui::Color32::from_rgb(60, 160, 255),
        "link" => egui::Color32::from_rgb(160, 160, 160),
        _ => egui::Color32::from_rgb(230, 30, 30),
    }
}

fn timeline_panel(
    mut contexts: EguiContexts,
    mut state: ResMut<ReplayState>,
    mut world: ResMut<WorldRes>,
    audit: Res<AuditRes>,
    keys: Res<ButtonInput<KeyCode>>,
    mut review: Option<ResMut<ReviewRes>>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let width = (ctx.viewport_rect().width() - 700.0).clamp(420.0, 1100.0);
    egui::Area::new(egui::Id::new("replay-timeline"))
        .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -36.0])
        .show(&ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_width(width);
                let may_show = match review.as_deref_mut() {
                    Some(r) => {
                        let shown: Vec<crate::state::Alert> = world.0.alerts.iter().cloned().collect();
                        let replay = match &*state {
                            ReplayState::Ready { replay, .. } => Some(&**replay),
                            _ => None,
                        };
                        review_panel(ui, r, &shown, replay);
                        r.may_show_recording()
                    }
                    None => {
                        ui.colored_label(
                            egui::Color32::LIGHT_RED,
                            "replay needs --users and --audit-dir: recordings are shown only to a signed-in reviewer",
                        );
                        false
                    }
                };
                if !may_show {
                    return;
                }
                if let Some(b) = audit.0.banner() {
                    ui.colored_label(egui::Color32::from_rgb(230, 120, 0), b);
                }
                match &mut *state {
                    ReplayState::Loading { done, total, .. } => {
                        let (d, t) = (done.load(Ordering::Relaxed), total.load(Ordering::Relaxed).max(1));
                        ui.label("Indexing recording…");
                        ui.add(egui::ProgressBar::new(d as f32 / t as f32).show_percentage());
                    }
                    ReplayState::Failed(e) => {
                        ui.colored_label(egui::Color32::RED, format!("Replay failed: {e}"));
                    }
                    ReplayState::Ready { replay, clock, cursor } => {
                        let (start, end) = replay.range_usec();
                        // Verdicts that cannot be shown are said, at the time they would apply.
                        if let Some(w) = cursor.verdicts.warning() {
                            ui.colored_label(egui::Color32::from_rgb(230, 120, 0), w);
                        }
                        if replay.verdicts_before_start > 0 {
                            ui.small(format!(
                                "{} verdict(s) in the audit log are dated before this recording (another mission): not used",
                                replay.verdicts_before_start
                            ));
                        }
                        let mut seek_to = None;
                        ui.horizontal(|ui| {
                            if ui.button("⏮ prev event").clicked() {
                                seek_to = replay.previous_event(clock.position_usec()).map(|e| e.time_usec);
                            }
                            let label = if clock.is_playing() { "⏸ pause" } else { "▶ play" };
                            if ui.button(label).clicked() || keys.just_pressed(KeyCode::Space) {
                                clock.toggle();
                            }
                            if ui.button("next event ⏭").clicked() {
                                seek_to = replay.next_event(clock.position_usec()).map(|e| e.time_usec);
                            }
                            let mut speed = clock.speed();
                            egui::ComboBox::from_id_salt("replay-speed")
                                .selected_text(format!("{speed}x"))
                                .show_ui(ui, |ui| {
                                    for s in SPEEDS {
                                        ui.selectable_value(&mut speed, s, format!("{s}x"));
                                    }
                                });
                            clock.set_speed(speed);
                            ui.monospace(format!(
                                "{} / {}",
                                fmt_t(clock.position_usec(), start),
                                fmt_t(end, start)
                            ));
                            if let Some(e) = replay.previous_event(clock.position_usec() + 1) {
                                ui.small(format!("last: {} @ {}", e.kind.label(), fmt_t(e.time_usec, start)));
                            }
                        });
                        // Scrub slider.
                        let mut frac = clock.fraction();
                        // Full panel width: scrubbing an hour needs every pixel.
                        ui.spacing_mut().slider_width = ui.available_width();
                        let slider = ui.add(egui::Slider::new(&mut frac, 0.0..=1.0).show_value(false));
                        if slider.changed() {
                            seek_to = Some(start + ((end - start) as f64 * frac) as u64);
                        }
                        // Event markers on a strip under the slider.
                        let (rect, resp) =
                            ui.allocate_exact_size(egui::vec2(slider.rect.width(), 14.0), egui::Sense::click());
                        let painter = ui.painter_at(rect);
                        painter.rect_filled(rect, 2.0, egui::Color32::from_gray(40));
                        let span = (end - start).max(1) as f32;
                        let x_of = |t: u64| rect.left() + rect.width() * (t.saturating_sub(start) as f32 / span);
                        for e in &replay.events {
                            let x = x_of(e.time_usec);
                            let c = category_color(e.kind.category());
                            if let super::EventKind::LinkLoss { duration_s } = e.kind {
                                let x2 = x_of(e.time_usec + (duration_s * 1e6) as u64).max(x + 2.0);
                                painter.rect_filled(
                                    egui::Rect::from_x_y_ranges(x..=x2, rect.y_range()),
                                    0.0,
                                    c.gamma_multiply(0.6),
                                );
                            } else {
                                painter.line_segment(
                                    [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                                    egui::Stroke::new(2.0, c),
                                );
                            }
                        }
                        let xc = x_of(clock.position_usec());
                        painter.line_segment(
                            [egui::pos2(xc, rect.top() - 2.0), egui::pos2(xc, rect.bottom() + 2.0)],
                            egui::Stroke::new(2.0, egui::Color32::WHITE),
                        );
                        if resp.clicked()
                            && let Some(p) = resp.interact_pointer_pos()
                        {
                            let f = ((p.x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64;
                            seek_to = Some(start + ((end - start) as f64 * f) as u64);
                        }
                        ui.horizontal(|ui| {
                            for (cat, name) in [
                                ("plate", "plate hit"),
                                ("match", "possible match"),
                                ("verdict", "operator verdict"),
                                ("authz", "authorization"),
                                ("link", "link loss"),
                                ("damage", "damaged data"),
                            ] {
                                let n = replay.events.iter().filter(|e| e.kind.category() == cat).count();
                                ui.colored_label(category_color(cat), format!("■ {name} ({n})"));
                            }
                        });
                        if let Some(t) = seek_to {
                            clock.seek(t);
                            **cursor = replay.seek(clock.position_usec());
                            world.0.clone_from(&cursor.world);
                        }
                    }
                }
            });
        });
    Ok(())
}

//! Mission report: a self-contained HTML file (inline SVG, no external resources) for operation
//! leaders: map snapshot of the flight path and tracks in a local metric frame (with the
//! scenario GeoJSON when given), the alert list with evidence (biometric evidence only for
//! authorized uses per LAW.md, redacted otherwise) in their state at the end of the mission
//! (operator verdicts from the audit log applied), a timeline of events with the verdicts, link
//! quality and onboard pipeline health per second, and the damage/gap list of the file.
//!
//! Writing a report is a disclosure (LAW.md section 5): [`write_reviewed`] needs a signed-in
//! reviewer ([`access::ReviewSession`]), embeds evidence images only for a reviewer who may see
//! them, and logs the report with the hashes of every image it embeds and the alerts it lists
//! (with their uses: a report listing a match of a use refused later is deleted whole then,
//! LAW.md 3.3, `crate::derived_files`).

pub mod access;
pub mod collect;
pub mod imy;
pub mod reconcile;
pub mod svg;
pub mod verify;

use std::fmt::Write as _;
use std::path::Path;

use utkik_shared::audit::PayloadRef;

pub use access::{EvidenceAccess, ReviewError, ReviewSession};
pub use collect::{MissionData, biometric_use_authorized, collect};

use crate::map::geojson::Overlay;
use crate::replay::app::AuditStatus;
use crate::replay::{EventKind, RecordedVerdict, Replay, VerdictTally};
use crate::state::{Alert, AlertKind, AlertState};

/// Inputs of a report besides the recording.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Title (normally the file name).
    pub title: String,
    /// Map overlays (scenario GeoJSON), already loaded.
    pub overlays: Vec<Overlay>,
    /// Raster tiles under the map (XYZ folder or MBTiles file), embedded in the report.
    pub tiles: Option<std::path::PathBuf>,
    /// The audit log's status.
    pub audit: AuditStatus,
    /// Whether evidence images (plate images, authorized biometric crops) are embedded.
    pub evidence: EvidenceAccess,
    /// Who the report was written by (shown in it; empty: not said).
    pub reader: String,
}

/// The evidence image of an alert the report embeds, if any: a JPEG, the reader may see
/// evidence, and for a possible match an authorized use at its time (LAW.md sections 1, 8).
pub fn embedded_image<'a>(a: &'a Alert, data: &MissionData, opts: &ReportOptions) -> Option<&'a [u8]> {
    if opts.evidence != EvidenceAccess::Shown {
        return None;
    }
    let j = a.evidence_jpeg.as_deref().filter(|j| j.starts_with(&[0xFF, 0xD8]))?;
    match &a.kind {
        AlertKind::PlateHit { .. } => Some(j),
        AlertKind::PossibleMatch {
            authorization_digest, ..
        } => {
            let at = (a.received_s * 1e6) as u64;
            biometric_use_authorized(&data.authz, a.system_id, authorization_digest, at).then_some(j)
        }
    }
}

/// The payload references of every image the report embeds (for its disclosure record).
pub fn embedded_payloads(data: &MissionData, opts: &ReportOptions) -> Vec<PayloadRef> {
    data.alerts
        .iter()
        .filter_map(|a| embedded_image(a, data, opts))
        .map(PayloadRef::of)
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 (for inline evidence images).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn hms(usec: u64, start: u64) -> String {
    let s = usec.saturating_sub(start) / 1_000_000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn state_text(s: &AlertState) -> String {
    match s {
        AlertState::NeedsCheck => "needs check by an operator".into(),
        AlertState::Checked { by } => format!("checked by {by}"),
        AlertState::PossibleMatch { confirmed_by } if confirmed_by.is_empty() => "possible match (unconfirmed)".into(),
        AlertState::PossibleMatch { confirmed_by } => {
            format!("possible match, confirmed by {}", confirmed_by.join(", "))
        }
        AlertState::Confirmed { by } => format!("confirmed by {} and {}", by[0], by[1]),
        AlertState::Dismissed { by } => format!("dismissed by {by}"),
    }
}

/// Renders the report HTML.
pub fn render(replay: &Replay, data: &MissionData, opts: &ReportOptions) -> String {
    let start = data.start_usec;
    let dur_s = (data.end_usec - start) as f64 / 1e6;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mission report: {t}</title><style>\
body{{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}} h1{{margin-bottom:0}} .sub{{color:#666}}\
table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}\
th{{background:#eee}} .warn{{background:#fff3cd;border:1px solid #e0a800;padding:8px;margin:8px 0}}\
.redacted{{background:#222;color:#fff;padding:8px 12px;display:inline-block;font-size:12px}} svg{{background:#fafafa;border:1px solid #ccc}}\
.lg span{{margin-right:14px}}</style></head><body>",
        t = esc(&opts.title)
    );
    let _ = write!(
        h,
        "<h1>Mission report</h1><div class=\"sub\">{} &middot; {:.0} s recorded ({}) &middot; {} records, {} timeline events</div>",
        esc(&opts.title),
        dur_s,
        hms(data.end_usec, start),
        replay.stats.records,
        data.events.len()
    );
    if !opts.reader.is_empty() {
        let _ = write!(
            h,
            "<div class=\"sub\">Written for {} (a disclosure, logged in the station's audit log){}</div>",
            esc(&opts.reader),
            match &opts.evidence {
                EvidenceAccess::Shown => String::new(),
                EvidenceAccess::LeftOut(why) => format!("; evidence images left out: {}", esc(why)),
            }
        );
    }
    if let Some(b) = opts.audit.banner() {
        let _ = write!(h, "<div class=\"warn\"><b>Audit log:</b> {}</div>", esc(&b));
    }
    let outcomes: Vec<_> = data.verdicts.iter().map(|(_, o)| o.clone()).collect();
    let mut notes: Vec<String> = VerdictTally::of(&outcomes).warning().into_iter().collect();
    if data.verdicts_after_end > 0 {
        notes.push(format!(
            "{} verdict(s) dated after the end of the recording: not applied",
            data.verdicts_after_end
        ));
    }
    if data.verdicts_before_start > 0 {
        notes.push(format!(
            "{} verdict(s) dated before the recording (another mission): not applied",
            data.verdicts_before_start
        ));
    }
    for n in notes {
        let _ = write!(h, "<div class=\"warn\"><b>Operator verdicts:</b> {}</div>", esc(&n));
    }
    if !replay.index.damage.is_empty() || replay.index.truncated.is_some() {
        let _ = write!(
            h,
            "<div class=\"warn\"><b>Damaged recording:</b> {} corrupt stretch(es){}; everything around them is included and the gaps are marked on the timeline.</div>",
            replay.index.damage.len(),
            if replay.index.truncated.is_some() {
                ", file ends mid-record"
            } else {
                ""
            }
        );
    }
    let _ = write!(h, "<p class=\"sub\">End state: {}</p>", esc(&data.final_summary));

    h.push_str("<h2>Map</h2>");
    let tiles = opts
        .tiles
        .as_deref()
        .map(crate::map::tiles::TileSource::open)
        .transpose();
    let (map, skipped) = match &tiles {
        Ok(t) => svg::map(data, &opts.overlays, t.as_ref(), 1100.0, 700.0),
        Err(_) => svg::map(data, &opts.overlays, None, 1100.0, 700.0),
    };
    match (&tiles, skipped.is_empty()) {
        (Err(e), _) => {
            let _ = write!(
                h,
                "<div class=\"warn\">{}; the map has the vector basemap only.</div>",
                esc(&e.to_string())
            );
        }
        (Ok(_), false) => {
            let _ = write!(
                h,
                "<div class=\"warn\">Map tiles skipped: {}</div>",
                esc(&skipped.join("; "))
            );
        }
        _ => {}
    }
    h.push_str(&map);

    h.push_str("<h2>Timeline</h2>");
    h.push_str(&svg::timeline(&data.events, start, data.end_usec, 1100.0));

    let _ = write!(h, "<h2>Alerts ({})</h2>", data.alerts.len());
    if data.alerts.is_empty() {
        h.push_str("<p>No alerts.</p>");
    } else {
        h.push_str("<table><tr><th>time</th><th>vehicle</th><th>alert</th><th>state</th><th>evidence</th></tr>");
        for a in &data.alerts {
            let at = (a.received_s * 1e6) as u64;
            let left_out = match &opts.evidence {
                EvidenceAccess::LeftOut(why) => Some(why.as_str()),
                EvidenceAccess::Shown => None,
            };
            let shown = embedded_image(a, data, opts);
            let evidence = match &a.kind {
                // A plate image is not biometric data: it is shown without an authorization
                // check (LAW.md section 7 asks for it to be shown so the read can be checked),
                // to a reader who may see evidence.
                AlertKind::PlateHit {
                    plate,
                    confidence,
                    image_size,
                    ..
                } => {
                    let read = format!("plate read <b>{}</b> ({confidence}% confidence)", esc(plate));
                    match (shown, &a.evidence_jpeg, left_out) {
                        (Some(j), _, _) => format!(
                            "{read}<br><img alt=\"plate image\" style=\"max-width:200px\" src=\"data:image/jpeg;base64,{}\">",
                            base64(j)
                        ),
                        (None, Some(_), Some(why)) => format!("{read}; plate image left out: {}", esc(why)),
                        (None, Some(j), None) => format!(
                            "{read}; plate image received ({} bytes) but not a JPEG: not shown",
                            j.len()
                        ),
                        (None, None, _) if *image_size > 0 => format!("{read}; plate image transfer incomplete"),
                        (None, None, _) => format!("{read}; the drone sent no plate image"),
                    }
                }
                AlertKind::PossibleMatch {
                    authorization_digest, ..
                } => {
                    if biometric_use_authorized(&data.authz, a.system_id, authorization_digest, at) {
                        match (shown, &a.evidence_jpeg, left_out) {
                            (Some(j), _, _) => format!(
                                "<img alt=\"evidence\" style=\"max-width:200px\" src=\"data:image/jpeg;base64,{}\">",
                                base64(j)
                            ),
                            (None, Some(_), Some(why)) => {
                                format!("<span class=\"redacted\">EVIDENCE LEFT OUT: {}</span>", esc(why))
                            }
                            (None, Some(j), None) => {
                                format!("evidence received ({} bytes) but not a JPEG: not shown", j.len())
                            }
                            (None, None, _) => "evidence transfer incomplete".into(),
                        }
                    } else {
                        "<span class=\"redacted\">BIOMETRIC EVIDENCE REDACTED: no active authorization with this digest was reported at the time of the match (LAW.md &sect;1, &sect;8)</span>".into()
                    }
                }
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                hms(at, start),
                a.system_id,
                esc(&a.label()),
                esc(&state_text(&a.state)),
                evidence
            );
        }
        h.push_str("</table>");
    }

    if let Some(t) = opts.audit.trail() {
        let _ = write!(
            h,
            "<h2>Operator verdicts ({})</h2><p class=\"sub\">From the audit log ({} records read). Alert states above are these applied in time order.</p>",
            data.verdicts.len(),
            t.records
        );
        if !data.verdicts.is_empty() {
            h.push_str("<table><tr><th>time</th><th>audit record</th><th>verdict</th><th>result</th></tr>");
            for (v, o) in &data.verdicts {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    hms(v.time_usec, start),
                    v.seq,
                    esc(&v.label()),
                    esc(&o.text())
                );
            }
            h.push_str("</table>");
        }
    }

    h.push_str("<h2>Link quality</h2>");
    h.push_str(&svg::series_plot(
        &[
            (
                "messages/s",
                "#1f77b4",
                data.seconds.iter().map(|s| Some(s.messages as f64)).collect(),
            ),
            (
                "lost packets/s",
                "#d62728",
                data.seconds.iter().map(|s| Some(s.lost as f64)).collect(),
            ),
        ],
        &data.events,
        start,
        1100.0,
        180.0,
    ));
    h.push_str("<h2>Onboard pipeline health</h2>");
    h.push_str(&svg::series_plot(
        &[
            ("fps", "#2ca02c", data.seconds.iter().map(|s| s.fps).collect()),
            (
                "latency p95 (ms)",
                "#ff7f0e",
                data.seconds.iter().map(|s| s.latency_p95_ms).collect(),
            ),
            (
                "dropped frames/s",
                "#d62728",
                data.seconds.iter().map(|s| s.dropped.map(|d| d as f64)).collect(),
            ),
            (
                "CPU %",
                "#9467bd",
                data.seconds.iter().map(|s| s.cpu_pct.map(|d| d as f64)).collect(),
            ),
        ],
        &[],
        start,
        1100.0,
        200.0,
    ));

    h.push_str("<h2>Events</h2><table><tr><th>time</th><th>vehicle</th><th>event</th></tr>");
    for e in &data.events {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            hms(e.time_usec, start),
            if e.system_id == 0 {
                "-".to_string()
            } else {
                e.system_id.to_string()
            },
            esc(&e.kind.label())
        );
    }
    h.push_str("</table>");
    let links = data
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::LinkLoss { .. }))
        .count();
    let _ = write!(
        h,
        "<p class=\"sub\">{} link losses, {} damaged stretches, {} undecodable records. Generated by utkik-ground report.</p></body></html>",
        links,
        replay.index.damage.len(),
        replay.stats.undecodable
    );
    h
}

/// The verdicts the report applies: those attached to the replay when there are, otherwise
/// those of the audit log in the options (the `report` command reads the log apart from the
/// recording); with how many of the log's are dated before the recording.
fn report_verdicts(replay: &Replay, audit: &AuditStatus) -> (Vec<RecordedVerdict>, usize) {
    if !replay.verdicts().is_empty() {
        return (replay.verdicts().to_vec(), replay.verdicts_before_start);
    }
    match audit.trail() {
        Some(t) => replay.mission_verdicts(t),
        None => (Vec::new(), 0),
    }
}

/// Writes the report for `replay` to `out` (no access check: [`write_reviewed`] is the way in).
///
/// # Errors
/// When the file cannot be written (the path is in the message).
fn write(
    replay: &Replay,
    opts: &ReportOptions,
    out: &Path,
    progress: impl FnMut(u64, u64),
) -> Result<MissionData, std::io::Error> {
    let (verdicts, before) = report_verdicts(replay, &opts.audit);
    let mut data = collect(replay, &verdicts, progress);
    data.verdicts_before_start = before;
    let html = render(replay, &data, opts);
    std::fs::write(out, html).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", out.display())))?;
    Ok(data)
}

/// Why a reviewed report was not written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not signed in, not permitted, or the disclosure record failed (the file is removed).
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// Writing the file failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes the report for the signed-in reviewer of `review`: evidence embedded only when they
/// may see it, then the report logged as a disclosure (who, which recording, which file, the
/// embedded images' hashes). If the record cannot be written the file is removed.
///
/// # Errors
/// Nobody signed in or a role that may not review (nothing written), I/O, the audit log.
#[allow(clippy::too_many_arguments)]
pub fn write_reviewed(
    review: &mut ReviewSession,
    recording: &Path,
    replay: &Replay,
    mut opts: ReportOptions,
    out: &Path,
    progress: impl FnMut(u64, u64),
    now_usec: u64,
) -> Result<MissionData, ReportError> {
    let reader = review.reviewer()?.clone();
    opts.evidence = review.evidence_access();
    opts.reader = format!(
        "{} ({})",
        reader.user_id,
        reader
            .roles
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let data = write(replay, &opts, out, progress)?;
    let embedded = embedded_payloads(&data, &opts);
    let what = format!(
        "mission report ({} alerts, {} evidence images embedded{})",
        data.alerts.len(),
        embedded.len(),
        match &opts.evidence {
            EvidenceAccess::Shown => String::new(),
            EvidenceAccess::LeftOut(why) => format!("; evidence left out: {why}"),
        }
    );
    // Every alert listed, not only those with an image embedded: a report listing a match of a
    // refused use holds a result of that use (LAW.md 3.3) and is deleted whole then.
    let alerts = data.alerts.iter().map(crate::derived_files::file_alert).collect();
    if let Err(e) = review.record_report(recording, out, &what, embedded, alerts, now_usec) {
        let _ = std::fs::remove_file(out);
        return Err(e.into());
    }
    Ok(data)
}

#[cfg(test)]
mod tests;

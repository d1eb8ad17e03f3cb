//! Evaluator tests on a synthetic case scored by hand: three scored frames
//! with a face and a plate each, one miss per class, one false positive per
//! class, a shifted but matching plate box, a "don't care" face, an identity
//! switch, known geolocation offsets and plate reads right and wrong; the
//! same in a tlog of our dialect.

use std::io::Write;

use utkik_shared::camera::CameraPose;
use utkik_shared::dialect::{
    MavMessage, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
};
use utkik_shared::mavframe::MavVersion;
use utkik_shared::tlog::TlogWriter;

use super::*;
use crate::render::TruthBox;

const T0: u64 = 1_763_800_000_000_000;
const LAT: f64 = 59.388;
const LON: f64 = 17.926;
/// 1e-5 degrees of latitude at 59.388° N, metres: the WGS84 meridian arc per
/// degree there is a(1-e²)/(1-e² sin²φ)^1.5 · π/180 = 111 401.8 m.
const M_PER_1E5_DEG: f64 = 1.114_018;

fn tbox(class: TruthClass, id: u32, label: &str, b: [u32; 4]) -> TruthBox {
    TruthBox {
        class,
        entity_id: id,
        label: label.into(),
        box_px: b,
        pixels: (b[2] - b[0]) * (b[3] - b[1]),
        lat_deg: LAT,
        lon_deg: LON,
    }
}

fn truth() -> Vec<TruthFrame> {
    let frame = |n: u64, objects| TruthFrame {
        frame: n,
        time_usec: T0 + n * 100_000,
        sim_time_usec: n * 100_000,
        width_px: 1280,
        height_px: 720,
        camera: CameraPose::default(),
        objects,
    };
    let face = |x: u32| tbox(TruthClass::Face, 1, "bystander-1", [x, 100, x + 40, 150]);
    let plate = |x: u32| tbox(TruthClass::Plate, 1001, "ABC123", [x, 400, x + 100, 420]);
    vec![
        frame(
            0,
            vec![
                face(100),
                plate(500),
                tbox(TruthClass::Face, 2, "bystander-2", [800, 100, 804, 106]),
            ],
        ),
        frame(1, vec![face(110), plate(510)]),
        frame(2, vec![face(120), plate(520)]),
        // Never processed by the onboard: not scored.
        frame(3, vec![face(130), plate(530)]),
    ]
}

const DETECTIONS_JSONL: &str = r#"
{"time_usec": 1763800000000000, "detections": [ {"class": "face", "box_px": [100, 100, 140, 150], "track_id": 5, "lat_deg": 59.388, "lon_deg": 17.926}, {"class": "face", "box_px": [800, 100, 804, 106]}, {"class": "plate", "box_px": [520, 400, 620, 420], "track_id": 9, "text": "ABC 123", "lat_deg": 59.38802, "lon_deg": 17.926}]}
{"time_usec": 1763800000100300, "detections": [ {"class": "face", "box_px": [150, 100, 190, 150], "track_id": 5}, {"class": "plate", "box_px": [1000, 600, 1100, 620], "track_id": 10}]}
{"time_usec": 1763800000200000, "detections": [ {"class": "face", "box_norm": [0.09375, 0.1388888888888889, 0.03125, 0.06944444444444445], "track_id": 6, "lat_deg": 59.38801, "lon_deg": 17.926}, {"class": "plate", "box_px": [520, 400, 620, 420], "track_id": 9, "text": "ABC128"}]}
{"time_usec": 1763800005000000, "detections": []}
{"plate_read": {"time_usec": 1763800000000000, "track_id": 9, "text": "ABC123"}}
{"plate_read": {"time_usec": 1763800000100300, "track_id": 77, "text": "XYZ999"}}
{"plate_read": {"time_usec": 1763800000200000, "track_id": 9, "text": ""}}
"#;

fn options() -> EvalOptions {
    EvalOptions {
        classes: vec![TruthClass::Face, TruthClass::Plate],
        iou_threshold: 0.5,
        min_box_px: 10,
        time_tolerance_usec: 1000,
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(text.as_bytes()).unwrap();
    p
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn hand_scored_case_from_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = read_jsonl(&write(&dir, "det.jsonl", DETECTIONS_JSONL)).unwrap();
    assert_eq!(log.frames.len(), 4);
    assert_eq!(log.plate_reads.len(), 3);
    let r = evaluate(&truth(), &log, &options());
    assert_eq!(
        (
            r.truth_frames,
            r.detection_frames,
            r.scored_frames,
            r.unmatched_detection_frames
        ),
        (4, 4, 3, 1)
    );

    // Faces: frame 0 hit (+ a detection on the 6 px "don't care" face),
    // frame 1 shifted by a whole box width (a miss and a false positive),
    // frame 2 hit from a normalized box under a new track id.
    let f = &r.classes["face"];
    assert_eq!(
        (
            f.truth,
            f.detections,
            f.true_positives,
            f.false_positives,
            f.false_negatives,
            f.ignored_detections
        ),
        (3, 4, 2, 1, 1, 1)
    );
    assert!(close(f.precision, 2.0 / 3.0) && close(f.recall, 2.0 / 3.0));
    assert_eq!((f.identity_switches, f.tracked_entities), (1, 1), "track 5 then 6");
    // Geolocation: 0 m in frame 0, 1e-5° of latitude in frame 2.
    assert_eq!(f.geolocation.count, 2);
    let g = &f.geolocation;
    assert!((g.median_m.unwrap() - M_PER_1E5_DEG / 2.0).abs() < 1e-3, "{g:?}");
    assert!((g.p95_m.unwrap() - M_PER_1E5_DEG).abs() < 1e-3, "{g:?}");

    // Plates: frame 0 shifted by 20 px (IoU 80x20 / 120x20 = 2/3: a match),
    // frame 1 a false positive elsewhere and a miss, frame 2 exact.
    let p = &r.classes["plate"];
    assert_eq!(
        (
            p.truth,
            p.detections,
            p.true_positives,
            p.false_positives,
            p.false_negatives
        ),
        (3, 3, 2, 1, 1)
    );
    assert_eq!(p.identity_switches, 0);
    assert!((p.geolocation.median_m.unwrap() - 2.0 * M_PER_1E5_DEG).abs() < 1e-3);
    // All classes: 0, 1.114, 2.228 m.
    assert!((r.geolocation.median_m.unwrap() - M_PER_1E5_DEG).abs() < 1e-3);
    assert!((r.geolocation.p95_m.unwrap() - 2.0 * M_PER_1E5_DEG).abs() < 1e-3);

    // Reads: "ABC 123" right, "ABC128" wrong; the voted read of track 9 is
    // right, track 77 never matched a plate.
    assert_eq!(
        r.plates.per_detection,
        ReadScore {
            reads: 2,
            correct: 1,
            accuracy: Some(0.5),
            unmatched: 0,
            withheld: 0
        }
    );
    assert_eq!(
        r.plates.per_track,
        ReadScore {
            reads: 1,
            correct: 1,
            accuracy: Some(1.0),
            unmatched: 1,
            // A non-hit read the drone sent without its text is counted, not scored.
            withheld: 1
        }
    );

    // Recall by height: the 50 px face (48-64 bin) 2 of 3, the 6 px face found;
    // the 20 px plate (16-24 bin) 2 of 3.
    let bin = |c: &ClassReport, lo: u32| {
        c.recall_by_height
            .iter()
            .find(|b| b.min_height_px == lo)
            .unwrap()
            .clone()
    };
    assert_eq!((bin(f, 48).truth, bin(f, 48).detected), (3, 2));
    assert_eq!((bin(f, 0).truth, bin(f, 0).detected), (1, 1));
    assert_eq!((bin(p, 16).truth, bin(p, 16).detected), (3, 2));
    assert!(r.summary().contains("66.7%"), "{}", r.summary());
}

#[test]
fn without_dont_care_the_small_face_counts() {
    let dir = tempfile::tempdir().unwrap();
    let log = read_jsonl(&write(&dir, "det.jsonl", DETECTIONS_JSONL)).unwrap();
    let r = evaluate(
        &truth(),
        &log,
        &EvalOptions {
            min_box_px: 0,
            ..options()
        },
    );
    let f = &r.classes["face"];
    assert_eq!(
        (f.truth, f.true_positives, f.false_positives, f.false_negatives),
        (4, 3, 1, 1)
    );
    // A tighter time tolerance loses frame 1 (300 µs late).
    let r = evaluate(
        &truth(),
        &log,
        &EvalOptions {
            time_tolerance_usec: 100,
            ..options()
        },
    );
    assert_eq!((r.scored_frames, r.unmatched_detection_frames), (2, 2));
}

#[test]
fn bad_json_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_jsonl(&write(
        &dir,
        "d.jsonl",
        "{\"time_usec\": 1, \"detections\": [{\"class\": \"face\"}]}\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("d.jsonl:1") && e.contains("box_px"), "{e}");
    let e = read_jsonl(&write(
        &dir,
        "d.jsonl",
        "\n{\"time_usec\": 1, \"detections\": [{\"class\": \"dog\", \"box_px\": [0,0,1,1]}]}\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("d.jsonl:2"), "{e}");
}

fn track(time_usec: u64, id: u32, class: UtkikObjectClass, b: [u32; 4], flags: UtkikTrackFlags) -> MavMessage {
    let n = |v: u32, full: u32| (f64::from(v) / f64::from(full) * 65535.0).round() as u16;
    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
        time_usec,
        track_id: id,
        object_class: class,
        flags,
        box_x: n(b[0], 1280),
        box_y: n(b[1], 720),
        box_w: n(b[2] - b[0], 1280),
        box_h: n(b[3] - b[1], 720),
        confidence: 90,
        lat: (LAT * 1e7).round() as i32,
        lon: (LON * 1e7).round() as i32,
        ..Default::default()
    })
}

#[test]
fn tlog_of_our_dialect_is_scored() {
    use UtkikObjectClass::{UTKIK_OBJECT_CLASS_FACE as FACE, UTKIK_OBJECT_CLASS_PLATE as PLATE};
    let geo = UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onboard.tlog");
    let mut w = TlogWriter::new(std::fs::File::create(&path).unwrap());
    let mut plate = [0u8; 10];
    plate[..6].copy_from_slice(b"ABC123");
    let msgs = [
        track(
            T0,
            5,
            FACE,
            [100, 100, 140, 150],
            geo | UtkikTrackFlags::UTKIK_TRACK_FLAGS_NEW,
        ),
        track(T0, 9, PLATE, [500, 400, 600, 420], UtkikTrackFlags::empty()),
        // Frame 1: the face is a prediction (not a detection) and the plate is missed.
        track(
            T0 + 100_000,
            5,
            FACE,
            [110, 100, 150, 150],
            UtkikTrackFlags::UTKIK_TRACK_FLAGS_PREDICTED,
        ),
        // Frame 2: the face under another id; the same message twice (counted once).
        track(T0 + 200_000, 6, FACE, [120, 100, 160, 150], geo),
        track(T0 + 200_000, 6, FACE, [120, 100, 160, 150], geo),
        track(T0 + 200_000, 9, PLATE, [900, 400, 1000, 420], UtkikTrackFlags::empty()),
        MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            time_usec: T0,
            track_id: 9,
            plate: plate.into(),
            confidence: 80,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
            reads: 3,
            ..Default::default()
        }),
    ];
    for (k, m) in msgs.iter().enumerate() {
        let header = mavlink_core::MavHeader {
            system_id: 1,
            component_id: 191,
            sequence: k as u8,
        };
        w.write_message(T0 + 500_000 + k as u64, MavVersion::V2, header, m)
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let log = read_detections(&path).unwrap();
    assert_eq!(log.format, "tlog");
    // Frame 1 holds only a prediction: no detection frame for it.
    assert_eq!(
        log.frames.iter().map(|f| f.detections.len()).collect::<Vec<_>>(),
        vec![2, 2]
    );
    let r = evaluate(&truth(), &log, &options());
    assert_eq!(r.scored_frames, 2);
    let f = &r.classes["face"];
    // Normalized to 16 bits and back the boxes shift by < 0.01 px: exact matches.
    assert_eq!((f.true_positives, f.false_positives, f.false_negatives), (2, 0, 0));
    assert_eq!(f.identity_switches, 1);
    assert_eq!(f.geolocation.count, 2);
    assert!(
        f.geolocation.max_m.unwrap() < 0.01,
        "e7 rounding only: {:?}",
        f.geolocation
    );
    let p = &r.classes["plate"];
    assert_eq!((p.true_positives, p.false_positives, p.false_negatives), (1, 1, 1));
    assert_eq!(p.geolocation.count, 0, "no GEO_VALID");
    assert_eq!((r.plates.per_track.reads, r.plates.per_track.correct), (1, 1));
}

#[test]
fn plots_are_written_as_png() {
    let dir = tempfile::tempdir().unwrap();
    let log = read_jsonl(&write(&dir, "det.jsonl", DETECTIONS_JSONL)).unwrap();
    let r = evaluate(&truth(), &log, &options());
    let written = write_plots(&r, &dir.path().join("plots")).unwrap();
    assert_eq!(written.len(), 3);
    for p in written {
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (900, 520));
        // Something was drawn in colour (bars or curves), not only text on white.
        let coloured = img.pixels().filter(|px| {
            let [r, g, b] = px.0;
            r.max(g).max(b) - r.min(g).min(b) > 60
        });
        assert!(coloured.count() > 200, "{}", p.display());
    }
}

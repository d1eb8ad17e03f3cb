//! Pipeline benchmark: prints figures, asserts nothing.
//!
//! Stages measured on 1280x720 frames:
//! - ingest: camera RTP/H.264 (x264, zero latency, capture time in the NTP-64 extension) over
//!   loopback -> depay -> decode -> RGB appsink; latency = arrival - capture time;
//! - inference: detectors (those the build has) + tracking + georeferencing per frame, via
//!   `pipeline::Inference` with a live pose buffer;
//! - privacy: masking + x264 encode + RTP send per frame;
//! - out: MAVLink encode + budget bookkeeping per track message;
//!
//! The inference configurations run on tract and on ONNX Runtime from Rust (`detect.runtime =
//! "onnxruntime"`, the wheel's library through `ort`). Then the Python onnxruntime yardstick
//! (benches/python_pipeline.py) on the same frames at 1 and 2 threads, faces found against the
//! simulator's truth side by side, and each model in tract, in onnxruntime from Python and in
//! ONNX Runtime from Rust at the same thread count (issue 18).
//!
//! Run: `cargo bench -p utkik-onboard --bench pipeline` (or `--no-run` and run the binary;
//! `-- --quick` skips ingest, privacy and the per-model table).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use utkik_onboard::config::Config;
use utkik_onboard::frame::RgbFrame;
use utkik_onboard::ingest::time::unix_now_usec;
use utkik_onboard::ingest::{IngestConfig, IngestStatus, latest, run_ingest};
use utkik_onboard::out::{ManualClock, OutLink, OutLinkConfig, OutTransport, ResendPolicy, peak_rss_kib, percentiles};
use utkik_onboard::pipeline::{Inference, ObjectClass, ObjectDetector, tract};
use utkik_onboard::privacy::{MaskConfig, Restream, RestreamConfig, mask_boxes};
use utkik_onboard::shutdown::Shutdown;
use utkik_onboard::telemetry::{PoseBuffer, PoseConfig};
use utkik_onboard::track::{BoxPx, Detection, GroundFix, Tracker, TrackerConfig};
use utkik_shared::dialect::{
    ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GimbalDeviceFlags, MavMessage,
    SYSTEM_TIME_DATA,
};

mod support;
use support::sim_frames::*;

fn ms(v: &mut [u64]) -> String {
    match percentiles(v) {
        Some((p50, p95)) => format!("p50 {:.1} ms  p95 {:.1} ms", p50 as f64 / 1000.0, p95 as f64 / 1000.0),
        None => "no samples".into(),
    }
}

fn bench_ingest(frames: &[RgbFrame]) -> (Vec<u64>, f64) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (tx, rx, _) = latest();
    let status = Arc::new(IngestStatus::default());
    let shutdown = Shutdown::new();
    let cfg = IngestConfig {
        source: format!("udp://127.0.0.1:{port}"),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
        stall_timeout: Duration::from_secs(30),
    };
    let (st, sd) = (status.clone(), shutdown.clone());
    let h = std::thread::spawn(move || run_ingest(&cfg, tx, st, &sd));
    let mut cam = Restream::new(RestreamConfig {
        destination: format!("127.0.0.1:{port}"),
        bitrate_kbps: 4000,
        fps: 30,
        srtp_key: None,
    });
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut received = 0u64;
    for (i, f) in frames.iter().cycle().take(150).enumerate() {
        let mut f = f.clone();
        f.time_usec = unix_now_usec();
        cam.push(&f).unwrap();
        while let Ok(got) = rx.try_recv() {
            if i > 10 {
                lat.push(unix_now_usec().saturating_sub(got.time_usec));
            }
            received += 1;
        }
        std::thread::sleep(Duration::from_millis(33));
    }
    let fps = received as f64 / start.elapsed().as_secs_f64();
    shutdown.trigger();
    h.join().unwrap().unwrap();
    (lat, fps)
}

fn pose_buffer() -> Arc<Mutex<PoseBuffer>> {
    let mut b = PoseBuffer::new(PoseConfig {
        max_age_usec: 10_000_000_000,
        fixed_pitch_rad: None,
    });
    let now = unix_now_usec();
    b.handle(&MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
        time_unix_usec: now,
        time_boot_ms: 100_000,
    }));
    b.handle(&MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
        time_boot_ms: 100_000,
        lat: 593_300_000,
        lon: 180_600_000,
        alt: 60_000,
        relative_alt: 50_000,
        ..Default::default()
    }));
    b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
        time_boot_ms: 100_000,
        ..Default::default()
    }));
    b.handle(&MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(
        GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
            time_boot_ms: 100_000,
            q: [0.819_152, 0.0, -0.573_576, 0.0], // pitch -70°
            flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
            ..Default::default()
        },
    ));
    Arc::new(Mutex::new(b))
}

/// One inference configuration measured.
#[derive(Debug, Clone, Copy)]
struct Variant {
    label: &'static str,
    plates: bool,
    /// `detect.threads`.
    threads: u32,
    /// tract's own matmul threads (its multithread executor; 1 = single-thread executor).
    tract_threads: usize,
    rows: bool,
    full_every: u32,
    /// ONNX Runtime from Rust instead of tract for the face nets: (detector worker threads,
    /// intra-op threads per session).
    ort: Option<(usize, usize)>,
}

/// What one variant measured.
struct Measured {
    fps: f64,
    total: Vec<u64>,
    faces_found: usize,
    false_faces: usize,
    plates_read: usize,
}

fn set_tract_threads(n: usize) {
    use tract_linalg::multithread::{Executor, set_default_executor};
    set_default_executor(if n > 1 {
        Executor::multithread(n)
    } else {
        Executor::SingleThread
    });
}

fn run_variant(sim: &SimFrames, v: &Variant) -> Option<Measured> {
    let mut config = Config::default();
    config.camera.hfov_deg = sim.hfov_deg;
    config.detect.faces = true;
    config.detect.plates = v.plates;
    config.detect.threads = v.threads;
    config.detect.face_rows = v.rows;
    config.detect.face_full_every_n_frames = v.full_every;
    set_tract_threads(v.tract_threads);
    let s = Instant::now();
    let built = match v.ort {
        None => tract::detectors_from_config(&config),
        Some((workers, intra)) => {
            config.detect.runtime = "onnxruntime".into();
            ort_detectors(&config, workers, intra)
        }
    };
    let detectors = match built {
        Ok(d) => d,
        Err(e) => {
            println!("inference {}: not measured: {e}", v.label);
            return None;
        }
    };
    let startup_s = s.elapsed().as_secs_f64();
    let mut inf = Inference::new(&config, detectors, pose_buffer(), Arc::default());
    let n = sim.frames.len();
    let (mut faces_found, mut false_faces) = (0, 0);
    let mut people_found = std::collections::HashSet::new();
    let mut read: std::collections::HashSet<String> = Default::default();
    let mut total = Vec::new();
    let mut face_stages: std::collections::BTreeMap<&'static str, Vec<u64>> = Default::default();
    let (mut faces_t, mut plates_t) = (Vec::new(), Vec::new());
    let mut second_pass_start = Instant::now();
    // Two passes: the first for quality (and warm-up), the second for the sustained rate.
    for i in 0..2 * n {
        if i == n {
            second_pass_start = Instant::now();
        }
        let k = i % n;
        let mut f = sim.frames[k].clone();
        f.time_usec = sim.frames[0].time_usec + i as u64 * FRAME_STEP_USEC;
        let out = inf.process_at(&f, i as u64, Some(&sim.poses[k]));
        if i < n {
            let found: Vec<[f64; 4]> = out
                .detections
                .iter()
                .filter(|d| d.class == ObjectClass::Face)
                .map(|d| {
                    [
                        d.detected.bbox.x0,
                        d.detected.bbox.y0,
                        d.detected.bbox.x1,
                        d.detected.bbox.y1,
                    ]
                })
                .collect();
            let (hit, extra) = score_faces(&sim.faces[k], &found);
            faces_found += hit;
            false_faces += extra;
            for (t, person) in sim.faces[k].iter().zip(&sim.people[k]) {
                if found.iter().any(|f| iou(*t, *f) >= 0.5) {
                    people_found.insert(*person);
                }
            }
            for d in out.detections.iter().filter(|d| d.class == ObjectClass::Plate) {
                if let Some((text, _)) = &d.detected.text {
                    read.insert(text.clone());
                }
            }
        } else {
            total.push(out.times.total_usec());
            faces_t.push(out.times.faces_usec);
            plates_t.push(out.times.plates_usec);
            for (class, stages) in inf.detector_stage_times() {
                if class == ObjectClass::Face {
                    for (name, us) in stages {
                        face_stages.entry(name).or_default().push(us);
                    }
                }
            }
        }
    }
    let fps = n as f64 / second_pass_start.elapsed().as_secs_f64();
    set_tract_threads(1);
    let plates_read = sim
        .plate_labels
        .iter()
        .flatten()
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .filter(|t| read.contains(*t))
        .count();
    let truth_faces: usize = sim.faces.iter().map(Vec::len).sum();
    println!(
        "inference {:<44} {fps:>5.1} frames/s  faces found {faces_found}/{truth_faces} ({:.0} %; people {}/{}), {false_faces} boxes on no face{}  start-up {startup_s:.1} s",
        v.label,
        100.0 * faces_found as f64 / truth_faces.max(1) as f64,
        people_found.len(),
        sim.people
            .iter()
            .flatten()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        if v.plates {
            format!(
                ", plates read {plates_read}/{} distinct",
                sim.plate_labels
                    .iter()
                    .flatten()
                    .collect::<std::collections::HashSet<_>>()
                    .len()
            )
        } else {
            String::new()
        },
    );
    let mut t = total.clone();
    println!(
        "    per frame: total {}   faces {}   plates {}",
        ms(&mut t),
        ms(&mut faces_t),
        ms(&mut plates_t)
    );
    let stage_line: Vec<String> = face_stages
        .iter_mut()
        .map(|(name, v)| {
            v.sort_unstable();
            let med = v[v.len() / 2];
            if name.contains("kpx") || name.contains("runs") || name.ends_with(" in") {
                format!("{name} {med}")
            } else {
                format!("{name} {:.1}", med as f64 / 1000.0)
            }
        })
        .collect();
    println!("    face stages, median (ms unless a count): {}", stage_line.join(", "));
    Some(Measured {
        fps,
        total,
        faces_found,
        false_faces,
        plates_read,
    })
}

/// The detectors of `config` with the face nets on ONNX Runtime, `workers` detector threads and
/// `intra` intra-op threads per session (`tract::detectors_from_config` maps `detect.threads`
/// to intra-op threads and one worker; this measures the other split too).
fn ort_detectors(
    config: &Config,
    workers: usize,
    intra: usize,
) -> Result<Vec<Box<dyn ObjectDetector>>, tract::DetectorError> {
    use utkik_onboard::detect::runtime::Runtime;
    let cache = utkik_models::ModelCache::locate()?;
    let mut faces = tract::face_config(config);
    faces.threads = workers;
    if let Runtime::OnnxRuntime(s) = &mut faces.runtime {
        s.intra_threads = intra;
    }
    let mut out: Vec<Box<dyn ObjectDetector>> = vec![Box::new(
        tract::FaceObjectDetector::new(&cache, faces)?.with_search(tract::face_search_config(config)),
    )];
    if config.detect.plates {
        out.push(Box::new(tract::PlateObjectDetector::new(
            &cache,
            tract::plate_config(config)?,
        )?));
    }
    Ok(out)
}

/// System load averages (1, 5, 15 min), as `uptime` prints them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

const ORT: &str = r#"
import sys, time, numpy as np, onnxruntime as ort
o = ort.SessionOptions(); o.intra_op_num_threads = int(sys.argv[4]); o.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
x = np.fromfile(sys.argv[2], dtype=np.float32).reshape([int(d) for d in sys.argv[5].split(",")])
n = int(sys.argv[3]); name = s.get_inputs()[0].name
s.run(None, {name: x})
t = []
for _ in range(n):
    a = time.perf_counter(); s.run(None, {name: x}); t.append(time.perf_counter() - a)
print(sorted(t)[len(t) // 2] * 1000)
"#;

/// Each model in tract and in onnxruntime on the same input at the same thread count.
fn models_table(dir: &std::path::Path) {
    use tract_onnx::prelude::*;
    use utkik_models::{MTCNN_ONET, MTCNN_PNET, MTCNN_RNET, Model, ModelCache, PPOCR_DET, PPOCR_REC};
    let Ok(cache) = ModelCache::locate() else {
        println!("per-model table: no model cache");
        return;
    };
    let cases: [(&Model, &str, Vec<usize>, usize); 5] = [
        (&MTCNN_PNET, "pnet 640x360", vec![1, 640, 360, 3], 20),
        (&MTCNN_RNET, "rnet x32", vec![32, 24, 24, 3], 40),
        (&MTCNN_ONET, "onet x8", vec![8, 48, 48, 3], 30),
        (&PPOCR_DET, "text det 640x160", vec![1, 3, 160, 640], 10),
        (&PPOCR_REC, "text rec 48x320", vec![1, 3, 48, 320], 10),
    ];
    println!(
        "per model, median ms (same input, same thread count; ort = onnxruntime from Python, ort-rs = ONNX Runtime from Rust through `ort`; ratio = tract / ort):"
    );
    println!(
        "    {:<17} {:>9} {:>9} {:>9} {:>7}   {:>9} {:>9} {:>9} {:>7}",
        "model", "tract 1t", "ort 1t", "ort-rs 1t", "ratio", "tract 2t", "ort 2t", "ort-rs 2t", "ratio"
    );
    for (model, label, shape, runs) in cases {
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|i| ((i * 7919 % 255) as f32 / 127.5) - 1.0).collect();
        let path = dir.join(format!("{}.f32", model.name));
        std::fs::write(&path, data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let Ok(bytes) = cache.load_verified(model) else {
            println!("    {label:<17} model missing");
            continue;
        };
        let plan = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .unwrap()
            .with_input_fact(0, f32::fact(&shape).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input_data = data.clone();
        let input: TValue = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), data)
            .unwrap()
            .into_tensor()
            .into();
        let mut cells = Vec::new();
        for threads in [1usize, 2] {
            set_tract_threads(threads);
            plan.run(tvec!(input.clone())).unwrap();
            let mut t = Vec::new();
            for _ in 0..runs {
                let a = Instant::now();
                plan.run(tvec!(input.clone())).unwrap();
                t.push(a.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            let tract_ms = t[t.len() / 2];
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            let out = std::process::Command::new("python3")
                .args([
                    "-c",
                    ORT,
                    cache.path(model).to_str().unwrap(),
                    path.to_str().unwrap(),
                    &runs.to_string(),
                    &threads.to_string(),
                    &dims.join(","),
                ])
                .output();
            let ort_ms: f64 = out
                .ok()
                .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
                .unwrap_or(f64::NAN);
            let rs_ms = ort_rs_ms(&bytes, model.name, &shape, &input_data, threads, runs).unwrap_or_else(|e| {
                println!("    {label}: ONNX Runtime from Rust not measured: {e}");
                f64::NAN
            });
            cells.push(format!(
                "{tract_ms:>9.2} {ort_ms:>9.2} {rs_ms:>9.2} {:>6.2}x",
                tract_ms / ort_ms
            ));
        }
        set_tract_threads(1);
        println!("    {label:<17} {}   {}", cells[0], cells[1]);
    }
}

/// Median ms of `model` on ONNX Runtime from Rust (`detect::runtime`), `threads` intra-op threads.
fn ort_rs_ms(
    bytes: &[u8],
    name: &'static str,
    shape: &[usize],
    data: &[f32],
    threads: usize,
    runs: usize,
) -> Result<f64, utkik_onboard::detect::runtime::RuntimeError> {
    use utkik_onboard::detect::runtime::{Model, OrtSettings, Runtime};
    let runtime = Runtime::OnnxRuntime(OrtSettings {
        intra_threads: threads,
        ..OrtSettings::default()
    });
    let plan = Model::load(&runtime, name, bytes)?.plan(shape)?;
    plan.run(shape, data.to_vec(), |_| ())?;
    let mut t = Vec::new();
    for _ in 0..runs {
        let input = data.to_vec();
        let a = Instant::now();
        plan.run(shape, input, |_| ())?;
        t.push(a.elapsed().as_secs_f64() * 1000.0);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

/// The Python yardstick on the same frames at `threads`: (fps, faces found, boxes on no face,
/// latency line).
fn python_yardstick(dir: &std::path::Path, sim: &SimFrames, threads: usize) -> Option<(f64, usize, usize, String)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_pipeline.py");
    let boxes_path = dir.join(format!("boxes-{threads}.json"));
    let o = std::process::Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(["--threads", &threads.to_string(), "--boxes-out"])
        .arg(&boxes_path)
        .output()
        .ok()?;
    if !o.status.success() {
        println!("python pipeline failed: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    let line: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    let boxes: Vec<Vec<[f64; 4]>> = serde_json::from_slice(&std::fs::read(&boxes_path).ok()?).ok()?;
    let (mut hit, mut extra) = (0, 0);
    for (k, found) in boxes.iter().enumerate() {
        let (h, e) = score_faces(&sim.faces[k], found);
        hit += h;
        extra += e;
    }
    Some((
        line["fps"].as_f64()?,
        hit,
        extra,
        format!(
            "latency p50 {:.1} ms p95 {:.1} ms",
            line["latency_ms_p50"].as_f64()?,
            line["latency_ms_p95"].as_f64()?
        ),
    ))
}

fn main() {
    // A detector that fails on a frame says so (and the frame counts as nothing found).
    tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).init();
    let quick = std::env::args().any(|a| a == "--quick");
    let t0 = unix_now_usec();
    let sim = sim_frames(t0, N_FRAMES);
    let truth_faces: usize = sim.faces.iter().map(Vec::len).sum();
    let truth_plates: usize = sim.plate_labels.iter().map(Vec::len).sum();
    println!(
        "utkik-onboard pipeline benchmark, {W}x{H}, {} CPU threads available, load average {} at start; {} consecutive urban-street simulator frames {} ms apart with {truth_faces} faces and {truth_plates} plates >= {MIN_TRUTH_PX} px in view (hfov {} deg)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load(),
        sim.frames.len(),
        FRAME_STEP_USEC / 1000,
        sim.hfov_deg
    );

    // Ingest.
    let mut ingest_p95_ms = 0.0;
    if !quick {
        let (mut lat, fps) = bench_ingest(&sim.frames);
        ingest_p95_ms = percentiles(&mut lat.clone()).map_or(0.0, |p| p.1 as f64 / 1000.0);
        println!(
            "ingest  RTP/H.264 -> RGB (camera 30 fps, loopback): capture-to-appsink {}  delivered {fps:.1} frames/s",
            ms(&mut lat)
        );
    }

    // Inference: the old way (full pyramid, one thread) to the new defaults, side by side.
    // "sweep in n strips": the face pyramid covers one of n vertical strips of the frame per
    // frame, plus windows around the live face tracks (`detect.face_full_every_n_frames`).
    let base = Variant {
        label: "",
        plates: false,
        threads: 1,
        tract_threads: 1,
        rows: false,
        full_every: 1,
        ort: None,
    };
    let variants = [
        Variant {
            label: "faces, 1 thread, full pyramid",
            ..base
        },
        Variant {
            label: "faces, tract 2-thread executor, full pyramid",
            tract_threads: 2,
            ..base
        },
        Variant {
            label: "faces, 2 threads, full pyramid",
            threads: 2,
            ..base
        },
        Variant {
            label: "faces, 2 threads, row bands",
            threads: 2,
            rows: true,
            ..base
        },
        Variant {
            label: "faces, 2 threads, row bands, sweep in 3 strips",
            threads: 2,
            rows: true,
            full_every: 3,
            ..base
        },
        Variant {
            label: "faces, 2 threads, row bands, sweep in 2 strips",
            threads: 2,
            rows: true,
            full_every: 2,
            ..base
        },
        Variant {
            label: "faces, 1 thread, row bands, sweep in 3 strips",
            rows: true,
            full_every: 3,
            ..base
        },
        Variant {
            label: "faces+plates, 2 threads, full pyramid",
            plates: true,
            threads: 2,
            ..base
        },
        Variant {
            label: "faces+plates, 2 threads, row bands, sweep in 3 strips",
            plates: true,
            threads: 2,
            rows: true,
            full_every: 3,
            ..base
        },
        // ONNX Runtime from Rust, the same configurations as the best tract rows.
        Variant {
            label: "ort: faces, 1 thread, full pyramid",
            ort: Some((1, 1)),
            ..base
        },
        Variant {
            label: "ort: faces, 2 intra-op threads, full pyramid",
            threads: 2,
            ort: Some((1, 2)),
            ..base
        },
        Variant {
            label: "ort: faces, 2 workers x 1 intra-op, full pyramid",
            threads: 2,
            ort: Some((2, 1)),
            ..base
        },
        Variant {
            label: "ort: faces, 1 thread, row bands, sweep in 3 strips",
            rows: true,
            full_every: 3,
            ort: Some((1, 1)),
            ..base
        },
        Variant {
            label: "ort: faces, 2 intra-op, row bands, sweep in 3",
            threads: 2,
            rows: true,
            full_every: 3,
            ort: Some((1, 2)),
            ..base
        },
        Variant {
            label: "ort: faces, 2 workers x 1, row bands, sweep in 3",
            threads: 2,
            rows: true,
            full_every: 3,
            ort: Some((2, 1)),
            ..base
        },
        Variant {
            label: "ort: faces+plates, 2 threads, full pyramid",
            plates: true,
            threads: 2,
            ort: Some((1, 2)),
            ..base
        },
        Variant {
            label: "ort: faces+plates, 2 threads, row bands, sweep in 3",
            plates: true,
            threads: 2,
            rows: true,
            full_every: 3,
            ort: Some((1, 2)),
            ..base
        },
        Variant {
            label: "ort: faces+plates side by side, 1 intra-op, sweep 3",
            plates: true,
            threads: 2,
            rows: true,
            full_every: 3,
            ort: Some((1, 1)),
            ..base
        },
    ];
    let defaults = Config::default();
    println!(
        "(defaults: detect.threads = {}, face_rows = {}, face_full_every_n_frames = {}, min_face_px = {}, plate_every_n_frames = {})",
        defaults.detect.threads,
        defaults.detect.face_rows,
        defaults.detect.face_full_every_n_frames,
        defaults.detect.min_face_px,
        defaults.detect.plate_every_n_frames
    );
    let mut measured = Vec::new();
    for v in &variants {
        if let Some(m) = run_variant(&sim, v) {
            measured.push((*v, m));
        }
    }
    println!("load average after inference: {}", load());

    // Tracking + georeferencing alone: 20 detections a frame moving 3 px/frame.
    let poses = pose_buffer();
    let pose = poses.lock().unwrap().pose_at(unix_now_usec()).unwrap();
    let g = utkik_onboard::pipeline::georef::FrameGeoref::new(
        &utkik_onboard::pipeline::georef::GeorefConfig {
            hfov_rad: 90f64.to_radians(),
            uncertainty: utkik_shared::camera::PoseUncertainty {
                attitude_sigma_rad: 0.017,
                altitude_sigma_m: 1.0,
                position_sigma_m: 1.0,
            },
        },
        W,
        H,
        &pose,
    )
    .unwrap();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut v = Vec::new();
    for i in 0..500u64 {
        let dets: Vec<Detection> = (0..20)
            .map(|k| Detection {
                bbox: BoxPx::from_xywh(
                    50.0 + 60.0 * k as f64 + 3.0 * i as f64 % 40.0,
                    300.0 + (k % 3) as f64 * 80.0,
                    40.0,
                    48.0,
                ),
                score: 0.95,
                key: None,
            })
            .collect();
        let locate = |px: [f64; 2]| -> Option<GroundFix> { g.locate(px, 1.6) };
        let s = Instant::now();
        let _ = tracker.update(i * 66_666, &dets, &locate);
        v.push(s.elapsed().as_micros() as u64);
    }
    println!("track+georef 20 objects/frame: {} (µs resolution)", ms(&mut v));

    if !quick {
        // Privacy: mask 10 boxes and encode+send 1280x720.
        let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rs = Restream::new(RestreamConfig {
            destination: sink.local_addr().unwrap().to_string(),
            bitrate_kbps: 1500,
            fps: 15,
            srtp_key: None,
        });
        let boxes: Vec<BoxPx> = (0..10)
            .map(|k| BoxPx::from_xywh(100.0 * k as f64, 200.0, 60.0, 70.0))
            .collect();
        let (mut mask_t, mut push_t) = (Vec::new(), Vec::new());
        for (i, f) in sim.frames.iter().cycle().take(90).enumerate() {
            let mut f = f.clone();
            f.time_usec = t0 + i as u64 * 66_666;
            let s = Instant::now();
            mask_boxes(&mut f, &boxes, &MaskConfig::default());
            mask_t.push(s.elapsed().as_micros() as u64);
            let s = Instant::now();
            rs.push(&f).unwrap();
            push_t.push(s.elapsed().as_micros() as u64);
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "privacy mask 10 boxes: {}   re-stream push (copy into appsrc; x264 runs on its own thread): {}",
            ms(&mut mask_t),
            ms(&mut push_t)
        );
    }

    // Out: encode + budget per message.
    let ground = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let clock = ManualClock::new(t0);
    let mut link = OutLink::new(
        OutTransport::Udp {
            socket: std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
            peer: ground.local_addr().unwrap(),
        },
        OutLinkConfig {
            system_id: 1,
            component_id: 191,
            budget_bytes_per_s: 1e9,
            burst_bytes: 1e9,
            resend: ResendPolicy::default(),
        },
        clock.clone(),
    )
    .unwrap();
    let s = Instant::now();
    for k in 0..10_000u32 {
        link.push(MavMessage::UTKIK_TRACK(utkik_shared::dialect::UTKIK_TRACK_DATA {
            track_id: k,
            time_usec: t0,
            ..Default::default()
        }));
        link.step();
    }
    let out_us = s.elapsed().as_micros() as f64 / 10_000.0;
    println!("out: {out_us:.1} µs per UTKIK_TRACK (queue + encode + budget + UDP send)");

    // The Python yardstick on the same frames, 1 and 2 threads.
    let dir = tempfile::tempdir().unwrap();
    let mut raw = Vec::new();
    for f in &sim.frames {
        raw.extend_from_slice(&f.data);
    }
    std::fs::write(dir.path().join("frames.rgb"), raw).unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        format!("{{\"width\": {W}, \"height\": {H}}}"),
    )
    .unwrap();
    let mut python = Vec::new();
    for threads in [1, 2] {
        match python_yardstick(dir.path(), &sim, threads) {
            Some((fps, hit, extra, lat)) => {
                println!(
                    "python onnxruntime faces only, {threads} thread(s): {fps:.1} frames/s  faces found {hit}/{truth_faces} ({:.0} %), {extra} boxes on no face  {lat}",
                    100.0 * hit as f64 / truth_faces.max(1) as f64
                );
                python.push((threads, fps, hit));
            }
            None => println!("python onnxruntime faces only, {threads} thread(s): not run"),
        }
    }
    println!("load average after python: {}", load());

    if !quick {
        models_table(dir.path());
    }

    // Summary against the issue's targets.
    println!("summary (targets of issue 18):");
    let py2 = python.iter().find(|p| p.0 == 2).or(python.last()).copied();
    for (v, m) in &measured {
        let mut t = m.total.clone();
        let p95_ms = percentiles(&mut t).map_or(0.0, |p| p.1 as f64 / 1000.0);
        let period_ms = 1000.0 / m.fps;
        let vs_python = py2.map_or(String::new(), |(th, fps, hit)| {
            format!(
                "; {:.2}x python {th}t, faces found {} vs {hit}",
                m.fps / fps,
                m.faces_found
            )
        });
        println!(
            "    {:<50} {:>5.1} frames/s; frame-to-MAVLink p95 ~ {:.0} ms (ingest p95 {ingest_p95_ms:.0} + inference p95 {p95_ms:.0} + up to one inference period {period_ms:.0} waiting + out {:.2}){vs_python}; {} boxes on no face{}",
            v.label,
            m.fps,
            ingest_p95_ms + p95_ms + period_ms + out_us / 1000.0,
            out_us / 1000.0,
            m.false_faces,
            if v.plates {
                format!(", {} plates read", m.plates_read)
            } else {
                String::new()
            }
        );
    }
    println!(
        "peak RSS {} MiB (this benchmark process: models, plans, frames, renderer)",
        peak_rss_kib() / 1024
    );
    println!("load average at end: {}", load());
}

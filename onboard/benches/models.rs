//! Each model in tract against onnxruntime (Python, PyPI onnxruntime) on the SAME input tensor
//! at the same thread count (1), printed as a ratio: the per-model half of the issue's
//! benchmark. Shapes as in the issue: MTCNN pnet on 640x360, rnet x16, onet x8, PP-OCRv5 det
//! 1280x736, rec 48x320. tract plans are built with the concrete input shape and optimized.

use std::io::Write;
use std::time::Instant;

use tract_onnx::prelude::*;
use utkik_models::{MTCNN_ONET, MTCNN_PNET, MTCNN_RNET, Model, ModelCache, PPOCR_DET, PPOCR_REC};

fn npy(path: &std::path::Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    for v in data {
        f.write_all(&v.to_le_bytes()).unwrap();
    }
}

const ORT: &str = r#"
import sys, time, numpy as np, onnxruntime as ort
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2]); n = int(sys.argv[3]); name = s.get_inputs()[0].name
s.run(None, {name: x})
t = []
for _ in range(n):
    a = time.perf_counter(); s.run(None, {name: x}); t.append(time.perf_counter() - a)
print(sorted(t)[len(t) // 2] * 1000)
"#;

fn main() {
    let cache = ModelCache::locate().expect("model cache");
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&Model, &str, Vec<usize>, usize); 5] = [
        (&MTCNN_PNET, "pnet 640x360", vec![1, 640, 360, 3], 20),
        (&MTCNN_RNET, "rnet x16", vec![16, 24, 24, 3], 50),
        (&MTCNN_ONET, "onet x8", vec![8, 48, 48, 3], 30),
        (&PPOCR_DET, "det 1280x736", vec![1, 3, 736, 1280], 3),
        (&PPOCR_REC, "rec 48x320", vec![1, 3, 48, 320], 10),
    ];
    println!(
        "{:<14} {:>10} {:>10} {:>7}",
        "model (1 thr)", "tract ms", "ort ms", "ratio"
    );
    for (model, label, shape, runs) in cases {
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|i| ((i * 7919 % 255) as f32 / 127.5) - 1.0).collect();
        let path = dir.path().join(format!("{}.npy", model.name));
        npy(&path, &shape, &data);
        let bytes = cache.load_verified(model).unwrap();
        let plan = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .unwrap()
            .with_input_fact(0, f32::fact(&shape).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input: TValue = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), data)
            .unwrap()
            .into_tensor()
            .into();
        plan.run(tvec!(input.clone())).unwrap();
        let mut t = Vec::new();
        for _ in 0..runs {
            let a = Instant::now();
            plan.run(tvec!(input.clone())).unwrap();
            t.push(a.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(f64::total_cmp);
        let tract_ms = t[t.len() / 2];
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                ORT,
                cache.path(model).to_str().unwrap(),
                path.to_str().unwrap(),
                &runs.to_string(),
            ])
            .output()
            .expect("python3");
        let ort_ms: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(f64::NAN);
        println!(
            "{label:<14} {tract_ms:>10.1} {ort_ms:>10.1} {:>6.2}x",
            tract_ms / ort_ms
        );
    }
}

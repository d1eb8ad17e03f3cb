//! Proof of the face-template conversion (`models/convert/face_api_to_onnx.py`):
//! on aligned chips of real faces (our MTCNN + `shared::face::align` on the
//! photographs in the model cache), the templates of our ONNX run in tract by
//! `gate::template_model` (the onboard code path) agree with those of the
//! face-api package itself, run in Node with TensorFlow.js's pure-JS backend
//! (`models/convert/node/face_api_reference.cjs`), to a cosine similarity
//! above 0.999 on every chip. The worst cosine is printed and recorded in
//! `models/README.md`.
//!
//! Needs Node (`scripts/setup.sh`) and the npm reference and models
//! (`scripts/fetch-models.sh`); without them the test fails and says which
//! is missing: a conversion proof that silently skips proves nothing.

#[path = "common/face_imagery.rs"]
mod face_imagery;

use std::path::{Path, PathBuf};
use std::process::Command;

use utkik_shared::face::align::CHIP_SIZE_PX;
use utkik_shared::face::template::{FaceTemplate, TEMPLATE_LEN};

/// The conversion passes when every chip's templates agree at least this well.
const MIN_COSINE: f32 = 0.999;

/// Fewer faces than this means the detector or imagery is broken, and the
/// comparison would cover too little to prove anything. The seven
/// photographs hold 22 clearly visible faces.
const MIN_FACES: usize = 15;

/// The reference script as committed (run from the repository, not a copy,
/// so the test always checks the glue under review).
fn reference_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/convert/node/face_api_reference.cjs")
}

/// `node` from `$UTKIK_NODE` or the PATH; fails the test when absent.
fn node() -> PathBuf {
    let node = std::env::var_os("UTKIK_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => node,
        Ok(out) => panic!(
            "`{} --version` failed ({}): {}; scripts/setup.sh installs Node (Debian packages nodejs, npm)",
            node.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "Node is not installed (`{}`: {e}): the conversion proof needs it; run scripts/setup.sh \
             (installs the Debian packages nodejs and npm), or set UTKIK_NODE to a node binary",
            node.display()
        ),
    }
}

/// `<cache>/node-ref/node_modules`, checked to hold the pinned reference.
fn reference_modules(cache_root: &Path) -> PathBuf {
    let modules = cache_root.join("node-ref").join("node_modules");
    for package in ["@vladmandic/face-api", "@tensorflow/tfjs"] {
        assert!(
            modules.join(package).join("package.json").is_file(),
            "the npm reference is not installed: {} is missing; run scripts/fetch-models.sh \
             (npm ci of models/convert/node/package-lock.json into {})",
            modules.join(package).display(),
            cache_root.join("node-ref").display()
        );
    }
    modules
}

/// Runs face-api on `chips` in Node; returns one template per chip.
fn reference_templates(cache_root: &Path, chips: &[Vec<u8>]) -> Vec<FaceTemplate> {
    let node = node();
    let modules = reference_modules(cache_root);
    let dir = tempfile::tempdir().unwrap();
    let crops_path = dir.path().join("crops.f32");
    let out_path = dir.path().join("templates.f32");
    let floats: Vec<u8> = chips
        .iter()
        .flatten()
        .flat_map(|v| f32::from(*v).to_le_bytes())
        .collect();
    std::fs::write(&crops_path, floats).unwrap();
    let out = Command::new(&node)
        .arg(reference_script())
        .arg(cache_root.join("models").join("face-api"))
        .arg(&crops_path)
        .arg(chips.len().to_string())
        .arg(&out_path)
        .env("NODE_PATH", &modules)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", node.display()));
    assert!(
        out.status.success(),
        "face-api reference failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout).trim());
    let values: Vec<f32> = std::fs::read(&out_path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(
        values.len(),
        chips.len() * TEMPLATE_LEN,
        "the reference wrote {} floats for {} chips",
        values.len(),
        chips.len()
    );
    values
        .chunks_exact(TEMPLATE_LEN)
        .map(|t| FaceTemplate::from_slice(t).unwrap())
        .collect()
}

#[test]
fn face_template_onnx_matches_face_api_reference_on_aligned_real_faces() {
    let cache = face_imagery::cache();
    // Check the reference first: a missing Node should not cost a model load.
    node();
    reference_modules(cache.root());
    let model = face_imagery::template_model(&cache);
    let mut detector = face_imagery::detector(&cache);
    let faces = face_imagery::all_photo_faces(&cache, &mut detector);
    assert!(
        faces.len() >= MIN_FACES,
        "MTCNN found {} faces in the photographs, expected at least {MIN_FACES}",
        faces.len()
    );
    let chips: Vec<Vec<u8>> = faces.iter().map(|f| f.chip.clone()).collect();
    assert!(chips.iter().all(|c| c.len() == CHIP_SIZE_PX * CHIP_SIZE_PX * 3));

    let theirs = reference_templates(cache.root(), &chips);
    let calls_before = model.calls();
    let mut worst = (f32::INFINITY, String::new());
    let mut max_distance = 0.0f32;
    let mut failures = Vec::new();
    for (face, reference) in faces.iter().zip(&theirs) {
        let ours = model.compute(&face.chip).unwrap();
        let cos = ours.cosine(reference);
        max_distance = max_distance.max(ours.distance(reference));
        if cos < worst.0 {
            worst = (cos, face.label());
        }
        // NaN fails too.
        if cos.is_nan() || cos <= MIN_COSINE {
            failures.push(format!("{}: cosine {cos}", face.label()));
        }
    }
    assert_eq!(model.calls() - calls_before, faces.len() as u64);
    println!(
        "face-template conversion: {} aligned real faces from {} photographs, minimum cosine {:.7} ({}), \
         maximum euclidean distance {max_distance:.2e}",
        faces.len(),
        face_imagery::IMAGE_FILES.len(),
        worst.0,
        worst.1
    );
    assert!(
        failures.is_empty(),
        "ONNX templates disagree with face-api's (cosine <= {MIN_COSINE}): {failures:?}"
    );
}

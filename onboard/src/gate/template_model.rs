//! The face-template model (dlib ResNet, converted to ONNX from face-api by
//! `models/convert/face_api_to_onnx.py`) run with tract.
//!
//! This is the one component LAW.md section 1 fences in: it may run only
//! while an authorization is active. It therefore counts every inference
//! (`calls()`), so tests can prove it never ran outside one, and it is only
//! reachable through the gate (`crate::gate`), never from the detectors.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tract_onnx::prelude::*;
use utkik_shared::face::align::CHIP_SIZE_PX;
use utkik_shared::face::template::{FaceTemplate, TEMPLATE_LEN};

/// File name of the converted model inside the model cache.
pub const FACE_TEMPLATE_MODEL_FILE: &str = "models/face-template/dlib_resnet_face_template.onnx";

/// Errors of the face-template model.
#[derive(Debug, thiserror::Error)]
pub enum TemplateModelError {
    /// The model file is missing.
    #[error("face-template model {path} is missing: run scripts/fetch-models.sh (it converts face-api's weights)")]
    Missing {
        /// Where it was expected.
        path: PathBuf,
    },
    /// tract could not load or optimise the model.
    #[error("face-template model {path}: {source}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// tract's error.
        source: anyhow::Error,
    },
    /// A chip is not 150x150 RGB.
    #[error("aligned face chip holds {got} bytes, expected {expected} (150x150 RGB)")]
    ChipSize {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Inference failed.
    #[error("face-template inference: {0}")]
    Run(anyhow::Error),
}

type Plan = Arc<TypedRunnableModel>;

/// The loaded model, optimised for one chip at a time (faces arrive a few
/// per frame; a fixed batch of one keeps tract's plan fully concrete).
pub struct TemplateModel {
    plan: Plan,
    calls: Arc<AtomicU64>,
}

impl TemplateModel {
    /// Loads and optimises the model from a file.
    pub fn load(path: &Path) -> Result<Self, TemplateModelError> {
        if !path.is_file() {
            return Err(TemplateModelError::Missing {
                path: path.to_path_buf(),
            });
        }
        let load = || -> TractResult<Plan> {
            tract_onnx::onnx()
                .model_for_path(path)?
                .with_input_fact(0, f32::fact([1, 3, CHIP_SIZE_PX, CHIP_SIZE_PX]).into())?
                .into_optimized()?
                .into_runnable()
        };
        let plan = load().map_err(|source| TemplateModelError::Load {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            plan,
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Loads the model from the model cache directory (`$UTKIK_CACHE` or `~/.cache/utkik`).
    pub fn load_from_cache(cache_dir: &Path) -> Result<Self, TemplateModelError> {
        Self::load(&cache_dir.join(FACE_TEMPLATE_MODEL_FILE))
    }

    /// How many templates this model has computed since it was loaded.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// A shared handle on the call counter (for status reports and tests).
    pub fn call_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.calls)
    }

    /// Computes the template of one aligned 150x150 RGB chip.
    pub(crate) fn compute(&self, chip_rgb: &[u8]) -> Result<FaceTemplate, TemplateModelError> {
        let expected = CHIP_SIZE_PX * CHIP_SIZE_PX * 3;
        if chip_rgb.len() != expected {
            return Err(TemplateModelError::ChipSize {
                expected,
                got: chip_rgb.len(),
            });
        }
        let input = tract_ndarray::Array4::from_shape_fn((1, 3, CHIP_SIZE_PX, CHIP_SIZE_PX), |(_, c, y, x)| {
            chip_rgb[(y * CHIP_SIZE_PX + x) * 3 + c] as f32
        });
        self.calls.fetch_add(1, Ordering::SeqCst);
        let out = self
            .plan
            .run(tvec!(Tensor::from(input).into()))
            .map_err(TemplateModelError::Run)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(TemplateModelError::Run)?;
        let values: Vec<f32> = view.iter().copied().collect();
        FaceTemplate::from_slice(&values).ok_or_else(|| {
            TemplateModelError::Run(anyhow::anyhow!(
                "model gave {} values, expected {TEMPLATE_LEN}",
                values.len()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    //! Proves the ONNX conversion: templates from our ONNX in tract and from
    //! face-api itself (Node, pure-JS TensorFlow.js) on the same chips of real
    //! imagery agree to cosine similarity > 0.999. Needs the cache that
    //! `scripts/fetch-models.sh` fills (models, imagery and the Node reference).
    use super::*;
    use std::process::Command;

    fn cache_dir() -> PathBuf {
        std::env::var_os("UTKIK_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/utkik"))
    }

    /// 150x150 chips cut from the real face imagery (square regions around
    /// the faces and elsewhere, resized): real image statistics, several
    /// people, so the comparison covers what the model sees in use.
    fn real_chips() -> Vec<Vec<u8>> {
        let faces = cache_dir().join("imagery/faces");
        // (file, x, y, side) in source pixels.
        let regions = [
            ("astronaut.png", 150, 20, 200),
            ("astronaut.png", 170, 60, 130),
            ("astronaut.png", 0, 250, 250),
            ("sample1.jpg", 0, 0, 300),
            ("sample2.jpg", 100, 50, 250),
            ("sample3.jpg", 50, 50, 200),
        ];
        regions
            .iter()
            .map(|(file, x, y, side)| {
                let img = image::open(faces.join(file))
                    .unwrap_or_else(|e| panic!("{file}: {e}"))
                    .to_rgb8();
                let side = (*side).min(img.width() - x).min(img.height() - y);
                let crop = image::imageops::crop_imm(&img, *x, *y, side, side).to_image();
                image::imageops::resize(&crop, 150, 150, image::imageops::FilterType::Triangle).into_raw()
            })
            .collect()
    }

    #[test]
    fn onnx_conversion_matches_face_api_reference() {
        let cache = cache_dir();
        let model = TemplateModel::load_from_cache(&cache).expect("run scripts/fetch-models.sh");
        let chips = real_chips();
        let dir = tempfile::tempdir().unwrap();
        let crops_path = dir.path().join("crops.f32");
        let out_path = dir.path().join("templates.f32");
        let floats: Vec<u8> = chips.iter().flatten().flat_map(|v| (*v as f32).to_le_bytes()).collect();
        std::fs::write(&crops_path, floats).unwrap();
        let status = Command::new("node")
            .arg(cache.join("node-ref/face_api_reference.cjs"))
            .arg(cache.join("models/face-api"))
            .arg(&crops_path)
            .arg(chips.len().to_string())
            .arg(&out_path)
            .current_dir(cache.join("node-ref"))
            .output()
            .expect("node (installed by scripts/setup.sh)");
        assert!(
            status.status.success(),
            "reference failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let reference: Vec<f32> = std::fs::read(&out_path)
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(reference.len(), chips.len() * TEMPLATE_LEN);
        let mut worst = 1.0f32;
        for (i, chip) in chips.iter().enumerate() {
            let ours = model.compute(chip).unwrap();
            let theirs = FaceTemplate::from_slice(&reference[i * TEMPLATE_LEN..(i + 1) * TEMPLATE_LEN]).unwrap();
            let cos = ours.cosine(&theirs);
            worst = worst.min(cos);
            assert!(cos > 0.999, "chip {i}: cosine {cos}");
            assert!(
                ours.distance(&theirs) < 0.01,
                "chip {i}: distance {}",
                ours.distance(&theirs)
            );
        }
        assert_eq!(model.calls(), chips.len() as u64);
        println!(
            "face-template conversion: worst cosine over {} real chips = {worst:.7}",
            chips.len()
        );
    }

    #[test]
    fn missing_model_and_bad_chip_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = TemplateModel::load_from_cache(dir.path()).err().unwrap();
        assert!(err.to_string().contains("dlib_resnet_face_template.onnx"), "{err}");
        assert!(err.to_string().contains("fetch-models.sh"), "{err}");
        let bad = dir.path().join("bad.onnx");
        std::fs::write(&bad, b"not a model").unwrap();
        let err = TemplateModel::load(&bad).err().unwrap();
        assert!(matches!(err, TemplateModelError::Load { .. }), "{err}");
        assert!(err.to_string().contains("bad.onnx"), "{err}");
    }
}

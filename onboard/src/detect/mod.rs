//! The tract-onnx detectors: MTCNN faces (`faces`). Models come verified from `utkik_models`.

pub mod faces;

//! The tract-onnx detectors: MTCNN faces (`faces`) and PP-OCRv5 number plates (`plates`).
//! Models come verified from `utkik_models`.

pub mod faces;
pub mod plates;
pub mod resample;

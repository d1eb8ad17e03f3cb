//! The detectors: MTCNN faces (`faces`) and PP-OCRv5 number plates (`plates`), on tract-onnx;
//! the face nets also on ONNX Runtime (`runtime`, `detect.runtime`). Models come verified from
//! `utkik_models`.

pub mod faces;
pub mod plates;
pub mod resample;
pub mod runtime;

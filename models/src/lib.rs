//! Fetch, verify (sha256), convert and load the ONNX models.

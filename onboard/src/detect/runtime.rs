//! The inference runtime a detector runs its ONNX models on (issue 18):
//!
//! - **tract** (`detect.runtime = "tract"`, the default): pure Rust, one optimised plan per input
//!   shape, built ahead of time;
//! - **ONNX Runtime** (`"onnxruntime"`) through the `ort` crate with `load-dynamic`: nothing is
//!   linked or downloaded at build time; `libonnxruntime.so` is opened at start-up from
//!   `detect.onnxruntime_lib`, else `$ORT_DYLIB_PATH`, else the `capi/` folder of the onnxruntime
//!   wheel that `scripts/setup.sh` pip-installs (found by asking `python3`). One session per model
//!   serves every input shape (the MTCNN and PP-OCR graphs have dynamic dimensions).
//!
//! The operator who asked for ONNX Runtime gets it or a start-up error naming the library path
//! and what was wrong with it (missing, not a library, older than the C API `ort` was built
//! for, with the version found): there is no silent fallback to tract.
//!
//! A [`Model`] is a loaded network; a [`Plan`] runs it on one input shape (`Model::plan`: for
//! tract an optimised plan per shape, for ONNX Runtime the model's sessions). Inputs are `f32`
//! tensors in the layout the model declares; outputs are lent to a closure as `f32` views, so
//! neither runtime copies them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tract_onnx::prelude::*;

/// The ONNX Runtime version whose C API `ort` is built against (the wheel `scripts/setup.sh`
/// installs); an older library is refused at start-up.
pub const ONNXRUNTIME_MIN_VERSION: &str = "1.23";

/// Which runtime runs the models, with its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Runtime {
    /// tract-onnx (pure Rust).
    #[default]
    Tract,
    /// ONNX Runtime, loaded at start-up.
    OnnxRuntime(OrtSettings),
}

/// ONNX Runtime settings (`[detect]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtSettings {
    /// `libonnxruntime.so` to open; `None`: `$ORT_DYLIB_PATH`, else the onnxruntime wheel's.
    pub library: Option<PathBuf>,
    /// Threads each session's operators use (ONNX Runtime's intra-op pool).
    pub intra_threads: usize,
    /// Sessions per model: concurrent runs of one model (the detector's worker threads) each
    /// need one, since a session runs one call at a time.
    pub sessions: usize,
}

impl Default for OrtSettings {
    fn default() -> Self {
        Self {
            library: None,
            intra_threads: 1,
            sessions: 1,
        }
    }
}

impl Runtime {
    /// The config name (`detect.runtime`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Tract => "tract",
            Self::OnnxRuntime(_) => "onnxruntime",
        }
    }
}

/// Why a runtime, model or run failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No ONNX Runtime library was found.
    #[error(
        "onnxruntime library not found ({tried}); detect.runtime = \"onnxruntime\" does not fall back to tract: install the wheel (scripts/setup.sh: pip install onnxruntime==1.23.2), set detect.onnxruntime_lib or ORT_DYLIB_PATH to its capi/libonnxruntime.so.*, or set detect.runtime = \"tract\""
    )]
    LibraryNotFound {
        /// Where it was looked for, and why each place failed.
        tried: String,
    },
    /// The library could not be opened or is too old.
    #[error(
        "onnxruntime library {}: {message}; detect.runtime = \"onnxruntime\" needs ONNX Runtime >= {ONNXRUNTIME_MIN_VERSION} (the wheel scripts/setup.sh installs) and does not fall back to tract",
        path.display()
    )]
    Library {
        /// The library path.
        path: PathBuf,
        /// What went wrong (the dynamic loader's message, or the version found).
        message: String,
    },
    /// A second, different library was asked for in the same process.
    #[error(
        "onnxruntime library {}: this process already loaded {} (one ONNX Runtime per process)",
        requested.display(),
        loaded.display()
    )]
    AnotherLibrary {
        /// The library already loaded.
        loaded: PathBuf,
        /// The one asked for now.
        requested: PathBuf,
    },
    /// tract refused the model or the input.
    #[error("tract, model {model}: {message}")]
    Tract {
        /// Model name.
        model: &'static str,
        /// tract's error chain.
        message: String,
    },
    /// ONNX Runtime refused the model or the input.
    #[error("onnxruntime, model {model}: {message}")]
    Ort {
        /// Model name.
        model: &'static str,
        /// ONNX Runtime's message.
        message: String,
    },
}

fn terr(model: &'static str) -> impl Fn(anyhow::Error) -> RuntimeError {
    move |e| RuntimeError::Tract {
        model,
        message: format!("{e:#}"),
    }
}

fn oerr<R>(model: &'static str) -> impl Fn(ort::Error<R>) -> RuntimeError {
    move |e| RuntimeError::Ort {
        model,
        message: e.to_string(),
    }
}

/// The process's ONNX Runtime: the library it was loaded from and its environment.
static ORT_ENV: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// The library `settings` name, or the one found (`$ORT_DYLIB_PATH`, then the onnxruntime
/// wheel's `capi/libonnxruntime.so*` from `python3`).
pub fn find_onnxruntime_library(settings: &OrtSettings) -> Result<PathBuf, RuntimeError> {
    if let Some(p) = &settings.library {
        return Ok(p.clone());
    }
    let mut tried = vec!["detect.onnxruntime_lib empty".to_string()];
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(p) if !p.is_empty() => return Ok(PathBuf::from(p)),
        _ => tried.push("ORT_DYLIB_PATH unset".into()),
    }
    match wheel_library() {
        Ok(p) => Ok(p),
        Err(why) => {
            tried.push(why);
            Err(RuntimeError::LibraryNotFound {
                tried: tried.join("; "),
            })
        }
    }
}

/// `capi/libonnxruntime.so*` of the onnxruntime Python package `python3` imports.
fn wheel_library() -> Result<PathBuf, String> {
    const ASK: &str = "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))";
    let out = std::process::Command::new("python3")
        .args(["-c", ASK])
        .output()
        .map_err(|e| format!("python3 not run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim();
        return Err(format!("python3 cannot import onnxruntime: {last}"));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| format!("no libonnxruntime.so* in {}", dir.display()))
}

/// Opens the ONNX Runtime library of `settings` (once per process) and returns its environment.
fn ort_environment(settings: &OrtSettings) -> Result<ort::environment::Environment, RuntimeError> {
    let path = find_onnxruntime_library(settings)?;
    let mut env = ORT_ENV.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((loaded, e)) = env.as_ref() {
        return if same_file(loaded, &path) {
            Ok(e.clone())
        } else {
            Err(RuntimeError::AnotherLibrary {
                loaded: loaded.clone(),
                requested: path,
            })
        };
    }
    let lib_err = |message: String| RuntimeError::Library {
        path: path.clone(),
        message,
    };
    if !path.is_file() {
        return Err(lib_err("no such file".into()));
    }
    let builder = ort::init_from(&path).map_err(|e| lib_err(e.to_string()))?;
    let e = builder
        .with_name("utkik-onboard")
        .build()
        .map_err(|e| lib_err(e.to_string()))?;
    tracing::info!(library = %path.display(), build = ort::info(), "ONNX Runtime loaded");
    *env = Some((path, e.clone()));
    Ok(e)
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// A loaded network.
pub struct Model {
    name: &'static str,
    inner: ModelInner,
}

enum ModelInner {
    Tract(InferenceModel),
    Ort(Arc<OrtSessions>),
}

/// A model's ONNX Runtime sessions; a run takes the first free one.
struct OrtSessions {
    name: &'static str,
    sessions: Vec<Mutex<ort::session::Session>>,
}

impl Model {
    /// Loads the ONNX model `bytes` (called `name` in errors) on `runtime`.
    pub fn load(runtime: &Runtime, name: &'static str, bytes: &[u8]) -> Result<Self, RuntimeError> {
        let inner = match runtime {
            Runtime::Tract => {
                ModelInner::Tract(tract_onnx::onnx().model_for_read(&mut &bytes[..]).map_err(terr(name))?)
            }
            Runtime::OnnxRuntime(settings) => {
                let env = ort_environment(settings)?;
                let mut sessions = Vec::new();
                for _ in 0..settings.sessions.max(1) {
                    let s = ort::session::Session::builder(&env)
                        .map_err(oerr(name))?
                        .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
                        .map_err(oerr(name))?
                        .with_intra_threads(settings.intra_threads.max(1))
                        .map_err(oerr(name))?
                        .with_inter_threads(1)
                        .map_err(oerr(name))?
                        .commit_from_memory(bytes)
                        .map_err(oerr(name))?;
                    sessions.push(Mutex::new(s));
                }
                ModelInner::Ort(Arc::new(OrtSessions { name, sessions }))
            }
        };
        Ok(Self { name, inner })
    }

    /// The model's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether one plan serves every input shape (ONNX Runtime): callers need not pad batches
    /// to prebuilt sizes.
    pub fn any_shape(&self) -> bool {
        matches!(self.inner, ModelInner::Ort(_))
    }

    /// A plan for inputs of `shape` (tract: optimised for it, which takes time; ONNX Runtime:
    /// the model's sessions).
    pub fn plan(&self, shape: &[usize]) -> Result<Plan, RuntimeError> {
        match &self.inner {
            ModelInner::Tract(model) => {
                let p = model
                    .clone()
                    .with_input_fact(0, f32::fact(shape).into())
                    .and_then(|m| m.into_optimized())
                    .and_then(|m| m.into_runnable())
                    .map_err(terr(self.name))?;
                Ok(Plan(PlanInner::Tract(self.name, p)))
            }
            ModelInner::Ort(s) => Ok(Plan(PlanInner::Ort(s.clone()))),
        }
    }
}

/// One output of a run: its shape and its values, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    /// Dimensions.
    pub shape: &'a [usize],
    /// Values.
    pub data: &'a [f32],
}

/// A model ready to run (cheap to clone; runs may be concurrent).
#[derive(Clone)]
pub struct Plan(PlanInner);

#[derive(Clone)]
enum PlanInner {
    /// A tract plan for one input shape.
    Tract(&'static str, Arc<TypedRunnableModel>),
    /// ONNX Runtime sessions (any input shape).
    Ort(Arc<OrtSessions>),
}

impl Plan {
    /// Runs the model's first input on `input` (shape `shape`) and lends the outputs to `f`.
    pub fn run<R>(
        &self,
        shape: &[usize],
        input: Vec<f32>,
        f: impl FnOnce(&[Output<'_>]) -> R,
    ) -> Result<R, RuntimeError> {
        match &self.0 {
            PlanInner::Tract(name, plan) => {
                let t = tract_ndarray::ArrayD::from_shape_vec(shape, input)
                    .map_err(|e| RuntimeError::Tract {
                        model: name,
                        message: e.to_string(),
                    })?
                    .into_tensor();
                let out = plan.run(tvec!(t.into())).map_err(terr(name))?;
                let mut views = Vec::with_capacity(out.len());
                for o in out.iter() {
                    let view = o.to_plain_array_view::<f32>().map_err(terr(name))?;
                    let data = view.to_slice().ok_or_else(|| RuntimeError::Tract {
                        model: name,
                        message: format!("output of shape {:?} is not contiguous", o.shape()),
                    })?;
                    views.push(Output { shape: o.shape(), data });
                }
                Ok(f(&views))
            }
            PlanInner::Ort(s) => s.run(shape, &input, f),
        }
    }
}

impl OrtSessions {
    fn run<R>(&self, shape: &[usize], input: &[f32], f: impl FnOnce(&[Output<'_>]) -> R) -> Result<R, RuntimeError> {
        let name = self.name;
        // The first free session, else wait for the first one.
        let mut session = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| self.sessions[0].lock().unwrap_or_else(PoisonError::into_inner));
        let tensor = ort::value::TensorRef::from_array_view((shape, input)).map_err(oerr(name))?;
        let out = session.run(ort::inputs![tensor]).map_err(oerr(name))?;
        let mut shapes = Vec::with_capacity(out.len());
        let mut datas = Vec::with_capacity(out.len());
        for k in 0..out.len() {
            let (s, d) = out[k].try_extract_tensor::<f32>().map_err(oerr(name))?;
            shapes.push(s.iter().map(|&x| x.max(0) as usize).collect::<Vec<usize>>());
            datas.push(d);
        }
        let views: Vec<Output<'_>> = shapes
            .iter()
            .zip(datas)
            .map(|(s, d)| Output { shape: s, data: d })
            .collect();
        Ok(f(&views))
    }
}

/// For tests: ONNX Runtime from the onnxruntime wheel (`scripts/setup.sh` installs it) with
/// `intra_threads`, or `None` with the reason printed when no library is installed here.
#[cfg(test)]
pub(crate) fn onnxruntime_or_skip(intra_threads: usize) -> Option<Runtime> {
    let settings = OrtSettings {
        intra_threads,
        ..OrtSettings::default()
    };
    match find_onnxruntime_library(&settings) {
        Ok(_) => Some(Runtime::OnnxRuntime(settings)),
        Err(e @ RuntimeError::LibraryNotFound { .. }) => {
            eprintln!("SKIPPED: the onnxruntime wheel is not installed (scripts/setup.sh installs it): {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

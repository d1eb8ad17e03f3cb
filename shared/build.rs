//! Generates the Rust bindings of our MAVLink dialect (`mavlink/utkik.xml`).
//!
//! MAVLink's own `common.xml` (and what it includes) is not copied into the
//! repository: it is taken from the `mavlink` crate's package in the Cargo
//! registry, located with `cargo metadata`, so the definitions always match
//! the runtime we link. Both go into `OUT_DIR/definitions/` and
//! `mavlink-bindgen` (with `mav2-message-extensions`) writes `utkik.rs`.
//! A malformed dialect fails the build with a message naming the file.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const DIALECT: &str = "mavlink/utkik.xml";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // `cargo:warning` is shown even on failure; stderr carries the detail.
            println!("cargo:warning=utkik-shared build: {message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let dialect = manifest_dir.join(DIALECT);
    println!("cargo:rerun-if-changed={}", dialect.display());
    println!("cargo:rerun-if-changed=build.rs");

    check_well_formed(&dialect)?;

    let upstream = mavlink_definitions_dir(&manifest_dir)?;
    let defs = out_dir.join("definitions");
    std::fs::create_dir_all(&defs).map_err(|e| format!("creating {}: {e}", defs.display()))?;
    for name in ["common.xml", "standard.xml", "minimal.xml"] {
        let from = upstream.join(name);
        std::fs::copy(&from, defs.join(name)).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    let local = defs.join("utkik.xml");
    std::fs::copy(&dialect, &local).map_err(|e| format!("copying {}: {e}", dialect.display()))?;

    let gen_dir = out_dir.join("generated");
    std::fs::create_dir_all(&gen_dir).map_err(|e| format!("creating {}: {e}", gen_dir.display()))?;
    // mavlink-bindgen panics on some malformed input; name the file either way.
    let result = std::panic::catch_unwind(|| {
        mavlink_bindgen::generate(mavlink_bindgen::XmlDefinitions::Files(vec![local.clone()]), &gen_dir)
    })
    .map_err(|_| {
        format!(
            "{}: mavlink-bindgen could not parse this dialect (see the panic above)",
            dialect.display()
        )
    })?
    .map_err(|e| format!("{}: {e}", dialect.display()))?;
    mavlink_bindgen::format_generated_code(&result);
    // The generator's own `mod.rs` puts the module behind a `dialect-utkik`
    // feature; we always want it, so declare the module ourselves.
    let module = gen_dir.join("dialect_module.rs");
    std::fs::write(&module, "pub mod utkik;\n").map_err(|e| format!("writing {}: {e}", module.display()))?;
    Ok(())
}

fn env(key: &str) -> Result<String, String> {
    std::env::var(key).map_err(|_| format!("environment variable {key} is not set (not run by cargo?)"))
}

/// A cheap well-formedness check that reports line numbers, which
/// mavlink-bindgen's own errors do not.
fn check_well_formed(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut rest = text.as_str();
    let mut line = 1;
    while let Some(start) = rest.find('<') {
        line += rest[..start].matches('\n').count();
        rest = &rest[start..];
        let Some(end) = rest.find('>') else {
            return Err(format!("{}:{line}: unterminated tag", path.display()));
        };
        let tag = &rest[1..end];
        let tag_lines = tag.matches('\n').count();
        if tag.starts_with('?') || tag.starts_with('!') {
            // Declarations and comments: skip to their proper end.
            if tag.starts_with("!--") {
                let Some(close) = rest.find("-->") else {
                    return Err(format!("{}:{line}: unterminated comment", path.display()));
                };
                line += rest[..close].matches('\n').count();
                rest = &rest[close + 3..];
                continue;
            }
        } else if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            match stack.pop() {
                Some((open, _)) if open == name => {}
                Some((open, open_line)) => {
                    return Err(format!(
                        "{}:{line}: closing </{name}> does not match <{open}> opened on line {open_line}",
                        path.display()
                    ));
                }
                None => {
                    return Err(format!(
                        "{}:{line}: closing </{name}> without an opening tag",
                        path.display()
                    ));
                }
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            stack.push((name, line));
        }
        line += tag_lines;
        rest = &rest[end + 1..];
    }
    if let Some((open, open_line)) = stack.pop() {
        return Err(format!("{}:{open_line}: <{open}> is never closed", path.display()));
    }
    Ok(())
}

/// Finds `message_definitions/v1.0` inside the `mavlink` package Cargo resolved.
fn mavlink_definitions_dir(manifest_dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest_dir.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("parsing cargo metadata: {e}"))?;
    let packages = meta["packages"].as_array().ok_or("cargo metadata: no packages")?;
    let manifest = packages
        .iter()
        .find(|p| p["name"] == "mavlink" && p["version"].as_str().is_some_and(|v| v.starts_with("0.21.")))
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("cargo metadata: package mavlink 0.21 not found")?;
    let dir = Path::new(manifest).parent().ok_or("mavlink manifest has no parent")?;
    let defs = dir.join("mavlink/message_definitions/v1.0");
    if !defs.join("common.xml").is_file() {
        return Err(format!("{} has no common.xml", defs.display()));
    }
    Ok(defs)
}

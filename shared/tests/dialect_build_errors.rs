//! A malformed dialect fails the build with a message naming the file.
//!
//! Runs this crate's compiled build script (`build.rs`, as cargo runs it) on
//! a temp copy of `mavlink/utkik.xml` with one defect each: the script must
//! exit non-zero and name the file (and the line, where it can). The
//! unmodified copy must build, so the failures are the defects' doing.
//!
//! The build script binary is found in the shared target dir next to this
//! test's own build output: the newest `build-script-build` of `utkik-shared`,
//! which is never older than `build.rs` because cargo rebuilds it first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

const DIALECT_XML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mavlink/utkik.xml");
const BUILD_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs");
const LOCKFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
/// `<target>/<profile>/build/utkik-shared-<hash>/out`.
const OUT_DIR: &str = env!("OUT_DIR");

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The newest compiled build script of this crate.
fn build_script() -> PathBuf {
    let build_dir = Path::new(OUT_DIR).ancestors().nth(2).unwrap();
    let newest = std::fs::read_dir(build_dir)
        .unwrap()
        .filter_map(|e| {
            let dir = e.unwrap().path();
            let name = dir.file_name()?.to_str()?.to_owned();
            let exe = dir.join("build-script-build");
            (name.starts_with("utkik-shared-") && exe.is_file()).then_some(exe)
        })
        .max_by_key(|exe| modified(exe))
        .unwrap_or_else(|| panic!("no utkik-shared build script under {}", build_dir.display()));
    assert!(
        modified(&newest) >= modified(Path::new(BUILD_RS)),
        "{} is older than build.rs: rebuild",
        newest.display()
    );
    newest
}

/// A crate dir holding `dialect` as `mavlink/utkik.xml`, with a manifest
/// that lets the build script's `cargo metadata` find the `mavlink` package
/// (offline, pinned by the workspace's lockfile).
struct Crate {
    dir: tempfile::TempDir,
}

impl Crate {
    fn with_dialect(dialect: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("mavlink")).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"dialect-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nmavlink = \"=0.21.0\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::copy(LOCKFILE, dir.path().join("Cargo.lock")).unwrap();
        std::fs::write(dir.path().join("mavlink/utkik.xml"), dialect).unwrap();
        Self { dir }
    }

    fn dialect_path(&self) -> PathBuf {
        self.dir.path().join("mavlink/utkik.xml")
    }

    /// Runs the build script as cargo would for this crate.
    fn build(&self) -> Output {
        let out_dir = self.dir.path().join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        Command::new(build_script())
            .current_dir(self.dir.path())
            .env("CARGO_MANIFEST_DIR", self.dir.path())
            .env("OUT_DIR", &out_dir)
            .env("CARGO", option_env!("CARGO").unwrap_or("cargo"))
            .env("CARGO_NET_OFFLINE", "true")
            .output()
            .unwrap()
    }
}

fn original() -> String {
    std::fs::read_to_string(DIALECT_XML).unwrap()
}

/// `text` with the first `from` replaced, which must be there.
fn damaged(from: &str, to: &str) -> String {
    let text = original();
    assert!(text.contains(from), "utkik.xml no longer contains {from:?}");
    text.replacen(from, to, 1)
}

/// 1-based line of the first `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// The build failed and both the cargo warning and the error name the file.
fn assert_fails_naming(krate: &Crate, out: &Output, detail: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build accepted it:\n{stdout}\n{stderr}");
    let file = krate.dialect_path().display().to_string();
    let warning = stdout
        .lines()
        .find(|l| l.starts_with("cargo:warning="))
        .unwrap_or_else(|| panic!("no cargo:warning: {stdout}"));
    assert!(warning.contains(&file), "warning does not name {file}: {warning}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        error.contains(&format!("{file}{detail}")),
        "error does not name {file}{detail}: {error}"
    );
}

#[test]
fn the_dialect_as_committed_builds() {
    let krate = Crate::with_dialect(&original());
    let out = krate.build();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rust = std::fs::read_to_string(krate.dir.path().join("out/generated/utkik.rs")).unwrap();
    assert!(rust.contains("UTKIK_PIPELINE_STATUS_DATA"));
}

#[test]
fn an_unclosed_element_names_file_and_line() {
    // Drop the end tag of the first message.
    let text = damaged("    </message>\n    <message id=\"59901\"", "    <message id=\"59901\"");
    let krate = Crate::with_dialect(&text);
    let line = line_of(&text, "<message id=\"59900\"");
    assert_fails_naming(&krate, &krate.build(), &format!(":{}:", line_of(&text, "</messages>")));
    // The message says which element is open and where it was opened.
    let stderr = String::from_utf8_lossy(&krate.build().stderr).into_owned();
    assert!(stderr.contains(&format!("line {line}")), "{stderr}");
}

#[test]
fn a_mismatched_end_tag_names_file_and_line() {
    let text = damaged(
        "</field>\n      <field type=\"uint32_t\" name=\"track_id\">",
        "</feld>\n      <field type=\"uint32_t\" name=\"track_id\">",
    );
    let krate = Crate::with_dialect(&text);
    let line = line_of(&text, "</feld>");
    assert_fails_naming(&krate, &krate.build(), &format!(":{line}:"));
}

#[test]
fn an_unterminated_comment_names_file_and_line() {
    let text = damaged("<messages>", "<!-- forgotten\n  <messages>");
    let krate = Crate::with_dialect(&text);
    let line = line_of(&text, "<!-- forgotten");
    assert_fails_naming(&krate, &krate.build(), &format!(":{line}:"));
}

#[test]
fn a_truncated_file_names_the_file() {
    let text = original();
    let cut = &text[..text.find("<message id=\"59903\"").unwrap() + 20];
    let krate = Crate::with_dialect(cut);
    assert_fails_naming(&krate, &krate.build(), ":");
}

#[test]
fn a_well_formed_dialect_the_generator_rejects_names_the_file() {
    // Well-formed XML, but no MAVLink type: only mavlink-bindgen can tell.
    let text = damaged("type=\"uint16_t\" name=\"box_x\"", "type=\"uint7_t\" name=\"box_x\"");
    let krate = Crate::with_dialect(&text);
    assert_fails_naming(&krate, &krate.build(), "");
}

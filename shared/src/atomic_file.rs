//! Crash-safe replacement of a small file: state that lawful decisions depend on (replay-window
//! timestamps, alert-id boot epochs, authorization lifecycle, key files) must be either the old
//! version or the new one after a `kill -9` or a power cut, never a torn mix.
//!
//! The new bytes go to a uniquely named temporary file in the same directory (so the final
//! rename stays on one file system and two writers never share a temporary), are fsynced, renamed
//! over the target, and the directory is fsynced so the rename itself survives a crash.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an atomic write failed, with the file it was for.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path} atomically: {source}")]
pub struct AtomicWriteError {
    /// The file that was to be replaced.
    pub path: PathBuf,
    /// The underlying I/O error.
    #[source]
    pub source: std::io::Error,
}

/// Replaces `path` with `bytes` atomically and durably (see the module docs). The directory must
/// exist. On Unix the new file gets `mode` (e.g. `0o600` for secrets) before any byte is written.
///
/// # Errors
/// [`AtomicWriteError`] naming `path` when the directory cannot be written, the disk is full, or
/// the rename fails; the old file is then unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AtomicWriteError> {
    let err = |source| AtomicWriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".utkik-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode; // only Unix has modes; elsewhere the directory's ACL decides.
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    sync_dir(dir).map_err(err)
}

/// Fsyncs a directory so a rename in it survives a crash (a no-op where directories cannot be
/// opened, e.g. Windows).
///
/// # Errors
/// The I/O error of opening or syncing the directory.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"first version, longer than the second", 0o600).unwrap();
        write_atomic(&path, b"second", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("state.json")],
            "no temporary left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn new_file_gets_the_requested_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        write_atomic(&path, b"secret", 0o600).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_file_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("state.json");
        let e = write_atomic(&path, b"x", 0o600).unwrap_err();
        assert!(e.to_string().contains("state.json"), "{e}");
        assert!(!path.exists());
    }
}

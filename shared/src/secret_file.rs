//! Reading and writing files that hold secrets: link keys, audit checkpoint seeds, officer and
//! issuer signing keys, the ground station's users file (password hashes).
//!
//! Why one place: a secret that other accounts on the machine can read is not a secret, and a
//! key that other accounts can *write* can be swapped for theirs. Like OpenSSH with its private
//! keys, every loader of a secret goes through [`read_secret`], which refuses a file whose Unix
//! mode grants anything to group or others (wider than `0600`) and says how to fix it
//! (`chmod 600 FILE`). The check is made on the opened file (`fstat`), not on the path before
//! opening, so the file cannot be swapped between check and read.
//!
//! Files written by the programs ([`write_secret`]: a new users file, the DEMO set staged for
//! `--demo`) are created `0600` and replaced atomically (temporary file, fsync, rename).
//!
//! Git keeps no mode bits but the executable one, so the DEMO keys committed under `assets/`
//! are `0644` on a fresh clone. They are never read through a weakened check: `--demo` writes
//! its own `0600` copies (`utkik_shared::demo`) and reads those like any other key.
//!
//! On platforms without Unix modes the mode check is skipped (documented, not silent: there is
//! no mode to check); the programs are built and tested on Linux.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Mode bits (group and others) that make a secret file unacceptable.
pub const FORBIDDEN_MODE_BITS: u32 = 0o077;

/// Why a secret file was not read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The file could not be opened, inspected or read.
    #[error("{path}: cannot read the secret file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, a device, a FIFO).
    #[error("{path}: not a regular file (a secret must be in a plain file)")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Group or others may read or write the file.
    #[error(
        "{path}: mode {mode:04o} lets other users read or replace this secret file; only its owner may \
         (mode 0600): run `chmod 600 {path}`, and replace the secret if others may have read it",
        path = path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// The file could not be written.
    #[error("{path}: cannot write the secret file: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl SecretFileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            SecretFileError::Read { path, .. }
            | SecretFileError::NotAFile { path }
            | SecretFileError::TooOpen { path, .. }
            | SecretFileError::Write { path, .. } => path,
        }
    }
}

/// Checks the permission bits of an opened file.
fn check_open_file(path: &Path, file: &std::fs::File) -> Result<(), SecretFileError> {
    let meta = file.metadata().map_err(|source| SecretFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(SecretFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & FORBIDDEN_MODE_BITS != 0 {
            return Err(SecretFileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Reads a secret file whole, after checking that only its owner may read or write it.
///
/// # Errors
/// [`SecretFileError::TooOpen`] for a file group or others may read or write (the message says
/// `chmod 600`), [`SecretFileError::NotAFile`], [`SecretFileError::Read`].
pub fn read_secret(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let read_err = |source| SecretFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    check_open_file(path, &file)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_err)?;
    Ok(bytes)
}

/// Checks a secret file's mode without keeping its contents (for a loader that reads the file
/// itself; prefer [`read_secret`], which checks the very file it reads).
///
/// # Errors
/// As [`read_secret`].
pub fn check_secret_file(path: &Path) -> Result<(), SecretFileError> {
    let file = std::fs::File::open(path).map_err(|source| SecretFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    check_open_file(path, &file)
}

/// Writes `bytes` to `path` as a secret: a `0600` temporary file beside it, fsynced, then
/// renamed over `path` (readers see the old or the new file, never half of one, and never a
/// moment where the secret is readable by others).
///
/// # Errors
/// [`SecretFileError::Write`].
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), SecretFileError> {
    let write_err = |source| SecretFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| write_err(std::io::Error::other("the path has no file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn file_with_mode(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"secret").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn owner_only_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o400] {
            let p = file_with_mode(dir.path(), &format!("k{mode:o}"), mode);
            assert_eq!(read_secret(&p).unwrap(), b"secret");
            check_secret_file(&p).unwrap();
        }
    }

    #[test]
    fn files_others_may_read_or_write_are_refused_naming_file_mode_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o666] {
            let p = file_with_mode(dir.path(), "link.key.json", mode);
            let e = read_secret(&p).unwrap_err();
            assert!(
                matches!(e, SecretFileError::TooOpen { mode: m, .. } if m == mode),
                "{e}"
            );
            let msg = e.to_string();
            assert!(msg.contains("link.key.json"), "{msg}");
            assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
            assert!(msg.contains("chmod 600"), "{msg}");
            assert!(check_secret_file(&p).is_err());
        }
    }

    #[test]
    fn missing_file_and_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_secret(&dir.path().join("nope.json")).unwrap_err();
        assert!(matches!(e, SecretFileError::Read { .. }), "{e}");
        assert!(e.to_string().contains("nope.json"));
        let e = read_secret(dir.path()).unwrap_err();
        assert!(matches!(e, SecretFileError::NotAFile { .. }), "{e}");
    }

    #[test]
    fn written_secrets_are_owner_only_and_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        write_secret(&p, b"one").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_secret(&p).unwrap(), b"one");
        // Replacing a file that was left too open gives a 0600 file again.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&p, b"two").unwrap();
        assert_eq!(read_secret(&p).unwrap(), b"two");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("users.json")]);
    }
}

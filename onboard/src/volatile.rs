//! Where the drone may keep what must not survive power-off (issue 17 item 3, LAW.md 6).
//!
//! A captured drone must hold nothing readable: no enrolment image of a designated person, no
//! authorization document naming them, no hit list, no link key. The companion computer has no
//! secure element, and a key kept on its disk would sit beside the data it protects, so the
//! design is the one of military radios' key fill: **secrets and biometric inputs live only on
//! a RAM filesystem** (`tmpfs`/`ramfs`), filled at pre-flight (`gate.authorization`,
//! `detect.plate_hit_list`, `gate.link_key` copied there by the crew) or received in flight
//! (urgent-use uploads, written to `gate.volatile_dir`). They survive a crash and restart of the
//! onboard process (kill -9 loses nothing), and are gone when the power is. Everything the drone
//! writes to its disk is either sealed to the ground station's public key (evidence crops,
//! plate images: `utkik_shared::seal`) or metadata (the audit log, states).
//!
//! This module answers one question for start-up: is this path on a RAM filesystem? It reads
//! `/proc/self/mountinfo` (the mount that holds the path is the one with the longest mount
//! point that is a prefix of its canonical path), so the answer follows bind mounts and needs
//! no `unsafe` `statfs`. Swap would let the kernel write tmpfs pages to disk: `swap_devices`
//! says whether any is on, and start-up warns (a companion computer should run without swap or
//! with encrypted swap).

use std::path::{Path, PathBuf};

/// Filesystem types whose pages live in RAM only.
pub const RAM_FILESYSTEMS: &[&str] = &["tmpfs", "ramfs"];

/// Why a path is not known to be on a RAM filesystem.
#[derive(Debug, thiserror::Error)]
pub enum VolatileError {
    /// The path (or its parent folder, for a file to be created) cannot be resolved.
    #[error("{path}: {source}")]
    Resolve {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `/proc/self/mountinfo` cannot be read or holds no mount for the path.
    #[error("{path}: cannot tell its filesystem: {reason}")]
    Mounts {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// On a filesystem that keeps its data after power-off.
    #[error(
        "{path} is on {fstype} (mounted at {mount_point}), which keeps its data after power-off; it must be on a RAM \
         filesystem (tmpfs or ramfs), e.g. `mount -t tmpfs -o size=64m,mode=0700 tmpfs /run/utkik` and put the file there \
         at pre-flight"
    )]
    Persistent {
        /// The path.
        path: PathBuf,
        /// The filesystem type found.
        fstype: String,
        /// Its mount point.
        mount_point: String,
    },
}

/// One line of `/proc/self/mountinfo`: mount point and filesystem type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted (octal escapes such as `\040` decoded).
    pub mount_point: String,
    /// Filesystem type (`tmpfs`, `ext4`, ...).
    pub fstype: String,
}

/// Parses `/proc/self/mountinfo` text (proc(5)): field 5 is the mount point, the field after
/// the ` - ` separator the filesystem type. Lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = unescape(before.split(' ').nth(4)?);
            let fstype = after.split(' ').next()?.to_string();
            Some(Mount { mount_point, fstype })
        })
        .collect()
}

/// Decodes the octal escapes the kernel writes for space, tab, newline and backslash.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("x"), 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount holding `canonical` (an absolute, canonical path): the longest mount point that is
/// a whole-component prefix of it; the last such line wins (a later mount hides an earlier one
/// at the same point).
pub fn mount_of<'a>(mounts: &'a [Mount], canonical: &Path) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for m in mounts {
        if canonical.starts_with(&m.mount_point) && best.is_none_or(|b| m.mount_point.len() >= b.mount_point.len()) {
            best = Some(m);
        }
    }
    best
}

/// Canonical form of `path`; for a path that does not exist yet (a folder start-up creates),
/// its nearest existing ancestor's.
fn canonical(path: &Path) -> Result<PathBuf, VolatileError> {
    let mut p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|source| VolatileError::Resolve {
                path: path.into(),
                source,
            })?
            .join(path)
    };
    loop {
        match p.canonicalize() {
            Ok(c) => return Ok(c),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match p.parent() {
                Some(parent) => p = parent.to_path_buf(),
                None => {
                    return Err(VolatileError::Resolve {
                        path: path.into(),
                        source: e,
                    });
                }
            },
            Err(source) => {
                return Err(VolatileError::Resolve {
                    path: path.into(),
                    source,
                });
            }
        }
    }
}

/// Checks that `path` (a file, or a folder that may not exist yet) is on a RAM filesystem.
///
/// # Errors
/// [`VolatileError`] naming the path, and for a persistent filesystem its type and mount point.
pub fn require_ram(path: &Path) -> Result<(), VolatileError> {
    let c = canonical(path)?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| VolatileError::Mounts {
        path: path.into(),
        reason: format!("/proc/self/mountinfo: {e}"),
    })?;
    let mounts = parse_mountinfo(&text);
    let Some(m) = mount_of(&mounts, &c) else {
        return Err(VolatileError::Mounts {
            path: path.into(),
            reason: format!("no mount holds {}", c.display()),
        });
    };
    if RAM_FILESYSTEMS.contains(&m.fstype.as_str()) {
        Ok(())
    } else {
        Err(VolatileError::Persistent {
            path: path.into(),
            fstype: m.fstype.clone(),
            mount_point: m.mount_point.clone(),
        })
    }
}

/// Swap areas in use (`/proc/swaps` after its header line): tmpfs pages may be written there.
pub fn swap_devices() -> Vec<String> {
    std::fs::read_to_string("/proc/swaps")
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw
24 22 0:22 / /run rw,nosuid shared:3 - tmpfs tmpfs rw,size=100k
25 24 8:2 / /run/data rw shared:4 - ext4 /dev/sda2 rw
26 22 0:23 / /mnt/with\\040space rw - ramfs ramfs rw
bad line without separator
";

    #[test]
    fn mountinfo_lines_give_mount_point_and_type() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 5);
        assert_eq!(
            m[4],
            Mount {
                mount_point: "/mnt/with space".into(),
                fstype: "ramfs".into()
            }
        );
    }

    #[test]
    fn the_longest_whole_component_prefix_holds_the_path() {
        let m = parse_mountinfo(MOUNTINFO);
        let of = |p: &str| mount_of(&m, Path::new(p)).map(|m| m.fstype.as_str());
        assert_eq!(of("/dev/shm/utkik/key.json"), Some("tmpfs"));
        assert_eq!(of("/run/utkik"), Some("tmpfs"));
        // A disk mounted inside a tmpfs is a disk.
        assert_eq!(of("/run/data/uploads"), Some("ext4"));
        // `/run/database` is not under `/run/data`.
        assert_eq!(of("/run/database"), Some("tmpfs"));
        assert_eq!(of("/home/pilot"), Some("ext4"));
        assert_eq!(of("/mnt/with space/x"), Some("ramfs"));
    }

    #[test]
    fn a_folder_on_disk_is_refused_naming_its_filesystem_and_a_ram_one_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        match require_ram(&dir.path().join("not-yet/uploads")) {
            Err(VolatileError::Persistent { fstype, .. }) => assert!(!fstype.is_empty()),
            // A machine whose /tmp is a tmpfs: then that is the right answer.
            Ok(()) => {}
            Err(e) => panic!("{e}"),
        }
        if Path::new("/dev/shm").is_dir() && require_ram(Path::new("/dev/shm")).is_ok() {
            let ram = tempfile::tempdir_in("/dev/shm").unwrap();
            require_ram(&ram.path().join("uploads")).unwrap();
        }
    }
}

//! Recording of every received packet to `.tlog` files (the QGroundControl/pymavlink format: an
//! 8-byte big-endian Unix time in µs before each raw frame), rotated by size so a long mission
//! never grows one unbounded file.
//!
//! Durability (issue 14 item 4): the recorder flushes and `fdatasync`s the current file at most
//! [`SYNC_INTERVAL_USEC`] of record time after a record, and at once after an alert
//! ([`TlogRecorder::write_synced`]), so a kill -9 or a power cut loses at most about one second
//! of telemetry and never an alert the station acknowledged (the ack goes out after the
//! alert's record is synced here and stored in the audit log). A restarted station starts a
//! new file (`<stem>` carries the start time), never overwriting one.
//!
//! The records are byte for byte those of `utkik_shared::tlog` (whose reader the redaction
//! uses), but the recorder is not `utkik_shared::tlog::TlogFileWriter`: that one names files by
//! the UTC time of their first record (`prefix-YYYYMMDD-HHMMSS.tlog`) where scripts rely on
//! `<stem>-001.tlog` (`scripts/screenshot-smoke.sh`), takes CRC-checked `RawFrame`s only, and
//! does not list the files it has written while it runs, which the link shows and redacts.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Longest record time between two syncs of the current file, µs.
pub const SYNC_INTERVAL_USEC: u64 = 1_000_000;

/// Writes frames to `dir/utkik-<start>-<n>.tlog`, starting a new file past `rotate_bytes`.
#[derive(Debug)]
pub struct TlogRecorder {
    dir: PathBuf,
    stem: String,
    rotate_bytes: u64,
    index: u32,
    written: u64,
    file: Option<BufWriter<File>>,
    /// Record time of the last sync (0: none yet).
    last_sync_usec: u64,
    /// Syncs done (flush + fdatasync), for tests and the health panel.
    pub syncs: u64,
    /// Files written so far, oldest first.
    pub files: Vec<PathBuf>,
}

impl TlogRecorder {
    /// Creates `dir` if needed; nothing is written until the first frame.
    pub fn new(dir: &Path, stem: &str, rotate_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("creating tlog folder {}: {e}", dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            rotate_bytes: rotate_bytes.max(1024),
            index: 0,
            written: 0,
            file: None,
            last_sync_usec: 0,
            syncs: 0,
            files: Vec::new(),
        })
    }

    /// Appends one frame received at `time_usec` (Unix µs).
    pub fn write(&mut self, time_usec: u64, frame: &[u8]) -> io::Result<()> {
        if self.file.is_none() || self.written >= self.rotate_bytes {
            self.rotate()?;
        }
        let f = self.file.as_mut().expect("opened by rotate");
        f.write_all(&time_usec.to_be_bytes())?;
        f.write_all(frame)?;
        self.written += 8 + frame.len() as u64;
        // Bounded loss on a crash: sync once a second of record time (or when the clock jumped
        // back, so a clock step cannot postpone it).
        if self.last_sync_usec == 0 {
            self.last_sync_usec = time_usec;
        } else if time_usec < self.last_sync_usec || time_usec - self.last_sync_usec >= SYNC_INTERVAL_USEC {
            self.sync(time_usec)?;
        }
        Ok(())
    }

    /// Appends one frame and syncs the file before returning: for alerts, whose record must be
    /// on disk before the station acknowledges them.
    pub fn write_synced(&mut self, time_usec: u64, frame: &[u8]) -> io::Result<()> {
        self.write(time_usec, frame)?;
        self.sync(time_usec)
    }

    /// Flushes the buffer and `fdatasync`s the current file.
    pub fn sync(&mut self, time_usec: u64) -> io::Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.flush()?;
            f.get_ref().sync_data()?;
            self.syncs += 1;
        }
        self.last_sync_usec = time_usec;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
            f.get_ref().sync_data()?;
        }
        self.index += 1;
        let path = self.dir.join(format!("{}-{:03}.tlog", self.stem, self.index));
        let f =
            File::create(&path).map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
        self.file = Some(BufWriter::new(f));
        self.files.push(path);
        self.written = 0;
        Ok(())
    }

    /// Flushes, syncs and closes the current file; the next frame starts a new one. Used before
    /// the files are rewritten (redaction), so nothing is appended to a file being replaced.
    pub fn finish_file(&mut self) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            let path = self.files.last().cloned().unwrap_or_default();
            let with_path = |e: io::Error| io::Error::new(e.kind(), format!("closing {}: {e}", path.display()));
            let f = f.into_inner().map_err(|e| with_path(e.into_error()))?;
            f.sync_all().map_err(with_path)?;
        }
        Ok(())
    }

    /// Flushes the current file.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Reads a whole tlog into (time µs, frame bytes) records, frames split by the decoder.
/// Returns the records and the number of trailing bytes that did not form a record.
pub fn read_tlog(path: &Path) -> io::Result<Vec<(u64, Vec<u8>)>> {
    let bytes = fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 + 12 <= bytes.len() {
        let t = u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let f = &bytes[i + 8..];
        if f[0] != 0xFD {
            // Damaged: skip a byte and look for the next plausible record.
            i += 1;
            continue;
        }
        let len = 10 + f[1] as usize + 2 + if f[2] & 1 != 0 { 13 } else { 0 };
        if f.len() < len {
            break;
        }
        out.push((t, f[..len].to_vec()));
        i += 8 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = TlogRecorder::new(dir.path(), "t", 1024).unwrap();
        let frame: Vec<u8> = [0xFD, 3, 0, 0, 1, 1, 1, 0, 0, 0, 7, 7, 7, 0, 0].to_vec();
        for i in 0..200u64 {
            r.write(i, &frame).unwrap();
        }
        r.flush().unwrap();
        assert!(r.files.len() >= 3, "{:?}", r.files);
        let total: usize = r.files.iter().map(|p| read_tlog(p).unwrap().len()).sum();
        assert_eq!(total, 200);
    }

    /// A kill -9 skips every destructor: `mem::forget` leaves the recorder's buffer unwritten,
    /// as the kernel would. What was synced is in the file: everything up to the last full
    /// second of record time, and an alert written with `write_synced` at once.
    #[test]
    fn a_killed_recorder_loses_at_most_a_second_and_never_an_alert() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = TlogRecorder::new(dir.path(), "t", 1 << 20).unwrap();
        let frame: Vec<u8> = [0xFD, 3, 0, 0, 1, 1, 1, 0, 0, 0, 7, 7, 7, 0, 0].to_vec();
        let t0 = 1_800_000_000_000_000u64;
        for i in 0..=25u64 {
            r.write(t0 + i * 100_000, &frame).unwrap();
        }
        let path = r.files[0].clone();
        let on_disk = |p: &Path| read_tlog(p).unwrap().len();
        // Synced at 1.0 s and 2.0 s of record time: records 0..=20 are on disk.
        assert_eq!(r.syncs, 2);
        assert!(on_disk(&path) >= 21, "{} records on disk", on_disk(&path));
        // The alert record is on disk when write_synced returns.
        r.write_synced(t0 + 2_550_000, &frame).unwrap();
        let records = 27;
        std::mem::forget(r);
        assert_eq!(on_disk(&path), records);

        // A clock that jumps back does not postpone the sync.
        let mut r = TlogRecorder::new(dir.path(), "u", 1 << 20).unwrap();
        r.write(t0, &frame).unwrap();
        r.write(t0 - 3_600_000_000, &frame).unwrap();
        assert_eq!(r.syncs, 1);
    }

    #[test]
    fn finish_file_closes_and_the_next_frame_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = TlogRecorder::new(dir.path(), "t", 1 << 20).unwrap();
        let frame: Vec<u8> = [0xFD, 3, 0, 0, 1, 1, 1, 0, 0, 0, 7, 7, 7, 0, 0].to_vec();
        r.write(1, &frame).unwrap();
        r.finish_file().unwrap();
        assert_eq!(std::fs::read(&r.files[0]).unwrap().len(), 8 + frame.len(), "flushed");
        r.finish_file().unwrap();
        r.write(2, &frame).unwrap();
        r.flush().unwrap();
        assert_eq!(r.files.len(), 2);
        assert_eq!(read_tlog(&r.files[0]).unwrap(), [(1, frame.clone())]);
        assert_eq!(read_tlog(&r.files[1]).unwrap(), [(2, frame)]);
    }
}

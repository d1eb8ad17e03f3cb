//! Redaction of the tlog recordings when an urgent use is refused. LAW.md section 3 says every
//! match, evidence crop and alert of a refused use is deleted at the ground, and the link records
//! every packet it receives, so the use's UTKIK_BIOMETRIC_MATCH messages (every resend) and their
//! evidence transfers (DATA_TRANSMISSION_HANDSHAKE + the ENCAPSULATED_DATA packets after it) are
//! also in the `.tlog` files. This module rewrites those files without them.
//!
//! The rule ([`UseFilter`]):
//! - drop every UTKIK_BIOMETRIC_MATCH whose `authorization_digest` is the use's 16-byte prefix;
//! - for each system that sent such a match, drop every DATA_TRANSMISSION_HANDSHAKE whose `size`
//!   equals one of those matches' `evidence_size`, and the ENCAPSULATED_DATA packets of that
//!   system after it, up to its next handshake (the transfer protocol carries no transfer id, so
//!   size and order are all there is; the world attaches crops by the same rule).
//!
//! Everything else is kept byte for byte with its timestamp. Matches are collected from every
//! file first, so a transfer is recognised in whichever file it landed; the per-system transfer
//! state then runs through the files in recording order and, in the link thread, on into the
//! live recording (so packets of the use still in flight are not recorded either).
//!
//! Bytes the reader cannot parse are kept as they were (they are not ours to judge, and a
//! reader may still make something of them), except a damaged stretch lying between two dropped
//! packets of the same transfer: that is almost certainly a damaged packet of the crop. Every
//! damaged stretch is reported.
//!
//! A file is rewritten crash-safely: the kept records go to a temporary file in the same folder,
//! which is synced and renamed over the original, and then the folder is synced. A crash leaves
//! either the old or the new file, never a mix. A file with nothing to drop is left untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use mavlink_core::MessageData;
use thiserror::Error;
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, UTKIK_BIOMETRIC_MATCH_DATA,
};
use utkik_shared::mavframe::RawFrame;
use utkik_shared::tlog::{TlogError, TlogReader};

/// Suffix of the temporary file a redacted copy is written to (never `.tlog`, so nothing reads a
/// half-written copy as a recording).
pub const TEMP_SUFFIX: &str = ".redact-tmp";

/// Which use's records to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactRule {
    /// First 16 bytes of the use's authorization digest, as UTKIK_BIOMETRIC_MATCH carries it.
    pub digest_prefix: [u8; 16],
}

impl RedactRule {
    /// The rule for the use whose authorization digest is `digest` (32 bytes).
    pub fn for_digest(digest: &[u8; 32]) -> Self {
        let mut digest_prefix = [0u8; 16];
        digest_prefix.copy_from_slice(&digest[..16]);
        Self { digest_prefix }
    }
}

/// A request to redact the station's recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactRequest {
    /// What to drop.
    pub rule: RedactRule,
    /// Also redact `*.tlog` files in the record folder last written at or after this time
    /// (Unix µs; the start of the use): recordings of earlier runs of the station during the use,
    /// which this run's recorder did not write. `None`: only this run's files.
    pub since_usec: Option<u64>,
}

/// Records dropped, per kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RedactCounts {
    /// UTKIK_BIOMETRIC_MATCH records (every resend counts).
    pub matches: u64,
    /// DATA_TRANSMISSION_HANDSHAKE records of evidence transfers.
    pub handshakes: u64,
    /// ENCAPSULATED_DATA records (evidence crop packets).
    pub data_packets: u64,
}

impl RedactCounts {
    /// All dropped records.
    pub fn total(&self) -> u64 {
        self.matches + self.handshakes + self.data_packets
    }

    fn add(&mut self, other: RedactCounts) {
        self.matches += other.matches;
        self.handshakes += other.handshakes;
        self.data_packets += other.data_packets;
    }

    fn minus(self, before: RedactCounts) -> RedactCounts {
        RedactCounts {
            matches: self.matches - before.matches,
            handshakes: self.handshakes - before.handshakes,
            data_packets: self.data_packets - before.data_packets,
        }
    }
}

/// What the filter decided about one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Keep,
    DropMatch,
    /// A handshake of a dropped transfer, from this system.
    DropHandshake(u8),
    /// A data packet of a dropped transfer, from this system.
    DropData(u8),
}

const MATCH_ID: u32 = UTKIK_BIOMETRIC_MATCH_DATA::ID;
const HANDSHAKE_ID: u32 = DATA_TRANSMISSION_HANDSHAKE_DATA::ID;
const DATA_ID: u32 = ENCAPSULATED_DATA_DATA::ID;

/// The redaction rule as a streaming filter over records in recording order (see the module
/// docs). State: the evidence sizes of the use's matches per system, and which systems are in
/// the middle of a dropped transfer.
#[derive(Debug, Clone)]
pub struct UseFilter {
    rule: RedactRule,
    evidence_sizes_bytes: BTreeMap<u8, BTreeSet<u32>>,
    dropping: BTreeSet<u8>,
    dropped: RedactCounts,
}

impl UseFilter {
    /// A filter with nothing learnt yet.
    pub fn new(rule: RedactRule) -> Self {
        Self {
            rule,
            evidence_sizes_bytes: BTreeMap::new(),
            dropping: BTreeSet::new(),
            dropped: RedactCounts::default(),
        }
    }

    /// Its rule.
    pub fn rule(&self) -> RedactRule {
        self.rule
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> RedactCounts {
        self.dropped
    }

    /// Notes a match of the use (and its evidence size) without deciding anything: the first
    /// pass over the files, so a transfer is recognised even where it precedes its match.
    pub fn learn(&mut self, system_id: u8, message: &MavMessage) {
        if let MavMessage::UTKIK_BIOMETRIC_MATCH(m) = message
            && m.authorization_digest == self.rule.digest_prefix
            && m.evidence_size > 0
        {
            self.evidence_sizes_bytes
                .entry(system_id)
                .or_default()
                .insert(m.evidence_size);
        }
    }

    /// Whether to keep a record from `system_id`; counts what it drops. Learns matches too, so
    /// it also works on a live stream where a match comes before its transfer.
    pub fn keep(&mut self, system_id: u8, message: &MavMessage) -> bool {
        self.verdict(system_id, message) == Verdict::Keep
    }

    fn verdict(&mut self, system_id: u8, message: &MavMessage) -> Verdict {
        match message {
            MavMessage::UTKIK_BIOMETRIC_MATCH(m) if m.authorization_digest == self.rule.digest_prefix => {
                self.learn(system_id, message);
                self.dropped.matches += 1;
                Verdict::DropMatch
            }
            MavMessage::DATA_TRANSMISSION_HANDSHAKE(h) => {
                let ours = self
                    .evidence_sizes_bytes
                    .get(&system_id)
                    .is_some_and(|sizes| sizes.contains(&h.size));
                if ours {
                    self.dropping.insert(system_id);
                    self.dropped.handshakes += 1;
                    Verdict::DropHandshake(system_id)
                } else {
                    self.dropping.remove(&system_id);
                    Verdict::Keep
                }
            }
            MavMessage::ENCAPSULATED_DATA(_) if self.dropping.contains(&system_id) => {
                self.dropped.data_packets += 1;
                Verdict::DropData(system_id)
            }
            _ => Verdict::Keep,
        }
    }

    /// The verdict on a recorded frame; only the three message ids of the rule are decoded.
    fn frame_verdict(&mut self, frame: &RawFrame) -> Verdict {
        match decode_relevant(frame) {
            Some(m) => self.verdict(frame.sysid(), &m),
            None => Verdict::Keep,
        }
    }
}

fn decode_relevant(frame: &RawFrame) -> Option<MavMessage> {
    matches!(frame.msg_id(), MATCH_ID | HANDSHAKE_ID | DATA_ID)
        .then(|| frame.decode::<MavMessage>().ok())
        .flatten()
}

/// A stretch of a file the reader could not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the original file.
    pub offset: u64,
    /// Length, bytes.
    pub len_bytes: u64,
    /// Kept as it was (false: it lay inside a dropped evidence transfer and was dropped).
    pub kept: bool,
}

/// What redacting one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRedaction {
    /// The file.
    pub path: PathBuf,
    /// Records dropped from it.
    pub dropped: RedactCounts,
    /// Stretches the reader could not parse (including an incomplete last record).
    pub damage: Vec<Damage>,
    /// Whether the file was rewritten (false: nothing to drop, untouched).
    pub rewritten: bool,
}

/// What redacting a recording (one or more files) did.
#[derive(Debug, Default)]
pub struct RedactReport {
    /// Per file, in the order redacted.
    pub files: Vec<FileRedaction>,
    /// Files that could not be redacted (left as they were), and other problems.
    pub failures: Vec<RedactError>,
    /// Records dropped over all files.
    pub dropped: RedactCounts,
}

impl RedactReport {
    /// Bytes the reader could not parse and that were kept as they were.
    pub fn damaged_bytes_kept(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|f| &f.damage)
            .filter(|d| d.kept)
            .map(|d| d.len_bytes)
            .sum()
    }

    /// Files rewritten.
    pub fn files_rewritten(&self) -> usize {
        self.files.iter().filter(|f| f.rewritten).count()
    }
}

/// Why a recording could not be (fully) redacted.
#[derive(Debug, Error)]
pub enum RedactError {
    /// The tlog reader failed (an I/O error; damage is not an error).
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        #[source]
        source: TlogError,
    },
    /// A file operation failed; the original file is unchanged unless `step` is the folder sync.
    #[error("{step} {path}: {source}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The link thread has stopped: nothing was redacted.
    #[error("the link thread is not running, so it cannot redact its recordings")]
    LinkStopped,
    /// The link thread did not answer in time (it may still finish).
    #[error("the link thread did not finish redacting within {waited_s} s")]
    Timeout {
        /// How long we waited, seconds.
        waited_s: f64,
    },
}

fn io_err(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> RedactError + use<> {
    let path = path.to_path_buf();
    move |source| RedactError::Io { step, path, source }
}

/// First pass: learns the use's matches in one file.
fn learn_file(path: &Path, filter: &mut UseFilter) -> Result<(), RedactError> {
    let file = File::open(path).map_err(io_err("opening", path))?;
    for item in TlogReader::new(file) {
        match item {
            Ok(rec) => {
                if rec.frame.msg_id() == MATCH_ID
                    && let Ok(m) = rec.frame.decode::<MavMessage>()
                {
                    filter.learn(rec.frame.sysid(), &m);
                }
            }
            Err(TlogError::Corrupt { .. } | TlogError::Truncated { .. }) => {}
            Err(source) => {
                return Err(RedactError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The temporary file a redacted copy of `path` is written to: hidden, same folder (so the
/// rename is atomic), not ending in `.tlog`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

fn copy_range(src: &mut File, offset: u64, len_bytes: u64, out: &mut impl Write) -> io::Result<()> {
    src.seek(SeekFrom::Start(offset))?;
    let copied = io::copy(&mut src.take(len_bytes), out)?;
    if copied != len_bytes {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file shorter than expected: {copied} of {len_bytes} bytes at offset {offset}"),
        ));
    }
    Ok(())
}

/// Second pass over one file: writes the kept records (and kept damaged stretches) to the
/// temporary file. Returns the file's report (not yet `rewritten`).
fn write_redacted(path: &Path, tmp: &Path, filter: &mut UseFilter) -> Result<FileRedaction, RedactError> {
    let before = filter.dropped();
    let file_len = fs::metadata(path).map_err(io_err("reading the size of", path))?.len();
    let reader = File::open(path).map_err(io_err("opening", path))?;
    let mut raw = File::open(path).map_err(io_err("opening", path))?;
    let out_file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(io_err("creating", tmp))?;
    let mut out = BufWriter::with_capacity(256 * 1024, out_file);
    let write_err = io_err("writing", tmp);
    let mut damage = Vec::new();
    let mut damaged_dropped = false;
    // Offset of the first byte not yet written or dropped.
    let mut pos = 0u64;
    // The system whose dropped transfer the previous record belonged to.
    let mut prev_transfer: Option<u8> = None;
    let result: Result<(), RedactError> = (|| {
        for item in TlogReader::new(reader) {
            let rec = match item {
                Ok(rec) => rec,
                // Damage shows up as a gap between records (below), with the exact bytes.
                Err(TlogError::Corrupt { .. } | TlogError::Truncated { .. }) => continue,
                Err(source) => {
                    return Err(RedactError::Read {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            };
            let verdict = filter.frame_verdict(&rec.frame);
            if rec.offset > pos {
                let len_bytes = rec.offset - pos;
                // Between two dropped packets of one transfer: a damaged packet of the crop.
                let inside = matches!(verdict, Verdict::DropData(s) if prev_transfer == Some(s));
                if !inside {
                    copy_range(&mut raw, pos, len_bytes, &mut out).map_err(io_err("copying damaged bytes of", path))?;
                }
                damaged_dropped |= inside;
                damage.push(Damage {
                    offset: pos,
                    len_bytes,
                    kept: !inside,
                });
            }
            if verdict == Verdict::Keep {
                out.write_all(&rec.time_usec.to_be_bytes())
                    .and_then(|()| out.write_all(rec.frame.as_bytes()))
                    .map_err(io_err("writing", tmp))?;
            }
            prev_transfer = match verdict {
                Verdict::DropHandshake(s) | Verdict::DropData(s) => Some(s),
                Verdict::Keep | Verdict::DropMatch => None,
            };
            pos = rec.offset + rec.len_bytes() as u64;
        }
        if file_len > pos {
            // The unparsed tail (damage or an incomplete last record) stays as it was.
            copy_range(&mut raw, pos, file_len - pos, &mut out)
                .map_err(io_err("copying the unparsed tail of", path))?;
            damage.push(Damage {
                offset: pos,
                len_bytes: file_len - pos,
                kept: true,
            });
        }
        Ok(())
    })();
    result?;
    let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(io_err("syncing", tmp))?;
    let dropped = filter.dropped().minus(before);
    Ok(FileRedaction {
        path: path.to_path_buf(),
        dropped,
        damage,
        rewritten: dropped.total() > 0 || damaged_dropped,
    })
}

/// Second pass over one file, then the rename over the original when anything was dropped.
fn rewrite_file(path: &Path, filter: &mut UseFilter) -> Result<FileRedaction, RedactError> {
    let tmp = temp_path(path);
    let report = match write_redacted(path, &tmp, filter) {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if !report.rewritten {
        fs::remove_file(&tmp).map_err(io_err("removing", &tmp))?;
        return Ok(report);
    }
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(&tmp, meta.permissions());
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("renaming the redacted copy over", path)(e));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing the folder", dir))?;
    Ok(report)
}

/// Redacts one tlog file on its own (both passes). See the module docs for the rule.
///
/// # Errors
/// [`RedactError`] naming the file and the step; the original is then unchanged.
pub fn redact_file(path: &Path, rule: RedactRule) -> Result<FileRedaction, RedactError> {
    let mut filter = UseFilter::new(rule);
    learn_file(path, &mut filter)?;
    rewrite_file(path, &mut filter)
}

/// Redacts the files of a recording, oldest first (a transfer may continue in the next file).
/// A file that fails is left as it was and reported; the others are still redacted. `filter`
/// keeps its state, so it can go on filtering the live recording.
pub fn redact_files(paths: &[PathBuf], filter: &mut UseFilter) -> RedactReport {
    let mut report = RedactReport::default();
    let mut readable = Vec::with_capacity(paths.len());
    for p in paths {
        match learn_file(p, filter) {
            Ok(()) => readable.push(p),
            Err(e) => report.failures.push(e),
        }
    }
    for p in readable {
        match rewrite_file(p, filter) {
            Ok(f) => {
                report.dropped.add(f.dropped);
                report.files.push(f);
            }
            Err(e) => report.failures.push(e),
        }
    }
    report
}

/// `*.tlog` files in `dir` last modified at or after `since_usec` (Unix µs), oldest first.
///
/// # Errors
/// The folder cannot be listed.
pub fn recordings_modified_since(dir: &Path, since_usec: u64) -> Result<Vec<PathBuf>, RedactError> {
    let since = UNIX_EPOCH + Duration::from_micros(since_usec);
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let entry = entry.map_err(io_err("listing", dir))?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "tlog") || !path.is_file() {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .map_err(io_err("reading the time of", &path))?;
        if modified >= since {
            found.push((modified, path));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Something that can redact the station's recordings (the live link; tests use fakes).
pub trait RecordingRedactor: std::fmt::Debug + Send + Sync {
    /// Redacts every recording that may hold the use's records, and keeps them out of what is
    /// recorded from now on.
    ///
    /// # Errors
    /// The redaction did not run (or did not answer); file-level problems are in the report.
    fn redact(&self, request: RedactRequest) -> Result<RedactReport, RedactError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavlink_core::MavHeader;
    use utkik_shared::dialect::{GLOBAL_POSITION_INT_DATA, UTKIK_PLATE_READ_DATA};
    use utkik_shared::mavframe::MavVersion;
    use utkik_shared::tlog::TlogWriter;

    const A: [u8; 16] = [0xA1; 16];
    const B: [u8; 16] = [0xB2; 16];

    fn frame(sys: u8, seq: u8, m: &MavMessage) -> RawFrame {
        let header = MavHeader {
            system_id: sys.into(),
            component_id: 191,
            sequence: seq,
        };
        RawFrame::encode(MavVersion::V2, header, m)
    }

    fn crop(tag: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| tag ^ (i as u8).wrapping_mul(31)).collect()
    }

    fn matched(alert_id: u32, digest: [u8; 16], size: usize) -> MavMessage {
        MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id,
            authorization_digest: digest,
            evidence_transfer_id: alert_id as u16,
            evidence_size: size as u32,
            ..Default::default()
        })
    }

    fn transfer(jpeg: &[u8]) -> Vec<MavMessage> {
        let mut out = vec![MavMessage::DATA_TRANSMISSION_HANDSHAKE(
            DATA_TRANSMISSION_HANDSHAKE_DATA {
                size: jpeg.len() as u32,
                packets: jpeg.len().div_ceil(253) as u16,
                payload: 253,
                ..Default::default()
            },
        )];
        for (i, c) in jpeg.chunks(253).enumerate() {
            let mut data = [0u8; 253];
            data[..c.len()].copy_from_slice(c);
            out.push(MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA {
                seqnr: i as u16,
                data,
            }));
        }
        out
    }

    fn telemetry(i: i32) -> MavMessage {
        MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            lat: 593_940_000 + i,
            ..Default::default()
        })
    }

    /// A plate hit's image (a size no crop of the tests has).
    fn plate_image() -> Vec<u8> {
        crop(0x77, 450)
    }

    /// (time, frame) records: plates, telemetry, use A's match (sent twice) with its crop,
    /// use B's match with its crop, a plate hit with its plate image.
    fn mission(crop_a: &[u8], crop_b: &[u8]) -> Vec<(u64, RawFrame)> {
        let mut msgs = vec![
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA::default()),
            telemetry(1),
            matched(1, A, crop_a.len()),
        ];
        msgs.extend(transfer(crop_a));
        msgs.push(telemetry(2));
        msgs.push(matched(2, B, crop_b.len()));
        msgs.extend(transfer(crop_b));
        // A's resend (ack lost) with its crop again.
        msgs.push(matched(1, A, crop_a.len()));
        msgs.extend(transfer(crop_a));
        // A plate hit with its plate image: not biometric, not the use's, kept.
        let image = plate_image();
        msgs.push(MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            alert_id: 1,
            status: utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            image_transfer_id: 0x8000,
            image_size: image.len() as u32,
            ..Default::default()
        }));
        msgs.extend(transfer(&image));
        msgs.push(telemetry(3));
        msgs.iter()
            .enumerate()
            .map(|(i, m)| (1_000_000 + i as u64 * 1000, frame(1, i as u8, m)))
            .collect()
    }

    fn tlog_bytes(records: &[(u64, RawFrame)]) -> Vec<u8> {
        let mut w = TlogWriter::new(Vec::new());
        for (t, f) in records {
            w.write_frame(*t, f).unwrap();
        }
        w.into_inner()
    }

    fn record_bytes(t: u64, f: &RawFrame) -> Vec<u8> {
        let mut b = t.to_be_bytes().to_vec();
        b.extend_from_slice(f.as_bytes());
        b
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn kind(f: &RawFrame) -> Option<MavMessage> {
        f.decode::<MavMessage>().ok()
    }

    fn is_a(f: &RawFrame, a_size: usize) -> bool {
        match kind(f) {
            Some(MavMessage::UTKIK_BIOMETRIC_MATCH(m)) => m.authorization_digest == A,
            Some(MavMessage::DATA_TRANSMISSION_HANDSHAKE(h)) => h.size as usize == a_size,
            _ => false,
        }
    }

    #[test]
    fn drops_use_a_and_keeps_everything_else_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (crop_a, crop_b) = (crop(0x5A, 600), crop(0x3C, 300));
        let records = mission(&crop_a, &crop_b);
        let path = dir.path().join("m.tlog");
        fs::write(&path, tlog_bytes(&records)).unwrap();

        let r = redact_file(&path, RedactRule { digest_prefix: A }).unwrap();
        assert!(r.rewritten);
        assert!(r.damage.is_empty(), "{:?}", r.damage);
        // Two matches, two handshakes, 2 x 3 packets of 253 bytes.
        assert_eq!(
            r.dropped,
            RedactCounts {
                matches: 2,
                handshakes: 2,
                data_packets: 6
            }
        );

        // Expected: the original records minus A's, each with its own timestamp.
        let mut expect = Vec::new();
        let mut in_a = false;
        for (t, f) in &records {
            match kind(f) {
                Some(MavMessage::DATA_TRANSMISSION_HANDSHAKE(_)) => in_a = is_a(f, crop_a.len()),
                Some(MavMessage::ENCAPSULATED_DATA(_)) if in_a => continue,
                _ => {}
            }
            if !is_a(f, crop_a.len()) {
                expect.extend(record_bytes(*t, f));
            }
        }
        let after = fs::read(&path).unwrap();
        assert_eq!(after, expect);
        for window in [&crop_a[..32], &crop_a[300..332], &crop_a[568..]] {
            assert!(!contains(&after, window), "a piece of A's crop is left");
        }
        assert!(
            contains(&after, &crop_b[..253]) && contains(&after, &crop_b[253..]),
            "B's crop kept"
        );
        let image = plate_image();
        assert!(
            contains(&after, &image[..253]) && contains(&after, &image[253..]),
            "the plate hit's image kept (its packets come after a dropped transfer of A)"
        );
        // The shared reader and the ground's reader both read it, without damage.
        let shared: Vec<_> = TlogReader::new(File::open(&path).unwrap()).collect();
        assert!(shared.iter().all(Result::is_ok));
        assert_eq!(shared.len(), records.len() - 10);
        assert_eq!(crate::link::read_tlog(&path).unwrap().len(), records.len() - 10);
        // Nothing else left in the folder (no temporary file).
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.tlog"]);
    }

    #[test]
    fn a_file_without_the_use_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let records = mission(&crop(1, 100), &crop(2, 200));
        let path = dir.path().join("m.tlog");
        fs::write(&path, tlog_bytes(&records)).unwrap();
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let r = redact_file(&path, RedactRule { digest_prefix: [9; 16] }).unwrap();
        assert!(!r.rewritten);
        assert_eq!(r.dropped.total(), 0);
        assert_eq!(fs::read(&path).unwrap(), tlog_bytes(&records));
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn corrupted_middle_keeps_everything_around_it_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (crop_a, crop_b) = (crop(0x5A, 600), crop(0x3C, 300));
        let records = mission(&crop_a, &crop_b);
        // Garbage after the first telemetry record (which is not part of any transfer).
        let garbage = b"\x00\x13garbage that is no record\xfd\x01".to_vec();
        let split: usize = records[..2].iter().map(|(_, f)| 8 + f.as_bytes().len()).sum();
        let mut bytes = tlog_bytes(&records);
        bytes.splice(split..split, garbage.iter().copied());
        // And an incomplete last record: the recorder killed mid-write.
        let tail = record_bytes(9_000_000, &frame(1, 0, &telemetry(9)))[..15].to_vec();
        bytes.extend_from_slice(&tail);
        let path = dir.path().join("m.tlog");
        fs::write(&path, &bytes).unwrap();

        let r = redact_file(&path, RedactRule { digest_prefix: A }).unwrap();
        assert_eq!(r.dropped.matches, 2);
        assert_eq!(r.damage.len(), 2, "{:?}", r.damage);
        assert_eq!(
            r.damage[0],
            Damage {
                offset: split as u64,
                len_bytes: garbage.len() as u64,
                kept: true
            }
        );
        assert!(r.damage[1].kept && r.damage[1].len_bytes == tail.len() as u64);
        let after = fs::read(&path).unwrap();
        // The records before the garbage, the garbage itself, and the unparsed tail are there
        // as they were.
        assert!(after.starts_with(&bytes[..split + garbage.len()]));
        assert!(after.ends_with(&tail));
        assert!(!contains(&after, &crop_a[..64]));
        assert!(contains(&after, &crop_b[..64]));
        let shared: Vec<_> = TlogReader::new(File::open(&path).unwrap())
            .filter_map(Result::ok)
            .collect();
        assert_eq!(shared.len(), records.len() - 10);
    }

    #[test]
    fn a_damaged_packet_inside_a_dropped_transfer_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (crop_a, crop_b) = (crop(0x5A, 600), crop(0x3C, 300));
        let records = mission(&crop_a, &crop_b);
        // Flip a byte inside the second data packet of A's first transfer (record 5: plate,
        // telemetry, match, handshake, data 0, data 1): its CRC fails, the reader skips it.
        let at: usize = records[..5].iter().map(|(_, f)| 8 + f.as_bytes().len()).sum::<usize>() + 8 + 40;
        let mut bytes = tlog_bytes(&records);
        bytes[at] ^= 0xFF;
        let path = dir.path().join("m.tlog");
        fs::write(&path, &bytes).unwrap();
        let r = redact_file(&path, RedactRule { digest_prefix: A }).unwrap();
        assert_eq!(r.damage.len(), 1, "{:?}", r.damage);
        assert!(!r.damage[0].kept);
        assert!(!contains(&fs::read(&path).unwrap(), &crop_a[253..253 + 32]));
    }

    #[test]
    fn a_transfer_split_over_two_files_is_dropped_in_both() {
        let dir = tempfile::tempdir().unwrap();
        let (crop_a, crop_b) = (crop(0x5A, 600), crop(0x3C, 300));
        let records = mission(&crop_a, &crop_b);
        // Split inside A's first transfer: after the handshake and the first packet.
        let (one, two) = records.split_at(5);
        let p1 = dir.path().join("r-001.tlog");
        let p2 = dir.path().join("r-002.tlog");
        fs::write(&p1, tlog_bytes(one)).unwrap();
        fs::write(&p2, tlog_bytes(two)).unwrap();
        let mut filter = UseFilter::new(RedactRule { digest_prefix: A });
        let report = redact_files(&[p1.clone(), p2.clone()], &mut filter);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.dropped.data_packets, 6);
        assert_eq!(report.files_rewritten(), 2);
        for p in [&p1, &p2] {
            let b = fs::read(p).unwrap();
            for w in crop_a.chunks(100) {
                assert!(!contains(&b, w), "{}", p.display());
            }
        }
        // The filter goes on: a late packet of A's current transfer is dropped, others kept.
        filter.keep(1, &transfer(&crop_a)[0]);
        assert!(!filter.keep(1, &transfer(&crop_a)[1]));
        assert!(filter.keep(2, &transfer(&crop_a)[1]), "another vehicle's packet");
        assert!(filter.keep(1, &telemetry(5)));
    }

    #[test]
    fn an_unreadable_file_is_reported_and_the_others_still_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (crop_a, crop_b) = (crop(0x5A, 600), crop(0x3C, 300));
        let good = dir.path().join("good.tlog");
        fs::write(&good, tlog_bytes(&mission(&crop_a, &crop_b))).unwrap();
        let missing = dir.path().join("missing.tlog");
        let mut filter = UseFilter::new(RedactRule { digest_prefix: A });
        let report = redact_files(&[missing.clone(), good.clone()], &mut filter);
        assert_eq!(report.failures.len(), 1);
        assert!(
            report.failures[0].to_string().contains("missing.tlog"),
            "{}",
            report.failures[0]
        );
        assert_eq!(report.dropped.matches, 2);
        assert!(!contains(&fs::read(&good).unwrap(), &crop_a[..64]));
    }
}

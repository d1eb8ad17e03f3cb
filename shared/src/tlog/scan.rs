//! The record-level state machine shared by the streaming reader and the
//! index: given the bytes buffered so far, what comes next (a record, a
//! damaged stretch, a truncated tail, or "need more bytes").

use crate::mavframe::{MAGIC_V1, MAGIC_V2, Scan, scan};

use super::TIMESTAMP_LEN;

/// While resynchronising, a candidate record must be within this much
/// earlier than the last good record...
const RESYNC_BACK_USEC: u64 = 3_600_000_000;
/// ...and this much later, so that a frame whose own timestamp was hit by the
/// damage is not resurrected with a wild time.
const RESYNC_FORWARD_USEC: u64 = 86_400_000_000;

/// One step of reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A record at buffer index `at`, `len` bytes including the timestamp.
    Record { at: usize, len: usize, time_usec: u64 },
    /// Damaged bytes were skipped (absolute offsets).
    Corrupt { offset: u64, skipped_bytes: u64 },
    /// The tail from absolute `offset` is an incomplete record.
    Truncated { offset: u64, have_bytes: u64 },
    /// More input needed (only when not at end of input).
    NeedMore,
    /// End of the log.
    End,
}

/// What the bytes at the start of a slice are.
enum Rec {
    Record { len: usize, time_usec: u64 },
    NeedMore,
    Bad,
}

/// Checks one record at `buf[0..]`. `strict` (used while resynchronising)
/// accepts only CRC-checked frames of our dialect; otherwise a frame of an id
/// we do not know (e.g. an ArduPilot-only message) is accepted when the bytes
/// after it start another record or the log ends there.
fn record_at(buf: &[u8], eof: bool, strict: bool, last_usec: Option<u64>) -> Rec {
    if buf.len() < TIMESTAMP_LEN + 1 {
        return Rec::NeedMore;
    }
    let time_usec = u64::from_be_bytes(buf[..TIMESTAMP_LEN].try_into().expect("8 bytes"));
    if strict
        && let Some(last) = last_usec
        && (time_usec < last.saturating_sub(RESYNC_BACK_USEC) || time_usec > last.saturating_add(RESYNC_FORWARD_USEC))
    {
        return Rec::Bad;
    }
    match scan(&buf[TIMESTAMP_LEN..]) {
        Scan::Frame(len) => Rec::Record {
            len: TIMESTAMP_LEN + len,
            time_usec,
        },
        Scan::NeedMore => Rec::NeedMore,
        Scan::Unknown { len, .. } if !strict => {
            let end = TIMESTAMP_LEN + len;
            let after = &buf[end..];
            if after.len() > TIMESTAMP_LEN {
                if matches!(after[TIMESTAMP_LEN], MAGIC_V1 | MAGIC_V2) {
                    Rec::Record { len: end, time_usec }
                } else {
                    Rec::Bad
                }
            } else if eof {
                Rec::Record { len: end, time_usec }
            } else {
                Rec::NeedMore
            }
        }
        Scan::Unknown { .. } | Scan::BadCrc { .. } | Scan::NotAFrame => Rec::Bad,
    }
}

/// Reader state carried between buffer refills.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scanner {
    last_usec: Option<u64>,
    /// Absolute offset where the current damaged stretch began.
    damage_from: Option<u64>,
    done: bool,
}

impl Scanner {
    /// Next step over `buf[*pos..]`; `base` is the absolute offset of `buf[0]`.
    /// Advances `*pos` past what it consumed.
    pub(crate) fn step(&mut self, buf: &[u8], pos: &mut usize, base: u64, eof: bool) -> Step {
        if self.done {
            return Step::End;
        }
        loop {
            let Some(from) = self.damage_from else {
                let avail = &buf[*pos..];
                if avail.is_empty() {
                    if eof {
                        self.done = true;
                        return Step::End;
                    }
                    return Step::NeedMore;
                }
                match record_at(avail, eof, false, None) {
                    Rec::Record { len, time_usec } => {
                        let at = *pos;
                        *pos += len;
                        self.last_usec = Some(time_usec);
                        return Step::Record { at, len, time_usec };
                    }
                    Rec::NeedMore if eof => {
                        self.done = true;
                        let offset = base + *pos as u64;
                        *pos = buf.len();
                        return Step::Truncated {
                            offset,
                            have_bytes: avail.len() as u64,
                        };
                    }
                    Rec::NeedMore => return Step::NeedMore,
                    Rec::Bad => {
                        self.damage_from = Some(base + *pos as u64);
                        *pos += 1;
                        continue;
                    }
                }
            };
            // Resynchronising: a record can start at p only if buf[p + 8] is a start byte.
            let search_from = *pos + TIMESTAMP_LEN;
            let found = buf
                .get(search_from..)
                .and_then(|s| s.iter().position(|&b| b == MAGIC_V2 || b == MAGIC_V1));
            match found {
                Some(i) => {
                    let p = *pos + i;
                    match record_at(&buf[p..], eof, true, self.last_usec) {
                        Rec::Bad => {
                            *pos = p + 1;
                        }
                        Rec::NeedMore if !eof => {
                            *pos = p;
                            return Step::NeedMore;
                        }
                        // A good record (or, at the end, a truncated tail): the damage ends here.
                        Rec::Record { .. } | Rec::NeedMore => {
                            *pos = p;
                            self.damage_from = None;
                            return Step::Corrupt {
                                offset: from,
                                skipped_bytes: base + p as u64 - from,
                            };
                        }
                    }
                }
                None if eof => {
                    self.done = true;
                    *pos = buf.len();
                    return Step::Corrupt {
                        offset: from,
                        skipped_bytes: base + buf.len() as u64 - from,
                    };
                }
                None => {
                    // Keep the last 8 bytes: they may be the timestamp of a record to come.
                    *pos = (*pos).max(buf.len().saturating_sub(TIMESTAMP_LEN));
                    return Step::NeedMore;
                }
            }
        }
    }
}

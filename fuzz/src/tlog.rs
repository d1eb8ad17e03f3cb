//! Target `tlog_reader`: [`TlogReader`] and [`TlogIndex`] on a log of records (timestamp +
//! frame, built with valid CRCs as in `mavframe`), noise and damage, read through a source that
//! returns arbitrary short reads.
//!
//! Properties:
//! - no panic; every record's bytes are the log's bytes at its offset, and a record of a known id
//!   re-parses as a frame;
//! - records, skipped stretches and the truncated tail account for every byte, in order;
//! - short reads change nothing (same records and reports as one read of everything);
//! - the index agrees with the reader (record count, counts by id, damage, truncated tail, first
//!   and last time);
//! - seeking to any time gives the reader's records from the first one at or after that time.

use std::io::Read;

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::mavframe::{RawFrame, crc_extra};
use utkik_shared::tlog::{TIMESTAMP_LEN, TlogError, TlogIndex, TlogReader, TlogRecord};

use crate::mavframe::FrameSpec;

#[derive(Debug, Arbitrary)]
enum Piece {
    Record { dt_usec: i32, frame: FrameSpec },
    Noise(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    start_usec: u64,
    pieces: Vec<Piece>,
    reads: Vec<u16>,
    seek_to: Vec<u64>,
}

/// A `Read` that hands out the data in the given read sizes.
struct Chunked<'a> {
    data: &'a [u8],
    reads: &'a [u16],
    i: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_empty() {
            return Ok(0);
        }
        // A zero-length read would mean end of file: at least one byte.
        let want = self
            .reads
            .get(self.i % self.reads.len().max(1))
            .map_or(usize::MAX, |&n| n as usize);
        self.i += 1;
        let n = want.max(1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A reader item in comparable form.
#[derive(Debug, PartialEq)]
enum Item {
    Rec(TlogRecord),
    Corrupt(u64, u64),
    Truncated(u64, u64),
}

fn items(reader: impl Iterator<Item = Result<TlogRecord, TlogError>>) -> Vec<Item> {
    reader
        .map(|r| match r {
            Ok(rec) => Item::Rec(rec),
            Err(TlogError::Corrupt { offset, skipped_bytes }) => Item::Corrupt(offset, skipped_bytes),
            Err(TlogError::Truncated { offset, have_bytes }) => Item::Truncated(offset, have_bytes),
            Err(e) => panic!("unexpected error reading from memory: {e}"),
        })
        .collect()
}

/// The target. First byte even: a structured log ([`Input`]) from the rest; odd: the rest is the
/// log itself (seeds from tlogs the writer wrote).
pub fn reader_and_index(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        check_log(rest, &[7, 64, 1], &[0, u64::MAX]);
        return;
    }
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let mut log = Vec::new();
    let mut t = input.start_usec;
    for p in &input.pieces {
        match p {
            Piece::Record { dt_usec, frame } => {
                t = t.wrapping_add_signed(i64::from(*dt_usec));
                log.extend_from_slice(&t.to_be_bytes());
                log.extend_from_slice(&frame.build().0);
            }
            Piece::Noise(b) => log.extend_from_slice(b),
        }
    }
    check_log(&log, &input.reads, &input.seek_to);
}

/// The properties for one log.
///
/// # Panics
/// When one does not hold.
pub fn check_log(log: &[u8], reads: &[u16], seek_to: &[u64]) {
    let whole = items(TlogReader::new(log));
    let chunked = items(TlogReader::new(Chunked { data: log, reads, i: 0 }));
    assert_eq!(whole, chunked, "short reads change what is read");

    let mut at = 0u64;
    let mut records = Vec::new();
    for item in &whole {
        match item {
            Item::Rec(rec) => {
                assert_eq!(rec.offset, at, "records and damage cover the log in order");
                let bytes = rec.frame.as_bytes();
                let start = (at as usize) + TIMESTAMP_LEN;
                assert_eq!(&log[start..start + bytes.len()], bytes, "record bytes are the log's");
                assert_eq!(
                    u64::from_be_bytes(log[at as usize..start].try_into().expect("8 bytes")),
                    rec.time_usec
                );
                if crc_extra(rec.frame.msg_id()).is_some() {
                    assert_eq!(
                        RawFrame::parse(bytes).as_ref(),
                        Ok(&rec.frame),
                        "known-id record re-parses"
                    );
                }
                at += rec.len_bytes() as u64;
                records.push(rec);
            }
            Item::Corrupt(offset, skipped) => {
                assert_eq!(*offset, at, "damage starts where the last record ended");
                assert!(*skipped > 0, "an empty damaged stretch");
                at += skipped;
            }
            Item::Truncated(offset, have) => {
                assert_eq!(*offset, at, "truncated tail starts where the last record ended");
                at += have;
            }
        }
    }
    assert_eq!(
        at,
        log.len() as u64,
        "every byte is a record, damage or the truncated tail"
    );

    let index = TlogIndex::build(log);
    assert_eq!(index.records, records.len() as u64, "index record count");
    assert_eq!(index.total_bytes, log.len() as u64);
    assert_eq!(index.first_usec, records.first().map(|r| r.time_usec));
    assert_eq!(index.last_usec, records.last().map(|r| r.time_usec));
    let damage: Vec<(u64, u64)> = whole
        .iter()
        .filter_map(|i| match i {
            Item::Corrupt(o, s) => Some((*o, *s)),
            _ => None,
        })
        .collect();
    let index_damage: Vec<(u64, u64)> = index.damage.iter().map(|d| (d.offset, d.skipped_bytes)).collect();
    assert_eq!(index_damage, damage, "index damage = reader damage");
    let truncated = whole.iter().find_map(|i| match i {
        Item::Truncated(o, h) => Some((*o, *h)),
        _ => None,
    });
    assert_eq!(index.truncated, truncated, "index truncated tail");
    let total: u64 = index.counts_by_msg_id.values().sum();
    assert_eq!(total, index.records, "counts by id add up");
    for r in &records {
        assert!(index.count(r.frame.msg_id()) > 0);
    }

    let mut times: Vec<u64> = seek_to.iter().copied().take(4).collect();
    times.extend(records.iter().map(|r| r.time_usec).take(4));
    for t in times {
        let sought: Vec<TlogRecord> = index.seek(log, t).filter_map(Result::ok).collect();
        let expected: Vec<TlogRecord> = match records.iter().position(|r| r.time_usec >= t) {
            Some(i) => records[i..].iter().map(|r| (*r).clone()).collect(),
            None => Vec::new(),
        };
        assert_eq!(
            sought, expected,
            "seek to {t} gives the records from the first at or after it"
        );
    }
}

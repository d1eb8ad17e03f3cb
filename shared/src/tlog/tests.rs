//! Round trips, damage and truncation, rotation and seeking of the tlog format.

use mavlink_core::MavHeader;

use super::*;
use crate::dialect::{ATTITUDE_DATA, MavMessage, SYSTEM_TIME_DATA, UTKIK_TRACK_DATA};
use crate::mavframe::{MavVersion, RawFrame};

const T0: u64 = 1_763_800_000_000_000;

fn frame(i: u32) -> RawFrame {
    let h = MavHeader {
        system_id: 1,
        component_id: 1,
        sequence: i as u8,
    };
    match i % 3 {
        0 => RawFrame::encode(
            MavVersion::V2,
            h,
            &MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                time_unix_usec: T0 + i as u64,
                time_boot_ms: i,
            }),
        ),
        1 => RawFrame::encode(
            MavVersion::V1,
            h,
            &MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: i,
                roll: i as f32 * 0.01,
                ..Default::default()
            }),
        ),
        _ => RawFrame::encode(
            MavVersion::V2,
            h,
            &MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
                time_usec: T0 + i as u64,
                track_id: i,
                ..Default::default()
            }),
        ),
    }
}

/// `n` records 100 ms apart, and the offset of each.
fn log(n: u32) -> (Vec<u8>, Vec<(u64, u64, RawFrame)>) {
    let mut w = TlogWriter::new(Vec::new());
    let mut expect = Vec::new();
    for i in 0..n {
        let t = T0 + i as u64 * 100_000;
        let f = frame(i);
        expect.push((t, w.bytes_written(), f.clone()));
        w.write_frame(t, &f).unwrap();
    }
    (w.into_inner(), expect)
}

fn read_all(data: &[u8]) -> (Vec<TlogRecord>, Vec<TlogError>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for r in TlogReader::new(data) {
        match r {
            Ok(rec) => good.push(rec),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

fn check_same(got: &[TlogRecord], expect: &[(u64, u64, RawFrame)]) {
    assert_eq!(got.len(), expect.len());
    for (g, (t, off, f)) in got.iter().zip(expect) {
        assert_eq!((g.time_usec, g.offset, &g.frame), (*t, *off, f));
    }
}

#[test]
fn record_layout_is_big_endian_time_then_frame() {
    let f = frame(0);
    let mut w = TlogWriter::new(Vec::new());
    w.write_frame(0x0102_0304_0506_0708, &f).unwrap();
    let bytes = w.into_inner();
    assert_eq!(&bytes[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&bytes[8..], f.as_bytes());
}

#[test]
fn round_trip() {
    let (data, expect) = log(300);
    let (good, bad) = read_all(&data);
    assert!(bad.is_empty(), "{bad:?}");
    check_same(&good, &expect);
    for g in &good {
        g.frame.decode::<MavMessage>().unwrap();
    }
}

/// A reader that hands out one byte per `read` call.
struct OneByte<'a>(&'a [u8]);

impl std::io::Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(out)) => {
                *out = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn round_trip_one_byte_at_a_time() {
    let (data, expect) = log(50);
    let got: Vec<TlogRecord> = TlogReader::new(OneByte(&data)).map(|r| r.unwrap()).collect();
    check_same(&got, &expect);
}

#[test]
fn corruption_in_the_middle_keeps_everything_around_it() {
    let (mut data, expect) = log(40);
    // Smash the frame of record 10 (its CRC and the next record's timestamp stay).
    let off = expect[10].1 as usize;
    for b in &mut data[off + 9..off + 14] {
        *b = 0xFD;
    }
    let (good, bad) = read_all(&data);
    let mut want: Vec<_> = expect.clone();
    want.remove(10);
    check_same(&good, &want);
    match bad.as_slice() {
        [TlogError::Corrupt { offset, skipped_bytes }] => {
            assert_eq!(*offset, off as u64);
            assert_eq!(*skipped_bytes, expect[11].1 - expect[10].1);
        }
        other => panic!("{other:?}"),
    }
    // The error is reported between record 9 and record 11, in file order.
    let order: Vec<bool> = TlogReader::new(data.as_slice()).map(|r| r.is_ok()).collect();
    assert_eq!(order.iter().position(|ok| !ok), Some(10));
}

#[test]
fn inserted_garbage_is_reported_with_offset_and_length() {
    let (data, expect) = log(20);
    let at = expect[5].1 as usize;
    let junk = [0x00u8, 0xFD, 0x12, 0xFE, 0x07, 0x99, 0x01];
    let mut damaged = data[..at].to_vec();
    damaged.extend_from_slice(&junk);
    damaged.extend_from_slice(&data[at..]);
    let (good, bad) = read_all(&damaged);
    assert_eq!(good.len(), expect.len());
    for (i, g) in good.iter().enumerate() {
        assert_eq!(g.frame, expect[i].2);
        assert_eq!(g.time_usec, expect[i].0);
    }
    match bad.as_slice() {
        [TlogError::Corrupt { offset, skipped_bytes }] => {
            assert_eq!((*offset, *skipped_bytes), (at as u64, junk.len() as u64));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_last_record_reported_with_offset() {
    let (data, expect) = log(10);
    let cut = data.len() - 5;
    let (good, bad) = read_all(&data[..cut]);
    check_same(&good, &expect[..9]);
    match bad.as_slice() {
        [TlogError::Truncated { offset, have_bytes }] => {
            assert_eq!(*offset, expect[9].1);
            assert_eq!(*have_bytes, cut as u64 - expect[9].1);
        }
        other => panic!("{other:?}"),
    }
    // Cut inside the timestamp too.
    let cut = expect[9].1 as usize + 3;
    let (good, bad) = read_all(&data[..cut]);
    assert_eq!(good.len(), 9);
    assert!(matches!(bad.as_slice(), [TlogError::Truncated { have_bytes: 3, .. }]));
}

#[test]
fn garbage_at_the_end_is_reported() {
    let (mut data, expect) = log(5);
    let end = data.len() as u64;
    data.extend_from_slice(&[0x01; 40]);
    let (good, bad) = read_all(&data);
    check_same(&good, &expect);
    assert!(matches!(
        bad.as_slice(),
        [TlogError::Corrupt { offset, skipped_bytes: 40 }] if *offset == end
    ));
}

#[test]
fn frames_of_ids_we_do_not_know_are_kept() {
    // An ArduPilot-only message (id 150 is not in common.xml) between known ones.
    let (data, expect) = log(3);
    let mut foreign = vec![0xFE, 2, 0, 1, 1, 150, 0xAB, 0xCD, 0x12, 0x34];
    let mut w = TlogWriter::new(data.clone());
    w.write_raw(T0 + 1, &foreign).unwrap();
    w.write_frame(T0 + 2, &expect[0].2).unwrap();
    let data = w.into_inner();
    let (good, bad) = read_all(&data);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(good.len(), 5);
    assert_eq!(good[3].frame.as_bytes(), foreign.as_slice());
    assert_eq!(good[3].frame.msg_id(), 150);
    // The writer refuses what is not one frame, and writes nothing.
    foreign.push(0);
    let mut w = TlogWriter::new(Vec::new());
    assert!(matches!(w.write_raw(T0, &foreign), Err(TlogError::NotAFrame(_))));
    assert!(w.into_inner().is_empty());
}

#[test]
fn index_counts_times_gaps_damage_and_seeks() {
    let (mut data, expect) = log(1000);
    // A 10 s silence before record 500.
    let mut w = TlogWriter::new(Vec::new());
    for (i, (t, _, f)) in expect.iter().enumerate() {
        let t = if i >= 500 { t + 10_000_000 } else { *t };
        w.write_frame(t, f).unwrap();
    }
    data.clear();
    data.extend(w.into_inner());
    // Damage record 700's frame start byte.
    data[expect[700].1 as usize + 8] = 0x00;
    let index = TlogIndex::build(&data);
    assert_eq!(index.records, 999);
    assert_eq!(index.first_usec, Some(T0));
    assert_eq!(index.last_usec, Some(T0 + 999 * 100_000 + 10_000_000));
    // SYSTEM_TIME (id 2) is every third record from 0: 334 of them; record 700 (an ATTITUDE) is lost.
    assert_eq!(index.count(2), 334);
    assert_eq!(index.count(30), 332);
    assert_eq!(index.count(59900), 333);
    assert_eq!(index.gaps.len(), 1);
    assert_eq!(index.gaps[0].offset, expect[500].1);
    assert_eq!(
        index.damage,
        vec![TlogDamage {
            offset: expect[700].1,
            skipped_bytes: expect[701].1 - expect[700].1
        }]
    );
    assert_eq!(index.truncated, None);
    // Seek: the first record at or after t.
    for target in [0, 250, 499, 500, 777, 999] {
        let t = expect[target].0 + if target >= 500 { 10_000_000 } else { 0 };
        let first = index.seek(&data, t).next().unwrap().unwrap();
        let want = if target == 700 { 701 } else { target };
        assert_eq!(first.offset, expect[want].1, "seek to record {target}");
        assert!(index.offset_for_time(t) <= expect[want].1);
    }
    // Past the end: nothing.
    assert!(index.seek(&data, u64::MAX).next().is_none());
}

#[test]
fn file_writer_rotates_by_size_and_by_duration() {
    let dir = tempfile::tempdir().unwrap();
    let f = frame(0);
    let rec = (TIMESTAMP_LEN + f.as_bytes().len()) as u64;
    let mut w = TlogFileWriter::create(
        dir.path().join("rec"),
        "flight",
        TlogRotation {
            max_bytes: Some(rec * 10),
            max_duration_usec: None,
        },
    )
    .unwrap();
    for i in 0..25 {
        w.write_frame(T0 + i * 1000, &f).unwrap();
    }
    let paths = w.close().unwrap();
    assert_eq!(paths.len(), 3);
    let mut total = 0;
    for p in &paths {
        let data = std::fs::read(p).unwrap();
        assert!(data.len() as u64 <= rec * 10);
        let (good, bad) = read_all(&data);
        assert!(bad.is_empty());
        total += good.len();
    }
    assert_eq!(total, 25);
    assert!(
        paths[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("flight-2025")
    );

    let mut w = TlogFileWriter::create(
        dir.path().join("dur"),
        "flight",
        TlogRotation {
            max_bytes: None,
            max_duration_usec: Some(60_000_000),
        },
    )
    .unwrap();
    for i in 0..10 {
        w.write_frame(T0 + i * 20_000_000, &f).unwrap(); // every 20 s for 3 min
    }
    let paths = w.close().unwrap();
    assert_eq!(paths.len(), 4); // 0-40 s, 60-100 s, 120-160 s, 180 s
    let counts: Vec<usize> = paths
        .iter()
        .map(|p| read_all(&std::fs::read(p).unwrap()).0.len())
        .collect();
    assert_eq!(counts, vec![3, 3, 3, 1]);
}

#[test]
fn file_writer_flushes_by_record_time_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let f = frame(0);
    let mut w = TlogFileWriter::create(dir.path(), "x", TlogRotation::default()).unwrap();
    w.write_frame(T0, &f).unwrap();
    w.write_frame(T0 + 500_000, &f).unwrap();
    let path = w.current_path().unwrap().to_path_buf();
    // Less than a second of record time: still in the buffer.
    assert_eq!(read_all(&std::fs::read(&path).unwrap()).0.len(), 0);
    w.write_frame(T0 + 1_000_000, &f).unwrap();
    assert_eq!(read_all(&std::fs::read(&path).unwrap()).0.len(), 3);
    drop(w);
    // Same start time again: a new name, the old file intact.
    let mut w = TlogFileWriter::create(dir.path(), "x", TlogRotation::default()).unwrap();
    w.write_frame(T0, &f).unwrap();
    let second = w.close().unwrap();
    assert_ne!(second[0], path);
    assert_eq!(read_all(&std::fs::read(&path).unwrap()).0.len(), 3);
}

#[test]
fn seek_never_returns_records_before_the_time_after_damage() {
    // Found by fuzzing (fuzz target `tlog_reader`): a damaged stretch between records older than
    // the sought time made `seek` stop skipping and return them.
    let mut w = TlogWriter::new(Vec::new());
    for i in 0..4u32 {
        w.write_frame(T0 + u64::from(i) * 1000, &frame(i)).unwrap();
    }
    let mut data = w.into_inner();
    let cut = TIMESTAMP_LEN * 2 + frame(0).as_bytes().len() + frame(1).as_bytes().len();
    data.splice(cut..cut, [0x42u8; 5]);
    let index = TlogIndex::build(&data);
    assert_eq!(index.damage.len(), 1, "{index:?}");
    let got: Vec<_> = index.seek(&data, T0 + 2500).collect();
    let times: Vec<u64> = got
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.time_usec)
        .collect();
    assert_eq!(times, vec![T0 + 3000]);
    assert!(
        got.iter().any(|r| matches!(r, Err(TlogError::Corrupt { .. }))),
        "damage still reported"
    );
    assert_eq!(index.seek(&data, u64::MAX).filter(Result::is_ok).count(), 0);
}

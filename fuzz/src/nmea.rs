//! Target `nmea`: a GNSS receiver's byte stream (`shared::nmea`, the pose source of a camera in
//! a car) through the line splitter, the sentence parser and the fix tracker, as the onboard
//! reader runs them.
//!
//! Properties: no panic; the split does not depend on how reads cut the stream (all at once and
//! a byte at a time give the same lines); every byte is accounted for (line bytes + garbage +
//! line ends); every line starts with `$`, holds no line end and is at most `MAX_LINE_BYTES`;
//! an accepted sentence's fields are in range; a one-bit change anywhere between `$` and `*` of
//! an accepted sentence is refused (the checksum covers it); every fix is dated within the day
//! of its sentence and at a valid position.

use utkik_shared::nmea::{FixTracker, LineSplitter, MAX_LINE_BYTES, Sentence, parse_sentence};

/// The target.
pub fn stream(data: &[u8]) {
    let mut whole = LineSplitter::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    whole.push(data, |l| lines.push(l.to_vec()));
    let mut bytewise = LineSplitter::new();
    let mut lines_bytewise: Vec<Vec<u8>> = Vec::new();
    for b in data {
        bytewise.push(std::slice::from_ref(b), |l| lines_bytewise.push(l.to_vec()));
    }
    assert_eq!(lines, lines_bytewise, "the split depends on how the stream was cut");
    assert_eq!(whole.stats(), bytewise.stats());
    whole.discard_partial();
    let stats = whole.stats();
    assert_eq!(stats.lines, lines.len() as u64);
    let line_bytes: u64 = lines.iter().map(|l| l.len() as u64).sum();
    let line_ends = data.iter().filter(|b| matches!(b, b'\r' | b'\n')).count() as u64;
    assert_eq!(
        line_bytes + stats.garbage_bytes + line_ends,
        data.len() as u64,
        "every byte is a line byte, garbage or a line end"
    );
    let mut tracker = FixTracker::new();
    for line in &lines {
        assert_eq!(line.first(), Some(&b'$'));
        assert!(line.len() <= MAX_LINE_BYTES, "line of {} bytes", line.len());
        assert!(!line.iter().any(|b| matches!(b, b'\r' | b'\n')));
        let Ok(sentence) = parse_sentence(line) else {
            continue;
        };
        check_fields(&sentence);
        flipped_bits_are_refused(line);
        if let Some(fix) = tracker.push(&sentence) {
            assert!((-90.0..=90.0).contains(&fix.lat_deg) && (-180.0..=180.0).contains(&fix.lon_deg));
            assert!(fix.speed_m_s.is_none_or(|v| v >= 0.0));
            assert!(fix.course_deg.is_none_or(|c| (0.0..=360.0).contains(&c)));
        }
    }
}

fn check_fields(sentence: &Sentence) {
    let day_usec = 86_401_000_000;
    match sentence {
        Sentence::Rmc(r) => {
            assert!(r.talker.len() >= 2, "talker of at least two characters");
            assert!(r.time.is_none_or(|t| t.usec < day_usec));
            if let Some(p) = r.position {
                assert!((-90.0..=90.0).contains(&p.lat_deg) && (-180.0..=180.0).contains(&p.lon_deg));
            }
            assert!(r.speed_m_s.is_none_or(|v| v.is_finite() && v >= 0.0));
            assert!(r.course_deg.is_none_or(|c| (0.0..=360.0).contains(&c)));
            assert!(r.date.is_none_or(|d| d.midnight_usec % 86_400_000_000 == 0));
        }
        Sentence::Gga(g) => {
            assert!(g.time.is_none_or(|t| t.usec < day_usec));
            if let Some(p) = g.position {
                assert!((-90.0..=90.0).contains(&p.lat_deg) && (-180.0..=180.0).contains(&p.lon_deg));
            }
            assert!(g.quality <= 9);
            assert!(g.alt_m_amsl.is_none_or(|a| (-1_000.0..=100_000.0).contains(&a)));
        }
        Sentence::Other { address } => assert!(address.len() >= 5),
    }
}

/// Each single-bit change of the checksummed part of an accepted sentence must be refused.
fn flipped_bits_are_refused(line: &[u8]) {
    let Some(star) = line.iter().rposition(|&b| b == b'*') else {
        panic!("an accepted sentence without a checksum");
    };
    for i in 1..star {
        for bit in 0..8 {
            let mut edited = line.to_vec();
            edited[i] ^= 1 << bit;
            assert!(
                parse_sentence(&edited).is_err(),
                "byte {i} bit {bit} changed and still accepted: {:?}",
                String::from_utf8_lossy(&edited)
            );
        }
    }
}

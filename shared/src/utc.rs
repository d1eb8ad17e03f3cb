//! UTC timestamps as people write them (`2026-12-31T23:59:59Z`,
//! `2026-12-31`) to and from microseconds since the Unix epoch, the time
//! unit of MAVLink `time_usec` and of every `*_usec` field here. No time
//! zones other than `Z`: files that decide when something expires must not
//! depend on the reader's zone or daylight saving.

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number(s: &str, what: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} `{s}` is not a number"));
    }
    s.parse().map_err(|_| format!("{what} `{s}` is out of range"))
}

/// Parses `YYYY-MM-DD` (midnight UTC at the start of that day) or
/// `YYYY-MM-DDTHH:MM:SSZ` into microseconds since the Unix epoch.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_utc_usec(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (date, time) =
        match text.split_once('T') {
            Some((d, t)) => (
                d,
                Some(t.strip_suffix('Z').ok_or_else(|| {
                    format!("`{text}`: the time must be UTC and end in Z (e.g. 2026-12-31T23:59:59Z)")
                })?),
            ),
            None => (text, None),
        };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(format!("`{text}` is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"));
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(format!("`{text}` is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"));
    }
    let (year, month, day) = (i64::from(number(y, "year")?), number(m, "month")?, number(d, "day")?);
    if year < 1970 {
        return Err(format!("`{text}` is before 1970"));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("`{text}`: month {month} does not exist"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(format!("`{text}`: day {day} does not exist in that month"));
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    if let Some(t) = time {
        let mut parts = t.split(':');
        let (Some(h), Some(mi), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(format!("`{text}`: the time is not HH:MM:SS"));
        };
        if h.len() != 2 || mi.len() != 2 || s.len() != 2 {
            return Err(format!("`{text}`: the time is not HH:MM:SS"));
        }
        let (h, mi, s) = (number(h, "hour")?, number(mi, "minute")?, number(s, "second")?);
        if h > 23 || mi > 59 || s > 59 {
            return Err(format!("`{text}`: {h:02}:{mi:02}:{s:02} is not a time of day"));
        }
        secs += i64::from(h * 3600 + mi * 60 + s);
    }
    u64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(|| format!("`{text}` is out of range"))
}

/// The civil date of a day count from 1970-01-01 (inverse of `days_from_civil`; Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats microseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, rounded
/// down), the form [`parse_utc_usec`] reads back.
pub fn format_utc_usec(usec: u64) -> String {
    let secs = usec / 1_000_000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_round_trips_through_parse() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2026-12-31T23:59:59Z",
            "2100-03-01T12:34:56Z",
        ] {
            assert_eq!(format_utc_usec(parse_utc_usec(text).unwrap()), text);
        }
        assert_eq!(format_utc_usec(1_795_305_600_999_999), "2026-11-22T00:00:00Z");
    }

    #[test]
    fn known_instants() {
        assert_eq!(parse_utc_usec("1970-01-01").unwrap(), 0);
        assert_eq!(parse_utc_usec("2026-11-22T00:00:00Z").unwrap(), 1_795_305_600_000_000);
        assert_eq!(parse_utc_usec("2028-01-01").unwrap(), 1_830_297_600_000_000);
        assert_eq!(parse_utc_usec("2024-02-29T23:59:59Z").unwrap(), 1_709_251_199_000_000);
    }

    #[test]
    fn refuses_what_is_not_a_utc_instant() {
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "2026-04-31",
            "2026-1-01",
            "2026-12-31T24:00:00Z",
            "2026-12-31T23:59:59",
            "2026-12-31T23:59:59+01:00",
            "31/12/2026",
            "1969-12-31",
            "",
        ] {
            assert!(parse_utc_usec(bad).is_err(), "{bad} accepted");
        }
    }
}

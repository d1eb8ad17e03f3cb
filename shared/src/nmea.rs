//! NMEA 0183 from a GNSS receiver: the position source of a camera in a car (issue 19 item 1),
//! where there is no autopilot and so no MAVLink telemetry.
//!
//! Three layers, all pure logic (the onboard crate owns the sockets and serial ports):
//! - [`LineSplitter`] cuts a byte stream into sentences. Serial lines and TCP bridges deliver
//!   noise, half sentences after a reconnect, CR, LF, CRLF or LFCR endings and, from broken
//!   receivers, endless lines; the splitter keeps only what starts with `$`, caps a line at
//!   [`MAX_LINE_BYTES`] and counts what it threw away.
//! - [`parse_sentence`] checks the checksum and reads RMC and GGA from any talker (GP, GN, GL,
//!   GA, ...); other sentence types are recognised and left alone. Errors name the sentence and
//!   the field.
//! - [`FixTracker`] turns sentences into timed fixes: RMC carries date, time, validity, speed and
//!   course; GGA carries time of day, fix quality and altitude. A GGA is dated with the last RMC's
//!   date (across midnight too), and the two sentences of one epoch are merged into one fix.
//!   A sentence without a fix (RMC status `V` or mode `N`, GGA quality 0) gives no fix: the
//!   position it may still carry is the receiver's last guess, not a measurement.
//! - [`write_rmc`] and [`write_gga`] go the other way, for a simulated receiver (the
//!   simulator's police car, `utkik-sim run --nmea-listen`): a [`FixReport`] as sentences with
//!   checksums that the parser above reads back to the same fix within the format's precision.

use crate::utc::parse_utc_usec;

/// Longest line kept, bytes from `$` to the checksum. NMEA 0183 allows 82 characters with CR LF;
/// receivers with extra fields (NMEA 4.x, high-precision positions) send a few more, so there
/// is room, but a line that never ends is noise.
pub const MAX_LINE_BYTES: usize = 120;

/// Knots to metres per second.
const M_S_PER_KNOT: f64 = 1852.0 / 3600.0;

/// Microseconds in a day.
const DAY_USEC: u64 = 86_400_000_000;

/// Why a sentence was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NmeaError {
    /// The line does not start with `$`.
    #[error("NMEA line does not start with '$': {line:?}")]
    NoStart {
        /// The start of the line, lossily decoded.
        line: String,
    },
    /// A byte that is not printable ASCII.
    #[error("NMEA line holds a byte that is not printable ASCII (0x{byte:02X} at {offset})")]
    NotText {
        /// The byte.
        byte: u8,
        /// Its offset in the line.
        offset: usize,
    },
    /// No `*hh` checksum at the end.
    #[error("NMEA {sentence}: no checksum (the sentence must end in *hh)")]
    NoChecksum {
        /// Address field (e.g. `GPRMC`) or the line start.
        sentence: String,
    },
    /// The checksum does not match.
    #[error("NMEA {sentence}: checksum *{given} does not match the sentence (it sums to {computed:02X})")]
    Checksum {
        /// Address field.
        sentence: String,
        /// The checksum text given.
        given: String,
        /// The XOR of the bytes between `$` and `*`.
        computed: u8,
    },
    /// The address field is not two talker letters and a sentence type.
    #[error("NMEA address {address:?}: expected a talker and a sentence type, e.g. GPRMC")]
    Address {
        /// The address field.
        address: String,
    },
    /// Fewer fields than the sentence type needs.
    #[error("NMEA {sentence}: {count} fields, at least {needed} needed")]
    FieldCount {
        /// Address field.
        sentence: String,
        /// Fields after the address.
        count: usize,
        /// Fields needed.
        needed: usize,
    },
    /// One field is malformed or out of range.
    #[error("NMEA {sentence} field {index} ({field}): {what}, got {value:?}")]
    Field {
        /// Address field.
        sentence: String,
        /// 1-based field number after the address, as NMEA documents count them.
        index: usize,
        /// The field's name.
        field: &'static str,
        /// The text given.
        value: String,
        /// What is wrong.
        what: &'static str,
    },
}

/// UTC time of day, microseconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    /// Microseconds since 00:00:00 UTC (a leap second reads as 86_400 s and more).
    pub usec: u64,
}

/// A UTC calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Microseconds since the Unix epoch at 00:00:00 UTC of that day.
    pub midnight_usec: u64,
}

/// A WGS84 position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    /// Latitude, degrees, north positive.
    pub lat_deg: f64,
    /// Longitude, degrees, east positive.
    pub lon_deg: f64,
}

/// RMC: recommended minimum data.
#[derive(Debug, Clone, PartialEq)]
pub struct Rmc {
    /// Talker id (GP, GN, GL, GA, ...).
    pub talker: String,
    /// UTC time of the fix (empty before the receiver knows the time).
    pub time: Option<TimeOfDay>,
    /// Status `A` and (NMEA 2.3+) a mode other than `N`: the position is a fix.
    pub valid: bool,
    /// Position (may be a stale guess when not `valid`).
    pub position: Option<LatLon>,
    /// Speed over ground, m/s.
    pub speed_m_s: Option<f64>,
    /// Course over ground, degrees clockwise from true north.
    pub course_deg: Option<f64>,
    /// UTC date.
    pub date: Option<Date>,
}

/// GGA: fix data with altitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Gga {
    /// Talker id.
    pub talker: String,
    /// UTC time of day of the fix.
    pub time: Option<TimeOfDay>,
    /// Position.
    pub position: Option<LatLon>,
    /// Fix quality: 0 no fix, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 estimated, ...
    pub quality: u8,
    /// Satellites used.
    pub satellites: Option<u8>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Antenna altitude above mean sea level (geoid), metres.
    pub alt_m_amsl: Option<f64>,
}

/// One parsed sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Sentence {
    /// Recommended minimum data.
    Rmc(Rmc),
    /// Fix data.
    Gga(Gga),
    /// A sentence with a valid checksum of a type not read here (GSV, GSA, VTG, ...).
    Other {
        /// Its address field.
        address: String,
    },
}

/// Counts of a [`LineSplitter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitterStats {
    /// Lines handed out.
    pub lines: u64,
    /// Bytes thrown away: outside a sentence, in a sentence cut by the next `$`, or in an
    /// overlong line.
    pub garbage_bytes: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], dropped.
    pub overlong_lines: u64,
}

/// Cuts a byte stream into `$...` lines, whatever the line ends (CR, LF or both, in either
/// order) and whatever noise comes between them.
#[derive(Debug, Default)]
pub struct LineSplitter {
    line: Vec<u8>,
    /// Inside an overlong line: drop bytes up to the next line end or `$`.
    skipping: bool,
    stats: SplitterStats,
}

impl LineSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was handed out and thrown away so far.
    pub fn stats(&self) -> SplitterStats {
        self.stats
    }

    /// Drops a partial line (counted as garbage): after a reconnect the next bytes belong to
    /// another sentence, and must not be glued to the end of the old one.
    pub fn discard_partial(&mut self) {
        self.stats.garbage_bytes += self.line.len() as u64;
        self.line.clear();
        self.skipping = false;
    }

    /// Feeds `bytes`; `on_line` gets each complete line (starting with `$`, without its ending).
    /// A partial line is kept for the next call.
    pub fn push(&mut self, bytes: &[u8], mut on_line: impl FnMut(&[u8])) {
        for &b in bytes {
            match b {
                b'$' => {
                    // A new sentence: whatever was collected never ended, so it is noise.
                    self.stats.garbage_bytes += self.line.len() as u64;
                    self.line.clear();
                    self.line.push(b);
                    self.skipping = false;
                }
                b'\r' | b'\n' => {
                    if !self.line.is_empty() {
                        self.stats.lines += 1;
                        on_line(&self.line);
                        self.line.clear();
                    }
                    self.skipping = false;
                }
                _ if self.skipping || self.line.is_empty() => self.stats.garbage_bytes += 1,
                _ if self.line.len() >= MAX_LINE_BYTES => {
                    self.stats.overlong_lines += 1;
                    self.stats.garbage_bytes += self.line.len() as u64 + 1;
                    self.line.clear();
                    self.skipping = true;
                }
                _ => self.line.push(b),
            }
        }
    }
}

/// Reads one sentence (`$` up to and including `*hh`; a trailing line end is allowed).
///
/// # Errors
/// The line is not a sentence, its checksum is missing or wrong, or an RMC or GGA field is
/// malformed or out of range (naming the sentence and the field).
pub fn parse_sentence(line: &[u8]) -> Result<Sentence, NmeaError> {
    let line = line.trim_ascii_end();
    if line.first() != Some(&b'$') {
        return Err(NmeaError::NoStart {
            line: String::from_utf8_lossy(&line[..line.len().min(20)]).into_owned(),
        });
    }
    if let Some((offset, &byte)) = line.iter().enumerate().find(|(_, b)| !(0x20..0x7f).contains(*b)) {
        return Err(NmeaError::NotText { byte, offset });
    }
    // Printable ASCII from here on, so str slicing by byte offsets is safe.
    let text = std::str::from_utf8(&line[1..]).expect("printable ASCII is UTF-8");
    let address_of = |t: &str| t.split([',', '*']).next().unwrap_or_default().to_string();
    let Some((body, given)) = text.rsplit_once('*') else {
        return Err(NmeaError::NoChecksum {
            sentence: address_of(text),
        });
    };
    let computed = body.bytes().fold(0u8, |a, b| a ^ b);
    let given_ok = given.len() == 2
        && given.bytes().all(|b| b.is_ascii_hexdigit())
        && u8::from_str_radix(given, 16).is_ok_and(|g| g == computed);
    if !given_ok {
        return Err(NmeaError::Checksum {
            sentence: address_of(body),
            given: given.to_string(),
            computed,
        });
    }
    let mut fields = body.split(',');
    let address = fields.next().unwrap_or_default();
    let fields: Vec<&str> = fields.collect();
    if address.len() < 5 || !address.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(NmeaError::Address {
            address: address.to_string(),
        });
    }
    let (talker, kind) = address.split_at(address.len() - 3);
    let f = Fields {
        sentence: address,
        fields: &fields,
    };
    match kind {
        "RMC" => parse_rmc(talker, &f).map(Sentence::Rmc),
        "GGA" => parse_gga(talker, &f).map(Sentence::Gga),
        _ => Ok(Sentence::Other {
            address: address.to_string(),
        }),
    }
}

/// The fields of one sentence, with error construction naming them.
struct Fields<'a> {
    sentence: &'a str,
    fields: &'a [&'a str],
}

impl Fields<'_> {
    fn need(&self, needed: usize) -> Result<(), NmeaError> {
        if self.fields.len() < needed {
            return Err(NmeaError::FieldCount {
                sentence: self.sentence.into(),
                count: self.fields.len(),
                needed,
            });
        }
        Ok(())
    }

    /// Field `index` (1-based), trimmed; "" when the sentence is shorter.
    fn get(&self, index: usize) -> &str {
        self.fields.get(index - 1).map(|s| s.trim()).unwrap_or_default()
    }

    fn err(&self, index: usize, field: &'static str, what: &'static str) -> NmeaError {
        NmeaError::Field {
            sentence: self.sentence.into(),
            index,
            field,
            value: self.get(index).to_string(),
            what,
        }
    }

    /// A decimal number (digits, one optional point, an optional leading minus), or `None`
    /// when empty. `f64::from_str` alone would take `inf`, `NaN` and exponents.
    fn decimal(&self, index: usize, field: &'static str) -> Result<Option<f64>, NmeaError> {
        let s = self.get(index);
        if s.is_empty() {
            return Ok(None);
        }
        let digits = s.strip_prefix('-').unwrap_or(s);
        let ok = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().filter(|&b| b == b'.').count() <= 1
            && digits.bytes().any(|b| b.is_ascii_digit());
        if !ok {
            return Err(self.err(index, field, "not a decimal number"));
        }
        s.parse()
            .map(Some)
            .map_err(|_| self.err(index, field, "not a decimal number"))
    }

    /// `hhmmss` or `hhmmss.sss`.
    fn time(&self, index: usize) -> Result<Option<TimeOfDay>, NmeaError> {
        let s = self.get(index);
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || self.err(index, "UTC time", "not hhmmss[.sss]");
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.len() != 6 || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| whole[r].parse::<u64>().map_err(|_| bad());
        let (h, m, sec) = (num(0..2)?, num(2..4)?, num(4..6)?);
        if h > 23 || m > 59 || sec > 60 {
            return Err(self.err(index, "UTC time", "not a time of day"));
        }
        // Microseconds of the fraction: its first six digits, padded.
        let micros = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(6)
            .fold(0u64, |a, b| a * 10 + u64::from(b - b'0'));
        Ok(Some(TimeOfDay {
            usec: ((h * 60 + m) * 60 + sec) * 1_000_000 + micros,
        }))
    }

    /// `ddmmyy`; two-digit years are 1980-2079 (a receiver's GPS week rollover aside).
    fn date(&self, index: usize) -> Result<Option<Date>, NmeaError> {
        let s = self.get(index);
        if s.is_empty() {
            return Ok(None);
        }
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(index, "UTC date", "not ddmmyy"));
        }
        let yy: i64 = s[4..6].parse().map_err(|_| self.err(index, "UTC date", "not ddmmyy"))?;
        let year = if yy < 80 { 2000 + yy } else { 1900 + yy };
        let iso = format!("{year:04}-{}-{}", &s[2..4], &s[0..2]);
        let midnight_usec = parse_utc_usec(&iso).map_err(|_| self.err(index, "UTC date", "not a calendar date"))?;
        Ok(Some(Date { midnight_usec }))
    }

    /// Latitude (`ddmm.mmmm`, N/S) at `index` and longitude (`dddmm.mmmm`, E/W) at `index + 2`;
    /// `None` when all four are empty.
    fn position(&self, index: usize) -> Result<Option<LatLon>, NmeaError> {
        let parts = [index, index + 1, index + 2, index + 3].map(|i| self.get(i));
        if parts.iter().all(|p| p.is_empty()) {
            return Ok(None);
        }
        let lat = self.angle(index, "latitude", 2, 90.0, ["N", "S"])?;
        let lon = self.angle(index + 2, "longitude", 3, 180.0, ["E", "W"])?;
        Ok(Some(LatLon {
            lat_deg: lat,
            lon_deg: lon,
        }))
    }

    fn angle(
        &self,
        index: usize,
        field: &'static str,
        degree_digits: usize,
        max_deg: f64,
        hemispheres: [&str; 2],
    ) -> Result<f64, NmeaError> {
        let s = self.get(index);
        let (whole, _) = s.split_once('.').unwrap_or((s, ""));
        if whole.len() != degree_digits + 2 || s.starts_with('-') {
            return Err(self.err(index, field, "not d(d)ddmm.mmmm"));
        }
        let Some(value) = self.decimal(index, field)? else {
            return Err(self.err(index, field, "empty while the rest of the position is given"));
        };
        let degrees = (value / 100.0).trunc();
        let minutes = value - degrees * 100.0;
        if minutes >= 60.0 {
            return Err(self.err(index, field, "minutes must be below 60"));
        }
        let deg = degrees + minutes / 60.0;
        if deg > max_deg {
            return Err(self.err(index, field, "out of range"));
        }
        match self.get(index + 1) {
            h if h == hemispheres[0] => Ok(deg),
            h if h == hemispheres[1] => Ok(-deg),
            _ => Err(self.err(
                index + 1,
                if degree_digits == 2 { "N/S" } else { "E/W" },
                "not a hemisphere letter",
            )),
        }
    }
}

fn parse_rmc(talker: &str, f: &Fields<'_>) -> Result<Rmc, NmeaError> {
    // time, status, lat, N/S, lon, E/W, speed, course, date[, magvar, E/W[, mode[, nav status]]]
    f.need(9)?;
    let time = f.time(1)?;
    let status_ok = match f.get(2) {
        "A" => true,
        "V" => false,
        _ => return Err(f.err(2, "status", "not A or V")),
    };
    let position = f.position(3)?;
    let speed_m_s = f.decimal(7, "speed over ground")?.map(|kn| kn * M_S_PER_KNOT);
    if speed_m_s.is_some_and(|v| v < 0.0) {
        return Err(f.err(7, "speed over ground", "negative"));
    }
    let course_deg = f.decimal(8, "course over ground")?;
    if course_deg.is_some_and(|c| !(0.0..=360.0).contains(&c)) {
        return Err(f.err(8, "course over ground", "not in 0..360 degrees"));
    }
    let date = f.date(9)?;
    // NMEA 2.3 mode indicator: N = data not valid, whatever the status says.
    let mode_ok = f.get(12) != "N";
    Ok(Rmc {
        talker: talker.into(),
        time,
        valid: status_ok && mode_ok,
        position,
        speed_m_s,
        course_deg,
        date,
    })
}

fn parse_gga(talker: &str, f: &Fields<'_>) -> Result<Gga, NmeaError> {
    // time, lat, N/S, lon, E/W, quality, satellites, hdop, altitude, M, geoid sep, M, age, station
    f.need(9)?;
    let time = f.time(1)?;
    let position = f.position(2)?;
    let quality = match f.get(6) {
        "" => 0,
        q => q
            .parse::<u8>()
            .ok()
            .filter(|q| *q <= 9)
            .ok_or_else(|| f.err(6, "fix quality", "not a digit 0..9"))?,
    };
    let satellites = match f.get(7) {
        "" => None,
        n => Some(n.parse::<u8>().map_err(|_| f.err(7, "satellites", "not a count"))?),
    };
    let hdop = f.decimal(8, "HDOP")?;
    let alt_m_amsl = f.decimal(9, "altitude")?;
    if alt_m_amsl.is_some_and(|a| !(-1_000.0..=100_000.0).contains(&a)) {
        return Err(f.err(9, "altitude", "out of range"));
    }
    if alt_m_amsl.is_some() && !matches!(f.get(10), "M" | "") {
        return Err(f.err(10, "altitude unit", "not M"));
    }
    Ok(Gga {
        talker: talker.into(),
        time,
        position,
        quality,
        satellites,
        hdop,
        alt_m_amsl,
    })
}

/// A dated position fix: what a pose buffer takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// UTC time of the fix, microseconds since the Unix epoch.
    pub time_usec: u64,
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Antenna altitude AMSL, metres, from the GGA of this epoch (`None` before one arrived).
    pub alt_m_amsl: Option<f64>,
    /// Speed over ground, m/s, from the RMC of this epoch.
    pub speed_m_s: Option<f64>,
    /// Course over ground, degrees from true north, from the RMC of this epoch.
    pub course_deg: Option<f64>,
}

/// Turns RMC and GGA sentences into [`Fix`]es, one per sentence with a fix; the second
/// sentence of an epoch (same time) repeats the fix with what it adds (altitude or course), so
/// a receiver that sends only RMC or only GGA still gives a fix per epoch without waiting for
/// the next one.
#[derive(Debug, Default)]
pub struct FixTracker {
    /// The last RMC's date and time of day: GGA has no date.
    last_date: Option<(Date, TimeOfDay)>,
    /// The fix of the current epoch, merged from its sentences.
    epoch: Option<Fix>,
    /// GGA sentences with a fix that could not be dated yet (no RMC date seen).
    undated: u64,
}

impl FixTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// GGA fixes dropped because no RMC had given the date yet.
    pub fn undated(&self) -> u64 {
        self.undated
    }

    /// Takes one sentence; the fix it gives, if any.
    pub fn push(&mut self, sentence: &Sentence) -> Option<Fix> {
        match sentence {
            Sentence::Rmc(r) => {
                let (time, date) = (r.time?, r.date?);
                self.last_date = Some((date, time));
                let position = r.position.filter(|_| r.valid)?;
                let time_usec = date.midnight_usec + time.usec;
                let mut fix = self.merged(time_usec, position);
                fix.speed_m_s = r.speed_m_s;
                fix.course_deg = r.course_deg;
                self.epoch = Some(fix);
                Some(fix)
            }
            Sentence::Gga(g) => {
                let time = g.time?;
                let position = g.position.filter(|_| g.quality > 0)?;
                let Some((date, rmc_time)) = self.last_date else {
                    self.undated += 1;
                    return None;
                };
                // Across midnight the GGA of 00:00:00 may follow the RMC of 23:59:59 (or the
                // other way round): the nearer day is the right one.
                let half_day = DAY_USEC / 2;
                let midnight = if rmc_time.usec > time.usec + half_day {
                    date.midnight_usec + DAY_USEC
                } else if time.usec > rmc_time.usec + half_day {
                    date.midnight_usec.saturating_sub(DAY_USEC)
                } else {
                    date.midnight_usec
                };
                let mut fix = self.merged(midnight + time.usec, position);
                fix.alt_m_amsl = g.alt_m_amsl.or(fix.alt_m_amsl);
                self.epoch = Some(fix);
                Some(fix)
            }
            Sentence::Other { .. } => None,
        }
    }

    /// The epoch's fix so far at `time_usec` with this position, or a new one.
    fn merged(&self, time_usec: u64, position: LatLon) -> Fix {
        let base = self.epoch.filter(|e| e.time_usec == time_usec).unwrap_or(Fix {
            time_usec,
            lat_deg: position.lat_deg,
            lon_deg: position.lon_deg,
            alt_m_amsl: None,
            speed_m_s: None,
            course_deg: None,
        });
        Fix {
            lat_deg: position.lat_deg,
            lon_deg: position.lon_deg,
            ..base
        }
    }
}

/// What a GNSS receiver reports at one epoch: the input of [`write_rmc`] and [`write_gga`]
/// (the simulator's car sends these, as a receiver on the car's roof would).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixReport {
    /// UTC time of the fix, microseconds since the Unix epoch (written to the centisecond).
    pub time_usec: u64,
    /// Antenna latitude, degrees, north positive.
    pub lat_deg: f64,
    /// Antenna longitude, degrees, east positive.
    pub lon_deg: f64,
    /// Antenna altitude above mean sea level, metres (written to the centimetre).
    pub alt_m_amsl: f64,
    /// Speed over ground, m/s (written in knots to 0.001 kn).
    pub speed_m_s: f64,
    /// Course over ground, degrees clockwise from true north; any value, written in 0..360.
    pub course_deg: f64,
    /// GGA fix quality (1 GPS, 2 DGPS, 4 RTK fixed, ...; 0 writes a sentence without a fix).
    pub quality: u8,
    /// Satellites used.
    pub satellites: u8,
    /// Horizontal dilution of precision.
    pub hdop: f64,
}

/// Decimal places of the minutes of latitude and longitude written: 1e-5 minute is 1.9 cm of
/// latitude, finer than the 0.0001 minute (19 cm) most receivers give, so a simulated car's
/// position survives the sentence to well under the metre the onboard cares about.
pub const WRITE_MINUTE_DECIMALS: u32 = 5;

/// `body` (between `$` and `*`) as a full sentence with its checksum and CR LF.
fn with_checksum(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}\r\n")
}

/// `|deg|` as `d(d)ddmm.mmmmm` with `degree_digits` digits of degrees, rounded once in whole
/// units of the last digit so that 59.999999 minutes carries into the degrees.
fn write_angle(deg: f64, degree_digits: usize) -> String {
    let scale = 10u64.pow(WRITE_MINUTE_DECIMALS);
    let units = (deg.abs() * 60.0 * scale as f64).round() as u64;
    let (whole_deg, minute_units) = (units / (60 * scale), units % (60 * scale));
    format!(
        "{whole_deg:0degree_digits$}{:02}.{:0width$}",
        minute_units / scale,
        minute_units % scale,
        width = WRITE_MINUTE_DECIMALS as usize
    )
}

/// Time (`hhmmss.ss`) and date (`ddmmyy`) of `time_usec`, rounded to the centisecond.
fn write_time_date(time_usec: u64) -> (String, String) {
    let cs = (time_usec + 5_000) / 10_000;
    let (days, cs_of_day) = (cs / 8_640_000, cs % 8_640_000);
    let (s, frac) = (cs_of_day / 100, cs_of_day % 100);
    let time = format!("{:02}{:02}{:02}.{frac:02}", s / 3600, s / 60 % 60, s % 60);
    let (year, month, day) = crate::utc::civil_from_days(days as i64);
    (time, format!("{day:02}{month:02}{:02}", year.rem_euclid(100)))
}

/// An RMC sentence (with `\r\n`) for `fix` from talker `talker` (e.g. `GP`, `GN`): status `A`
/// and mode `A` when `fix.quality > 0`, else status `V` and mode `N` with no position.
/// Course is written in 0..360 to 0.01 degree (359.996 becomes 0.00).
pub fn write_rmc(talker: &str, fix: &FixReport) -> String {
    let (time, date) = write_time_date(fix.time_usec);
    if fix.quality == 0 {
        return with_checksum(&format!("{talker}RMC,{time},V,,,,,,,{date},,,N"));
    }
    let course_centideg = (fix.course_deg.rem_euclid(360.0) * 100.0).round() as u64 % 36_000;
    let speed_kn = fix.speed_m_s.max(0.0) / M_S_PER_KNOT;
    with_checksum(&format!(
        "{talker}RMC,{time},A,{},{},{},{},{speed_kn:.3},{}.{:02},{date},,,A",
        write_angle(fix.lat_deg, 2),
        if fix.lat_deg < 0.0 { 'S' } else { 'N' },
        write_angle(fix.lon_deg, 3),
        if fix.lon_deg < 0.0 { 'W' } else { 'E' },
        course_centideg / 100,
        course_centideg % 100,
    ))
}

/// A GGA sentence (with `\r\n`) for `fix` from talker `talker`: quality, satellites, HDOP and
/// the antenna altitude (geoid separation left empty: the altitude is already above the geoid).
pub fn write_gga(talker: &str, fix: &FixReport) -> String {
    let (time, _) = write_time_date(fix.time_usec);
    if fix.quality == 0 {
        return with_checksum(&format!("{talker}GGA,{time},,,,,0,00,,,M,,M,,"));
    }
    with_checksum(&format!(
        "{talker}GGA,{time},{},{},{},{},{},{:02},{:.1},{:.2},M,,M,,",
        write_angle(fix.lat_deg, 2),
        if fix.lat_deg < 0.0 { 'S' } else { 'N' },
        write_angle(fix.lon_deg, 3),
        if fix.lon_deg < 0.0 { 'W' } else { 'E' },
        fix.quality.min(9),
        fix.satellites,
        fix.hdop.max(0.0),
        fix.alt_m_amsl,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook RMC (gpsd's and many tutorials' example).
    const RMC: &str = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A";
    /// The textbook GGA of the same fix.
    const GGA: &str = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47";

    /// `body` (between `$` and `*`) as a sentence with its checksum.
    fn sentence(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{sum:02X}")
    }

    fn rmc(line: &str) -> Rmc {
        match parse_sentence(line.as_bytes()).unwrap() {
            Sentence::Rmc(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn gga(line: &str) -> Gga {
        match parse_sentence(line.as_bytes()).unwrap() {
            Sentence::Gga(g) => g,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn textbook_rmc_and_gga_read_as_documented() {
        let r = rmc(RMC);
        assert_eq!(r.talker, "GP");
        assert!(r.valid);
        let p = r.position.unwrap();
        assert!((p.lat_deg - (48.0 + 7.038 / 60.0)).abs() < 1e-9, "{}", p.lat_deg);
        assert!((p.lon_deg - (11.0 + 31.0 / 60.0)).abs() < 1e-9, "{}", p.lon_deg);
        assert!((r.speed_m_s.unwrap() - 22.4 * 1852.0 / 3600.0).abs() < 1e-9);
        assert_eq!(r.course_deg, Some(84.4));
        // 1994-03-23T12:35:19Z.
        let t = r.date.unwrap().midnight_usec + r.time.unwrap().usec;
        assert_eq!(t, parse_utc_usec("1994-03-23T12:35:19Z").unwrap());
        let g = gga(GGA);
        assert_eq!((g.quality, g.satellites, g.hdop), (1, Some(8), Some(0.9)));
        assert_eq!(g.alt_m_amsl, Some(545.4));
        assert_eq!(g.position, r.position);
        assert_eq!(g.time, r.time);
    }

    #[test]
    fn any_talker_southern_and_western_hemispheres_and_fractions_of_seconds() {
        // A u-blox M8 multi-constellation RMC (NMEA 4.1, mode and nav status fields).
        for talker in ["GN", "GL", "GA", "GB"] {
            let line = sentence(&format!(
                "{talker}RMC,083559.25,A,3351.1234,S,15112.5000,W,0.004,,070426,,,A,V"
            ));
            let r = rmc(&line);
            assert_eq!(r.talker, talker);
            let p = r.position.unwrap();
            assert!((p.lat_deg + (33.0 + 51.1234 / 60.0)).abs() < 1e-9);
            assert!((p.lon_deg + (151.0 + 12.5 / 60.0)).abs() < 1e-9);
            assert_eq!(r.course_deg, None, "empty course: not moving");
            assert_eq!(r.time.unwrap().usec % 1_000_000, 250_000);
            assert_eq!(r.date.unwrap().midnight_usec, parse_utc_usec("2026-04-07").unwrap());
        }
        // Lower-case checksum digits are accepted.
        assert!(rmc(&RMC.replace("*6A", "*6a")).valid);
    }

    #[test]
    fn no_fix_is_respected() {
        // Before a fix: empty fields, status V, mode N (a real cold-start line).
        let r = rmc("$GPRMC,,V,,,,,,,,,,N*53");
        assert!(!r.valid && r.position.is_none() && r.time.is_none() && r.date.is_none());
        // Status A but mode N: not valid.
        let r = rmc(&sentence("GNRMC,123519,A,4807.038,N,01131.000,E,0.0,,230394,,,N"));
        assert!(!r.valid);
        // Status V with a stale position: no fix.
        let r = rmc(&sentence("GPRMC,123519,V,4807.038,N,01131.000,E,0.0,,230394,,"));
        let mut t = FixTracker::new();
        assert_eq!(t.push(&Sentence::Rmc(r)), None);
        // GGA quality 0 gives no fix even with a date known.
        assert!(t.push(&Sentence::Rmc(rmc(RMC))).is_some());
        let g = gga(&sentence("GPGGA,123520,4807.038,N,01131.000,E,0,00,,,M,,M,,"));
        assert_eq!(g.quality, 0);
        assert_eq!(t.push(&Sentence::Gga(g)), None);
    }

    #[test]
    fn corrupted_sentences_are_refused_naming_sentence_and_field() {
        // One character changed: the checksum no longer matches.
        let flipped = RMC.replace("4807.038", "4807.039");
        let e = parse_sentence(flipped.as_bytes()).unwrap_err();
        assert!(
            matches!(&e, NmeaError::Checksum { sentence, .. } if sentence == "GPRMC"),
            "{e}"
        );
        assert!(e.to_string().contains("GPRMC"), "{e}");
        // Checksum cut off.
        let e = parse_sentence(&RMC.as_bytes()[..RMC.len() - 3]).unwrap_err();
        assert!(
            matches!(&e, NmeaError::NoChecksum { sentence } if sentence == "GPRMC"),
            "{e}"
        );
        // Bad checksum text.
        let e = parse_sentence(RMC.replace("*6A", "*6").as_bytes()).unwrap_err();
        assert!(matches!(e, NmeaError::Checksum { .. }), "{e}");
        // Not a sentence at all.
        assert!(matches!(
            parse_sentence(b"GPRMC,123519*00"),
            Err(NmeaError::NoStart { .. })
        ));
        assert!(matches!(
            parse_sentence(b"$GPR\xffMC*00"),
            Err(NmeaError::NotText { byte: 0xff, .. })
        ));
        // Valid checksums over bad fields: each error names the sentence and the field.
        let cases = [
            (
                "GPRMC,126519,A,4807.038,N,01131.000,E,022.4,084.4,230394,,",
                1,
                "UTC time",
            ),
            (
                "GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,,",
                2,
                "status",
            ),
            (
                "GPRMC,123519,A,4867.038,N,01131.000,E,022.4,084.4,230394,,",
                3,
                "latitude",
            ),
            (
                "GPRMC,123519,A,9107.038,N,01131.000,E,022.4,084.4,230394,,",
                3,
                "latitude",
            ),
            ("GPRMC,123519,A,4807.038,Q,01131.000,E,022.4,084.4,230394,,", 4, "N/S"),
            (
                "GPRMC,123519,A,4807.038,N,1131.000,E,022.4,084.4,230394,,",
                5,
                "longitude",
            ),
            (
                "GPRMC,123519,A,4807.038,N,01131.000,E,inf,084.4,230394,,",
                7,
                "speed over ground",
            ),
            (
                "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,361.0,230394,,",
                8,
                "course over ground",
            ),
            (
                "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,310294,,",
                9,
                "UTC date",
            ),
            (
                "GPGGA,123519,4807.038,N,01131.000,E,x,08,0.9,545.4,M,46.9,M,,",
                6,
                "fix quality",
            ),
            (
                "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,1e3,M,46.9,M,,",
                9,
                "altitude",
            ),
        ];
        for (body, index, field) in cases {
            let e = parse_sentence(sentence(body).as_bytes()).unwrap_err();
            match &e {
                NmeaError::Field {
                    sentence: s,
                    index: i,
                    field: f,
                    ..
                } => assert_eq!((s.as_str(), *i, *f), (&body[..5], index, field), "{body}: {e}"),
                other => panic!("{body}: {other}"),
            }
            assert!(
                e.to_string().contains(&body[..5]) && e.to_string().contains(field),
                "{e}"
            );
        }
        let e = parse_sentence(sentence("GPRMC,123519,A").as_bytes()).unwrap_err();
        assert!(matches!(e, NmeaError::FieldCount { needed: 9, .. }), "{e}");
        let e = parse_sentence(sentence("X,1,2").as_bytes()).unwrap_err();
        assert!(matches!(e, NmeaError::Address { .. }), "{e}");
        // Other types are recognised, not read.
        assert_eq!(
            parse_sentence(sentence("GPGSV,3,1,11,03,03,111,00").as_bytes()).unwrap(),
            Sentence::Other {
                address: "GPGSV".into()
            }
        );
    }

    #[test]
    fn gga_is_dated_with_the_last_rmc_and_merged_into_its_epoch() {
        let mut t = FixTracker::new();
        // GGA before any RMC: no date, no fix.
        assert_eq!(t.push(&Sentence::Gga(gga(GGA))), None);
        assert_eq!(t.undated(), 1);
        let f = t.push(&Sentence::Rmc(rmc(RMC))).unwrap();
        assert_eq!(f.time_usec, parse_utc_usec("1994-03-23T12:35:19Z").unwrap());
        assert_eq!(f.alt_m_amsl, None, "no GGA of this epoch yet");
        assert_eq!(f.course_deg, Some(84.4));
        // The GGA of the same epoch adds the altitude and keeps the course.
        let f = t.push(&Sentence::Gga(gga(GGA))).unwrap();
        assert_eq!((f.alt_m_amsl, f.course_deg), (Some(545.4), Some(84.4)));
        // A GGA of the next second: dated with the RMC's date, no course of its own.
        let g = gga(&sentence(
            "GPGGA,123520,4807.040,N,01131.000,E,1,08,0.9,545.6,M,46.9,M,,",
        ));
        let f = t.push(&Sentence::Gga(g)).unwrap();
        assert_eq!(f.time_usec, parse_utc_usec("1994-03-23T12:35:20Z").unwrap());
        assert_eq!((f.alt_m_amsl, f.course_deg), (Some(545.6), None));
        // Midnight: the GGA of 00:00:00 after the RMC of 23:59:59 is on the next day.
        let r = rmc(&sentence("GPRMC,235959,A,4807.038,N,01131.000,E,0.0,,311226,,"));
        t.push(&Sentence::Rmc(r)).unwrap();
        let g = gga(&sentence(
            "GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        ));
        let f = t.push(&Sentence::Gga(g)).unwrap();
        assert_eq!(f.time_usec, parse_utc_usec("2027-01-01T00:00:00Z").unwrap());
    }

    #[test]
    fn splitter_survives_garbage_line_end_variants_and_overlong_lines() {
        let mut s = LineSplitter::new();
        let mut lines = Vec::new();
        let parts: [&[u8]; 10] = [
            b"\x00\xffnoise",
            b"$GPRMC,half a sentence",
            RMC.as_bytes(),
            b"\r\n",
            GGA.as_bytes(),
            b"\n",
            RMC.as_bytes(),
            b"\r",
            GGA.as_bytes(),
            b"\n\r\r\n",
        ];
        let stream = parts.concat();
        // One byte at a time: the split does not depend on how reads cut the stream.
        for b in &stream {
            s.push(std::slice::from_ref(b), |l| lines.push(l.to_vec()));
        }
        let expected: Vec<Vec<u8>> = [RMC, GGA, RMC, GGA].iter().map(|l| l.as_bytes().to_vec()).collect();
        assert_eq!(lines, expected);
        assert_eq!(s.stats().garbage_bytes, 7 + 22, "noise and the cut sentence");
        for l in &lines {
            parse_sentence(l).unwrap();
        }
        // A line that never ends is dropped at the cap; the next sentence is read again.
        let mut long = b"$GPTXT,".to_vec();
        long.extend(std::iter::repeat_n(b'A', 10 * MAX_LINE_BYTES));
        long.extend(b"\r\n");
        long.extend(RMC.as_bytes());
        long.extend(b"\r\n");
        let mut lines = Vec::new();
        s.push(&long, |l| lines.push(l.to_vec()));
        assert_eq!(lines, vec![RMC.as_bytes().to_vec()]);
        assert_eq!(s.stats().overlong_lines, 1);
        assert_eq!(s.stats().lines, 5);
    }

    fn report(time_usec: u64, lat_deg: f64, lon_deg: f64, course_deg: f64) -> FixReport {
        FixReport {
            time_usec,
            lat_deg,
            lon_deg,
            alt_m_amsl: -12.34,
            speed_m_s: 13.9,
            course_deg,
            quality: 1,
            satellites: 9,
            hdop: 0.8,
        }
    }

    /// Writes RMC then GGA for `r`, parses them back through the tracker: the merged fix.
    fn round_trip(r: &FixReport) -> (Fix, Gga) {
        let rmc_line = write_rmc("GP", r);
        let gga_line = write_gga("GP", r);
        for line in [&rmc_line, &gga_line] {
            assert!(line.ends_with("\r\n") && line.len() <= 82, "{line:?}");
        }
        let mut t = FixTracker::new();
        t.push(&parse_sentence(rmc_line.as_bytes()).unwrap()).unwrap();
        let g = gga(gga_line.trim_end());
        let fix = t.push(&Sentence::Gga(g.clone())).unwrap();
        (fix, g)
    }

    #[test]
    fn written_rmc_and_gga_parse_back_to_the_same_fix_in_every_hemisphere() {
        // 2026-12-08T01:09:18.123456Z and a time just before midnight (rounds into the next day).
        let t0 = parse_utc_usec("2026-12-08T01:09:18Z").unwrap() + 123_456;
        let before_midnight = parse_utc_usec("2026-12-31T23:59:59Z").unwrap() + 996_000;
        // Minute error of the format: half a unit of the 5th decimal.
        let tol_deg = 0.5e-5 / 60.0 + 1e-12;
        for (lat, lon) in [
            (59.397_9, 17.889),
            (-33.851_234, -151.208_333),
            (0.000_001, -0.000_001),
            (-89.999_999_9, 179.999_999_9),
            (48.116_666_666, 11.516_666_666),
        ] {
            for t in [t0, before_midnight] {
                let r = report(t, lat, lon, 84.4);
                let (fix, g) = round_trip(&r);
                assert!((fix.lat_deg - lat).abs() <= tol_deg, "{lat} -> {}", fix.lat_deg);
                assert!((fix.lon_deg - lon).abs() <= tol_deg, "{lon} -> {}", fix.lon_deg);
                assert!(fix.time_usec.abs_diff(t) <= 5_000, "{t} -> {}", fix.time_usec);
                assert!((fix.alt_m_amsl.unwrap() - r.alt_m_amsl).abs() <= 0.005);
                assert!((fix.speed_m_s.unwrap() - r.speed_m_s).abs() <= 0.0005 * M_S_PER_KNOT + 1e-9);
                assert!((fix.course_deg.unwrap() - 84.4).abs() <= 0.005);
                assert_eq!((g.quality, g.satellites, g.hdop), (1, Some(9), Some(0.8)));
            }
        }
        // The time after rounding lands on the next day: the date follows it.
        let (fix, _) = round_trip(&report(before_midnight, 1.0, 1.0, 0.0));
        assert_eq!(fix.time_usec, parse_utc_usec("2027-01-01T00:00:00Z").unwrap());
    }

    #[test]
    fn written_course_wraps_into_0_to_360() {
        let t = parse_utc_usec("2026-06-01T12:00:00Z").unwrap();
        for (given, read) in [
            (-90.0, 270.0),
            (450.0, 90.0),
            (359.996, 0.0),
            (-0.001, 0.0),
            (360.0, 0.0),
            (0.0, 0.0),
            (181.234, 181.23),
        ] {
            let (fix, _) = round_trip(&report(t, 10.0, 10.0, given));
            let c = fix.course_deg.unwrap();
            assert!((0.0..360.0).contains(&c), "{given} -> {c}");
            assert!((c - read).abs() < 1e-9, "{given} -> {c}, expected {read}");
        }
    }

    #[test]
    fn minutes_that_round_to_60_carry_into_the_degrees() {
        // 10.99999999 deg = 10 deg 59.9999994 min, which rounds to 11 deg 00.00000 min.
        let line = write_rmc("GN", &report(0, 10.999_999_99, -20.999_999_99, 0.0));
        assert!(line.contains(",1100.00000,N,02100.00000,W,"), "{line}");
        assert!(rmc(line.trim_end()).valid);
    }

    #[test]
    fn a_report_without_a_fix_writes_sentences_without_a_fix() {
        let mut r = report(parse_utc_usec("2026-06-01T12:00:00Z").unwrap(), 59.0, 18.0, 0.0);
        r.quality = 0;
        let mut t = FixTracker::new();
        let rmc_s = parse_sentence(write_rmc("GP", &r).as_bytes()).unwrap();
        let gga_s = parse_sentence(write_gga("GP", &r).as_bytes()).unwrap();
        assert!(matches!(&rmc_s, Sentence::Rmc(x) if !x.valid && x.position.is_none()));
        assert_eq!(t.push(&rmc_s), None);
        assert_eq!(t.push(&gga_s), None);
    }

    #[test]
    fn a_written_textbook_fix_matches_the_textbook_sentence_fields() {
        // The textbook fix of RMC/GGA above: same fields, written at the writer's precision.
        let r = FixReport {
            time_usec: parse_utc_usec("1994-03-23T12:35:19Z").unwrap(),
            lat_deg: 48.0 + 7.038 / 60.0,
            lon_deg: 11.0 + 31.0 / 60.0,
            alt_m_amsl: 545.4,
            speed_m_s: 22.4 * M_S_PER_KNOT,
            course_deg: 84.4,
            quality: 1,
            satellites: 8,
            hdop: 0.9,
        };
        assert_eq!(
            write_rmc("GP", &r),
            sentence("GPRMC,123519.00,A,4807.03800,N,01131.00000,E,22.400,84.40,230394,,,A") + "\r\n"
        );
        assert_eq!(
            write_gga("GP", &r),
            sentence("GPGGA,123519.00,4807.03800,N,01131.00000,E,1,08,0.9,545.40,M,,M,,") + "\r\n"
        );
    }
}

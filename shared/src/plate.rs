//! Number-plate grammar: which texts are plates, table-driven so a country is a few rows.
//!
//! A [`PlateFormat`] is a list of character groups, each a list of [`Slot`]s (the characters
//! allowed at that position); groups are printed with a space between them. [`FORMATS`] holds
//! every known format; a [`PlateGrammar`] is the set the drone looks for (Sweden by default).
//! Texts are compared in *normalized* form ([`normalize`]): upper case, letters and digits only,
//! which is also how plates travel in UTKIK_PLATE_READ and how the simulator labels its truth.
//!
//! Two entry points:
//! - [`PlateGrammar::parse`] checks a typed or decoded text (`"abc 123"`, `"ABC-12A"`);
//! - [`PlateGrammar::best_read`] takes what a recognizer saw (for each character, its
//!   probability for every alphabet character; gaps where it read a space) and returns the
//!   most probable text the grammar allows, so a digit slot takes the best *digit* the network
//!   saw there (an `O` read in a digit slot becomes `0` only if the network also gave `0` real
//!   weight). Recognizers restrict their decoding to [`PlateGrammar::alphabet`].
//!
//! # Sweden
//! Ordinary plates (förordning 2001:650 om vägtrafikregister, 7 kap. 1 §, as amended by SFS
//! 2017:100): three letters and three digits (`ABC 123`), or, issued since 2019, three letters,
//! two digits and a letter (`ABC 12A`). Of the 29 letters of the Swedish alphabet 23 are used:
//! never I, Q, V, Å, Ä or Ö (easily confused with 1, O, U/Y, A and O). A letter in the last
//! position is never O (confused with 0; Transportstyrelsen's allocation rule, as the
//! simulator's scenario check also applies). Not covered: personal plates (2 to 7 freely chosen
//! characters, Å/Ä/Ö allowed), diplomatic, military and temporary export plates. The list of
//! about 150 excluded letter combinations (offensive words, number words such as TRE) is not
//! enforced: it changes over time and old plates may carry since-excluded combinations.

use std::fmt;

/// One character position: the characters allowed there (upper-case, ASCII or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Short description, for messages and docs.
    pub name: &'static str,
    /// Every character allowed at this position.
    pub allowed: &'static str,
}

impl Slot {
    /// True when `c` may stand here.
    pub fn allows(&self, c: char) -> bool {
        self.allowed.contains(c)
    }
}

/// A digit 0-9.
pub const DIGIT: Slot = Slot {
    name: "digit",
    allowed: "0123456789",
};
/// A letter of a Swedish ordinary plate: A-Z without I, Q and V (Å, Ä, Ö are not used either).
pub const SE_LETTER: Slot = Slot {
    name: "letter except I, Q, V",
    allowed: "ABCDEFGHJKLMNOPRSTUWXYZ",
};
/// The last character of a Swedish plate issued since 2019: a digit or a letter except O.
pub const SE_LAST: Slot = Slot {
    name: "digit or letter except I, O, Q, V",
    allowed: "0123456789ABCDEFGHJKLMNPRSTUWXYZ",
};

/// One plate layout of one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlateFormat {
    /// ISO 3166-1 alpha-2 code of the issuing country.
    pub country: &'static str,
    /// Which layout of that country.
    pub name: &'static str,
    /// Character groups, printed with one space between groups.
    pub groups: &'static [&'static [Slot]],
}

impl PlateFormat {
    /// Characters in the normalized text.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.len()).sum()
    }

    /// True for a format without characters (never valid in a grammar).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slots in order, groups concatenated.
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.groups.iter().flat_map(|g| g.iter())
    }

    /// Offsets (in characters of the normalized text) where one group ends and the next starts.
    pub fn group_boundaries(&self) -> Vec<usize> {
        let mut at = 0;
        let mut out = Vec::new();
        for g in &self.groups[..self.groups.len().saturating_sub(1)] {
            at += g.len();
            out.push(at);
        }
        out
    }

    /// True when `normalized` (upper case, no separators) fits this format.
    pub fn matches(&self, normalized: &str) -> bool {
        normalized.chars().count() == self.len() && normalized.chars().zip(self.slots()).all(|(c, s)| s.allows(c))
    }

    /// The text as printed on the plate: groups separated by one space.
    ///
    /// # Panics
    /// When `normalized` does not have [`len`](Self::len) characters.
    pub fn display(&self, normalized: &str) -> String {
        let chars: Vec<char> = normalized.chars().collect();
        assert_eq!(
            chars.len(),
            self.len(),
            "{normalized:?} is not a {} {} plate",
            self.country,
            self.name
        );
        let mut out = String::with_capacity(chars.len() + self.groups.len());
        let mut at = 0;
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(&chars[at..at + g.len()]);
            at += g.len();
        }
        out
    }
}

/// Swedish ordinary plate, three letters and three digits.
pub const SE_ORDINARY: PlateFormat = PlateFormat {
    country: "SE",
    name: "ordinary (ABC 123)",
    groups: &[&[SE_LETTER, SE_LETTER, SE_LETTER], &[DIGIT, DIGIT, DIGIT]],
};
/// Swedish ordinary plate issued since 2019, whose last character may be a letter.
pub const SE_ORDINARY_2019: PlateFormat = PlateFormat {
    country: "SE",
    name: "ordinary since 2019 (ABC 12A)",
    groups: &[&[SE_LETTER, SE_LETTER, SE_LETTER], &[DIGIT, DIGIT, SE_LAST]],
};

/// Every format known, by country. Add a country by adding its rows (and its slots above).
pub const FORMATS: &[PlateFormat] = &[SE_ORDINARY, SE_ORDINARY_2019];

/// Upper case, letters and digits only: `"abc-12 a"` -> `"ABC12A"`. Upper-cased first, then
/// filtered: upper-casing can expand one letter into a letter and combining marks (Greek `ΐ` ->
/// `Ι` U+0308 U+0301), which are not letters, so filtering first left them in and a second
/// normalize changed the text (found by the `plate_grammar` fuzz target).
pub fn normalize(text: &str) -> String {
    text.chars()
        .flat_map(char::to_uppercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Why a grammar could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateGrammarError {
    /// No format at all: nothing would ever be a plate.
    #[error("plate grammar has no format")]
    Empty,
    /// A country code without a row in [`FORMATS`].
    #[error("no plate formats for country {country:?} (known: {known})")]
    UnknownCountry {
        /// The code asked for.
        country: String,
        /// The codes in [`FORMATS`].
        known: String,
    },
    /// A format with no characters, or a slot allowing none.
    #[error("plate format {country} {name}: {problem}")]
    BadFormat {
        /// Country of the format.
        country: &'static str,
        /// Its name.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// A text that is a plate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateMatch {
    /// Normalized text (`ABC123`).
    pub normalized: String,
    /// As printed (`ABC 123`).
    pub display: String,
    /// The format it matched.
    pub format: PlateFormat,
}

impl fmt::Display for PlateMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.display, self.format.country)
    }
}

/// One character a recognizer emitted (or a gap where it read a space).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadChar {
    /// A space between characters.
    Gap,
    /// A character: the recognizer's probability (0..1) of each alphabet character at this
    /// position; characters not listed count as 0.
    Char(Vec<(char, f32)>),
}

/// The grammar's best reading of a recognizer output.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRead {
    /// The plate.
    pub plate: PlateMatch,
    /// The lowest probability among the chosen characters (0..1): the weakest link.
    pub confidence: f32,
    /// Positions where the grammar chose another character than the recognizer's first choice.
    pub substitutions: usize,
}

/// The formats the drone looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateGrammar {
    formats: Vec<PlateFormat>,
}

impl Default for PlateGrammar {
    /// Sweden.
    fn default() -> Self {
        Self::sweden()
    }
}

impl PlateGrammar {
    /// A grammar of the given formats, checked: at least one, none empty, no empty slot, all
    /// characters upper case.
    pub fn new(formats: impl IntoIterator<Item = PlateFormat>) -> Result<Self, PlateGrammarError> {
        let formats: Vec<PlateFormat> = formats.into_iter().collect();
        if formats.is_empty() {
            return Err(PlateGrammarError::Empty);
        }
        for f in &formats {
            let bad = |problem: String| PlateGrammarError::BadFormat {
                country: f.country,
                name: f.name,
                problem,
            };
            if f.is_empty() || f.groups.iter().any(|g| g.is_empty()) {
                return Err(bad("has an empty group".into()));
            }
            for s in f.slots() {
                if s.allowed.is_empty() {
                    return Err(bad(format!("slot {:?} allows no character", s.name)));
                }
                if let Some(c) = s.allowed.chars().find(|c| normalize(&c.to_string()) != c.to_string()) {
                    return Err(bad(format!(
                        "slot {:?} allows {c:?}, which is not a normalized (upper-case letter or digit) character",
                        s.name
                    )));
                }
            }
        }
        Ok(Self { formats })
    }

    /// Every format of the given countries (ISO 3166-1 alpha-2, case-insensitive).
    pub fn for_countries(countries: &[&str]) -> Result<Self, PlateGrammarError> {
        let mut formats = Vec::new();
        for c in countries {
            let before = formats.len();
            formats.extend(FORMATS.iter().filter(|f| f.country.eq_ignore_ascii_case(c)));
            if formats.len() == before {
                let mut known: Vec<&str> = FORMATS.iter().map(|f| f.country).collect();
                known.dedup();
                return Err(PlateGrammarError::UnknownCountry {
                    country: (*c).to_string(),
                    known: known.join(", "),
                });
            }
        }
        Self::new(formats)
    }

    /// Swedish ordinary plates.
    pub fn sweden() -> Self {
        Self::new([SE_ORDINARY, SE_ORDINARY_2019]).expect("the Swedish rows are valid")
    }

    /// The formats, in matching order.
    pub fn formats(&self) -> &[PlateFormat] {
        &self.formats
    }

    /// Every character any slot allows, sorted: what a recognizer needs to tell apart.
    pub fn alphabet(&self) -> Vec<char> {
        let mut v: Vec<char> = self
            .formats
            .iter()
            .flat_map(|f| f.slots())
            .flat_map(|s| s.allowed.chars())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The first format `text` fits after normalization, if any.
    pub fn parse(&self, text: &str) -> Option<PlateMatch> {
        let normalized = normalize(text);
        let format = *self.formats.iter().find(|f| f.matches(&normalized))?;
        Some(PlateMatch {
            display: format.display(&normalized),
            normalized,
            format,
        })
    }

    /// The most probable plate in a recognizer's output, or `None` when no format fits.
    ///
    /// Candidates are runs of whole space-separated tokens (so an extra token, such as the
    /// country letter of the EU band read as `S ABC 123`, is skipped, but a token is never cut),
    /// whose inner spaces fall on the format's group boundaries. Each slot takes its most
    /// probable allowed character; the candidate with the highest product of probabilities wins.
    pub fn best_read(&self, read: &[ReadChar]) -> Option<PlateRead> {
        // Token spans over the characters (gaps removed), and where the gaps were.
        let mut chars: Vec<&[(char, f32)]> = Vec::new();
        let mut token_starts = vec![0usize];
        for r in read {
            match r {
                ReadChar::Gap => {
                    if *token_starts.last().expect("never empty") != chars.len() {
                        token_starts.push(chars.len());
                    }
                }
                ReadChar::Char(p) => chars.push(p),
            }
        }
        if *token_starts.last().expect("never empty") == chars.len() && token_starts.len() > 1 {
            token_starts.pop();
        }
        let mut token_ends: Vec<usize> = token_starts[1..].to_vec();
        token_ends.push(chars.len());

        let mut best: Option<(f64, PlateRead)> = None;
        for (si, &start) in token_starts.iter().enumerate() {
            for (ei, &end) in token_ends.iter().enumerate().skip(si) {
                let window = &chars[start..end];
                // Gaps inside the window, as offsets from its start.
                let gaps: Vec<usize> = token_starts[si + 1..=ei].iter().map(|g| g - start).collect();
                for f in &self.formats {
                    if f.len() != window.len() {
                        continue;
                    }
                    let bounds = f.group_boundaries();
                    if !gaps.iter().all(|g| bounds.contains(g)) {
                        continue;
                    }
                    if let Some((log_p, read)) = fit(f, window)
                        && best.as_ref().is_none_or(|(b, _)| log_p > *b)
                    {
                        best = Some((log_p, read));
                    }
                }
            }
        }
        best.map(|(_, r)| r)
    }
}

/// Best allowed character per slot; `None` when some slot has no allowed character with
/// positive probability.
fn fit(format: &PlateFormat, window: &[&[(char, f32)]]) -> Option<(f64, PlateRead)> {
    let mut text = String::with_capacity(window.len());
    let mut log_p = 0f64;
    let mut confidence = 1f32;
    let mut substitutions = 0;
    for (slot, probs) in format.slots().zip(window) {
        let (c, p) = probs
            .iter()
            .filter(|(c, p)| slot.allows(*c) && *p > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let top = probs.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|t| t.0);
        if top != Some(*c) {
            substitutions += 1;
        }
        text.push(*c);
        log_p += f64::from(*p).ln();
        confidence = confidence.min(*p);
    }
    Some((
        log_p,
        PlateRead {
            plate: PlateMatch {
                display: format.display(&text),
                normalized: text,
                format: *format,
            },
            confidence,
            substitutions,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (`plate_grammar`, 2026-12-07): normalize was not idempotent for letters
    /// whose upper case carries combining marks.
    #[test]
    fn normalize_is_idempotent_when_upper_case_adds_combining_marks() {
        for text in ["\u{390}", "\u{3b0}", "\u{149}", "abc-12 a", "ß"] {
            let once = normalize(text);
            assert_eq!(normalize(&once), once, "{text:?}");
            assert!(once.chars().all(char::is_alphanumeric), "{once:?}");
        }
        assert_eq!(normalize("\u{390}"), "\u{399}");
    }
    use proptest::prelude::*;

    /// A recognizer output that saw `text` with probability `p` per character (spaces as gaps).
    fn sure(text: &str, p: f32) -> Vec<ReadChar> {
        text.chars()
            .map(|c| {
                if c == ' ' {
                    ReadChar::Gap
                } else {
                    ReadChar::Char(vec![(c, p)])
                }
            })
            .collect()
    }

    #[test]
    fn swedish_plates_parse_and_print_with_their_space() {
        let g = PlateGrammar::sweden();
        for (text, display, format) in [
            ("ABC 123", "ABC 123", SE_ORDINARY),
            ("abc123", "ABC 123", SE_ORDINARY),
            ("  x y z-0 0 1 ", "XYZ 001", SE_ORDINARY),
            ("MLB 84A", "MLB 84A", SE_ORDINARY_2019),
            ("wer84z", "WER 84Z", SE_ORDINARY_2019),
            ("OOO 000", "OOO 000", SE_ORDINARY),
        ] {
            let m = g.parse(text).unwrap_or_else(|| panic!("{text:?} is a Swedish plate"));
            assert_eq!((m.display.as_str(), m.format), (display, format), "{text:?}");
            assert_eq!(m.normalized, display.replace(' ', ""));
        }
        assert_eq!(g.parse("ABC 123").unwrap().to_string(), "ABC 123 (SE)");
    }

    #[test]
    fn swedish_rules_reject_what_is_never_issued() {
        let g = PlateGrammar::sweden();
        for bad in [
            "ABI 123",  // I is not used
            "QBC 123",  // Q is not used
            "AVC 123",  // V is not used
            "ÅBC 123",  // nor Å, Ä, Ö
            "ABÖ 123",  // normalized upper case, still not allowed
            "ABC 12O",  // O never last
            "ABC 12I",  // nor I
            "ABC 1A3",  // letter only last
            "AB1 123",  // letters first
            "AB 1234",  // three letters
            "ABCD 123", // not four
            "ABC 1234", "ABC 12", "", "123 ABC",
        ] {
            assert_eq!(g.parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn alphabet_is_what_the_slots_allow() {
        let a: String = PlateGrammar::sweden().alphabet().into_iter().collect();
        assert_eq!(a, "0123456789ABCDEFGHJKLMNOPRSTUWXYZ");
        assert_eq!(a.len(), 10 + 23);
    }

    #[test]
    fn normalize_keeps_letters_and_digits_upper_case() {
        assert_eq!(normalize(" abc-12 a\t"), "ABC12A");
        assert_eq!(normalize("åäö ü"), "ÅÄÖÜ");
        assert_eq!(normalize(" -·"), "");
    }

    #[test]
    fn grammar_by_country_and_its_errors() {
        assert_eq!(PlateGrammar::for_countries(&["se"]).unwrap(), PlateGrammar::sweden());
        let e = PlateGrammar::for_countries(&["SE", "XX"]).unwrap_err();
        assert_eq!(
            e,
            PlateGrammarError::UnknownCountry {
                country: "XX".into(),
                known: "SE".into()
            }
        );
        assert_eq!(PlateGrammar::new([]).unwrap_err(), PlateGrammarError::Empty);
        const LOWER: Slot = Slot {
            name: "lower",
            allowed: "abc",
        };
        let e = PlateGrammar::new([PlateFormat {
            country: "ZZ",
            name: "bad",
            groups: &[&[LOWER]],
        }])
        .unwrap_err();
        assert!(e.to_string().contains("'a'"), "{e}");
        let e = PlateGrammar::new([PlateFormat {
            country: "ZZ",
            name: "empty",
            groups: &[&[DIGIT], &[]],
        }])
        .unwrap_err();
        assert!(e.to_string().contains("ZZ empty"), "{e}");
    }

    #[test]
    fn a_country_is_a_few_rows() {
        // A made-up layout (two letters, a group of 1 to 3 digits as three formats) shows what
        // adding a country takes: slots, formats, a grammar of them.
        const L: Slot = Slot {
            name: "letter",
            allowed: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        };
        const F1: PlateFormat = PlateFormat {
            country: "ZZ",
            name: "AB-1",
            groups: &[&[L, L], &[DIGIT]],
        };
        const F3: PlateFormat = PlateFormat {
            country: "ZZ",
            name: "AB-123",
            groups: &[&[L, L], &[DIGIT, DIGIT, DIGIT]],
        };
        let g = PlateGrammar::new([F1, F3, SE_ORDINARY]).unwrap();
        assert_eq!(g.parse("iq-7").unwrap().display, "IQ 7");
        assert_eq!(g.parse("IQ 777").unwrap().format, F3);
        assert_eq!(g.parse("ABC 777").unwrap().format, SE_ORDINARY);
        assert!(g.alphabet().contains(&'Q'));
    }

    #[test]
    fn best_read_takes_a_certain_read_as_it_is() {
        let g = PlateGrammar::sweden();
        let r = g.best_read(&sure("ABC 12A", 0.9)).unwrap();
        assert_eq!((r.plate.normalized.as_str(), r.substitutions), ("ABC12A", 0));
        assert!((r.confidence - 0.9).abs() < 1e-6);
        // The narrow Swedish gap is often not read as a space.
        assert_eq!(g.best_read(&sure("ABC123", 0.9)).unwrap().plate.display, "ABC 123");
        assert_eq!(g.best_read(&sure("ABC 1234", 0.9)), None);
        assert_eq!(g.best_read(&[]), None);
    }

    #[test]
    fn best_read_uses_the_runner_up_a_slot_allows() {
        let g = PlateGrammar::sweden();
        // The network preferred 8 over B in a letter slot, and O over 0 in a digit slot.
        let mut read = sure("A", 0.95);
        read.push(ReadChar::Char(vec![('8', 0.55), ('B', 0.4)]));
        read.extend(sure("C 1", 0.95));
        read.push(ReadChar::Char(vec![('O', 0.6), ('0', 0.35)]));
        read.extend(sure("2", 0.95));
        let r = g.best_read(&read).unwrap();
        assert_eq!(r.plate.normalized, "ABC102");
        assert_eq!(r.substitutions, 2);
        assert!((r.confidence - 0.35).abs() < 1e-6);
        // In the last slot of a 2019 plate a digit is as good as a letter: the 8 stays.
        let mut read = sure("ABC 10", 0.95);
        read.push(ReadChar::Char(vec![('8', 0.55), ('B', 0.4)]));
        let r = g.best_read(&read).unwrap();
        assert_eq!((r.plate.normalized.as_str(), r.substitutions), ("ABC108", 0));
        // No weight at all on an allowed character: no plate.
        let mut read = sure("ABC 12", 0.95);
        read.push(ReadChar::Char(vec![('O', 0.99)]));
        assert_eq!(g.best_read(&read), None, "O is never last and nothing else was seen");
    }

    #[test]
    fn best_read_skips_whole_extra_tokens_but_never_cuts_one() {
        let g = PlateGrammar::sweden();
        // The EU band's country letter read before the plate.
        let r = g.best_read(&sure("S ABC 123", 0.9)).unwrap();
        assert_eq!(r.plate.normalized, "ABC123");
        assert_eq!(
            g.best_read(&sure("ABC 123 77", 0.9)).unwrap().plate.normalized,
            "ABC123"
        );
        // "XABC 123" has no token boundary after X: not a plate.
        assert_eq!(g.best_read(&sure("XABC 123", 0.9)), None);
        // A gap inside a group means the read is broken.
        assert_eq!(g.best_read(&sure("AB C123", 0.9)), None);
        // Leading, trailing and doubled gaps are harmless.
        assert_eq!(g.best_read(&sure("  ABC  123 ", 0.9)).unwrap().plate.display, "ABC 123");
    }

    #[test]
    fn best_read_prefers_the_more_probable_candidate() {
        let g = PlateGrammar::sweden();
        let mut read = sure("ABC 123", 0.5);
        read.push(ReadChar::Gap);
        read.extend(sure("XYZ 789", 0.9));
        assert_eq!(g.best_read(&read).unwrap().plate.normalized, "XYZ789");
    }

    fn swedish_plate() -> impl Strategy<Value = String> {
        let pick = |s: Slot| proptest::sample::select(s.allowed.chars().collect::<Vec<_>>());
        (
            proptest::collection::vec(pick(SE_LETTER), 3),
            proptest::collection::vec(pick(DIGIT), 2),
            pick(SE_LAST),
        )
            .prop_map(|(l, d, last)| {
                let mut s: String = l.into_iter().collect();
                s.push(' ');
                s.extend(d);
                s.push(last);
                s
            })
    }

    proptest! {
        #[test]
        fn every_swedish_plate_round_trips(plate in swedish_plate(), lower in any::<bool>()) {
            let g = PlateGrammar::sweden();
            let typed = if lower { plate.to_lowercase() } else { plate.clone() };
            let m = g.parse(&typed).unwrap();
            prop_assert_eq!(&m.display, &plate);
            prop_assert_eq!(g.parse(&m.normalized).unwrap(), m.clone());
            let r = g.best_read(&sure(&plate, 0.8)).unwrap();
            prop_assert_eq!(r.plate, m);
        }
    }
}

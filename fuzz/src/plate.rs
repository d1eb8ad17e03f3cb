//! Target `plate_grammar`: the Swedish plate grammar ([`PlateGrammar::parse`],
//! [`PlateGrammar::best_read`], [`normalize`]) on arbitrary text and arbitrary recognizer output
//! (characters with any probabilities, NaN and negatives included).
//!
//! Properties: no panic; normalizing is idempotent; a parsed plate's normalized text matches its
//! format and its display form parses back to the same plate; the best read is a plate the
//! grammar parses, with the characters the recognizer offered, a confidence that is one of the
//! offered probabilities (so within 0..1 when they are), and at most one substitution per
//! character.

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::plate::{PlateGrammar, ReadChar, normalize};

#[derive(Debug, Arbitrary)]
enum Rc {
    Gap,
    Char(Vec<(char, f32)>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    read: Vec<Rc>,
}

/// The target.
pub fn grammar(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let g = PlateGrammar::sweden();
    let n = normalize(&input.text);
    assert_eq!(normalize(&n), n, "normalize is idempotent");
    if let Some(m) = g.parse(&input.text) {
        assert_eq!(m.normalized, n);
        assert!(m.format.matches(&m.normalized), "the match fits its format");
        let again = g.parse(&m.display).expect("the display form parses");
        assert_eq!(again, m, "display form parses to the same plate");
    }
    // Recognizer output is one short line: bound it as the OCR stage does (a plate crop).
    let read: Vec<ReadChar> = input
        .read
        .into_iter()
        .take(32)
        .map(|r| match r {
            Rc::Gap => ReadChar::Gap,
            Rc::Char(p) => ReadChar::Char(p),
        })
        .collect();
    if let Some(r) = g.best_read(&read) {
        let m = g.parse(&r.plate.normalized).expect("the best read is a plate");
        assert_eq!(m.normalized, r.plate.normalized);
        let chars = read.iter().filter(|c| matches!(c, ReadChar::Char(_))).count();
        assert!(r.substitutions <= chars, "more substitutions than characters");
        let offered: Vec<f32> = read
            .iter()
            .filter_map(|c| match c {
                ReadChar::Char(p) => Some(p.iter().map(|x| x.1)),
                ReadChar::Gap => None,
            })
            .flatten()
            .collect();
        assert!(
            offered.iter().any(|p| p.to_bits() == r.confidence.to_bits()),
            "confidence {} is not an offered probability",
            r.confidence
        );
        assert!(r.confidence > 0.0, "a read rests on a zero or negative probability");
    }
}

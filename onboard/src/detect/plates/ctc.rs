//! CTC greedy decoding restricted to the plate alphabet. The recognizer scores 18,385 classes
//! per time step (blank, the PP-OCRv5 dictionary, space); a plate only ever holds a few dozen
//! of them, so each step takes its argmax among the blank, the space and the alphabet's
//! columns only: a `0` the network slightly prefers as the CJK circle `〇` stays `0`, and the
//! decode touches ~40 numbers a step instead of 18,385. Each emitted character keeps the
//! probabilities of every alphabet character at its strongest step, so the plate grammar can
//! take the runner-up a slot allows ([`utkik_shared::plate::PlateGrammar::best_read`]).

use utkik_shared::plate::ReadChar;

/// Which class columns to decode: the blank, an optional space, and one column per character.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// The CTC blank's column (0 in PaddleOCR).
    pub blank: usize,
    /// The space's column, if the dictionary has one.
    pub space: Option<usize>,
    /// `(character, column)` for every alphabet character.
    pub chars: Vec<(char, usize)>,
}

/// What a decode produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Characters and gaps, in reading order.
    pub chars: Vec<ReadChar>,
    /// The argmax text (spaces included), for logs and tests.
    pub text: String,
}

/// Greedy CTC over `probs`, `steps` rows of `classes` probabilities each (row-major), restricted
/// to `columns`: per step the most probable of blank / space / alphabet, repeats merged, blanks
/// dropped.
///
/// # Panics
/// When `probs` is not `steps * classes` long or a column is out of range.
pub fn decode(probs: &[f32], steps: usize, classes: usize, columns: &Columns) -> Decoded {
    assert_eq!(
        probs.len(),
        steps * classes,
        "probabilities are not {steps} x {classes}"
    );
    // Candidate k: 0 = blank, 1 = space (if any), then the alphabet.
    let mut cols = vec![columns.blank];
    cols.extend(columns.space);
    let first_char = cols.len();
    cols.extend(columns.chars.iter().map(|&(_, c)| c));
    assert!(
        cols.iter().all(|&c| c < classes),
        "a column is beyond {classes} classes"
    );

    let mut out = Decoded {
        chars: Vec::new(),
        text: String::new(),
    };
    // The run being read: candidate index, its best step and probability.
    let mut run: Option<(usize, usize, f32)> = None;
    let flush = |run: Option<(usize, usize, f32)>, out: &mut Decoded| {
        let Some((k, step, _)) = run else { return };
        if k == 0 {
            return;
        }
        if k < first_char {
            out.chars.push(ReadChar::Gap);
            out.text.push(' ');
            return;
        }
        let row = &probs[step * classes..(step + 1) * classes];
        let dist = columns.chars.iter().map(|&(c, col)| (c, row[col])).collect();
        out.chars.push(ReadChar::Char(dist));
        out.text.push(columns.chars[k - first_char].0);
    };
    for t in 0..steps {
        let row = &probs[t * classes..(t + 1) * classes];
        let (k, p) = cols
            .iter()
            .enumerate()
            .map(|(k, &c)| (k, row[c]))
            .fold((0, f32::NEG_INFINITY), |best, x| if x.1 > best.1 { x } else { best });
        match &mut run {
            Some((rk, rstep, rp)) if *rk == k => {
                if p > *rp {
                    *rstep = t;
                    *rp = p;
                }
            }
            _ => {
                flush(run.take(), &mut out);
                run = Some((k, t, p));
            }
        }
    }
    flush(run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 6 classes: 0 blank, 1 'A', 2 'B', 3 '〇' (outside the alphabet), 4 '0', 5 space.
    fn columns() -> Columns {
        Columns {
            blank: 0,
            space: Some(5),
            chars: vec![('A', 1), ('B', 2), ('0', 4)],
        }
    }

    fn rows(r: &[[f32; 6]]) -> Vec<f32> {
        r.iter().flatten().copied().collect()
    }

    #[test]
    fn merges_repeats_drops_blanks_and_keeps_doubles_split_by_blank() {
        let p = rows(&[
            [0.1, 0.8, 0.1, 0.0, 0.0, 0.0], // A
            [0.1, 0.9, 0.0, 0.0, 0.0, 0.0], // A (same run, stronger)
            [0.9, 0.1, 0.0, 0.0, 0.0, 0.0], // blank
            [0.2, 0.7, 0.1, 0.0, 0.0, 0.0], // A again: a second A
            [0.1, 0.0, 0.0, 0.0, 0.0, 0.9], // space
            [0.1, 0.0, 0.6, 0.0, 0.3, 0.0], // B
        ]);
        let d = decode(&p, 6, 6, &columns());
        assert_eq!(d.text, "AA B");
        assert_eq!(d.chars.len(), 4);
        assert_eq!(d.chars[0], ReadChar::Char(vec![('A', 0.9), ('B', 0.0), ('0', 0.0)]));
        assert_eq!(d.chars[2], ReadChar::Gap);
        assert_eq!(d.chars[3], ReadChar::Char(vec![('A', 0.0), ('B', 0.6), ('0', 0.3)]));
    }

    #[test]
    fn classes_outside_the_alphabet_never_win() {
        // The network prefers the CJK circle; among the allowed columns 0 wins.
        let p = rows(&[[0.05, 0.0, 0.0, 0.6, 0.35, 0.0]]);
        let d = decode(&p, 1, 6, &columns());
        assert_eq!(d.text, "0");
        // All weight outside the alphabet but a little on blank: nothing is read.
        let p = rows(&[[0.05, 0.0, 0.0, 0.95, 0.0, 0.0]]);
        assert_eq!(decode(&p, 1, 6, &columns()).text, "");
    }

    #[test]
    fn empty_input_decodes_to_nothing() {
        assert_eq!(decode(&[], 0, 6, &columns()).chars, vec![]);
    }
}

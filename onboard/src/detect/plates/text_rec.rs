//! PP-OCRv5 mobile text recognition (CRNN/SVTR + CTC) with tract. Input `[1, 3, 48, W]`: the
//! text box cut out of the full-resolution frame along its own axes (so a tilted plate comes out
//! level), 48 px high, its natural width or squeezed by up to 1.5x to fit, padded to the right
//! with zeros; BGR, `x / 127.5 - 1` as PaddleOCR's `RecResizeImg`. Output `[1, W / 8, 18385]`:
//! per step the probability of each class, column `i` being line `i` of `ppocr_keys_v5.txt`
//! (line 0 is the CTC blank, the last line a space). Decoding is restricted to the plate
//! alphabet ([`super::ctc`]).
//!
//! Input widths come from a short fixed list (one optimized tract plan each, cached): the
//! network's cost is linear in W, and a plate line needs about 160 px at 48 px high. On ONNX
//! Runtime (`detect.runtime`) one session serves both widths.

use std::collections::HashMap;

use utkik_models::{ModelCache, PPOCR_KEYS, PPOCR_REC};

use super::PlateError;
use super::ctc::{Columns, Decoded, decode};
use super::text_det::TextBox;
use crate::detect::resample::{Affine, warp};
use crate::detect::runtime::{Model, Plan, Runtime};
use crate::frame::RgbFrame;

/// Input height of the recognizer.
pub const REC_HEIGHT: usize = 48;
/// Input widths in use, narrowest first.
pub const REC_WIDTHS: [usize; 2] = [160, 320];
/// A line whose natural width exceeds an input width by up to this factor is squeezed into it.
const MAX_SQUEEZE: f32 = 1.5;

/// The columns of `alphabet` (plus blank and space) in the PP-OCRv5 dictionary text `keys`
/// (one class per line, line 0 the blank). Returns the columns and the class count.
pub fn dictionary_columns(keys: &str, alphabet: &[char]) -> Result<(Columns, usize), String> {
    let lines: Vec<&str> = keys.strip_suffix('\n').unwrap_or(keys).split('\n').collect();
    if lines.first() != Some(&"blank") {
        return Err(format!("line 0 is {:?}, expected \"blank\"", lines.first()));
    }
    let find = |s: &str| lines.iter().position(|l| *l == s);
    let chars = alphabet
        .iter()
        .map(|&c| {
            find(&c.to_string())
                .map(|col| (c, col))
                .ok_or_else(|| format!("no class for {c:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        Columns {
            blank: 0,
            space: find(" "),
            chars,
        },
        lines.len(),
    ))
}

/// The recognizer with its dictionary columns.
pub struct TextRecognizer {
    model: Model,
    plans: HashMap<usize, Plan>,
    columns: Columns,
    classes: usize,
}

impl TextRecognizer {
    /// Loads and verifies `ppocrv5_rec.onnx` and `ppocr_keys_v5.txt`; `alphabet` is what
    /// decoding may produce (besides spaces). The net runs on tract.
    pub fn new(cache: &ModelCache, alphabet: &[char]) -> Result<Self, PlateError> {
        Self::on_runtime(cache, alphabet, &Runtime::Tract)
    }

    /// As [`TextRecognizer::new`], the net on `runtime`.
    pub fn on_runtime(cache: &ModelCache, alphabet: &[char], runtime: &Runtime) -> Result<Self, PlateError> {
        let keys = cache.load_verified(&PPOCR_KEYS)?;
        let dict_err = |message: String| PlateError::Dictionary {
            path: cache.path(&PPOCR_KEYS),
            message,
        };
        let keys = String::from_utf8(keys).map_err(|e| dict_err(e.to_string()))?;
        let (columns, classes) = dictionary_columns(&keys, alphabet).map_err(dict_err)?;
        let bytes = cache.load_verified(&PPOCR_REC)?;
        let model = Model::load(runtime, PPOCR_REC.name, &bytes)?;
        Ok(Self {
            model,
            plans: HashMap::new(),
            columns,
            classes,
        })
    }

    /// The decoded columns.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Builds (once) the optimized plan of a `48 x width` input.
    pub fn prepare(&mut self, width: usize) -> Result<Plan, PlateError> {
        if let Some(p) = self.plans.get(&width) {
            return Ok(p.clone());
        }
        let plan = self.model.plan(&[1, 3, REC_HEIGHT, width])?;
        self.plans.insert(width, plan.clone());
        Ok(plan)
    }

    /// Input width and content width for a box: the narrowest input the line fits in,
    /// squeezing by up to [`MAX_SQUEEZE`].
    pub fn input_width(text: &TextBox) -> (usize, usize) {
        let natural = ((REC_HEIGHT as f32 * text.width_px / text.height_px.max(1.0)).ceil() as usize).max(8);
        let w = REC_WIDTHS
            .into_iter()
            .find(|&w| natural as f32 <= w as f32 * MAX_SQUEEZE)
            .unwrap_or(REC_WIDTHS[REC_WIDTHS.len() - 1]);
        (w, natural.min(w))
    }

    /// The `[1, 3, 48, W]` input for `text` cut from `frame` (row-major values), and `W`.
    pub fn input(frame: &RgbFrame, text: &TextBox) -> (Vec<f32>, usize) {
        let (w, content) = Self::input_width(text);
        let (along, across) = text.axes();
        let su = text.width_px / content as f32;
        let sv = text.height_px / REC_HEIGHT as f32;
        let map = Affine {
            origin: text.corners()[0],
            du: [along[0] * su, along[1] * su],
            dv: [across[0] * sv, across[1] * sv],
        };
        let rgb = warp(frame, &map, content, REC_HEIGHT);
        let plane = REC_HEIGHT * w;
        let mut v = vec![0f32; 3 * plane];
        for y in 0..REC_HEIGHT {
            for x in 0..content {
                let i = y * content + x;
                for (k, src) in [2usize, 1, 0].into_iter().enumerate() {
                    v[k * plane + y * w + x] = f32::from(rgb[i * 3 + src]) / 127.5 - 1.0;
                }
            }
        }
        (v, w)
    }

    /// Reads the text line `text` of `frame`.
    pub fn read(&mut self, frame: &RgbFrame, text: &TextBox) -> Result<Decoded, PlateError> {
        let (input, w) = Self::input(frame, text);
        let plan = self.prepare(w)?;
        let (shape, probs) = plan.run(&[1, 3, REC_HEIGHT, w], input, |out| {
            (out[0].shape.to_vec(), out[0].data.to_vec())
        })?;
        if shape.len() != 3 || shape[0] != 1 || shape[2] != self.classes {
            return Err(PlateError::Shape {
                model: PPOCR_REC.name,
                message: format!("output {shape:?}, expected [1, T, {}]", self.classes),
            });
        }
        Ok(decode(&probs, shape[1], self.classes, &self.columns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_the_dictionary_lines() {
        let keys = "blank\n中\nA\n0\nB\n \n";
        let (c, n) = dictionary_columns(keys, &['0', 'A', 'B']).unwrap();
        assert_eq!(n, 6);
        assert_eq!((c.blank, c.space), (0, Some(5)));
        assert_eq!(c.chars, vec![('0', 3), ('A', 2), ('B', 4)]);
        assert!(dictionary_columns(keys, &['Z']).unwrap_err().contains("'Z'"));
        assert!(
            dictionary_columns("中\nA\n", &['A']).is_err(),
            "line 0 must be the blank"
        );
    }

    #[test]
    fn the_real_dictionary_has_the_swedish_alphabet() {
        let cache = ModelCache::locate().unwrap();
        let keys = String::from_utf8(cache.load_verified(&PPOCR_KEYS).unwrap()).unwrap();
        let alphabet = utkik_shared::plate::PlateGrammar::sweden().alphabet();
        let (c, n) = dictionary_columns(&keys, &alphabet).unwrap();
        assert_eq!(n, 18385, "as the recognizer's output");
        assert_eq!(c.space, Some(18384));
        assert_eq!(c.chars.iter().find(|x| x.0 == 'A').unwrap().1, 16179);
        assert_eq!(c.chars.iter().find(|x| x.0 == '0').unwrap().1, 16163);
    }

    #[test]
    fn input_width_fits_the_line() {
        let tb = |w: f32, h: f32| TextBox {
            center_px: [100.0, 100.0],
            width_px: w,
            height_px: h,
            angle_rad: 0.0,
            score: 1.0,
        };
        assert_eq!(TextRecognizer::input_width(&tb(100.0, 48.0)), (160, 100));
        assert_eq!(TextRecognizer::input_width(&tb(200.0, 48.0)), (160, 160), "squeezed");
        assert_eq!(TextRecognizer::input_width(&tb(300.0, 48.0)), (320, 300));
        assert_eq!(TextRecognizer::input_width(&tb(900.0, 48.0)), (320, 320));
    }
}

//! The decoded video frame that flows from ingest to the detectors, the tracker and the
//! privacy re-stream: packed RGB8 plus the capture time it was taken at.

use std::fmt;

/// One decoded camera frame, packed RGB8 (3 bytes per pixel, rows without padding).
#[derive(Clone, PartialEq, Eq)]
pub struct RgbFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, row-major, `width * height * 3` bytes, R G B order.
    pub data: Vec<u8>,
    /// Capture time of the frame, microseconds since the Unix epoch (UTC).
    pub time_usec: u64,
}

/// Why a buffer could not be taken as an [`RgbFrame`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The byte count does not match `width * height * 3`.
    #[error("RGB frame {width}x{height} needs {expected} bytes, got {got}")]
    WrongSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width * height * 3`.
        expected: usize,
        /// Bytes supplied.
        got: usize,
    },
}

impl RgbFrame {
    /// A frame from packed RGB8 bytes; the size must match exactly.
    pub fn new(width: u32, height: u32, data: Vec<u8>, time_usec: u64) -> Result<Self, FrameError> {
        let expected = width as usize * height as usize * 3;
        if data.len() != expected {
            return Err(FrameError::WrongSize {
                width,
                height,
                expected,
                got: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
            time_usec,
        })
    }

    /// A frame filled with one colour (tests, placeholders before the first real frame).
    pub fn filled(width: u32, height: u32, rgb: [u8; 3], time_usec: u64) -> Self {
        let data = rgb
            .iter()
            .copied()
            .cycle()
            .take(width as usize * height as usize * 3)
            .collect();
        Self {
            width,
            height,
            data,
            time_usec,
        }
    }

    /// Bytes per row (`width * 3`).
    pub fn stride(&self) -> usize {
        self.width as usize * 3
    }

    /// The pixel at (`x`, `y`).
    ///
    /// # Panics
    /// When the coordinates are outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x},{y}) outside {}x{}",
            self.width,
            self.height
        );
        let i = y as usize * self.stride() + x as usize * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

impl fmt::Debug for RgbFrame {
    // The pixel data would flood any log: show the shape only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RgbFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .field("time_usec", &self.time_usec)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_size_and_names_it() {
        let err = RgbFrame::new(4, 2, vec![0; 23], 7).unwrap_err();
        assert_eq!(
            err,
            FrameError::WrongSize {
                width: 4,
                height: 2,
                expected: 24,
                got: 23
            }
        );
        assert!(err.to_string().contains("4x2"));
        let f = RgbFrame::new(4, 2, vec![0; 24], 7).unwrap();
        assert_eq!(f.stride(), 12);
    }

    #[test]
    fn filled_and_pixel_agree() {
        let f = RgbFrame::filled(3, 2, [1, 2, 3], 0);
        assert_eq!(f.data.len(), 18);
        assert_eq!(f.pixel(2, 1), [1, 2, 3]);
    }
}

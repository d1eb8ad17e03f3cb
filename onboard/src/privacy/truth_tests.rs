//! Masking on real frames: simulator renderings with photographic faces and drawn Swedish
//! plates, the real detectors and tracker (`pipeline::Inference`, the inference thread's code)
//! choosing the boxes, [`mask_boxes`] as the re-stream thread applies it, and the simulator's
//! truth boxes as the yardstick (LAW.md 8.1). A truth box counts as masked when nearly all of
//! its pixels were changed by the mask; the shares per class are printed and held to the floor
//! measured when this test was written.
//!
//! Measured (2026-12-07, 12 frames 1280x720, default config): faces 12/12 masked (100 %),
//! plates 6/12 (50 %): every plate from frame 6 on, none before. The plate reader discovers
//! new plates one horizontal strip per plate frame (3 strips, every 3rd frame), so a plate
//! entering the view goes out unmasked until its strip is scanned (here frames 0-5, 0.2 s at
//! 30 frames/s). That gap is real and this test pins it rather than hides it (README, Privacy).

use std::sync::{Arc, Mutex};

use glam::DVec3;
use utkik_sim::render::TruthClass;

use crate::config::Config;
use crate::pipeline::{Inference, tract};
use crate::privacy::mask::{MaskConfig, mask_boxes};
use crate::telemetry::{PoseBuffer, PoseConfig};
use crate::testing::{close_up, truth_of};

/// Share of the pixels of `b` (`[x0, y0, x1, y1]`, right/bottom exclusive) that differ between
/// the frames.
fn changed_share(before: &crate::frame::RgbFrame, after: &crate::frame::RgbFrame, b: [f64; 4]) -> f64 {
    let x0 = b[0].max(0.0) as u32;
    let y0 = b[1].max(0.0) as u32;
    let x1 = (b[2] as u32).min(before.width);
    let y1 = (b[3] as u32).min(before.height);
    let (mut changed, mut n) = (0u64, 0u64);
    for y in y0..y1 {
        for x in x0..x1 {
            n += 1;
            changed += u64::from(before.pixel(x, y) != after.pixel(x, y));
        }
    }
    changed as f64 / n.max(1) as f64
}

/// A box is masked when this share of its pixels changed (pixelation can leave a pixel that
/// already had its cell's mean colour; sensor noise makes that rare).
const MASKED_PIXELS: f64 = 0.9;

/// Frames of the sequence: the plate reader scans one strip of the frame per plate frame, so
/// a plate entering the view is found within one round of strips; 12 frames see it found and
/// then followed.
const FRAMES: u64 = 12;

/// The masked re-stream of a moving camera over a street with a person and a car: the share of
/// truth faces and plates masked, printed; every face on every frame, and every plate from the
/// frame the plate reader first reaches it.
#[test]
fn real_detectors_and_mask_hide_the_truth_faces_and_plates_of_rendered_frames() {
    let config = Config::default();
    let cache = utkik_models::ModelCache::locate().expect("models (scripts/fetch-models.sh)");
    let detectors = tract::detectors_with_cache(&config, &cache).expect("face and plate models");
    let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
        max_age_usec: 250_000,
        fixed_pitch_rad: None,
    })));
    let mut inf = Inference::new(&config, detectors, poses, Arc::default());
    let mask = MaskConfig {
        mode: config.privacy.mode,
        blocks: config.privacy.blocks,
        margin: config.privacy.margin,
    };
    // (truth boxes, masked) per class.
    let (mut faces, mut plates) = ((0usize, 0usize), (0usize, 0usize));
    let mut first_plate_masked = None;
    let mut plate_shares = Vec::new();
    for i in 0..FRAMES {
        // 3 cm a frame to the right at 30 frames/s: the scene slides ~12 px a frame.
        let (frame, rendered) = close_up(DVec3::new(0.03 * i as f64, -9.0, 3.0), i, 1_000_000 + i * 33_333);
        let out = inf.process(&frame, i);
        let mut masked = frame.clone();
        mask_boxes(&mut masked, &out.boxes, &mask);
        for (_, b) in truth_of(&rendered, TruthClass::Face) {
            let share = changed_share(&frame, &masked, b);
            faces.0 += 1;
            faces.1 += usize::from(share >= MASKED_PIXELS);
            assert!(share >= MASKED_PIXELS, "frame {i}: face {b:?} only {share:.2} masked");
        }
        for (_, b) in truth_of(&rendered, TruthClass::Plate) {
            let share = changed_share(&frame, &masked, b);
            plate_shares.push(share);
            plates.0 += 1;
            if share >= MASKED_PIXELS {
                plates.1 += 1;
                first_plate_masked.get_or_insert(i);
            } else if let Some(first) = first_plate_masked {
                panic!("frame {i}: plate {b:?} found on frame {first} but only {share:.2} masked now");
            }
        }
    }
    let pct = |(n, m): (usize, usize)| 100.0 * m as f64 / n.max(1) as f64;
    eprintln!(
        "masked share of truth boxes over {FRAMES} rendered frames: faces {}/{} ({:.0} %), plates {}/{} ({:.0} %, \
         first masked on frame {first_plate_masked:?}; pixel shares {plate_shares:.2?})",
        faces.1,
        faces.0,
        pct(faces),
        plates.1,
        plates.0,
        pct(plates),
    );
    assert_eq!(faces.0, FRAMES as usize, "one face in every frame");
    assert_eq!(plates.0, FRAMES as usize, "one plate in every frame");
    let first = first_plate_masked.expect("the plate is masked once found");
    // The plate reader reaches the plate's strip by its third plate frame (frames 0, 3, 6).
    assert!(first <= 6, "plate first masked on frame {first}");
}

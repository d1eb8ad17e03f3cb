//! The detectors the configuration asks for, built from the tract models in `crate::detect`.

use super::ObjectDetector;
use crate::config::Config;

/// Builds the enabled detectors. Errors name the detector and, for a model, its file.
pub fn detectors_from_config(config: &Config) -> Result<Vec<Box<dyn ObjectDetector>>, String> {
    let detectors: Vec<Box<dyn ObjectDetector>> = Vec::new();
    if config.detect.faces || config.detect.plates {
        // The tract detectors (onboard/src/detect) are not in this build yet: refuse rather than
        // run a pipeline that silently finds nothing.
        return Err(
            "detect.faces / detect.plates need the tract detectors (onboard/src/detect), which this build \
                    does not have yet; run with --set detect.faces=false --set detect.plates=false for a video \
                    relay with status only"
                .into(),
        );
    }
    Ok(detectors)
}

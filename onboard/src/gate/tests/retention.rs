//! LAW.md 5.6 on the drone: evidence crops are kept no longer than the retention period, also on
//! a drone that runs for longer than that without a restart. The gate applies the policy at
//! start-up and then every `RETENTION_EVERY_USEC` from [`Gate::tick`]; the clock is the
//! parameter (no sleeping), advanced past the period here.

use utkik_shared::audit::erase::RETENTION_USER;
use utkik_shared::audit::retention::MIN_IDENTIFICATION_RETENTION_DAYS;

use super::*;
use crate::gate::identify::RETENTION_EVERY_USEC;

const DAY_USEC: u64 = 86_400_000_000;

fn erasures(gate: &Gate) -> Vec<(String, usize)> {
    audit_events(gate)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Erasure {
                user_id,
                what,
                payloads,
            } if user_id == RETENTION_USER => Some((what, payloads.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_retention_timer_erases_a_crop_past_its_period_with_an_erasure_record() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let out = gate.process(NOW_USEC + 1, &frame, &faces);
    assert_eq!(out.alerts.len(), 1, "a match with its evidence crop");
    let crops = || std::fs::read_dir(fx.setup.audit_dir.join(PAYLOAD_DIR)).unwrap().count();
    assert_eq!(crops(), 1);
    let keep_usec = u64::from(MIN_IDENTIFICATION_RETENTION_DAYS) * DAY_USEC;

    // Hourly runs inside the period keep it.
    gate.tick(NOW_USEC + RETENTION_EVERY_USEC);
    gate.tick(NOW_USEC + keep_usec - RETENTION_EVERY_USEC);
    assert_eq!(crops(), 1, "inside the retention period");
    assert!(erasures(&gate).is_empty());
    // Past the period: the next hourly run erases it, without a restart, and logs it.
    let past = NOW_USEC + keep_usec + 2;
    gate.tick(past);
    assert_eq!(crops(), 0, "erased by the timer");
    let e = erasures(&gate);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].1, 1, "the record names the crop");
    assert!(
        e[0].0.contains("evidence crop of possible match") && e[0].0.contains("184 days"),
        "{e:?}"
    );
    // Once: the next run finds nothing more to erase.
    gate.tick(past + RETENTION_EVERY_USEC);
    assert_eq!(erasures(&gate).len(), 1);
    verify_file(gate.audit_path(), &VerifyOptions::default()).expect("the chain stays whole");
}

/// The timer runs at most once an hour: a tick a minute after a run does not scan the log again.
#[test]
fn retention_runs_on_the_hour_not_every_tick() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    assert_eq!(gate.process(NOW_USEC + 1, &frame, &faces).alerts.len(), 1);
    let keep_usec = u64::from(MIN_IDENTIFICATION_RETENTION_DAYS) * DAY_USEC;
    // The last run just before the crop's period ends...
    gate.tick(NOW_USEC + keep_usec);
    assert!(erasures(&gate).is_empty(), "exactly at the end it is still kept");
    // ...so a tick a minute later, past the period, waits for the next hour.
    gate.tick(NOW_USEC + keep_usec + 60_000_000);
    assert!(erasures(&gate).is_empty(), "not the hour yet");
    gate.tick(NOW_USEC + keep_usec + RETENTION_EVERY_USEC);
    assert_eq!(erasures(&gate).len(), 1);
}

/// A crop the timer erased is no longer there when the use is revoked: the receipt counts it as
/// not found, not as deleted a second time.
#[test]
fn a_receipt_after_retention_counts_the_erased_crop_as_not_found() {
    use utkik_shared::authz::UseDataKind;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE, 1, NOW_USEC);
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    assert_eq!(gate.process(NOW_USEC + 1, &frame, &faces).alerts.len(), 1);
    let later = NOW_USEC + u64::from(MIN_IDENTIFICATION_RETENTION_DAYS) * DAY_USEC + 2;
    gate.tick(later);
    assert_eq!(erasures(&gate).len(), 1);
    assert_eq!(
        gate.matches_held(),
        1,
        "the match record is data of the use until it ends"
    );
    send_signed(&mut gate, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE, 2, later);
    assert_eq!(gate.state(), Some(AuthzState::Revoked));
    let (deleted, not_found, payloads) = audit_events(&gate)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt {
                deleted,
                not_found,
                payloads,
                ..
            } => Some((deleted, not_found, payloads)),
            _ => None,
        })
        .expect("deletion receipt");
    let count = |list: &[utkik_shared::audit::DeletedCount], k| list.iter().find(|d| d.kind == k).map(|d| d.count);
    assert_eq!(count(&deleted, UseDataKind::EvidenceCrops), Some(0));
    assert_eq!(count(&deleted, UseDataKind::Matches), Some(1));
    assert_eq!(count(&not_found, UseDataKind::EvidenceCrops), Some(1));
    assert!(payloads.is_empty(), "no hash listed as deleted now");
}

/// Uploaded documents and their enrolment images (biometric data) age out like the crops.
#[test]
fn uploaded_enrolment_images_age_out_with_an_erasure_record() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let dir = fx
        .setup
        .volatile_dir
        .join(crate::gate::upload::UPLOADS_DIR)
        .join("ab".repeat(32));
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("person-1-image-1.jpg");
    std::fs::write(&image, b"\xff\xd8 a designated person's face \xff\xd9").unwrap();
    // Written at the gate's clock (the test clock runs ahead of the wall clock).
    std::fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_micros(NOW_USEC))
        .unwrap();
    let keep_usec = u64::from(MIN_IDENTIFICATION_RETENTION_DAYS) * DAY_USEC;
    gate.tick(NOW_USEC + keep_usec - RETENTION_EVERY_USEC);
    assert!(image.exists(), "inside the retention period");
    gate.tick(NOW_USEC + keep_usec + RETENTION_EVERY_USEC);
    assert!(!image.exists(), "erased by the timer");
    let e = erasures(&gate);
    assert!(
        e.iter().any(|(what, _)| what.contains("uploaded authorization file")),
        "{e:?}"
    );
}

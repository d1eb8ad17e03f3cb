//! `utkik-ground reconcile`: a mission's onboard and ground audit logs read together. Each
//! log verifies on its own, but a writer that leaves something out of its own log (a use it
//! ran, a match it sent, a deletion it skipped) leaves a chain that still verifies. The other
//! end saw the same mission, so the two logs must tell the same story:
//!
//! - uses: every use started (`UseStarted`) on one side is started on the other;
//! - matches: every possible match (`PossibleMatch`, keyed by the first 16 bytes of the
//!   authorization digest, as in UTKIK_BIOMETRIC_MATCH, and the match id) is on both sides, with
//!   the same evidence crop (the ground stores the bytes the drone stored, so the same hash);
//! - deletions: a use whose urgent permit was refused (`UrgentRefused` on either side) has a
//!   deletion receipt on both sides, with the same number of matches, and each of its matches'
//!   evidence crops is among the deleted payloads on both sides or on neither.
//!
//! Not compared: the drone also deletes its own copies (a deletion receipt with site `onboard`)
//! at the end of every stopped or revoked use, as transit data it no longer needs, while the
//! ground keeps the verified record; retention erasures run on each side's own clock. Both logs
//! may span several missions: everything in them is compared.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use utkik_shared::audit::{AuditEvent, PayloadRef, RecordBody};
use utkik_shared::authz::UseDataKind;

/// The first 16 bytes of an authorization digest (what the drone's messages carry).
type Use16 = [u8; 16];

fn use16(d: &utkik_shared::authz::AuthzDigest) -> Use16 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.0[..16]);
    b
}

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The drone's.
    Onboard,
    /// The ground station's.
    Ground,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Onboard => "onboard",
            Side::Ground => "ground",
        }
    }
    fn other(self) -> Side {
        match self {
            Side::Onboard => Side::Ground,
            Side::Ground => Side::Onboard,
        }
    }
}

/// One thing the logs disagree on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disagreement {
    /// A use started on one side only.
    Use {
        /// Use (digest prefix, hex).
        use_ref: String,
        /// The side that has it.
        only_in: Side,
        /// Its record there.
        seq: u64,
    },
    /// A possible match on one side only.
    Match {
        /// Use.
        use_ref: String,
        /// Match id.
        match_id: u32,
        /// The side that has it.
        only_in: Side,
        /// Its record there.
        seq: u64,
    },
    /// The same match with different evidence crops.
    Evidence {
        /// Use.
        use_ref: String,
        /// Match id.
        match_id: u32,
    },
    /// A refused use deleted (deletion receipt) on one side only.
    UseDeletion {
        /// Use.
        use_ref: String,
        /// The side that deleted it.
        only_in: Side,
    },
    /// A refused use deleted on neither side.
    UseNotDeleted {
        /// Use.
        use_ref: String,
    },
    /// A refused use whose receipts count different numbers of matches.
    DeletedMatchCount {
        /// Use.
        use_ref: String,
        /// Count onboard.
        onboard: u64,
        /// Count at the ground.
        ground: u64,
    },
    /// A match of a refused use whose evidence was deleted on one side only.
    MatchDeletion {
        /// Use.
        use_ref: String,
        /// Match id.
        match_id: u32,
        /// The side that deleted it.
        only_in: Side,
    },
}

/// The drone logged the crop sealed to the station's key (`shared::seal`) and the station the
/// JPEG it opened: the hashes differ by design. The sealed crop is the JPEG plus the seal's fixed
/// overhead, and the station opened it (the AEAD tag checked every byte), so equal lengths are
/// taken as the same crop. Weaker than a hash: the station does not log the sealed bytes' hash.
fn sealed_and_opened(onboard: &PayloadRef, ground: &PayloadRef) -> bool {
    onboard.len_bytes == ground.len_bytes + utkik_shared::seal::SEAL_OVERHEAD as u64
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disagreement::Use { use_ref, only_in, seq } => write!(
                f,
                "use {use_ref}: started in the {} log (record {seq}) but not in the {} log",
                only_in.name(),
                only_in.other().name()
            ),
            Disagreement::Match {
                use_ref,
                match_id,
                only_in,
                seq,
            } => write!(
                f,
                "possible match {match_id} of use {use_ref}: in the {} log (record {seq}) but not in the {} log",
                only_in.name(),
                only_in.other().name()
            ),
            Disagreement::Evidence { use_ref, match_id } => write!(
                f,
                "possible match {match_id} of use {use_ref}: the two logs name different evidence crops"
            ),
            Disagreement::UseDeletion { use_ref, only_in } => write!(
                f,
                "refused use {use_ref}: deleted (deletion receipt) in the {} log but not in the {} log",
                only_in.name(),
                only_in.other().name()
            ),
            Disagreement::UseNotDeleted { use_ref } => {
                write!(f, "refused use {use_ref}: no deletion receipt in either log")
            }
            Disagreement::DeletedMatchCount {
                use_ref,
                onboard,
                ground,
            } => write!(
                f,
                "refused use {use_ref}: the onboard receipt counts {onboard} deleted matches, the ground receipt {ground}"
            ),
            Disagreement::MatchDeletion {
                use_ref,
                match_id,
                only_in,
            } => write!(
                f,
                "possible match {match_id} of refused use {use_ref}: its evidence was deleted in the {} log but not in the {} log",
                only_in.name(),
                only_in.other().name()
            ),
        }
    }
}

#[derive(Default)]
struct Story {
    uses: BTreeMap<Use16, u64>,
    matches: BTreeMap<(Use16, u32), (u64, Option<PayloadRef>)>,
    refused: BTreeSet<Use16>,
    /// Per refused use: matches counted in its receipts, and the payloads they deleted.
    deletions: BTreeMap<Use16, (u64, BTreeSet<String>)>,
}

fn story(bodies: &[RecordBody]) -> Story {
    let mut s = Story::default();
    for b in bodies {
        match &b.event {
            AuditEvent::UseStarted {
                authorization_digest, ..
            } => {
                s.uses.entry(use16(authorization_digest)).or_insert(b.seq);
            }
            AuditEvent::PossibleMatch {
                authorization_digest,
                match_id,
                evidence_crop,
                ..
            } => {
                s.matches
                    .entry((use16(authorization_digest), *match_id))
                    .or_insert((b.seq, evidence_crop.clone()));
            }
            AuditEvent::UrgentRefused {
                authorization_digest, ..
            } => {
                s.refused.insert(use16(authorization_digest));
            }
            AuditEvent::DeletionReceipt {
                authorization_digest,
                deleted,
                payloads,
                ..
            } => {
                let e = s.deletions.entry(use16(authorization_digest)).or_default();
                e.0 += deleted
                    .iter()
                    .filter(|d| d.kind == UseDataKind::Matches)
                    .map(|d| d.count)
                    .sum::<u64>();
                e.1.extend(payloads.iter().map(|p| p.sha256_hex.clone()));
            }
            _ => {}
        }
    }
    s
}

/// What the two logs disagree on (empty: they agree), sorted.
pub fn reconcile(onboard: &[RecordBody], ground: &[RecordBody]) -> Vec<Disagreement> {
    let sides = [(Side::Onboard, story(onboard)), (Side::Ground, story(ground))];
    let hex = |u: &Use16| hex::encode(u);
    let mut out = Vec::new();
    for (side, s) in &sides {
        let other = &sides.iter().find(|(o, _)| *o == side.other()).expect("two sides").1;
        for (u, seq) in &s.uses {
            if !other.uses.contains_key(u) {
                out.push(Disagreement::Use {
                    use_ref: hex(u),
                    only_in: *side,
                    seq: *seq,
                });
            }
        }
        for ((u, id), (seq, crop)) in &s.matches {
            match other.matches.get(&(*u, *id)) {
                None => out.push(Disagreement::Match {
                    use_ref: hex(u),
                    match_id: *id,
                    only_in: *side,
                    seq: *seq,
                }),
                Some((_, other_crop)) => {
                    if *side == Side::Onboard
                        && let (Some(a), Some(b)) = (crop, other_crop)
                        && a != b
                        && !sealed_and_opened(a, b)
                    {
                        out.push(Disagreement::Evidence {
                            use_ref: hex(u),
                            match_id: *id,
                        });
                    }
                }
            }
        }
    }
    let (on, gr) = (&sides[0].1, &sides[1].1);
    let refused: BTreeSet<Use16> = on.refused.union(&gr.refused).copied().collect();
    for u in &refused {
        match (on.deletions.get(u), gr.deletions.get(u)) {
            (None, None) => out.push(Disagreement::UseNotDeleted { use_ref: hex(u) }),
            (Some(_), None) => out.push(Disagreement::UseDeletion {
                use_ref: hex(u),
                only_in: Side::Onboard,
            }),
            (None, Some(_)) => out.push(Disagreement::UseDeletion {
                use_ref: hex(u),
                only_in: Side::Ground,
            }),
            (Some((n_on, p_on)), Some((n_gr, p_gr))) => {
                if n_on != n_gr {
                    out.push(Disagreement::DeletedMatchCount {
                        use_ref: hex(u),
                        onboard: *n_on,
                        ground: *n_gr,
                    });
                }
                let ids: BTreeSet<u32> = on
                    .matches
                    .keys()
                    .chain(gr.matches.keys())
                    .filter(|(mu, _)| mu == u)
                    .map(|(_, id)| *id)
                    .collect();
                for id in ids {
                    let crop_of = |s: &Story| s.matches.get(&(*u, id)).and_then(|m| m.1.clone());
                    // Each side's receipt names its own copy of the crop: the drone's sealed one,
                    // the station's opened one (`sealed_and_opened`); a side that never logged
                    // the match is checked for the other side's.
                    let (Some(c_on), Some(c_gr)) =
                        (crop_of(on).or_else(|| crop_of(gr)), crop_of(gr).or_else(|| crop_of(on)))
                    else {
                        continue; // no evidence to follow: the counts above stand for it
                    };
                    match (p_on.contains(&c_on.sha256_hex), p_gr.contains(&c_gr.sha256_hex)) {
                        (true, false) => out.push(Disagreement::MatchDeletion {
                            use_ref: hex(u),
                            match_id: id,
                            only_in: Side::Onboard,
                        }),
                        (false, true) => out.push(Disagreement::MatchDeletion {
                            use_ref: hex(u),
                            match_id: id,
                            only_in: Side::Ground,
                        }),
                        _ => {}
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::audit::DeletedCount;
    use utkik_shared::authz::AuthzDigest;

    const D: AuthzDigest = AuthzDigest([7; 32]);

    fn b(seq: u64, event: AuditEvent) -> RecordBody {
        RecordBody {
            seq,
            time_usec: 1_800_000_000_000_000 + seq,
            prev_sha256: String::new(),
            event,
        }
    }

    fn crop(n: u8) -> PayloadRef {
        PayloadRef::of(&[0xff, 0xd8, n])
    }

    fn m(seq: u64, id: u32) -> RecordBody {
        b(
            seq,
            AuditEvent::PossibleMatch {
                authorization_digest: D,
                match_id: id,
                subject_id: "s".into(),
                frame_time_usec: 0,
                track_id: 1,
                distance: 0.3,
                evidence_crop: Some(crop(id as u8)),
            },
        )
    }

    fn started(seq: u64) -> RecordBody {
        b(
            seq,
            AuditEvent::UseStarted {
                authorization_digest: D,
                decision_id: "U".into(),
                designated_subject_ids: vec!["s".into()],
                urgent: true,
                started_by: "cecilia".into(),
            },
        )
    }

    fn refused(seq: u64) -> RecordBody {
        b(
            seq,
            AuditEvent::UrgentRefused {
                authorization_digest: D,
                recorded_by: "cecilia".into(),
            },
        )
    }

    fn receipt(seq: u64, site: &str, matches: &[u32]) -> RecordBody {
        b(
            seq,
            AuditEvent::DeletionReceipt {
                authorization_digest: D,
                decision_id: "U".into(),
                site: site.into(),
                deleted: vec![DeletedCount {
                    kind: UseDataKind::Matches,
                    count: 2,
                }],
                payloads: matches.iter().map(|&i| crop(i as u8)).collect(),
                not_found: Vec::new(),
                problems: Vec::new(),
            },
        )
    }

    fn mission(deleted: &[u32], site: &str) -> Vec<RecordBody> {
        vec![started(0), m(1, 5), m(2, 6), refused(3), receipt(4, site, deleted)]
    }

    #[test]
    fn the_same_story_agrees() {
        assert!(reconcile(&mission(&[5, 6], "onboard"), &mission(&[5, 6], "ground")).is_empty());
    }

    #[test]
    fn a_match_deleted_on_one_side_only_is_found() {
        // The ground's receipt leaves match 5's evidence out: it was not deleted there.
        let d = reconcile(&mission(&[5, 6], "onboard"), &mission(&[6], "ground"));
        assert_eq!(
            d,
            vec![Disagreement::MatchDeletion {
                use_ref: hex::encode([7u8; 16]),
                match_id: 5,
                only_in: Side::Onboard,
            }]
        );
        assert!(d[0].to_string().contains("match 5"), "{}", d[0]);
    }

    #[test]
    fn a_refused_use_deleted_on_one_side_only_is_found() {
        let mut ground = mission(&[], "ground");
        ground.pop(); // no receipt at all at the ground
        let d = reconcile(&mission(&[5, 6], "onboard"), &ground);
        assert!(
            d.contains(&Disagreement::UseDeletion {
                use_ref: hex::encode([7u8; 16]),
                only_in: Side::Onboard,
            }),
            "{d:?}"
        );
    }

    #[test]
    fn a_match_or_use_missing_on_one_side_is_found() {
        let ground: Vec<RecordBody> = mission(&[5, 6], "ground")
            .into_iter()
            .filter(|r| !matches!(&r.event, AuditEvent::PossibleMatch { match_id: 6, .. }))
            .collect();
        let d = reconcile(&mission(&[5, 6], "onboard"), &ground);
        assert!(
            d.iter().any(|x| matches!(
                x,
                Disagreement::Match {
                    match_id: 6,
                    only_in: Side::Onboard,
                    ..
                }
            )),
            "{d:?}"
        );
        let d = reconcile(&[], &mission(&[5, 6], "ground"));
        assert!(
            d.iter().any(|x| matches!(
                x,
                Disagreement::Use {
                    only_in: Side::Ground,
                    ..
                }
            )),
            "{d:?}"
        );
    }

    #[test]
    fn a_crop_sealed_at_the_drone_and_opened_at_the_station_agrees() {
        let jpeg = [0xff, 0xd8, 7, 7, 7];
        let mut onboard = mission(&[5, 6], "onboard");
        let mut ground = mission(&[5, 6], "ground");
        for (log, len) in [
            (&mut onboard, jpeg.len() + utkik_shared::seal::SEAL_OVERHEAD),
            (&mut ground, jpeg.len()),
        ] {
            for r in log.iter_mut() {
                if let AuditEvent::PossibleMatch { evidence_crop, .. } = &mut r.event {
                    *evidence_crop = Some(PayloadRef::of(&vec![0xab; len]));
                }
            }
        }
        let d = reconcile(&onboard, &ground);
        assert!(!d.iter().any(|x| matches!(x, Disagreement::Evidence { .. })), "{d:?}");
    }

    #[test]
    fn different_evidence_for_the_same_match_is_found() {
        let mut ground = mission(&[5, 6], "ground");
        if let AuditEvent::PossibleMatch { evidence_crop, .. } = &mut ground[1].event {
            *evidence_crop = Some(crop(99));
        }
        let d = reconcile(&mission(&[5, 6], "onboard"), &ground);
        assert!(
            d.iter()
                .any(|x| matches!(x, Disagreement::Evidence { match_id: 5, .. })),
            "{d:?}"
        );
    }
}

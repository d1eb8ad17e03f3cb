use super::*;

fn key(station: &str, seed: u8) -> StationKey {
    StationKey::from_seed(station, [seed; 32]).unwrap()
}

fn trusted(keys: &[(&StationKey, Option<&str>)]) -> TrustedStations {
    TrustedStations::new(keys.iter().map(|(k, r)| k.trusted_entry(*r)).collect()).unwrap()
}

fn source() -> EventSource {
    EventSource {
        system_id: 1,
        kind: SourceKind::Drone,
        legal_basis: LegalBasis::Own,
    }
}

fn hit_body() -> EventBody {
    EventBody::PlateHit(PlateHitEvent {
        alert_id: 7,
        plate: "ABC123".into(),
        hit_entry_id: NonZeroU32::new(2).unwrap(),
        position: Some(EventPosition {
            lat_deg: 59.329_323_456_789,
            lon_deg: 18.068_581_123_456,
        }),
        capture_time_usec: 1_765_000_000_123_456,
        image_sha256_hex: Some("ab".repeat(32)),
    })
}

fn signed(k: &StationKey, seq: u64, body: EventBody) -> Vec<u8> {
    let e = StationEvent::new(&k.station_id, seq, 1_765_000_000_200_000, source(), body);
    SignedStationEvent::sign(e, &k.key).unwrap().to_bytes()
}

#[test]
fn signed_events_of_every_kind_verify_and_round_trip() {
    let k = key("stn-1", 1);
    let mut v = EventVerifier::new(trusted(&[(&k, Some("north"))]));
    let bodies = vec![
        EventBody::Tracks(TracksEvent {
            tracks: vec![
                TrackEvent {
                    track_id: 3,
                    class: TrackClass::Vehicle,
                    position: EventPosition {
                        lat_deg: -33.123_456_789_012_3,
                        lon_deg: 151.000_000_000_1,
                    },
                    time_usec: 5,
                },
                TrackEvent {
                    track_id: 4,
                    class: TrackClass::Face,
                    position: EventPosition {
                        lat_deg: 59.3,
                        lon_deg: 18.07,
                    },
                    time_usec: 6,
                },
            ],
        }),
        EventBody::Tracks(TracksEvent { tracks: vec![] }),
        hit_body(),
        EventBody::Alert(AlertEvent {
            alert_id: 7,
            kind: AlertKind::PlateHit,
            state: AlertState::Checked,
        }),
        EventBody::Verdict(VerdictEvent {
            alert_id: 7,
            user_id: "anna".into(),
            verdict: Verdict::Confirm,
        }),
        EventBody::Authorization(AuthorizationEvent {
            state: Some(AuthzState::Active),
        }),
        EventBody::Authorization(AuthorizationEvent { state: None }),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let bytes = signed(&k, 10 + i as u64, body.clone());
        let got = v.verify(&bytes).unwrap();
        assert_eq!(got.event.body, body);
        assert_eq!(got.region.as_deref(), Some("north"));
    }
    assert_eq!(v.highest_seq("stn-1"), Some(16));
}

#[test]
fn reordered_and_pretty_printed_events_still_verify() {
    let k = key("stn-1", 1);
    let bytes = signed(&k, 1, hit_body());
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let mut v = EventVerifier::new(trusted(&[(&k, None)]));
    v.verify(&pretty).unwrap();
}

#[test]
fn unknown_station_is_refused() {
    let k = key("stn-1", 1);
    let other = key("stn-2", 2);
    let mut v = EventVerifier::new(trusted(&[(&k, None)]));
    let e = v.verify(&signed(&other, 1, hit_body())).unwrap_err();
    assert_eq!(e, Refusal::UnknownStation("stn-2".into()));
    assert_eq!(e.kind(), "unknown_station");
}

#[test]
fn an_event_signed_with_another_key_under_a_trusted_id_is_refused() {
    let k = key("stn-1", 1);
    let forger = key("stn-1", 9);
    let mut v = EventVerifier::new(trusted(&[(&k, None)]));
    let e = v.verify(&signed(&forger, 1, hit_body())).unwrap_err();
    assert!(
        matches!(e, Refusal::BadSignature { ref station, .. } if station == "stn-1"),
        "{e}"
    );
    assert_eq!(v.highest_seq("stn-1"), None, "a refused event changes nothing");
}

#[test]
fn changed_content_breaks_the_signature() {
    let k = key("stn-1", 1);
    let bytes = signed(&k, 5, hit_body());
    let text = String::from_utf8(bytes).unwrap();
    for (from, to) in [
        ("ABC123", "ABC124"),
        ("\"seq\":5", "\"seq\":6"),
        ("\"system_id\":1", "\"system_id\":2"),
        ("\"legal_basis\":\"own\"", "\"legal_basis\":\"other_operator\""),
        ("59.329323456789", "59.329323456788"),
    ] {
        assert!(text.contains(from), "{from} in {text}");
        let mut v = EventVerifier::new(trusted(&[(&k, None)]));
        let e = v.verify(text.replace(from, to).as_bytes()).unwrap_err();
        assert_eq!(e.kind(), "bad_signature", "{from}: {e}");
    }
    // A signature that is not 64 bytes.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut short = v.clone();
    short["signature_ed25519_hex"] = "abcd".into();
    let e = EventVerifier::new(trusted(&[(&k, None)]))
        .verify(&serde_json::to_vec(&short).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("64 bytes"), "{e}");
}

#[test]
fn replayed_and_old_sequences_are_refused_and_newer_accepted() {
    let k = key("stn-1", 1);
    let other = key("stn-2", 2);
    let mut v = EventVerifier::new(trusted(&[(&k, None), (&other, None)]));
    let ten = signed(&k, 10, hit_body());
    v.verify(&ten).unwrap();
    let e = v.verify(&ten).unwrap_err();
    assert_eq!(
        e,
        Refusal::Replayed {
            station: "stn-1".into(),
            seq: 10,
            highest: 10
        }
    );
    assert_eq!(v.verify(&signed(&k, 9, hit_body())).unwrap_err().kind(), "replayed");
    v.verify(&signed(&k, 11, hit_body())).unwrap();
    // Sequences are per station.
    v.verify(&signed(&other, 1, hit_body())).unwrap();
    assert_eq!(v.highest_seq("stn-1"), Some(11));
    assert_eq!(v.highest_seq("stn-2"), Some(1));
}

#[test]
fn malformed_events_are_refused_naming_the_problem() {
    let k = key("stn-1", 1);
    let mut v = EventVerifier::new(trusted(&[(&k, None)]));
    let good: serde_json::Value = serde_json::from_slice(&signed(&k, 1, hit_body())).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "expected"),
        (b"{}".to_vec(), "missing field"),
        (
            {
                let mut x = good.clone();
                x["event"]["extra"] = 1.into();
                serde_json::to_vec(&x).unwrap()
            },
            "event.extra: unknown field `extra`",
        ),
        (
            {
                let mut x = good.clone();
                x["event"]["body"]["plate_hit"]["hit_entry_id"] = 0.into();
                serde_json::to_vec(&x).unwrap()
            },
            "event.body.plate_hit.hit_entry_id",
        ),
        (
            {
                let mut x = good.clone();
                x["event"]["format"] = "utkik-station-event/2".into();
                serde_json::to_vec(&x).unwrap()
            },
            // The format is signed: a changed one fails the signature first.
            "bad signature",
        ),
        (vec![b' '; MAX_EVENT_BYTES + 1], "more than"),
        (
            {
                let mut b = serde_json::to_vec(&good).unwrap();
                b.extend_from_slice(b"{}");
                b
            },
            "trailing",
        ),
    ];
    for (bytes, want) in cases {
        let e = v.verify(&bytes).unwrap_err();
        assert!(e.to_string().contains(want), "want `{want}` in `{e}`");
    }
    assert_eq!(v.highest_seq("stn-1"), None);
}

#[test]
fn bad_content_is_not_signed() {
    let k = key("stn-1", 1);
    let mut body = hit_body();
    if let EventBody::PlateHit(h) = &mut body {
        h.position = Some(EventPosition {
            lat_deg: f64::NAN,
            lon_deg: 0.0,
        });
    }
    let e = SignedStationEvent::sign(StationEvent::new("stn-1", 1, 0, source(), body), &k.key).unwrap_err();
    assert!(e.0.contains("lat_deg"), "{e}");
    let mut body = hit_body();
    if let EventBody::PlateHit(h) = &mut body {
        h.image_sha256_hex = Some("XYZ".into());
    }
    let e = SignedStationEvent::sign(StationEvent::new("stn-1", 1, 0, source(), body), &k.key).unwrap_err();
    assert!(e.0.contains("image_sha256_hex"), "{e}");
    let e = SignedStationEvent::sign(StationEvent::new("stn/1", 1, 0, source(), hit_body()), &k.key).unwrap_err();
    assert!(e.0.contains("station_id"), "{e}");
    let track = |lat_deg| TrackEvent {
        track_id: 1,
        class: TrackClass::Face,
        position: EventPosition { lat_deg, lon_deg: 18.0 },
        time_usec: 1,
    };
    let bad = EventBody::Tracks(TracksEvent {
        tracks: vec![track(59.0), track(91.0)],
    });
    let e = SignedStationEvent::sign(StationEvent::new("stn-1", 1, 0, source(), bad), &k.key).unwrap_err();
    assert!(e.0.contains("body.tracks.tracks[1].position.lat_deg"), "{e}");
    let too_many = EventBody::Tracks(TracksEvent {
        tracks: vec![track(59.0); MAX_TRACKS_PER_EVENT + 1],
    });
    let e = SignedStationEvent::sign(StationEvent::new("stn-1", 1, 0, source(), too_many), &k.key).unwrap_err();
    assert!(e.0.contains("at most 256"), "{e}");
    let most = EventBody::Tracks(TracksEvent {
        tracks: vec![track(59.123_456_789); MAX_TRACKS_PER_EVENT],
    });
    let signed = SignedStationEvent::sign(StationEvent::new("stn-1", 1, 0, source(), most), &k.key).unwrap();
    assert!(
        signed.to_bytes().len() < MAX_EVENT_BYTES,
        "the largest tracks event fits the wire limit: {} bytes",
        signed.to_bytes().len()
    );
}

/// LAW.md section 7: the text of a read that is not a hit never becomes an event.
#[test]
fn a_no_hit_read_cannot_become_a_plate_hit_event() {
    let mut read = UTKIK_PLATE_READ_DATA {
        time_usec: 1,
        track_id: 4,
        alert_id: 0,
        hit_entry_id: 0,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
        ..Default::default()
    };
    read.plate[..6].copy_from_slice(b"XYZ987");
    // Even with its text sent (detect.send_non_hit_text), a NO_HIT read is refused.
    assert!(matches!(
        PlateHitEvent::from_plate_read(&read, None, None),
        Err(NotAHit::Status(_))
    ));
    // A HIT status without an entry number is refused too.
    read.status = UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT;
    read.alert_id = 3;
    assert_eq!(PlateHitEvent::from_plate_read(&read, None, None), Err(NotAHit::NoEntry));
    read.hit_entry_id = 2;
    let hit = PlateHitEvent::from_plate_read(&read, None, None).unwrap();
    assert_eq!(
        (hit.plate.as_str(), hit.hit_entry_id.get(), hit.alert_id),
        ("XYZ987", 2, 3)
    );
    // And entry 0 (the wire's "no hit") does not even parse.
    let json = r#"{"alert_id":1,"plate":"XYZ987","hit_entry_id":0,"position":null,"capture_time_usec":1,"image_sha256_hex":null}"#;
    assert!(serde_json::from_str::<PlateHitEvent>(json).is_err());
}

#[test]
fn the_sequence_keeps_rising_across_a_restart() {
    let mut s = SequenceCounter::starting_at(1_000);
    assert_eq!(s.next(1_000), 1_000);
    assert_eq!(s.next(1_000), 1_001, "same clock: still one up");
    assert_eq!(s.next(900), 1_002, "clock stepped back: still one up");
    assert_eq!(s.next(5_000), 5_000);
    // A restart a moment later starts above everything sent before.
    let mut restarted = SequenceCounter::starting_at(6_000);
    assert!(restarted.next(6_000) > 5_000);
}

#[test]
fn key_files_parse_and_name_bad_fields() {
    let k = key("stn-1", 7);
    let parsed = StationKey::from_json(k.to_json("test").as_bytes()).unwrap();
    assert_eq!(parsed.key.to_bytes(), [7; 32]);
    assert_eq!(parsed.station_id, "stn-1");
    let cases = [
        (
            r#"{"format":"utkik-audit-key/1","station_id":"s","seed_hex":""}"#,
            "format",
        ),
        (
            r#"{"format":"utkik-station-key/1","station_id":"s","seed_hex":"1122"}"#,
            "seed_hex",
        ),
        (
            r#"{"format":"utkik-station-key/1","station_id":"a b","seed_hex":"1111111111111111111111111111111111111111111111111111111111111111"}"#,
            "station_id",
        ),
        (
            r#"{"format":"utkik-station-key/1","station_id":"s","seed_hex":"11","x":1}"#,
            "x",
        ),
    ];
    for (json, field) in cases {
        let e = StationKey::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{json}: {e}");
    }
}

#[cfg(unix)]
#[test]
fn key_files_are_written_0600_and_refused_when_open_to_others() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("station.key.json");
    key("stn-1", 3).write(&p, "").unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(StationKey::load(&p).unwrap().key.to_bytes(), [3; 32]);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = StationKey::load(&p).unwrap_err();
    assert!(e.to_string().contains("chmod 600"), "{e}");
}

#[test]
fn trusted_lists_parse_and_name_bad_entries() {
    let a = key("stn-1", 1);
    let b = key("stn-2", 2);
    let list = trusted(&[(&a, Some("north")), (&b, None)]);
    let parsed = TrustedStations::from_json(list.to_json().as_bytes()).unwrap();
    assert_eq!(parsed, list);
    assert_eq!(parsed.get("stn-1").unwrap().region.as_deref(), Some("north"));
    assert_eq!(parsed.len(), 2);
    let pk = hex::encode(a.key.verifying_key().as_bytes());
    let cases = [
        (
            r#"{"format":"utkik-trusted-stations/2","stations":[]}"#.to_string(),
            "format",
        ),
        (
            format!(
                r#"{{"format":"utkik-trusted-stations/1","stations":[{{"station_id":"a","public_key_ed25519_hex":"{pk}"}},{{"station_id":"a","public_key_ed25519_hex":"{pk}"}}]}}"#
            ),
            "stations[1].station_id",
        ),
        (
            r#"{"format":"utkik-trusted-stations/1","stations":[{"station_id":"a","public_key_ed25519_hex":"zz"}]}"#
                .to_string(),
            "stations[0].public_key_ed25519_hex",
        ),
        (
            format!(
                r#"{{"format":"utkik-trusted-stations/1","stations":[{{"station_id":"a","public_key_ed25519_hex":"{}"}}]}}"#,
                "00".repeat(32)
            ),
            "stations[0].public_key_ed25519_hex",
        ),
        (
            format!(
                r#"{{"format":"utkik-trusted-stations/1","stations":[{{"station_id":"a","public_key_ed25519_hex":"{pk}","region":"a/**"}}]}}"#
            ),
            "stations[0].region",
        ),
        (
            format!(r#"{{"format":"utkik-trusted-stations/1","stations":[{{"station_id":"a","key":"{pk}"}}]}}"#),
            "stations[0].key",
        ),
    ];
    for (json, field) in cases {
        let e = TrustedStations::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), Some(field), "{json}: {e}");
    }
}

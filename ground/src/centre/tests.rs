use std::num::NonZeroU32;

use utkik_shared::events::{
    AlertEvent, AlertKind, AlertState, EventBody, EventSource, LegalBasis, PlateHitEvent, SourceKind, StationEvent,
};

use super::*;

fn source() -> EventSource {
    EventSource {
        system_id: 2,
        kind: SourceKind::Fixed,
        legal_basis: LegalBasis::OtherOperator,
    }
}

fn hit() -> EventBody {
    EventBody::PlateHit(PlateHitEvent {
        alert_id: 1,
        plate: "ABC123".into(),
        hit_entry_id: NonZeroU32::new(1).unwrap(),
        position: None,
        capture_time_usec: 1,
        image_sha256_hex: None,
    })
}

fn signed(key: &StationKey, seq: u64, body: EventBody) -> Vec<u8> {
    SignedStationEvent::sign(StationEvent::new(&key.station_id, seq, 9, source(), body), &key.key)
        .unwrap()
        .to_bytes()
}

#[test]
fn keys_follow_region_station_source_kind() {
    assert_eq!(
        event_key("north", "stn-1", &source(), "plate_hit"),
        "utkik/north/stn-1/fixed-2/plate_hit"
    );
}

#[test]
fn a_sample_under_a_key_that_disagrees_with_its_event_is_refused() {
    let k = StationKey::from_seed("stn-1", [1; 32]).unwrap();
    let trusted = TrustedStations::new(vec![k.trusted_entry(Some("north"))]).unwrap();
    let mut v = EventVerifier::new(trusted);
    let bytes = signed(&k, 1, hit());
    for (key, want) in [
        ("utkik/north/stn-2/fixed-2/plate_hit", "station segment"),
        ("utkik/north/stn-1/drone-2/plate_hit", "source segment"),
        ("utkik/north/stn-1/fixed-2/alert", "kind segment"),
        ("utkik/south/stn-1/fixed-2/plate_hit", "trusted list puts"),
        ("utkik/north/stn-1/fixed-2", "not utkik/"),
        ("other/north/stn-1/fixed-2/plate_hit", "does not start"),
    ] {
        let e = check_sample(&mut v, key, &bytes).unwrap_err();
        assert_eq!(e.kind(), "key_mismatch", "{key}: {e}");
        assert!(e.to_string().contains(want), "{key}: {e}");
    }
    // None of them used up the sequence number: the right key still takes it.
    let got = check_sample(&mut v, "utkik/north/stn-1/fixed-2/plate_hit", &bytes).unwrap();
    assert_eq!(got.region, "north");
    assert_eq!(got.event.seq, 1);
}

#[test]
fn an_unpinned_station_may_publish_under_any_region() {
    let k = StationKey::from_seed("stn-1", [1; 32]).unwrap();
    let mut v = EventVerifier::new(TrustedStations::new(vec![k.trusted_entry(None)]).unwrap());
    let body = EventBody::Alert(AlertEvent {
        alert_id: 1,
        kind: AlertKind::PlateHit,
        state: AlertState::NeedsCheck,
    });
    let got = check_sample(&mut v, "utkik/west/stn-1/fixed-2/alert", &signed(&k, 4, body)).unwrap();
    assert_eq!(got.region, "west");
}

#[test]
fn bus_config_names_a_bad_endpoint_and_a_bad_region() {
    let bus = BusConfig {
        connect: vec!["127.0.0.1:7447".into()],
        ..Default::default()
    };
    let e = bus.to_zenoh().unwrap_err();
    assert!(e.to_string().contains("connect endpoint `127.0.0.1:7447`"), "{e}");
    let bus = BusConfig {
        connect: vec!["tcp/127.0.0.1:7447".into()],
        listen: vec!["tcp/127.0.0.1:0".into()],
        multicast_scouting: Some(false),
        ..Default::default()
    };
    let c = bus.to_zenoh().unwrap();
    assert!(c.get_json("connect/endpoints").unwrap().contains("tcp/127.0.0.1:7447"));
    assert_eq!(c.get_json("scouting/multicast/enabled").unwrap(), "false");
    let k = StationKey::from_seed("stn-1", [1; 32]).unwrap();
    let e = EventPublisher::open(&bus, k, "a/b", 0).err().unwrap();
    assert!(e.to_string().contains("region `a/b`"), "{e}");
}

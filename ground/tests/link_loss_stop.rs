//! LAW.md 2.4 end to end on real UDP sockets: the ground station's link thread and the onboard
//! pipeline with its gate (the same code both binaries run), a 5 s bound. While the station runs, its 1 Hz
//! signed GCS HEARTBEAT keeps the drone's identification going well past the link-loss bound;
//! when the station goes away the drone stops identification by itself and logs it. (The
//! drone-side rule itself, with an injected clock and the template call counter, is
//! `onboard/src/gate/tests/link_loss.rs`.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use utkik_ground::link::{self, LinkConfig, LinkEvent, LinkKeys, LinkSource};
use utkik_onboard::config::Config;
use utkik_onboard::shutdown::Shutdown;
use utkik_shared::audit::AuditEvent;
use utkik_shared::audit::record::decode_record;
use utkik_shared::authz::command_signature::{SigningKey, sign_command, user_id_bytes};
use utkik_shared::dialect::{
    MavMessage, MavResult, UTKIK_AUTHZ_COMMAND_DATA, UTKIK_AUTHZ_STATUS_DATA, UtkikAuthzCommand, UtkikAuthzState,
};
use utkik_shared::link_signing::LinkKey;

fn now_usec() -> u64 {
    utkik_onboard::ingest::time::unix_now_usec()
}

fn next_status(handle: &link::LinkHandle, until: Instant) -> Option<UTKIK_AUTHZ_STATUS_DATA> {
    while Instant::now() < until {
        if let Ok(LinkEvent::Message {
            message: MavMessage::UTKIK_AUTHZ_STATUS(s),
            signed: true,
            ..
        }) = handle.events.recv_timeout(Duration::from_millis(100))
        {
            return Some(s);
        }
    }
    None
}

#[test]
fn the_stations_heartbeat_keeps_identification_going_and_its_absence_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/authz");
    let key_path = dir.path().join("link.key.json");
    utkik_shared::secret_file::write_secret(&key_path, utkik_shared::demo::LINK_KEY_JSON).unwrap();
    let link_key = LinkKey::load(&key_path).unwrap();

    let mut ground = link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: None,
        rotate_bytes: 1 << 20,
        signing: Some(LinkKeys::one_for_all(link_key)),
        state_file: None,
    })
    .unwrap();

    // Longer than the 1 s heartbeat period with room for a loaded CI machine (the whole suite
    // runs in parallel on two cores); the real default is 10 s.
    let bound_s = 5;
    let mut config = Config::default();
    config.video.source = "test://ball".into();
    config.telemetry.endpoint = "udp://127.0.0.1:0".into();
    config.link.bind = "127.0.0.1:0".into();
    config.link.ground = ground.local_addr.unwrap().to_string();
    config.link.boot_epoch_file = dir.path().join("boot-epoch").display().to_string();
    config.privacy.restream = false;
    config.detect.faces = false;
    config.detect.plates = false;
    config.gate.authorization = assets.join("person-search.authz.json").display().to_string();
    config.gate.trust_store = assets.join("demo-trust-store.json").display().to_string();
    config.gate.link_key = key_path.display().to_string();
    config.gate.audit_dir = dir.path().join("audit").display().to_string();
    config.gate.volatile_dir = dir.path().join("volatile").display().to_string();
    config.gate.link_loss_stop_s = bound_s;
    let seal_public = dir.path().join("seal.public.json");
    std::fs::write(&seal_public, utkik_shared::demo::SEAL_PUBLIC_JSON).unwrap();
    config.gate.ground_seal_public = seal_public.display().to_string();
    let gate = utkik_onboard::pipeline::gate_from_config(&config).unwrap().unwrap();
    let digest = *gate.digest().as_bytes();
    let shutdown = Shutdown::new();
    let sd = shutdown.clone();
    let drone = std::thread::spawn(move || {
        utkik_onboard::pipeline::run_with_gate(&config, Vec::new(), Some(gate), sd, Arc::default())
    });

    // The station hears the drone (so it has a route to it), then the DEMO senior officer
    // activates, as the console would send it.
    let s = next_status(&ground, Instant::now() + Duration::from_secs(20)).expect("the drone's status");
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING);
    let mut cmd = UTKIK_AUTHZ_COMMAND_DATA {
        time_usec: now_usec(),
        target_system: 1,
        target_component: 191,
        request_id: 1,
        command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        authorization_digest: digest,
        operator_id: user_id_bytes("cecilia").into(),
        ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
    };
    let seed = utkik_shared::demo::user_signing_seed("cecilia").unwrap();
    sign_command(&mut cmd, &SigningKey::from_bytes(&seed));
    ground.send(1, MavMessage::UTKIK_AUTHZ_COMMAND(cmd));
    let until = Instant::now() + Duration::from_secs(20);
    let active = loop {
        let s = next_status(&ground, until).expect("ACTIVATE answered");
        if s.last_request_id == 1 {
            break s;
        }
    };
    assert_eq!(active.last_result, MavResult::MAV_RESULT_ACCEPTED, "{active:?}");
    assert_eq!(active.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE);

    // Twice the bound with no command: only the station's heartbeat speaks, and the drone
    // never suspends.
    let watch = Instant::now() + Duration::from_secs(2 * bound_s);
    let mut statuses = 0;
    while let Some(s) = next_status(&ground, watch) {
        assert_eq!(s.suspended, 0, "suspended while the station runs: {s:?}");
        assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE);
        statuses += 1;
    }
    assert!(statuses >= 4, "{statuses} statuses in {} s", 2 * bound_s);
    let sent = ground.counters().heartbeats_sent;
    assert!(sent >= 2 * bound_s, "{sent} heartbeats");

    // The station goes away: the drone stops identification on its own and logs it.
    ground.stop();
    let log = dir.path().join("audit").join("onboard-audit.log");
    let deadline = Instant::now() + Duration::from_secs(3 * bound_s);
    let suspended = loop {
        let bytes = std::fs::read(&log).unwrap();
        let found = bytes
            .split_inclusive(|&b| b == b'\n')
            .filter_map(|l| decode_record(l).ok())
            .any(|r| matches!(r.body.event, AuditEvent::IdentificationSuspended { .. }));
        if found || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        suspended,
        "no identification_suspended record {} s after the station stopped",
        3 * bound_s
    );
    shutdown.trigger();
    drone.join().unwrap().unwrap();
}

//! The real `utkik-onboard` binary killed with SIGKILL mid-use and started again (issue 14
//! item 4, onboard side): an urgent use keeps its first start and 24 h deadline (the clock does
//! not restart), comes back suspended until the ground is heard (LAW.md 2.4), and a revocation
//! survives the next kill: an URGENT_START after it is refused. Commands go over real UDP,
//! link-signed with the drone's key and user-signed by a senior officer of the trust store, as
//! the ground station sends them. Detection is off: only the gate and the link run.
//!
//! The same for a drone flown without a permit (`gate.enabled`, LAW.md 3.4): the urgent use is
//! uploaded from the ground (the station's bundle, chunked by the station's `UploadSender`),
//! started, and after `kill -9` the drone comes back with that uploaded document, not none.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mavlink_core::MavHeader;
use utkik_shared::audit::AuditEvent;
use utkik_shared::audit::record::decode_record;
use utkik_shared::authz::command_signature::{SigningKey, sign_command, user_id_bytes};
use utkik_shared::authz::upload::{UploadBundle, UploadOutcome, UploadSender};
use utkik_shared::authz::{
    AuthzDigest, IssuerKind, IssuerSigningKey, Role, SignedAuthorization, TrustStore, TrustedUser, UrgentDecision,
    authorize,
};
use utkik_shared::dialect::{
    HEARTBEAT_DATA, MavMessage, MavResult, MavType, UTKIK_AUTHZ_COMMAND_DATA, UTKIK_AUTHZ_STATUS_DATA,
    UtkikAuthzCommand, UtkikAuthzState,
};
use utkik_shared::link_signing::{LinkKey, sign_frame, signing_timestamp};
use utkik_shared::mavframe::FrameDecoder;

const HOUR_USEC: u64 = 3_600_000_000;
const DAY_S: u32 = 86_400;

fn now_usec() -> u64 {
    utkik_onboard::ingest::time::unix_now_usec()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The files of one drone: an urgent-use document signed by a senior officer's issuer key, a
/// trust store with that key and the officer's own command key, a (non-DEMO) link key. Without
/// a permit the document is signed with the officer's own crew key (`user:kalle`, as the station
/// signs an urgent use started there) and is not in the config: it is uploaded.
struct Drone {
    dir: tempfile::TempDir,
    /// The signed urgent document (configured as `gate.authorization`, or to upload).
    document: Vec<u8>,
    config: PathBuf,
    link_key: LinkKey,
    officer: SigningKey,
    port: u16,
    ground: UdpSocket,
    last_signing: u64,
}

fn write_files(dir: &Path, ground: SocketAddr, port: u16, permit: bool) -> (PathBuf, Vec<u8>, LinkKey, SigningKey) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/authz");
    let demo =
        SignedAuthorization::from_json(&std::fs::read(assets.join("person-search.authz.json")).unwrap()).unwrap();
    let now = now_usec();
    let mut doc = demo.document.clone();
    doc.decision_id = "TEST-URGENT-RESTART".into();
    doc.issuer.kind = IssuerKind::SeniorOfficer;
    doc.issuer.name = "kalle".into();
    doc.issuer.key_id = "test-senior".into();
    doc.urgent = Some(UrgentDecision {
        senior_officer_id: "kalle".into(),
        justification: "child missing, last seen on the square ten minutes ago".into(),
    });
    doc.fria_reference = "pending".into();
    doc.eu_database_registration = "pending".into();
    doc.window.from_usec = now - HOUR_USEC;
    doc.window.until_usec = now + 72 * HOUR_USEC;
    doc.issued_usec = now - HOUR_USEC;
    if !doc.authorized_roles.contains(&Role::SeniorOfficer) {
        doc.authorized_roles.push(Role::SeniorOfficer);
    }
    let issuer = IssuerSigningKey::from_json(
        br#"{"key_id":"test-senior","kind":"senior_officer","holder":"kalle","seed_hex":"0808080808080808080808080808080808080808080808080808080808080808"}"#,
    )
    .unwrap();
    let officer = SigningKey::from_bytes(&[0x09; 32]);
    let mut trust = TrustStore::new();
    trust.insert(issuer.trusted_key()).unwrap();
    trust
        .insert_user(TrustedUser {
            user_id: "kalle".into(),
            roles: vec![Role::SeniorOfficer],
            holder: "Kalle (test senior officer)".into(),
            key: officer.verifying_key(),
        })
        .unwrap();
    let signed = if permit {
        SignedAuthorization::sign(doc, &issuer.key)
    } else {
        doc.issuer.key_id = "user:kalle".into();
        SignedAuthorization::sign(doc, &officer)
    };
    let document = signed.to_json_pretty().into_bytes();
    let authz = dir.join("urgent.authz.json");
    std::fs::write(&authz, &document).unwrap();
    let gate = if permit {
        format!("authorization = {:?}", authz.display().to_string())
    } else {
        "enabled = true".to_string()
    };
    let trust_path = dir.join("trust.json");
    std::fs::write(&trust_path, trust.to_json_pretty()).unwrap();
    let key_json = br#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"4242424242424242424242424242424242424242424242424242424242424242"}"#;
    let key_path = dir.join("link.key.json");
    utkik_shared::secret_file::write_secret(&key_path, key_json).unwrap();
    let link_key = LinkKey::from_json(key_json, &key_path).unwrap();
    // The station's seal key: possible matches' evidence is sealed to it (shared::seal).
    let (seal_secret, seal_public) = (dir.join("seal.key.json"), dir.join("seal.public.json"));
    utkik_shared::seal::SealKeyPair::generate()
        .write_files(&seal_secret, &seal_public, "gate_restart test")
        .unwrap();
    let config = dir.join("onboard.toml");
    std::fs::write(
        &config,
        format!(
            "[video]\nsource = \"test://ball\"\n\
             [telemetry]\nendpoint = \"udp://127.0.0.1:{}\"\n\
             [detect]\nfaces = false\nplates = false\n\
             [link]\nbind = \"127.0.0.1:{port}\"\nground = \"{ground}\"\nstatus_period_ms = 200\n\
             boot_epoch_file = {:?}\n\
             [privacy]\nrestream = false\n\
             [gate]\n{gate}\ntrust_store = {:?}\nlink_key = {:?}\naudit_dir = {:?}\nground_seal_public = {:?}\nvolatile_dir = {:?}\n",
            free_udp_port(),
            dir.join("state/boot-epoch").display().to_string(),
            trust_path.display().to_string(),
            key_path.display().to_string(),
            dir.join("audit").display().to_string(),
            seal_public.display().to_string(),
            dir.join("volatile").display().to_string(),
        ),
    )
    .unwrap();
    (config, document, link_key, officer)
}

impl Drone {
    fn new(permit: bool) -> Self {
        // A RAM filesystem: without --demo the link key, the permit and the volatile folder must
        // be on one (issue 17 item 3); the restarts below show that uploads there survive a
        // killed process (not a power cycle).
        let dir = tempfile::tempdir_in("/dev/shm").expect("/dev/shm (a tmpfs)");
        let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
        ground.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let port = free_udp_port();
        let (config, document, link_key, officer) = write_files(dir.path(), ground.local_addr().unwrap(), port, permit);
        Self {
            dir,
            document,
            config,
            link_key,
            officer,
            port,
            ground,
            last_signing: 0,
        }
    }

    fn start(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Link-signed like the ground station (timestamps always growing).
    fn send(&mut self, msg: &MavMessage) {
        let header = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        self.last_signing = signing_timestamp(now_usec()).max(self.last_signing + 1);
        let frame = sign_frame(&self.link_key, header, msg, self.last_signing);
        self.ground.send_to(&frame, ("127.0.0.1", self.port)).unwrap();
    }

    /// A command signed by the senior officer `kalle`, as the station sends it.
    fn command(&mut self, command: UtkikAuthzCommand, request_id: u16, digest: [u8; 32]) {
        let mut cmd = UTKIK_AUTHZ_COMMAND_DATA {
            time_usec: now_usec(),
            target_system: 1,
            target_component: 191,
            request_id,
            command,
            authorization_digest: digest,
            operator_id: user_id_bytes("kalle").into(),
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        };
        sign_command(&mut cmd, &self.officer);
        self.send(&MavMessage::UTKIK_AUTHZ_COMMAND(cmd));
    }

    fn heartbeat(&mut self) {
        self.send(&MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            mavtype: MavType::MAV_TYPE_GCS,
            ..Default::default()
        }));
    }

    /// The next UTKIK_AUTHZ_STATUS that satisfies `want` (30 s at most).
    fn status(&self, what: &str, want: impl Fn(&UTKIK_AUTHZ_STATUS_DATA) -> bool) -> UTKIK_AUTHZ_STATUS_DATA {
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Ok((n, _)) = self.ground.recv_from(&mut buf) else {
                continue;
            };
            for d in decoder.push_messages(&buf[..n]) {
                if let MavMessage::UTKIK_AUTHZ_STATUS(s) = d.message
                    && want(&s)
                {
                    return s;
                }
            }
        }
        panic!("no UTKIK_AUTHZ_STATUS with {what} within 30 s");
    }

    /// Uploads the urgent document as the station does (a bundle of the document alone: its
    /// enrolment image is in the drone's imagery cache) and returns the drone's answer.
    fn upload(&mut self) -> UploadOutcome {
        let bundle = UploadBundle {
            authorization: self.document.clone(),
            files: Vec::new(),
        }
        .to_bytes();
        let mut tx = UploadSender::new(1, 1, 191, bundle, 0.0);
        let t0 = Instant::now();
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 2048];
        self.ground.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        while tx.outcome().is_none() {
            let now_s = t0.elapsed().as_secs_f64();
            assert!(now_s < 30.0, "upload not answered in 30 s: {:?}", tx.progress());
            for chunk in tx.due(now_s) {
                self.send(&chunk);
            }
            let Ok((n, _)) = self.ground.recv_from(&mut buf) else {
                continue;
            };
            for d in decoder.push_messages(&buf[..n]) {
                if let MavMessage::UTKIK_UPLOAD_ACK(a) = d.message {
                    tx.on_ack(d.frame.sysid(), &a, t0.elapsed().as_secs_f64());
                }
            }
        }
        self.ground.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        tx.outcome().cloned().unwrap()
    }

    /// Forgets what the killed run sent and is still queued on our socket.
    fn drain(&self) {
        self.ground.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 2048];
        while self.ground.recv_from(&mut buf).is_ok() {}
        self.ground.set_nonblocking(false).unwrap();
    }

    fn audit(&self) -> Vec<AuditEvent> {
        let bytes = std::fs::read(self.dir.path().join("audit/onboard-audit.log")).unwrap();
        bytes
            .split_inclusive(|&b| b == b'\n')
            .filter_map(|l| decode_record(l).ok())
            .map(|r| r.body.event)
            .collect()
    }
}

fn kill_9(drone: &Drone, mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix: no shutdown path runs
    child.wait().unwrap();
    drone.drain();
}

#[test]
fn kill_9_keeps_the_urgent_deadline_and_a_revocation() {
    let mut drone = Drone::new(true);
    let t0 = Instant::now();

    // Run 1: urgent use started by the senior officer.
    let child = drone.start();
    let s = drone.status("the urgent document, pending", |s| {
        s.state == UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING
    });
    let digest = s.authorization_digest;
    drone.command(UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START, 1, digest);
    let s = drone.status("URGENT_START answered", |s| s.last_request_id == 1);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_ACCEPTED, "{s:?}");
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT);
    let started = Instant::now();
    let deadline = drone
        .audit()
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::UrgentStarted { deadline_usec, .. } => Some(deadline_usec),
            _ => None,
        })
        .expect("UrgentStarted with its deadline");
    std::thread::sleep(Duration::from_secs(2)); // so a restarted 24 h clock would show
    kill_9(&drone, child);

    // Run 2: back in urgent use with the first start's deadline, suspended until heard.
    let child = drone.start();
    let s = drone.status("the restored state", |s| s.authorization_digest == digest);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT, "{s:?}");
    assert_eq!(s.suspended, 1, "not heard since the restart: identification suspended");
    let elapsed_s = started.elapsed().as_secs() as u32;
    assert!(
        s.remaining <= DAY_S - elapsed_s && s.remaining > DAY_S - elapsed_s - 30,
        "remaining {} s, {elapsed_s} s after the start: the deadline runs from the first start",
        s.remaining
    );
    let restored = drone.audit().into_iter().find_map(|e| match e {
        AuditEvent::GateRestored {
            state,
            urgent_deadline_usec,
            ..
        } => Some((state, urgent_deadline_usec)),
        _ => None,
    });
    assert_eq!(
        restored,
        Some((utkik_shared::authz::AuthzState::Urgent, Some(deadline)))
    );
    drone.heartbeat();
    drone.status("resumed on the ground's heartbeat", |s| s.suspended == 0);
    drone.command(UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE, 2, digest);
    let s = drone.status("REVOKE answered", |s| s.last_request_id == 2);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_ACCEPTED, "{s:?}");
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED);
    kill_9(&drone, child);

    // Run 3: revoked stays revoked; an URGENT_START is refused.
    let child = drone.start();
    let s = drone.status("the restored state", |s| s.authorization_digest == digest);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED, "{s:?}");
    drone.command(UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START, 3, digest);
    let s = drone.status("URGENT_START answered", |s| s.last_request_id == 3);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_DENIED, "{s:?}");
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED);
    kill_9(&drone, child);
    eprintln!("three runs, each ended by kill -9, in {:?}", t0.elapsed());
}

/// A drone without a permit (`gate.enabled`): the urgent use is uploaded, started, and survives
/// `kill -9` as the uploaded document with its first start's deadline.
#[test]
fn kill_9_during_an_uploaded_urgent_use_comes_back_with_that_document() {
    let mut drone = Drone::new(false);
    let trust = TrustStore::load(&drone.dir.path().join("trust.json")).unwrap();
    let digest = authorize(&drone.document, &trust, now_usec()).unwrap().digest();

    // Run 1: no document, then the upload and the senior officer's URGENT_START.
    let child = drone.start();
    let s = drone.status("no document", |s| s.state == UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE);
    assert_eq!(s.authorization_digest, [0; 32]);
    assert_eq!(drone.upload(), UploadOutcome::Stored(AuthzDigest(*digest.as_bytes())));
    drone.command(
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        1,
        *digest.as_bytes(),
    );
    let s = drone.status("URGENT_START answered", |s| s.last_request_id == 1);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_ACCEPTED, "{s:?}");
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT);
    assert_eq!(s.authorization_digest, *digest.as_bytes());
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(2)); // so a restarted 24 h clock would show
    kill_9(&drone, child);

    // Run 2: the uploaded document again, urgent, its deadline from the first start.
    let child = drone.start();
    let s = drone.status("the restored state", |s| s.authorization_digest == *digest.as_bytes());
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT, "{s:?}");
    assert_eq!(s.suspended, 1, "not heard since the restart: identification suspended");
    let elapsed_s = started.elapsed().as_secs() as u32;
    assert!(
        s.remaining <= DAY_S - elapsed_s && s.remaining > DAY_S - elapsed_s - 30,
        "remaining {} s, {elapsed_s} s after the start: the deadline runs from the first start",
        s.remaining
    );
    drone.heartbeat();
    drone.status("resumed on the ground's heartbeat", |s| s.suspended == 0);
    kill_9(&drone, child);
}

//! Tests of sealing: round trip, every way an open must fail, the RFC 9180 known answer, the key
//! files and the DEMO key.

use std::path::Path;

use super::*;

fn aad(alert_id: u32) -> ImageAad {
    ImageAad {
        system_id: 1,
        alert_id,
        kind: ImageKind::PlateImage,
    }
}

/// A JPEG-like image: starts with the SOI marker the tests look for.
fn image() -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0];
    v.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    v
}

#[test]
fn round_trip_and_layout() {
    let keys = SealKeyPair::generate();
    let img = image();
    let sealed = seal(keys.public(), &aad(7), &img).unwrap();
    assert_eq!(sealed.len(), img.len() + SEAL_OVERHEAD);
    assert_eq!(sealed[0], SEAL_VERSION);
    assert!(
        !sealed.windows(3).any(|w| w == [0xff, 0xd8, 0xff]),
        "no JPEG marker in sealed bytes"
    );
    assert_eq!(open(&keys, &aad(7), &sealed).unwrap(), img);
    // A fresh ephemeral key each time: the same image seals differently.
    let again = seal(keys.public(), &aad(7), &img).unwrap();
    assert_ne!(sealed, again);
    assert_eq!(open(&keys, &aad(7), &again).unwrap(), img);
    // An empty image seals too.
    assert_eq!(
        open(&keys, &aad(7), &seal(keys.public(), &aad(7), b"").unwrap()).unwrap(),
        b""
    );
}

#[test]
fn another_stations_key_does_not_open() {
    let ours = SealKeyPair::generate();
    let theirs = SealKeyPair::generate();
    let sealed = seal(ours.public(), &aad(7), &image()).unwrap();
    assert_eq!(open(&theirs, &aad(7), &sealed), Err(SealError::DoesNotOpen));
}

#[test]
fn every_altered_byte_is_refused() {
    let keys = SealKeyPair::generate();
    let sealed = seal(keys.public(), &aad(7), &image()).unwrap();
    // Every byte of the encapsulated key and a spread of the ciphertext and tag.
    let positions: Vec<usize> = (1..1 + ENC_LEN)
        .chain((1 + ENC_LEN..sealed.len()).step_by(97))
        .chain([sealed.len() - 1])
        .collect();
    for i in positions {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let e = open(&keys, &aad(7), &bad).unwrap_err();
        assert!(
            matches!(e, SealError::DoesNotOpen | SealError::BadEncappedKey),
            "byte {i}: {e:?}"
        );
    }
    let mut bad = sealed.clone();
    bad[0] = 2;
    assert_eq!(open(&keys, &aad(7), &bad), Err(SealError::Version { found: 2 }));
}

#[test]
fn another_alerts_aad_does_not_open() {
    let keys = SealKeyPair::generate();
    let sealed = seal(keys.public(), &aad(7), &image()).unwrap();
    assert_eq!(open(&keys, &aad(8), &sealed), Err(SealError::DoesNotOpen));
    let other_drone = ImageAad { system_id: 2, ..aad(7) };
    assert_eq!(open(&keys, &other_drone, &sealed), Err(SealError::DoesNotOpen));
    let as_face = ImageAad {
        kind: ImageKind::FaceEvidence,
        ..aad(7)
    };
    assert_eq!(open(&keys, &as_face, &sealed), Err(SealError::DoesNotOpen));
}

#[test]
fn truncated_input_names_the_length() {
    let keys = SealKeyPair::generate();
    let sealed = seal(keys.public(), &aad(7), &image()).unwrap();
    assert_eq!(open(&keys, &aad(7), &[]), Err(SealError::TooShort { len: 0 }));
    assert_eq!(
        open(&keys, &aad(7), &sealed[..SEAL_OVERHEAD - 1]),
        Err(SealError::TooShort { len: SEAL_OVERHEAD - 1 })
    );
    // Long enough to parse, but missing the end: the tag does not check.
    assert_eq!(
        open(&keys, &aad(7), &sealed[..sealed.len() - 1]),
        Err(SealError::DoesNotOpen)
    );
    let msg = SealError::TooShort { len: 3 }.to_string();
    assert!(msg.contains("3 bytes") && msg.contains("truncated"), "{msg}");
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// RFC 9180 A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode),
/// encryption sequence number 0: the recipient's key pair and the published ciphertext open to
/// the published plaintext through the same crate calls as [`open`] (only `info` and `aad`
/// differ from ours, so they are passed directly).
#[test]
fn rfc9180_a_2_1_known_answer() {
    let sk_rm: [u8; 32] = h("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb")
        .try_into()
        .unwrap();
    let pk_rm = h("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
    let info = h("4f6465206f6e2061204772656369616e2055726e");
    let enc = h("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
    let aad = h("436f756e742d30");
    let ct = h("1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28");
    let pt = h("4265617574792069732074727574682c20747275746820626561757479");

    let keys = SealKeyPair::from_secret_bytes(sk_rm).unwrap();
    assert_eq!(keys.public().to_bytes().to_vec(), pk_rm, "pkRm from skRm");
    let enc = <SealKem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap();
    let opened = hpke::single_shot_open::<SealAead, SealKdf, SealKem>(
        &hpke::OpModeR::Base,
        &keys.secret,
        &enc,
        &info,
        &ct,
        &aad,
    )
    .unwrap();
    assert_eq!(opened, pt);
    // One altered ciphertext byte and the vector no longer opens.
    let mut bad = ct.clone();
    bad[0] ^= 1;
    assert!(
        hpke::single_shot_open::<SealAead, SealKdf, SealKem>(
            &hpke::OpModeR::Base,
            &keys.secret,
            &enc,
            &info,
            &bad,
            &aad
        )
        .is_err()
    );
}

#[test]
fn low_order_public_keys_are_refused() {
    // The all-zero point and the point of order 8 (u = 1): X25519 with them gives a zero secret.
    for pk in [[0u8; 32], {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    }] {
        assert_eq!(SealPublicKey::from_bytes(pk), Err(SealError::UnusablePublicKey));
    }
}

#[test]
fn key_files_round_trip_and_the_secret_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let keys = SealKeyPair::generate();
    let sk = dir.path().join("station.seal.key.json");
    let pk = dir.path().join("station.seal.public.json");
    keys.write_files(&sk, &pk, "test station").unwrap();
    let loaded = SealKeyPair::load(&sk).unwrap();
    assert_eq!(loaded.public(), keys.public());
    let public = SealPublicKey::load(&pk).unwrap();
    assert_eq!(&public, keys.public());
    let sealed = seal(&public, &aad(1), b"x").unwrap();
    assert_eq!(open(&loaded, &aad(1), &sealed).unwrap(), b"x");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&sk).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&sk, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SealKeyPair::load(&sk).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}

#[test]
fn key_file_errors_name_the_field() {
    let p = Path::new("k.json");
    let keys = SealKeyPair::generate();
    let json: serde_json::Value = serde_json::from_str(&keys.to_json("n")).unwrap();

    let mut wrong_format = json.clone();
    wrong_format["format"] = "utkik-link-key/1".into();
    let e = SealKeyPair::from_json(wrong_format.to_string().as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `format`"), "{e}");

    let mut short = json.clone();
    short["secret_key_hex"] = "abcd".into();
    let e = SealKeyPair::from_json(short.to_string().as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `secret_key_hex`"), "{e}");

    let mut zero = json.clone();
    zero["secret_key_hex"] = hex::encode([0u8; 32]).into();
    let e = SealKeyPair::from_json(zero.to_string().as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("all-zero"), "{e}");

    let mut mismatched = json.clone();
    mismatched["public_key_hex"] = SealKeyPair::generate().public().to_hex().into();
    let e = SealKeyPair::from_json(mismatched.to_string().as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("field `public_key_hex`"), "{e}");

    let mut unknown = json.clone();
    unknown["extra"] = 1.into();
    assert!(SealKeyPair::from_json(unknown.to_string().as_bytes(), p).is_err());

    // The drone given the station's secret file instead of the public one: refused, and said so.
    let e = SealPublicKey::from_json(keys.to_json("n").as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("secret key file") && e.contains(SEAL_PUBLIC_FORMAT), "{e}");
    // The station given the public file.
    let e = SealKeyPair::from_json(keys.public().to_json("n").as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("public file"), "{e}");

    let low_order = format!(
        r#"{{"format":"{SEAL_PUBLIC_FORMAT}","public_key_hex":"{}"}}"#,
        hex::encode([0u8; 32])
    );
    let e = SealPublicKey::from_json(low_order.as_bytes(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("low-order"), "{e}");
}

/// The DEMO seal key is the published phrase's hash, its public file is its public half, and both
/// are recognised as DEMO material.
#[test]
fn demo_seal_key_is_the_published_one() {
    use sha2::Digest as _;
    let p = Path::new("demo");
    let keys = SealKeyPair::from_json(crate::demo::SEAL_KEY_JSON, p).unwrap();
    let seed: [u8; 32] = sha2::Sha256::digest(b"utkik DEMO image seal key - public, not secret").into();
    // The file holds the seed as X25519 clamps it; the key pair is the seed's.
    assert_eq!(SealKeyPair::from_secret_bytes(seed).unwrap().public(), keys.public());
    let public = SealPublicKey::from_json(crate::demo::SEAL_PUBLIC_JSON, p).unwrap();
    assert_eq!(&public, keys.public());
    assert!(crate::demo::looks_like_demo(crate::demo::SEAL_KEY_JSON));
    assert!(crate::demo::looks_like_demo(public.to_json("ours").as_bytes()));
    assert!(!crate::demo::looks_like_demo(
        SealKeyPair::generate().to_json("ours").as_bytes()
    ));
}

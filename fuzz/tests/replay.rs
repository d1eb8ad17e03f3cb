//! Replays every committed corpus (`fuzz/corpus/TARGET/*`) through its target on stable Rust, so a
//! regression of anything the fuzzer once reached fails `cargo test` (and CI) without nightly or
//! libFuzzer. The corpora are minimised (`cargo fuzz cmin`) and include each crash input found.

use std::path::Path;

use utkik_fuzz::Target;

fn targets() -> Vec<Target> {
    #[cfg_attr(not(feature = "apps"), allow(unused_mut))]
    let mut t = utkik_fuzz::SHARED_TARGETS.to_vec();
    #[cfg(feature = "apps")]
    t.extend_from_slice(utkik_fuzz::APP_TARGETS);
    t
}

fn replay(name: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every target has a committed corpus)", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    for f in &files {
        let data = std::fs::read(f).expect("read corpus file");
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "target {name} fails on {}", f.display());
    }
    files.len()
}

#[test]
fn every_corpus_replays() {
    for (name, run) in targets() {
        let n = replay(name, run);
        assert!(n > 0, "corpus of {name} is empty");
    }
}

#[test]
fn every_fuzz_binary_is_a_replayed_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets");
    let names: Vec<&str> = targets().iter().map(|t| t.0).collect();
    let mut bins = 0;
    for e in std::fs::read_dir(dir).expect("fuzz_targets") {
        let p = e.expect("entry").path();
        let stem = p.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        #[cfg(not(feature = "apps"))]
        if utkik_fuzz::SHARED_TARGETS.iter().all(|t| t.0 != stem) {
            continue;
        }
        assert!(
            names.contains(&stem.as_str()),
            "fuzz_targets/{stem}.rs is not in the target lists"
        );
        bins += 1;
    }
    assert_eq!(bins, names.len(), "a target without a binary");
}

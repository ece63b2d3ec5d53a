//! Fuzzing of the inputs strangers control: callback XML, callback ciphertext and uploaded
//! openid lists. Each target mutates the committed corpus (`tests/fuzz/corpus/<target>/`)
//! and also tries unstructured input; none may panic, and what is accepted must be sound.
//!
//! `make test` runs each target briefly; `make fuzz` runs them long
//! (`LIVENOTIFY_FUZZ_CASES`, default 2,000 a target). A failure prints the seed and input;
//! proptest keeps failing cases in `tests/fuzz/regressions.txt` and replays them first.

use livenotify::openid_list;
use livenotify::wechat::callback::parse;
use livenotify::wechat::crypto::MessageCrypto;
use proptest::prelude::*;
use std::path::PathBuf;

const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx2c2769f8efd9abc2";

fn cases() -> u32 {
    std::env::var("LIVENOTIFY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        // Failing inputs are kept here and replayed first on the next run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/fuzz/regressions.txt"),
        )),
        ..ProptestConfig::default()
    }
}

/// The committed seeds of one target.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fuzz/corpus/{target}"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "empty corpus {target}");
    seeds
}

/// One edit of a byte string, as a coverage fuzzer's mutator would make.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to the formats: markup, quoting, separators, UTF-8 lead bytes.
    let interesting = prop::sample::select(b"<>/![]\",\r\n\x00\xEF\xBB\xBF\xC4\xE3=+&;".to_vec());
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (
            any::<usize>(),
            prop_oneof![any::<u8>(), interesting.clone()]
        )
            .prop_map(|(at, b)| Mutation::SetByte(at, b)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (
            any::<usize>(),
            prop::collection::vec(prop_oneof![any::<u8>(), interesting], 1..32)
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1usize..128).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len();
        let pos = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
        match m {
            Mutation::FlipBit(at, bit) if len > 0 => data[at % len] ^= 1 << bit,
            Mutation::SetByte(at, b) if len > 0 => data[at % len] = *b,
            Mutation::Delete(at, n) => {
                let start = pos(*at);
                data.drain(start..(start + n).min(len));
            }
            Mutation::Insert(at, bytes) => {
                let at = pos(*at);
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Duplicate(at, n) => {
                let start = pos(*at);
                let chunk = data[start..(start + n).min(len)].to_vec();
                data.splice(start..start, chunk);
            }
            Mutation::Truncate(at) => data.truncate(pos(*at)),
            _ => {}
        }
    }
    data
}

/// A mutated corpus seed, or (one time in five) unstructured bytes.
fn input(target: &str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(target);
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(mutation(), 0..8))
            .prop_map(|(seed, mutations)| apply(seed, &mutations)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

#[test]
fn every_callback_seed_parses() {
    for seed in corpus("callback_xml") {
        let xml = String::from_utf8(seed).unwrap();
        assert!(parse(&xml).is_ok(), "seed must be valid: {xml}");
    }
}

#[test]
fn every_openid_list_seed_reads() {
    for seed in corpus("openid_list") {
        let list = openid_list::parse(&seed).unwrap();
        assert!(list.openids.len() >= 2);
    }
}

proptest! {
    #![proptest_config(config())]

    /// The callback XML parser returns a typed error or a message; what it accepts can be
    /// keyed for deduplication and labelled.
    #[test]
    fn callback_xml(bytes in input("callback_xml")) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(message) = parse(&text) {
            prop_assert!(!message.dedupe_key(&text).is_empty());
            let _ = message.kind.label();
        }
    }

    /// The decryptor rejects tampered ciphertext with a typed error, never a panic; whatever it
    /// accepts is no longer than the ciphertext. Untampered ciphertext round-trips.
    #[test]
    fn aes_ciphertext(
        plaintext in input("callback_xml"),
        mutations in prop::collection::vec(mutation(), 0..6),
        mutate_text in any::<bool>(),
    ) {
        let crypto = MessageCrypto::new(KEY, APPID).unwrap();
        let encrypted = crypto.encrypt(&plaintext);
        prop_assert_eq!(crypto.decrypt(&encrypted).unwrap(), plaintext);
        let tampered = if mutate_text {
            // Mutate the base64 text itself (bad alphabet, bad length, whitespace).
            String::from_utf8_lossy(&apply(encrypted.into_bytes(), &mutations)).into_owned()
        } else {
            // Mutate the ciphertext bytes (valid base64, wrong blocks or padding).
            use base64::Engine;
            let engine = base64::engine::general_purpose::STANDARD;
            let raw = engine.decode(&encrypted).unwrap();
            engine.encode(apply(raw, &mutations))
        };
        if let Ok(opened) = crypto.decrypt(&tampered) {
            prop_assert!(opened.len() <= tampered.len());
        }
    }

    /// An uploaded openid list gives a typed error or a list of valid, distinct openids that
    /// accounts for every non-blank row.
    #[test]
    fn openid_list(bytes in input("openid_list")) {
        if let Ok(list) = openid_list::parse(&bytes) {
            let mut distinct = std::collections::HashSet::new();
            for openid in &list.openids {
                prop_assert!(openid_list::is_valid_openid(openid), "{openid:?}");
                prop_assert!(distinct.insert(openid.clone()), "duplicate {openid:?}");
            }
            // Lines end with LF, CRLF or a lone CR.
            let rows = bytes.split(|b| *b == b'\n').count()
                + bytes.windows(2).filter(|w| w[0] == b'\r' && w[1] != b'\n').count()
                + usize::from(bytes.last() == Some(&b'\r'));
            prop_assert!(list.openids.len() + list.duplicates + list.rejected <= rows);
            prop_assert!(list.rejected_rows.len() <= list.rejected.min(openid_list::MAX_LISTED_REJECTIONS));
        }
    }
}

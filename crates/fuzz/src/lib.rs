//! Fuzzing that runs on stable Rust and inside `cargo test`: a seeded,
//! bounded mutation loop. cargo-fuzz needs a nightly toolchain (libFuzzer's
//! coverage instrumentation), which CI does not have; this engine has no
//! coverage feedback, so it leans on structure instead: seeds that are
//! valid inputs, byte- and token-level mutations, splices between seeds and
//! a dictionary of values that break parsers (huge numbers, odd Unicode,
//! separators, deep nesting).
//!
//! A target is a closure that panics on a finding. `fuzz` first replays
//! every file in `regressions/<target>/` (inputs that once failed, kept so
//! the bug stays fixed), then runs the loop; on a panic it saves the input
//! there and fails, naming the file. The number of inputs comes from the
//! caller, times `TWOSTEP_FUZZ_SCALE` (default 1) for longer runs; the seed
//! is fixed unless `TWOSTEP_FUZZ_SEED` is set, so a CI failure replays.

pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// xorshift64*: small, fast, and the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Values that have broken parsers before, in text form.
pub const DICTIONARY: &[&str] = &[
    "",
    " ",
    "\0",
    "\n",
    "\r\n",
    "\t",
    "\"",
    "\\",
    "'",
    "%",
    "%00",
    "%zz",
    "%%",
    "+",
    "-",
    "=",
    "&",
    "?",
    "#",
    "/",
    ":",
    "@",
    "@@",
    "..",
    "\u{202e}",
    "\u{feff}",
    "\u{10ffff}",
    "\u{200b}",
    "é",
    "𝟘",
    "٣",
    "ﬀ",
    "İ",
    "ß",
    "０",
    "⁰",
    "-0",
    "0",
    "00",
    "+0",
    "1e309",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "4294967296",
    "NaN",
    "Infinity",
    "null",
    "true",
    "[]",
    "{}",
    "[[[[[[[[",
    "{\"a\":",
    "otpauth://totp/",
    "?secret=",
    "&issuer=",
    "+44",
    "+1",
    "+999",
    "+4479111234567890123",
    "00447911123456",
    "JBSWY3DPEHPK3PXP",
    "====",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "a@b",
    "@example.com",
    "a@-x.com",
    "a@[127.0.0.1]",
    "\u{0}\u{0}\u{0}\u{0}",
    "\u{89}PNG\r\n\u{1a}\n",
    "\u{ff}\u{d8}\u{ff}",
];

fn dictionary_bytes(rng: &mut Rng) -> Vec<u8> {
    let word = DICTIONARY[rng.below(DICTIONARY.len())];
    if rng.chance(8) { word.repeat(1 + rng.below(300)).into_bytes() } else { word.as_bytes().to_vec() }
}

/// One mutation of `input`, sometimes spliced with `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next_u64() as u8;
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let word = dictionary_bytes(rng);
                out.splice(at..at, word);
            }
            4 if !out.is_empty() => {
                // Replace a run with a dictionary value (a field, a token).
                let end = (at + 1 + rng.below(12)).min(out.len());
                let word = dictionary_bytes(rng);
                out.splice(at.min(end)..end, word);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let to = (from + 1 + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..to].iter().copied());
            }
            6 if !out.is_empty() => {
                // Duplicate a chunk (repeated fields, long values).
                let from = rng.below(out.len());
                let to = (from + 1 + rng.below(32)).min(out.len());
                let chunk: Vec<u8> = out[from..to].to_vec();
                for _ in 0..1 + rng.below(8) {
                    out.splice(at..at, chunk.iter().copied());
                }
            }
            7 => out.truncate(at),
            _ => {
                let n = rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(at..at, bytes);
            }
        }
    }
    // Inputs may grow a little past their seed (a multipart form with images
    // is larger than any JSON body), never without bound.
    out.truncate(input.len().max(64 * 1024) + 4096);
    out
}

fn regressions_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target)
}

fn scale() -> usize {
    std::env::var("TWOSTEP_FUZZ_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1)
}

fn seed() -> u64 {
    std::env::var("TWOSTEP_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x7770_5354_4550)
}

fn hex(bytes: &[u8]) -> String {
    // FNV-1a: a stable file name for an input.
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    format!("{h:016x}")
}

/// Replays the kept regressions, then runs `iterations` (× the scale)
/// mutated inputs through `check`; returns how many inputs ran.
pub fn fuzz(target: &str, seeds: &[&[u8]], iterations: usize, mut check: impl FnMut(&[u8])) -> usize {
    let dir = regressions_dir(target);
    let mut corpus: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    let mut ran = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let input = std::fs::read(&f).unwrap();
            if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
                panic!("{target}: the kept regression {} fails again", f.display());
            }
            corpus.push(input);
            ran += 1;
        }
    }
    for s in seeds {
        check(s);
        ran += 1;
    }
    let mut rng = Rng::new(
        seed() ^ hex(target.as_bytes()).len() as u64 ^ u64::from_str_radix(&hex(target.as_bytes()), 16).unwrap(),
    );
    for _ in 0..iterations * scale() {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, other);
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(hex(&input));
            std::fs::write(&path, &input).unwrap();
            panic!("{target}: finding saved as {} ({:?})", path.display(), String::from_utf8_lossy(&input));
        }
        ran += 1;
        // Inputs that are still well-formed make good parents.
        if rng.chance(16) && corpus.len() < 512 {
            corpus.push(input);
        }
    }
    println!("fuzz {target}: {ran} inputs");
    ran
}

/// The same inputs as text (lossy), for targets that take a `&str`.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// JSON-aware mutation: parse `seed`, replace one value somewhere with a
/// value of another type or a dictionary string, serialise.
pub fn mutate_json(rng: &mut Rng, seed: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut v = seed.clone();
    fn pick(rng: &mut Rng) -> Value {
        match rng.below(9) {
            0 => Value::Null,
            1 => json!(rng.chance(2)),
            2 => json!(rng.next_u64() as i64),
            3 => json!(f64::from_bits(rng.next_u64()).to_string()),
            4 => json!([DICTIONARY[rng.below(DICTIONARY.len())]]),
            5 => json!({"x": DICTIONARY[rng.below(DICTIONARY.len())]}),
            6 => json!("x".repeat(rng.below(70_000))),
            7 => {
                let mut nested = json!(1);
                for _ in 0..rng.below(200) {
                    nested = json!([nested]);
                }
                nested
            }
            _ => json!(DICTIONARY[rng.below(DICTIONARY.len())]),
        }
    }
    fn walk(rng: &mut Rng, v: &mut Value) {
        match v {
            Value::Object(map) if !map.is_empty() && !rng.chance(4) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                let key = &keys[rng.below(keys.len())];
                match rng.below(6) {
                    0 => {
                        map.remove(key);
                    }
                    1 => {
                        map.insert(format!("{key}{}", DICTIONARY[rng.below(DICTIONARY.len())]), pick(rng));
                    }
                    _ => walk(rng, map.get_mut(key).unwrap()),
                }
            }
            Value::Array(items) if !items.is_empty() && !rng.chance(4) => {
                let i = rng.below(items.len());
                walk(rng, &mut items[i]);
            }
            _ => *v = pick(rng),
        }
    }
    walk(rng, &mut v);
    v
}

//! Shared pieces of the property tests (test builds only): inputs made of a parser's own
//! syntax mixed with arbitrary text, which reach deeper than uniformly random bytes.

use proptest::prelude::*;

/// Strings of `fragments` (a parser's keywords and delimiters) and arbitrary text, joined.
pub fn soup(fragments: &'static [&'static str], pieces: usize) -> BoxedStrategy<String> {
    let piece = prop_oneof![
        3 => prop::sample::select(fragments).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[ -~]{0,12}",
    ];
    prop::collection::vec(piece, 0..pieces)
        .prop_map(|parts| parts.concat())
        .boxed()
}

/// Case counts that keep the suite fast; `PROPTEST_CASES=N` runs N instead (a deeper search).
pub fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

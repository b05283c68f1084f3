//! The plain printer round-trips: `parse_expr(&print(&e)) == e` for every parser-shaped term,
//! and printing is stable (printing the re-parsed term gives the same text).

#[path = "common/gen.rs"]
mod gen;

use deriv::render::plain::print;
use deriv::syntax::parse_expr;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn plain_round_trips(e in gen::expr()) {
        let text = print(&e);
        let back = parse_expr(&text).map_err(|d| TestCaseError::fail(format!("{text}\n{d}")))?;
        prop_assert_eq!(&back, &e, "printed as {}", text);
        prop_assert_eq!(print(&back), text);
    }
}

/// Terms the property once got wrong, or that sit on a boundary of the fewest-parentheses policy.
#[test]
fn tricky_terms_round_trip() {
    for src in include_str!("roundtrip/tricky.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let e = parse_expr(src).unwrap_or_else(|d| panic!("{src}\n{d}"));
        let text = print(&e);
        assert_eq!(parse_expr(&text).ok(), Some(e), "{src} printed as {text}");
    }
}

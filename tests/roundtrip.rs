//! The plain printer round-trips: `parse_expr(&print(&e)) == e` for every parser-shaped term,
//! printing is stable (printing the re-parsed term gives the same text), and it uses the
//! fewest parentheses: dropping any pair of grouping parentheses changes the term.

#[path = "common/gen.rs"]
mod gen;

#[path = "../src/seeded.rs"]
mod seeded;

use deriv::render::plain::print;
use deriv::syntax::parse_expr;
use proptest::prelude::*;

proptest! {
    #![proptest_config(seeded::config(3000))]

    #[test]
    fn plain_round_trips(e in gen::expr()) {
        let text = print(&e);
        let back = parse_expr(&text).map_err(|d| TestCaseError::fail(format!("{text}\n{d}")))?;
        prop_assert_eq!(&back, &e, "printed as {}", text);
        prop_assert_eq!(print(&back), text);
    }

    #[test]
    fn plain_uses_the_fewest_parentheses(e in gen::expr()) {
        let text = print(&e);
        for without in grouping_removed(&text) {
            prop_assert!(parse_expr(&without).ok() != Some(e.clone()), "{} could be {}", text, without);
        }
    }
}

/// `text` with each pair of grouping parentheses removed in turn; the brackets of calls,
/// sums, `delta` and `D` follow a name or a `}` and are not grouping.
fn grouping_removed(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (open, &b) in bytes.iter().enumerate() {
        let follows_name =
            open > 0 && (bytes[open - 1].is_ascii_alphanumeric() || bytes[open - 1] == b'}');
        if b != b'(' || follows_name {
            continue;
        }
        let mut depth = 0;
        let close = (open..bytes.len()).find(|&i| {
            depth += match bytes[i] {
                b'(' => 1,
                b')' => -1,
                _ => 0,
            };
            depth == 0
        });
        if let Some(close) = close {
            out.push(format!("{}{}{}", &text[..open], &text[open + 1..close], &text[close + 1..]));
        }
    }
    out
}

/// Terms on the boundaries of the fewest-parentheses policy.
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

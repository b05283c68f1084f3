//! Every math span of every Markdown writeup, and every math environment of every LaTeX
//! writeup, is accepted by KaTeX in strict mode. KaTeX has no `align*` or `gather*`, so
//! their bodies are checked as the `aligned` and `gathered` they are equivalent to.

#[path = "common/katex.rs"]
mod katex;
#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use deriv::render::WriteupFormat;
use writeups::{
    examples, matrix_examples, name, render, render_source, render_styled, scalar_document,
};

/// The `$…$` and `$$…$$` spans of Markdown, skipping backslash-escaped characters in text.
fn markdown_math(md: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = md;
    while let Some(i) = rest.find(['$', '\\']) {
        let (before, at) = rest.split_at(i);
        let _ = before;
        if at.starts_with('\\') {
            // An escaped character in text.
            rest = at.get(1 + at[1..].chars().next().map_or(0, char::len_utf8)..).unwrap_or("");
            continue;
        }
        let fence = if at.starts_with("$$") { "$$" } else { "$" };
        let body = &at[fence.len()..];
        let end = body.find(fence).unwrap_or_else(|| panic!("unclosed {fence} in:\n{at}"));
        spans.push(body[..end].to_string());
        rest = &body[end + fence.len()..];
    }
    spans
}

/// The math of a LaTeX document: `$…$`, `\[…\]` and the bodies of `align*` / `gather*`,
/// the latter two as `aligned` / `gathered`.
fn latex_math(tex: &str) -> Vec<String> {
    let body = tex.split("\\begin{document}").nth(1).expect("a document body");
    let mut spans = Vec::new();
    let mut rest = body;
    loop {
        let next = ["$", "\\[", "\\begin{align*}", "\\begin{gather*}", "\\"]
            .iter()
            .filter_map(|open| rest.find(open).map(|i| (i, *open)))
            .min_by_key(|(i, open)| (*i, std::cmp::Reverse(open.len())));
        let Some((i, open)) = next else { break };
        let after = &rest[i + open.len()..];
        let (close, env) = match open {
            "$" => ("$", None),
            "\\[" => ("\\]", None),
            "\\begin{align*}" => ("\\end{align*}", Some("aligned")),
            "\\begin{gather*}" => ("\\end{gather*}", Some("gathered")),
            _ => {
                // Any other command or escape in text: step over its first character.
                rest = after.get(after.chars().next().map_or(0, char::len_utf8)..).unwrap_or("");
                continue;
            }
        };
        let end = after.find(close).unwrap_or_else(|| panic!("unclosed {open}"));
        let inner = &after[..end];
        spans.push(match env {
            Some(e) => format!("\\begin{{{e}}}{inner}\\end{{{e}}}"),
            None => inner.to_string(),
        });
        rest = &after[end + close.len()..];
    }
    spans
}

fn check_all(what: &str, spans: &[String]) {
    assert!(!spans.is_empty(), "{what}: no math found");
    for s in spans {
        if let Err(e) = katex::katex_strict(s) {
            panic!("{what}: KaTeX (strict) rejects {s:?}: {e}");
        }
    }
}

#[test]
fn markdown_math_passes_katex_strict() {
    for path in examples().into_iter().chain(matrix_examples()) {
        for detail in [Detail::Brief, Detail::Full] {
            let md = render(&path, WriteupFormat::Markdown, detail);
            check_all(&format!("{} ({detail:?})", name(&path)), &markdown_math(&md));
        }
    }
}

#[test]
fn latex_math_passes_katex_strict() {
    for path in examples().into_iter().chain(matrix_examples()) {
        for detail in [Detail::Brief, Detail::Full] {
            let tex = render(&path, WriteupFormat::Latex, detail);
            let spans = latex_math(&tex);
            assert!(
                spans.iter().any(|s| s.starts_with("\\begin{aligned}")),
                "{}: no chain",
                name(&path)
            );
            check_all(&format!("{} ({detail:?})", name(&path)), &spans);
        }
    }
}

/// The other styles of `--vectors` (bold, the default, is checked above).
#[test]
fn every_vector_style_passes_katex_strict() {
    use deriv::render::matrix::Vectors;
    for path in matrix_examples() {
        for vectors in [Vectors::Arrow, Vectors::Plain] {
            let what = format!("{} ({vectors:?})", name(&path));
            let md = render_styled(&path, WriteupFormat::Markdown, vectors);
            check_all(&what, &markdown_math(&md));
            check_all(&what, &latex_math(&render_styled(&path, WriteupFormat::Latex, vectors)));
        }
    }
}

#[test]
fn scalar_derivatives_with_side_conditions_pass_katex_strict() {
    let src = scalar_document();
    for detail in [Detail::Brief, Detail::Full] {
        check_all(
            "scalar markdown",
            &markdown_math(&render_source(&src, WriteupFormat::Markdown, detail)),
        );
        check_all("scalar latex", &latex_math(&render_source(&src, WriteupFormat::Latex, detail)));
    }
}

/// Text with TeX's and Markdown's special characters stays text and keeps the math valid.
#[test]
fn special_characters_in_titles_stay_text() {
    let src = "title \"50% of $x & {y}_#1 ^~ \\\\ <b>\"\nderive x^2 wrt x\n";
    let md = render_source(src, WriteupFormat::Markdown, Detail::Brief);
    let spans = markdown_math(&md);
    assert!(spans.iter().all(|s| !s.contains("50%")), "the title leaked into math: {spans:?}");
    check_all("markdown", &spans);
    assert!(md.contains("&lt;b&gt;"), "{md}");
    let tex = render_source(src, WriteupFormat::Latex, Detail::Brief);
    check_all("latex", &latex_math(&tex));
}

/// The check can fail: KaTeX strict refuses broken and non-strict input.
#[test]
fn katex_strict_refuses_what_it_should() {
    katex::assert_katex_strict("\\boxed{\\frac{\\partial l}{\\partial z_j} = a_j - y_j}");
    assert!(katex::katex_strict("\\frac{1}{").is_err());
    assert!(
        katex::katex_strict("\\text{\u{e9}} \u{e9}").is_err(),
        "Unicode letters in math mode are not strict"
    );
}

#[test]
fn the_extractors_find_every_span() {
    let md = "a \\$ b $x$ and\n$$\ny\n$$\n";
    assert_eq!(markdown_math(md), vec!["x".to_string(), "\ny\n".to_string()]);
    let tex =
        "\\begin{document}\n50\\% \\$ $x$ \\[ y \\]\n\\begin{align*}\na &= b\n\\end{align*}\n";
    assert_eq!(
        latex_math(tex),
        vec![
            "x".to_string(),
            " y ".to_string(),
            "\\begin{aligned}\na &= b\n\\end{aligned}".to_string()
        ]
    );
}

//! Printers: plain expression syntax, LaTeX, and the derivation writeups built on them.
//!
//! A writeup is built once as a format-free model ([`writeup`]) from the checked report,
//! laid out in one order ([`layout`]), and set by each format: [`markdown`], [`latex_doc`],
//! [`html`] (with [`mathml`]) and [`text`] (with [`unicode`]).

pub mod latex;
pub mod plain;

pub mod caption;
pub mod grouping;
pub mod html;
pub mod latex_doc;
pub mod layout;
pub mod markdown;
pub mod mathml;
pub mod matrix;
pub mod shape;
pub mod texmath;
pub mod text;
pub mod unicode;
pub mod writeup;

/// `e` with each constant written as the name it prints as (π, `acos(-1)`, as `pi`), so the
/// printers set it as they set a symbol, and parse it back the same.
pub(crate) fn constants_as_names(e: &crate::expr::Expr) -> std::borrow::Cow<'_, crate::expr::Expr> {
    use crate::expr::Expr;
    fn rename(e: &Expr) -> Expr {
        if crate::functions::is_pi(e) {
            Expr::Sym("pi".into())
        } else {
            e.map_children(rename)
        }
    }
    if e.any(&mut crate::functions::is_pi) {
        std::borrow::Cow::Owned(rename(e))
    } else {
        std::borrow::Cow::Borrowed(e)
    }
}

/// The writeup formats of `deriv run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteupFormat {
    Markdown,
    Latex,
    Html,
    Text,
}

/// The writeup of a checked report in one format, vectors and matrices in bold.
pub fn writeup(
    report: &crate::report::Report,
    format: WriteupFormat,
    detail: writeup::Detail,
) -> String {
    writeup_with(report, format, detail, matrix::Vectors::default())
}

/// The writeup of a checked report in one format, vectors and matrices set as `vectors` says.
pub fn writeup_with(
    report: &crate::report::Report,
    format: WriteupFormat,
    detail: writeup::Detail,
    vectors: matrix::Vectors,
) -> String {
    set_writeup(&writeup::build(report, detail, vectors), format)
}

/// A writeup model in one format.
pub fn set_writeup(w: &writeup::Writeup, format: WriteupFormat) -> String {
    match format {
        WriteupFormat::Markdown => markdown::markdown(w),
        WriteupFormat::Latex => latex_doc::latex_document(w),
        WriteupFormat::Html => html::html(w),
        WriteupFormat::Text => text::text(w),
    }
}

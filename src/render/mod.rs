//! Printers: plain expression syntax, LaTeX, and the derivation writeups built on them.
//!
//! A writeup is built once as a format-free model ([`writeup`]) from the checked report,
//! laid out in one order ([`layout`]), and set by each format: [`markdown`], [`latex_doc`],
//! [`html`] (with [`mathml`]) and [`text`] (with [`unicode`]).

pub mod latex;
pub mod plain;

pub mod abbreviations;
pub mod caption;
pub mod decimals;
pub mod grouping;
pub mod html;
pub mod latex_doc;
pub mod layout;
pub mod markdown;
pub mod mathml;
pub mod matrix;
pub mod moves;
pub mod shape;
pub mod texbreak;
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

/// `e` as the writeups set it: constants as their names, and a sum whose index an
/// enclosing sum already binds given another name, so that `Σ_k (x_k - Σ_k x_k/n)²`
/// reads `Σ_k (x_k - Σ_m x_m/n)²` (the same term, up to bound names).
pub(crate) fn display_form(e: &crate::expr::Expr) -> std::borrow::Cow<'_, crate::expr::Expr> {
    // Where the input writes decimals, a quotient by a whole number reads as a decimal
    // factor (`0.2 x`, not `x/5`); the plain form keeps the quotient, which reads back
    // to the same term.
    let named = constants_as_names(e);
    let e = match decimals::quotients_as_decimals(&named) {
        std::borrow::Cow::Borrowed(_) => named,
        std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o),
    };
    if !shadows(&e, &mut Vec::new()) {
        return e;
    }
    // Index names, and the names of symbols so that no `Σ_m` sits beside a symbol `m`.
    let mut used = e.all_index_names();
    e.any(&mut |t| {
        if let Expr::Sym(n) | Expr::Idx(n, _) = t {
            used.insert(n.clone());
        }
        false
    });
    std::borrow::Cow::Owned(distinct(&e, &mut Vec::new(), &used))
}

use crate::expr::{Expr, Index, Sum};

/// Whether a sum inside `e` binds an index an enclosing one (in `binders`) binds, or
/// one the variable of an enclosing derivative has free (`∂/∂a_i Σ_i …`).
fn shadows(e: &Expr, binders: &mut Vec<String>) -> bool {
    if let Expr::D(f, x) = e {
        let depth = binders.len();
        binders.extend(x.free_indices());
        let inner = shadows(f, binders);
        binders.truncate(depth);
        return inner;
    }
    if let Expr::Sum(s) = e {
        if binders.contains(&s.index) {
            return true;
        }
        binders.push(s.index.clone());
        let inner = shadows(&s.body, binders);
        binders.pop();
        return inner;
    }
    e.children().any(|c| shadows(c, binders))
}

/// `e` with each shadowing sum's index renamed to a name nothing in the term uses and no
/// enclosing sum binds (sibling sums may share it).
fn distinct(
    e: &Expr,
    binders: &mut Vec<String>,
    used: &std::collections::BTreeSet<String>,
) -> Expr {
    if let Expr::D(f, x) = e {
        let depth = binders.len();
        binders.extend(x.free_indices());
        let f = distinct(f, binders, used);
        binders.truncate(depth);
        return Expr::d(f, (**x).clone());
    }
    let Expr::Sum(s) = e else {
        return e.map_children(|c| distinct(c, binders, used));
    };
    let (index, body) = if binders.contains(&s.index) {
        let avoid: std::collections::BTreeSet<String> =
            used.iter().chain(binders.iter()).cloned().collect();
        let fresh = crate::terms::reader_index(&s.index, &avoid);
        let body = s.body.subst_index(&s.index, &Index::Name(fresh.clone()));
        (fresh, body)
    } else {
        (s.index.clone(), (*s.body).clone())
    };
    binders.push(index.clone());
    let body = distinct(&body, binders, used);
    binders.pop();
    Expr::Sum(std::sync::Arc::new(Sum { index, body: std::sync::Arc::new(body), ..Sum::clone(s) }))
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
    decimals::with_style(w.numbers.as_ref(), || match format {
        WriteupFormat::Markdown => markdown::markdown(w),
        WriteupFormat::Latex => latex_doc::latex_document(w),
        WriteupFormat::Html => html::html(w),
        WriteupFormat::Text => text::text(w),
    })
}

//! The MathML printer: presentation MathML (MathML Core) for a term, mirroring the LaTeX
//! printer's shapes: `mfrac` for a quotient or a derivative, `msub`/`msup` for indices and
//! powers, `munderover` for a sum, brackets only where the LaTeX printer puts them.
//!
//! Every name is escaped, so the output can go straight into an HTML page.

use super::html::escape;
use super::shape::{exp_as_power, higher_partial, reads_negative, right_open};
use super::texbreak::{BREAK_INSIDE, BREAK_PRODUCT, BREAK_SUM};
use crate::expr::{Bound, Expr, Func, Index};
use crate::terms::ExprExt;
use crate::terms::RatExt;
use num_traits::Signed;

/// MathML for a term, as one element (to put inside `<math>`).
pub fn mathml(e: &Expr) -> String {
    super::texbreak::strip(&mathml_marked(e))
}

/// [`mathml`] with the places a long display may break marked, as the LaTeX printer marks
/// them (see [`super::texbreak`]); the HTML writeup cuts there ([`super::html`]).
pub fn mathml_marked(e: &Expr) -> String {
    let mut out = String::new();
    write(&super::display_form(e), Ctx::Top, &mut out);
    row(&out)
}

/// Elements grouped as one.
pub fn row(inner: &str) -> String {
    format!("<mrow>{inner}</mrow>")
}

pub fn mo(op: &str) -> String {
    format!("<mo>{}</mo>", escape(op))
}

/// Where a term stands, which decides whether it needs brackets (as in the LaTeX printer).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    AddTerm,
    Factor { first: bool, last: bool },
    Negated,
    Summand,
    Base,
}

fn needs_brackets(e: &Expr, ctx: Ctx) -> bool {
    let is_add = matches!(e, Expr::Add(_));
    match ctx {
        Ctx::Top => false,
        Ctx::AddTerm => is_add,
        // A nested product keeps its brackets: `(a b) c` is a different term from `a b c`.
        Ctx::Factor { first, last } => {
            is_add
                || matches!(e, Expr::Mul(_))
                || (!first && reads_negative(e))
                || (!last && right_open(e))
        }
        Ctx::Negated | Ctx::Summand => is_add || reads_negative(e),
        Ctx::Base => match e {
            Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _) => false,
            Expr::Num(r) => !super::decimals::whole(r) || r.is_negative(),
            Expr::Call(f, _) => matches!(f, Func::Exp | Func::Sqrt),
            _ => true,
        },
    }
}

fn bracket(e: &Expr, out: &mut String) {
    out.push_str(&bracketed(e, "", &mo(")")));
}

/// `(e` then `close` as one row, `after_open` (a break mark, or nothing) just inside the
/// opening bracket: `close` is the closing bracket, or that bracket raised to a power.
fn bracketed(e: &Expr, after_open: &str, close: &str) -> String {
    let mut inner = String::new();
    write(e, Ctx::Top, &mut inner);
    row(&format!("{}{after_open}{}{close}", mo("("), row(&inner)))
}

/// The closing bracket raised to `power`: a wide base's exponent, set where it ends.
fn raised_close(power: &str) -> String {
    format!("<msup>{}{power}</msup>", mo(")"))
}

/// One element for `e` in context `ctx`.
fn element(e: &Expr, ctx: Ctx) -> String {
    let mut s = String::new();
    write(e, ctx, &mut s);
    row(&s)
}

fn write(e: &Expr, ctx: Ctx, out: &mut String) {
    if needs_brackets(e, ctx) {
        bracket(e, out);
        return;
    }
    match e {
        Expr::Num(r) => write_number(r, out),
        Expr::Sym(s) => out.push_str(&name(s)),
        Expr::Idx(n, ix) => out.push_str(&indexed(n, ix)),
        Expr::Add(terms) => {
            for (i, t) in terms.iter().enumerate() {
                match t.unneg() {
                    Some(positive) if i > 0 => {
                        out.push(BREAK_SUM);
                        out.push_str(&mo("\u{2212}"));
                        if reads_negative(&positive) {
                            bracket(&positive, out);
                        } else {
                            write(&positive, Ctx::AddTerm, out);
                        }
                    }
                    _ => {
                        if i > 0 {
                            out.push(BREAK_SUM);
                            out.push_str(&mo("+"));
                        }
                        write(t, Ctx::AddTerm, out);
                    }
                }
            }
        }
        Expr::Mul(fs) => write_product(fs, out),
        Expr::Div(a, b) if wide(e) => {
            // Too wide to stand as a fraction on a page: `(a) / (b)`, which may wrap.
            let side = |t: &Expr, out: &mut String| {
                if t.is_variable() || t.as_num().is_some() {
                    write(t, Ctx::Top, out)
                } else {
                    bracket(t, out)
                }
            };
            side(a, out);
            out.push(BREAK_SUM);
            out.push_str(&mo("/"));
            side(b, out);
        }
        Expr::Div(a, b) => {
            let positive = a.unneg();
            if positive.is_some() {
                out.push_str(&mo("\u{2212}"));
            }
            let num = element(positive.as_ref().unwrap_or(a), Ctx::Top);
            out.push_str(&format!("<mfrac>{num}{}</mfrac>", element(b, Ctx::Top)));
        }
        Expr::Neg(x) => {
            out.push_str(&mo("\u{2212}"));
            write(x, Ctx::Negated, out);
        }
        Expr::Pow(b, x) if needs_brackets(b, Ctx::Base) && wide(b) => {
            // A wide bracketed base: the exponent on the closing bracket, so the base may wrap.
            out.push_str(&bracketed(b, "", &raised_close(&element(x, Ctx::Top))));
        }
        Expr::Pow(b, x)
            if wide(b)
                && matches!(&**b, Expr::Call(f, _) if !matches!(f, Func::Exp | Func::Sqrt | Func::Abs)) =>
        {
            // `f(u)^k` with a wide argument: the exponent on the closing bracket.
            let Expr::Call(f, a) = &**b else { return };
            out.push_str(&func_name(*f));
            out.push_str(&mo("\u{2061}"));
            let close = raised_close(&element(x, Ctx::Top));
            out.push_str(&bracketed(a, &BREAK_INSIDE.to_string(), &close));
        }
        Expr::Pow(b, x) => {
            out.push_str(&format!(
                "<msup>{}{}</msup>",
                element(b, Ctx::Base),
                element(x, Ctx::Top)
            ));
        }
        Expr::Call(Func::Exp, a) if exp_as_power(a) && !wide(a) => {
            out.push_str(&format!("<msup><mi>e</mi>{}</msup>", element(a, Ctx::Top)));
        }
        Expr::Call(Func::Sqrt, a) if wide(a) => {
            let half = row(&format!("<mn>1</mn>{}<mn>2</mn>", mo("/")));
            out.push_str(&bracketed(a, "", &raised_close(&half)));
        }
        Expr::Call(Func::Sqrt, a) => {
            out.push_str(&format!("<msqrt>{}</msqrt>", element(a, Ctx::Top)))
        }
        Expr::Call(Func::Abs, a) => {
            out.push_str(&format!("<mrow>{}{}{}</mrow>", mo("|"), element(a, Ctx::Top), mo("|")));
        }
        Expr::Call(f, a) => {
            out.push_str(&func_name(*f));
            out.push_str(&mo("\u{2061}"));
            out.push_str(&bracketed(a, &BREAK_INSIDE.to_string(), &mo(")")));
        }
        Expr::Delta(a, b) => {
            out.push_str(&format!(
                "<msub><mi>\u{3b4}</mi>{}</msub>",
                index_list(&[a.clone(), b.clone()])
            ));
        }
        Expr::Sum(s) => {
            let under = row(&format!("{}{}{}", name(&s.index), mo("="), bound(&s.lo)));
            out.push_str(&format!(
                "<munderover>{}{under}{}</munderover>",
                mo("\u{2211}"),
                bound(&s.hi)
            ));
            write(&s.body, Ctx::Summand, out);
        }
        Expr::D(..) if higher_partial(e).is_some() => {
            let Some((f, by)) = higher_partial(e) else { return };
            let order: usize = by.iter().map(|(_, k)| k).sum();
            let partial = mo("\u{2202}");
            let num = format!("<msup>{partial}<mn>{order}</mn></msup>{}", element(f, Ctx::Top));
            let mut den = String::new();
            for (x, k) in by {
                let x = element(x, Ctx::Top);
                den.push_str(&partial);
                den.push_str(&if k > 1 { format!("<msup>{x}<mn>{k}</mn></msup>") } else { x });
            }
            out.push_str(&format!("<mfrac>{}{}</mfrac>", row(&num), row(&den)));
        }
        Expr::D(f, x) => {
            let den = row(&format!("{}{}", mo("\u{2202}"), element(x, Ctx::Top)));
            if f.is_variable() {
                let num = row(&format!("{}{}", mo("\u{2202}"), element(f, Ctx::Top)));
                out.push_str(&format!("<mfrac>{num}{den}</mfrac>"));
            } else {
                out.push_str(&format!("<mfrac>{}{den}</mfrac>", mo("\u{2202}")));
                bracket(f, out);
            }
        }
    }
}

/// A number: `<mn>3</mn>`, `<mn>0.25</mn>` where the input writes decimals, else a
/// fraction. Kept out of [`write`], whose frame every level of a deep term pays for.
#[inline(never)]
fn write_number(r: &crate::expr::Rat, out: &mut String) {
    if r.is_negative() {
        out.push_str(&mo("\u{2212}"));
    }
    let (n, d) = (r.numer().abs(), r.denom());
    if r.is_integer() {
        out.push_str(&format!("<mn>{n}</mn>"));
    } else if let Some(digits) = super::decimals::decimal(r) {
        out.push_str(&format!("<mn>{digits}</mn>"));
    } else {
        out.push_str(&format!("<mfrac><mn>{n}</mn><mn>{d}</mn></mfrac>"));
    }
}

/// Whether a term is too wide to set unbroken inside a fraction, a root, an exponent or a
/// bracketed base on an HTML page (the LaTeX printer's width estimate, in points).
fn wide(e: &Expr) -> bool {
    const WIDE: f64 = 220.0;
    fn at_least(e: &Expr, n: &mut usize) -> bool {
        *n = n.saturating_sub(1);
        *n == 0 || e.children().any(|c| at_least(c, n))
    }
    at_least(e, &mut 8) && super::texbreak::width(&super::latex::latex(e)) > WIDE
}

/// Factors side by side (invisible times), with a `⋅` only where juxtaposition would misread.
fn write_product(fs: &[Expr], out: &mut String) {
    let n = fs.len();
    for (i, f) in fs.iter().enumerate() {
        if i > 0 {
            let dot = starts_with_number(f) || upright(&fs[i - 1]) || upright(f);
            out.push(BREAK_PRODUCT);
            out.push_str(&mo(if dot { "\u{22c5}" } else { "\u{2062}" }));
        }
        write(f, Ctx::Factor { first: i == 0, last: i + 1 == n }, out);
    }
}

/// Whether a factor is set starting with digits (`2`, `2^n`), which would run into the one before.
fn starts_with_number(e: &Expr) -> bool {
    match e {
        Expr::Num(_) => true,
        Expr::Pow(b, _) => matches!(&**b, Expr::Num(r) if r.is_integer() && !r.is_negative()),
        _ => false,
    }
}

/// Whether a factor is set upright as a word (`rate`), which needs a dot to read as a product.
fn upright(e: &Expr) -> bool {
    let word = |s: &str| s.chars().count() > 1 && greek(s).is_none();
    match e {
        Expr::Sym(s) => word(s.trim_end_matches(|c: char| c.is_ascii_digit())),
        Expr::Idx(s, _) => word(s),
        Expr::Pow(b, _) => upright(b),
        _ => false,
    }
}

fn func_name(f: Func) -> String {
    format!("<mi>{}</mi>", crate::functions::spec(f).mathml)
}

/// Greek letter names, as in the LaTeX printer; `delta` is reserved for the Kronecker delta.
const GREEK: [(&str, char); 39] = [
    ("alpha", 'α'),
    ("beta", 'β'),
    ("gamma", 'γ'),
    ("epsilon", 'ϵ'),
    ("varepsilon", 'ε'),
    ("zeta", 'ζ'),
    ("eta", 'η'),
    ("theta", 'θ'),
    ("vartheta", 'ϑ'),
    ("iota", 'ι'),
    ("kappa", 'κ'),
    ("lambda", 'λ'),
    ("mu", 'μ'),
    ("nu", 'ν'),
    ("xi", 'ξ'),
    ("pi", 'π'),
    ("varpi", 'ϖ'),
    ("rho", 'ρ'),
    ("varrho", 'ϱ'),
    ("sigma", 'σ'),
    ("varsigma", 'ς'),
    ("tau", 'τ'),
    ("upsilon", 'υ'),
    ("phi", 'ϕ'),
    ("varphi", 'φ'),
    ("chi", 'χ'),
    ("psi", 'ψ'),
    ("omega", 'ω'),
    ("Gamma", 'Γ'),
    ("Delta", 'Δ'),
    ("Theta", 'Θ'),
    ("Lambda", 'Λ'),
    ("Xi", 'Ξ'),
    ("Pi", 'Π'),
    ("Sigma", 'Σ'),
    ("Upsilon", 'Υ'),
    ("Phi", 'Φ'),
    ("Psi", 'Ψ'),
    ("Omega", 'Ω'),
];

/// The Greek letter a name stands for, if any.
pub fn greek(name: &str) -> Option<char> {
    GREEK.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// A name with no subscript of its own: a letter, a Greek letter, or an upright word.
fn plain_name(s: &str) -> String {
    match greek(s) {
        Some(g) => format!("<mi>{g}</mi>"),
        None => format!("<mi>{}</mi>", escape(s)),
    }
}

/// `x`, `α`, `x₁` (as a subscript), `rate`: a symbol's or index's name.
pub fn name(s: &str) -> String {
    let letters = s.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &s[letters.len()..];
    if letters.is_empty() || digits.is_empty() {
        plain_name(s)
    } else {
        format!("<msub>{}<mn>{digits}</mn></msub>", plain_name(letters))
    }
}

fn index(i: &Index) -> String {
    match i {
        Index::Name(n) => name(n),
        Index::Int(k) => format!("<mn>{k}</mn>"),
    }
}

fn bound(b: &Bound) -> String {
    match b {
        Bound::Int(k) => format!("<mn>{k}</mn>"),
        Bound::Sym(s, 0) => name(s),
        Bound::Sym(s, k) => format!(
            "<mrow>{}<mo>{}</mo><mn>{}</mn></mrow>",
            name(s),
            if *k < 0 { "\u{2212}" } else { "+" },
            k.unsigned_abs()
        ),
    }
}

/// `ij` when every index is one character, else separated by commas.
fn index_list(ix: &[Index]) -> String {
    let long = ix.iter().any(|i| i.to_string().chars().count() > 1);
    let parts: Vec<String> = ix.iter().map(index).collect();
    row(&parts.join(if long { "<mo>,</mo>" } else { "" }))
}

/// `z_i`, `W_{ij}`.
fn indexed(n: &str, ix: &[Index]) -> String {
    format!("<msub>{}{}</msub>", plain_name(n), index_list(ix))
}

#[cfg(test)]
mod tests {
    use super::mathml;
    use crate::syntax::parse_expr;

    fn ml(src: &str) -> String {
        mathml(&parse_expr(src).expect("parses"))
    }

    #[test]
    fn quotients_sums_and_indices_have_their_shapes() {
        let m = ml("exp(z_i)/sum_k(exp(z_k))");
        assert!(m.starts_with("<mrow><mfrac>"), "{m}");
        assert!(m.contains("<munderover><mo>\u{2211}</mo>"), "{m}");
        assert!(
            m.contains("<msup><mi>e</mi><mrow><msub><mi>z</mi><mrow><mi>i</mi></mrow></msub></mrow></msup>"),
            "{m}"
        );
        assert!(ml("delta(i,j)")
            .contains("<msub><mi>\u{3b4}</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub>"));
    }

    #[test]
    fn brackets_follow_the_latex_printer() {
        // A sum inside a product keeps its brackets; a product's factors do not need any.
        assert!(ml("a_i*(delta(i,j) - a_j)").contains("<mo>(</mo>"));
        assert!(!ml("a_i*a_j").contains("<mo>(</mo>"));
        assert!(ml("(x + 1)^2").starts_with("<mrow><msup><mrow><mrow><mo>(</mo>"));
    }

    #[test]
    fn greek_names_are_greek_letters() {
        assert!(ml("alpha*x").contains("<mi>\u{3b1}</mi>"));
        assert!(ml("sigmoid(x)").contains("<mi>\u{3c3}</mi>"));
    }
}

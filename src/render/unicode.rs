//! The Unicode printer: a term on one line for a terminal, with `∂`, `Σ`, `δ`, `·`, Greek
//! letters and superscript powers (`∂a_i/∂z_j`, `Σ_k exp(z_k)`, `a_i·(δ_ij - a_j)`, `x²`).
//! Brackets make every quotient and product read one way without precedence rules.

use super::mathml::greek;
use super::shape::{higher_partial, reads_negative};
use crate::expr::{Expr, Index};
use crate::terms::ExprExt;
use crate::terms::RatExt;

/// A term in Unicode.
pub fn unicode(e: &Expr) -> String {
    let mut out = String::new();
    write(&super::display_form(e), Ctx::Top, &mut out);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    AddTerm,
    Factor { first: bool, last: bool },
    Negated,
    Summand,
    Numerator,
    Denominator,
    Base,
}

/// Whether a term reads as a quotient at its root (`a/b`, `∂f/∂x`).
fn slashed(e: &Expr) -> bool {
    matches!(e, Expr::Div(_, _) | Expr::D(_, _))
        || matches!(e, Expr::Num(r) if !super::decimals::whole(r))
}

/// Whether a term ends in an unbracketed `Σ`, which would take in whatever follows.
fn right_open(e: &Expr) -> bool {
    let open_in = |x: &Expr, ctx: Ctx| !needs_parens(x, ctx) && right_open(x);
    match e {
        Expr::Sum(_) => true,
        Expr::Neg(x) => open_in(x, Ctx::Negated),
        Expr::Add(xs) => xs.last().is_some_and(|x| open_in(x, Ctx::AddTerm)),
        Expr::Mul(fs) => {
            fs.last().is_some_and(|x| open_in(x, Ctx::Factor { first: fs.len() == 1, last: true }))
        }
        // A denominator is bracketed unless it is atomic or a power.
        _ => false,
    }
}

fn atomic(e: &Expr) -> bool {
    match e {
        Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _) | Expr::Call(_, _) => true,
        Expr::Num(r) => super::decimals::whole(r) && !r.is_negative(),
        _ => false,
    }
}

fn needs_parens(e: &Expr, ctx: Ctx) -> bool {
    let is_add = matches!(e, Expr::Add(_));
    match ctx {
        Ctx::Top => false,
        Ctx::AddTerm => is_add,
        Ctx::Factor { first, last } => {
            is_add
                || matches!(e, Expr::Mul(_))
                || slashed(e)
                || (!first && reads_negative(e))
                || (!last && right_open(e))
        }
        Ctx::Negated | Ctx::Summand => is_add || reads_negative(e),
        Ctx::Numerator => is_add || slashed(e) || right_open(e),
        Ctx::Denominator => !atomic(e) && !matches!(e, Expr::Pow(_, _)),
        Ctx::Base => !atomic(e),
    }
}

fn write(e: &Expr, ctx: Ctx, out: &mut String) {
    if needs_parens(e, ctx) {
        out.push('(');
        write(e, Ctx::Top, out);
        out.push(')');
        return;
    }
    match e {
        Expr::Num(r) => super::plain::write_rat(r, out),
        Expr::Sym(s) => out.push_str(&name(s)),
        Expr::Idx(n, ix) => {
            out.push_str(&name(n));
            out.push('_');
            out.push_str(&indices(ix));
        }
        Expr::Add(terms) => {
            for (i, t) in terms.iter().enumerate() {
                match t.unneg() {
                    Some(positive) if i > 0 => {
                        out.push_str(" - ");
                        let ctx =
                            if reads_negative(&positive) { Ctx::Negated } else { Ctx::AddTerm };
                        write(&positive, ctx, out);
                    }
                    _ => {
                        if i > 0 {
                            out.push_str(" + ");
                        }
                        write(t, Ctx::AddTerm, out);
                    }
                }
            }
        }
        Expr::Mul(fs) => {
            let n = fs.len();
            for (i, f) in fs.iter().enumerate() {
                if i > 0 {
                    out.push('·');
                }
                write(f, Ctx::Factor { first: i == 0, last: i + 1 == n }, out);
            }
        }
        Expr::Div(a, b) => {
            write(a, Ctx::Numerator, out);
            out.push('/');
            write(b, Ctx::Denominator, out);
        }
        Expr::Neg(x) => {
            out.push('-');
            write(x, Ctx::Negated, out);
        }
        Expr::Pow(b, x) => {
            write(b, Ctx::Base, out);
            match superscript(x) {
                Some(s) => out.push_str(&s),
                None => {
                    out.push('^');
                    let ctx = if atomic(x) { Ctx::Top } else { Ctx::Base };
                    write(x, ctx, out);
                }
            }
        }
        Expr::Call(crate::expr::Func::Abs, a) => {
            out.push('|');
            write(a, Ctx::Top, out);
            out.push('|');
        }
        Expr::Call(f, a) => {
            out.push_str(crate::functions::spec(*f).unicode);
            out.push('(');
            write(a, Ctx::Top, out);
            out.push(')');
        }
        Expr::Delta(a, b) => {
            out.push_str("δ_");
            out.push_str(&indices(&[a.clone(), b.clone()]));
        }
        Expr::Sum(s) => {
            if s.explicit_bounds {
                out.push_str(&format!("Σ_{{{}={}..{}}} ", name(&s.index), s.lo, s.hi));
            } else {
                out.push_str(&format!("Σ_{} ", name(&s.index)));
            }
            write(&s.body, Ctx::Summand, out);
        }
        Expr::D(..) if higher_partial(e).is_some() => {
            let Some((f, by)) = higher_partial(e) else { return };
            let order: usize = by.iter().map(|(_, k)| k).sum();
            out.push('∂');
            out.push_str(&superscript_digits(order));
            write(f, Ctx::Top, out);
            out.push('/');
            for (x, k) in by {
                out.push('∂');
                write(x, Ctx::Top, out);
                if k > 1 {
                    out.push_str(&superscript_digits(k));
                }
            }
        }
        Expr::D(f, x) => {
            if f.is_variable() {
                out.push('∂');
                write(f, Ctx::Top, out);
                out.push_str("/∂");
                write(x, Ctx::Top, out);
            } else {
                out.push_str("∂/∂");
                write(x, Ctx::Top, out);
                out.push('(');
                write(f, Ctx::Top, out);
                out.push(')');
            }
        }
    }
}

/// `²` for the power 2: non-negative integer exponents as superscript digits.
fn superscript(x: &Expr) -> Option<String> {
    let r = x.as_num().filter(|r| r.is_integer() && !r.is_negative())?;
    Some(superscript_digits(r.numer()))
}

/// `²³` for 23.
fn superscript_digits(n: impl ToString) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string().chars().filter_map(|c| c.to_digit(10).map(|d| DIGITS[d as usize])).collect()
}

/// A name, in Greek where it names a Greek letter.
pub fn name(s: &str) -> String {
    match greek(s) {
        Some(g) => g.to_string(),
        None => s.to_string(),
    }
}

/// `ij` when every index is one character, else `{i,k1}`.
fn indices(ix: &[Index]) -> String {
    let parts: Vec<String> = ix.iter().map(|i| name(&i.to_string())).collect();
    if parts.iter().all(|p| p.chars().count() == 1) {
        parts.concat()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::unicode;
    use crate::syntax::parse_expr;

    fn u(src: &str) -> String {
        unicode(&parse_expr(src).expect("parses"))
    }

    #[test]
    fn terms_read_as_a_person_writes_them() {
        assert_eq!(u("exp(z_i)/sum_k(exp(z_k))"), "exp(z_i)/(Σ_k exp(z_k))");
        assert_eq!(u("a_i*(delta(i,j) - a_j)"), "a_i·(δ_ij - a_j)");
        assert_eq!(u("D(D(l, z_i), z_j)"), "∂²l/∂z_j∂z_i");
        assert_eq!(u("D(D(D(f, x), x), y)"), "∂³f/∂y∂x²");
        assert_eq!(u("D(D(x^2, x), x)"), "∂/∂x(∂/∂x(x²))");
        assert_eq!(u("-sum_i(y_i*log(a_i))"), "-Σ_i y_i·log(a_i)");
        assert_eq!(u("(1 - tanh(x)^2)*W_{i,j}"), "(1 - tanh(x)²)·W_ij");
        assert_eq!(u("D(a_i, z_j)"), "∂a_i/∂z_j");
        assert_eq!(u("x^(n - 1)/sigmoid(alpha)"), "x^(n - 1)/σ(α)");
    }
}

//! Terms in Coq syntax (`R_scope`, the prelude's names): one printer, so a function printed
//! in a theorem and in a proof step is the same Coq term up to beta and `Rminus`/`Rdiv`.

use crate::expr::{Expr, Func, Index};
use crate::terms::RatExt;

/// Coq's names the export must not shadow with a variable.
const RESERVED: &[&str] = &[
    "R",
    "exp",
    "ln",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "softplus",
    "pow",
    "Rpower",
    "sum_n",
    "delta",
    "PI",
    "IZR",
    "INR",
    "is_derive",
    "fun",
    "forall",
    "t",
    "Type",
    "Prop",
    "Set",
    "as",
    "in",
    "if",
    "then",
    "else",
    "let",
    "match",
    "end",
    "with",
    "nat",
    "S",
    "O",
];

/// A deriv name as a Coq identifier.
pub fn ident(name: &str) -> String {
    if RESERVED.contains(&name) || name.starts_with("Hd") || name.starts_with("Hc") {
        format!("{name}'")
    } else {
        name.to_string()
    }
}

/// The term in Coq syntax.
pub fn coq(e: &Expr) -> String {
    at(e, 200)
}

/// Coq's levels: application 10, `^` 30, unary `-` 35, `*` `/` 40, `+` `-` 50.
fn level(e: &Expr) -> u32 {
    match e {
        Expr::Num(r) if r.is_negative() => 35,
        Expr::Num(r) if !r.is_integer() => 40,
        Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..) => 0,
        Expr::Call(..) | Expr::D(..) | Expr::Sum(_) => 10,
        Expr::Pow(_, n) => match nat_exponent(n) {
            Some(_) => 30,
            None if negative_integer(n).is_some() => 35,
            None => 10,
        },
        Expr::Neg(_) => 35,
        Expr::Mul(_) | Expr::Div(..) => 40,
        Expr::Add(_) => 50,
    }
}

fn at(e: &Expr, max: u32) -> String {
    let s = bare(e);
    if level(e) > max {
        format!("({s})")
    } else {
        s
    }
}

/// A constant exponent that is a natural number, evaluated (`3 - 1` is 2).
pub fn nat_exponent(n: &Expr) -> Option<u64> {
    let v = constant(n)?;
    if v.fract() == 0.0 && (0.0..1e6).contains(&v) {
        Some(v as u64)
    } else {
        None
    }
}

fn negative_integer(n: &Expr) -> Option<u64> {
    let v = constant(n)?;
    if v.fract() == 0.0 && (-1e6..0.0).contains(&v) {
        Some((-v) as u64)
    } else {
        None
    }
}

/// The value of a small closed integer expression (exponents such as `3 - 1`).
fn constant(e: &Expr) -> Option<f64> {
    match e {
        Expr::Num(r) => {
            if r.is_integer() {
                r.as_i64().map(|v| v as f64)
            } else {
                Some(0.5) // not an integer: never a natural exponent
            }
        }
        Expr::Neg(a) => constant(a).map(|v| -v),
        Expr::Add(ts) => ts.iter().map(constant).sum(),
        Expr::Mul(ts) => ts.iter().map(constant).product(),
        _ => None,
    }
}

fn bare(e: &Expr) -> String {
    match e {
        Expr::Num(r) => {
            let (n, d) = (r.numer(), r.denom());
            let sign = if r.is_negative() { "- " } else { "" };
            let n = if r.is_negative() { -n } else { n };
            if r.is_integer() {
                format!("{sign}{n}")
            } else {
                format!("{sign}{n} / {d}")
            }
        }
        Expr::Sym(s) => ident(s),
        Expr::Idx(name, ix) => {
            let args: Vec<String> = ix.iter().map(index).collect();
            format!("{} {}", ident(name), args.join(" "))
        }
        Expr::Delta(i, j) => format!("delta {} {}", index(i), index(j)),
        Expr::Add(ts) => {
            let mut out = at(&ts[0], 50);
            for t in &ts[1..] {
                match t {
                    Expr::Neg(w) => out.push_str(&format!(" - {}", at(w, 40))),
                    Expr::Num(r) if r.is_negative() => {
                        out.push_str(&format!(" - {}", at(&Expr::Num(-r.clone()), 40)))
                    }
                    _ => out.push_str(&format!(" + {}", at(t, 40))),
                }
            }
            out
        }
        Expr::Mul(ts) => {
            let mut out = at(&ts[0], 40);
            for t in &ts[1..] {
                out.push_str(&format!(" * {}", at(t, 35)));
            }
            out
        }
        Expr::Div(a, b) => format!("{} / {}", at(a, 40), at(b, 35)),
        Expr::Neg(a) => format!("- {}", at(a, 35)),
        Expr::Pow(b, n) => match (nat_exponent(n), negative_integer(n)) {
            (Some(k), _) => format!("{} ^ {k}", at(b, 29)),
            (_, Some(k)) => format!("/ {} ^ {k}", at(b, 29)),
            _ => format!("Rpower {} {}", at(b, 0), at(n, 0)),
        },
        _ if crate::functions::is_pi(e) => "PI".into(),
        Expr::Call(f, a) => {
            let name = match f {
                Func::Log => "ln",
                f => f.name(),
            };
            format!("{name} {}", at(a, 0))
        }
        Expr::Sum(s) => format!("sum {} {}", s.index, at(&s.body, 0)),
        Expr::D(f, x) => format!("Derive (fun {} => {}) {}", coq(x), coq(f), coq(x)),
    }
}

fn index(i: &Index) -> String {
    match i {
        Index::Name(n) => ident(n),
        Index::Int(k) => format!("{k}%nat"),
    }
}

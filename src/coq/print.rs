//! Terms in Coq syntax (`R_scope`, the prelude's names): one printer, so a function printed
//! in a theorem and in a proof step is the same Coq term up to beta and `Rminus`/`Rdiv`.

use crate::expr::{Bound, Expr, Func, Index};
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
    "sum",
    "sum_to",
    "upd",
    "upd2",
    "Derive",
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
    if RESERVED.contains(&name) || ["Hd", "Hc", "Hr", "Hp"].iter().any(|h| name.starts_with(h)) {
        format!("{name}'")
    } else {
        name.to_string()
    }
}

/// The term in Coq syntax, with no definitions or sizes in scope (scalar goals).
pub fn coq(e: &Expr) -> String {
    Printer::default().print(e)
}

/// What the names of a goal with a context stand for in Coq.
#[derive(Default, Debug, Clone)]
pub struct Names {
    /// Each definition's parameters: the base symbols it reaches (sorted), passed in order.
    pub params: std::collections::BTreeMap<String, Vec<String>>,
    /// Symbols that bound a range: natural numbers, written `INR n` where a real is meant.
    pub sizes: std::collections::BTreeSet<String>,
}

/// Prints terms in Coq syntax. Inside the function a goal differentiates, the indexed
/// variable `z` (with respect to `z_j`) is read at `upd z j t`.
#[derive(Default, Clone, Copy)]
pub struct Printer<'a> {
    pub names: Option<&'a Names>,
    /// `(z, j)`: print `z_m` as `upd z j t m` and pass `(upd z j t)` for `z` to definitions;
    /// `(W, p q)` for an entry of a matrix: `upd2 W p q t`.
    pub updated: Option<(&'a str, &'a str)>,
}

impl Printer<'_> {
    pub fn print(&self, e: &Expr) -> String {
        self.at(e, 200)
    }

    fn at(&self, e: &Expr, max: u32) -> String {
        let s = self.bare(e);
        // A symbol printed with arguments (`INR n`, `a n z`) is an application.
        let applied = matches!(e, Expr::Sym(_)) && s.contains(' ');
        if level(e) > max || (applied && max < 10) {
            format!("({s})")
        } else {
            s
        }
    }

    /// The vector (or matrix) a derivative updates an entry of: a variable `z`, or a
    /// defined name held as a variable, at its definition's value (`(a n z)`).
    pub fn vector(&self, z: &str) -> String {
        match self.names.and_then(|n| n.params.get(z)).filter(|p| !p.is_empty()) {
            Some(params) => {
                let args: Vec<String> = params.iter().map(|p| ident(p)).collect();
                format!("({} {})", ident(z), args.join(" "))
            }
            None => ident(z),
        }
    }

    /// A symbol passed as a definition's argument.
    fn argument(&self, name: &str) -> String {
        match self.updated {
            Some((z, j)) if z == name => format!("({} {} {j} t)", upd(j), self.vector(z)),
            _ => ident(name),
        }
    }
}

/// Coq's levels: application 10, `^` 30, unary `-` 35, `*` `/` 40, `+` `-` 50.
fn level(e: &Expr) -> u32 {
    match e {
        Expr::Num(r) if r.is_negative() => 35,
        Expr::Num(r) if !r.is_integer() => 40,
        Expr::Num(_) | Expr::Sym(_) => 0,
        Expr::Idx(..) | Expr::Delta(..) | Expr::Call(..) | Expr::D(..) | Expr::Sum(_) => 10,
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

impl Printer<'_> {
    fn bare(&self, e: &Expr) -> String {
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
            Expr::Sym(s) if self.names.is_some_and(|n| n.sizes.contains(s)) => {
                format!("INR {}", ident(s))
            }
            Expr::Sym(s) | Expr::Idx(s, _) => {
                let mut words = match self.updated {
                    Some((z, j)) if z == s => vec![format!("{} {} {j} t", upd(j), self.vector(z))],
                    _ => {
                        let mut words = vec![ident(s)];
                        if let Some(params) = self.names.and_then(|n| n.params.get(s)) {
                            words.extend(params.iter().map(|p| self.argument(p)));
                        }
                        words
                    }
                };
                if let Expr::Idx(_, ix) = e {
                    words.extend(ix.iter().map(index));
                }
                words.join(" ")
            }
            Expr::Delta(i, j) => format!("delta {} {}", index(i), index(j)),
            Expr::Add(ts) => {
                let mut out = self.at(&ts[0], 50);
                for t in &ts[1..] {
                    match t {
                        Expr::Neg(w) => out.push_str(&format!(" - {}", self.at(w, 40))),
                        Expr::Num(r) if r.is_negative() => {
                            out.push_str(&format!(" - {}", self.at(&Expr::Num(-r.clone()), 40)))
                        }
                        _ => out.push_str(&format!(" + {}", self.at(t, 40))),
                    }
                }
                out
            }
            Expr::Mul(ts) => {
                let mut out = self.at(&ts[0], 40);
                for t in &ts[1..] {
                    out.push_str(&format!(" * {}", self.at(t, 35)));
                }
                out
            }
            Expr::Div(a, b) => format!("{} / {}", self.at(a, 40), self.at(b, 35)),
            Expr::Neg(a) => format!("- {}", self.at(a, 35)),
            Expr::Pow(b, n) => match (nat_exponent(n), negative_integer(n)) {
                (Some(k), _) => format!("{} ^ {k}", self.at(b, 29)),
                (_, Some(k)) => format!("/ {} ^ {k}", self.at(b, 29)),
                _ => format!("Rpower {} {}", self.at(b, 0), self.at(n, 0)),
            },
            _ if crate::functions::is_pi(e) => "PI".into(),
            Expr::Call(f, a) => {
                let name = match f {
                    Func::Log => "ln",
                    f => f.name(),
                };
                format!("{name} {}", self.at(a, 0))
            }
            Expr::Sum(s) => format!(
                "sum {} {} (fun {} => {})",
                bound(&s.lo),
                bound(&s.hi),
                ident(&s.index),
                self.print(&s.body)
            ),
            Expr::D(f, x) => format!("Derive (fun {} => {}) {}", coq(x), self.print(f), coq(x)),
        }
    }
}

/// The prelude's update of a vector (`upd`) or of a matrix (`upd2`) at printed indices.
pub fn upd(indices: &str) -> &'static str {
    if indices.contains(' ') {
        "upd2"
    } else {
        "upd"
    }
}

pub fn index(i: &Index) -> String {
    match i {
        Index::Name(n) => ident(n),
        Index::Int(k) => format!("{k}%nat"),
    }
}

/// A range bound as a natural number: `1%nat`, `n`, `(n - 1)%nat`.
pub fn bound(b: &Bound) -> String {
    match b {
        Bound::Int(k) => format!("{k}%nat"),
        Bound::Sym(n, 0) => ident(n),
        Bound::Sym(n, k) if *k > 0 => format!("({} + {k})%nat", ident(n)),
        Bound::Sym(n, k) => format!("({} - {})%nat", ident(n), k.unsigned_abs()),
    }
}

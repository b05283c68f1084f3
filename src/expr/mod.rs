//! The core term type: exact numbers, symbols, indexed symbols, sums, deltas, calls and `D(f, x)`.
//!
//! Terms keep the shape the user wrote (`x - t` stays `x - t`); commutativity and
//! associativity are the ring normaliser's business, not the term type's.
//! Equality, ordering and hashing identify sums that differ only in the name
//! of their bound index (see `order.rs`).

mod build;
mod context;
mod order;
mod rat;
mod subst;

pub use context::{Assumption, Context, Definition, IndexDecl};
pub use rat::Rat;
pub use subst::fresh_index;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::slice::from_ref;
use std::sync::Arc;

/// The shared parts a walk has gone into (see [`Expr::enter`]).
pub type Seen = BTreeSet<*const ()>;

/// Deepest expression nesting accepted anywhere; keeps recursion bounded.
pub const MAX_DEPTH: usize = 1200;

/// An index: a name (`i`) or a concrete integer (`1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    Name(String),
    Int(i64),
}

/// One end of a summation range: an integer, or a size symbol plus a whole offset
/// (`n` is `Sym("n", 0)`, `n-1` is `Sym("n", -1)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bound {
    Int(i64),
    Sym(String, i64),
}

/// Declares the elementary functions from one list, `Variant "name",`: the enum, `ALL`,
/// the names and `from_name`. Each takes one argument (`Expr::Call`). Everything else a
/// function has (its rule, sign facts, numerics and notation) is keyed by `Func` elsewhere,
/// mostly in `src/functions.rs`.
macro_rules! functions {
    ($($f:ident $name:literal,)*) => {
        /// The elementary functions of the language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Func { $($f),* }
        impl Func {
            pub const ALL: [Func; [$($name),*].len()] = [$(Func::$f),*];
            pub fn name(self) -> &'static str {
                match self { $(Func::$f => $name),* }
            }
            pub fn from_name(name: &str) -> Option<Func> {
                Func::ALL.into_iter().find(|f| f.name() == name)
            }
        }
    };
}

functions! {
    Exp "exp",
    Log "log",
    Sqrt "sqrt",
    Sin "sin",
    Cos "cos",
    Tan "tan",
    Tanh "tanh",
    Sigmoid "sigmoid",
    Softplus "softplus",
    Atan "atan",
    Asin "asin",
    Acos "acos",
    Sinh "sinh",
    Cosh "cosh",
    Asinh "asinh",
    Abs "abs",
    Relu "relu",
    Step "step",
    Erf "erf",
}

impl Bound {
    /// The size symbol this bound counts from, if any.
    pub fn size(&self) -> Option<&str> {
        match self {
            Bound::Sym(n, _) => Some(n),
            Bound::Int(_) => None,
        }
    }

    /// The bound's value as a term: `3`, `n` or `n + -1`.
    pub fn term(&self) -> Expr {
        match self {
            Bound::Int(i) => Expr::int(*i),
            Bound::Sym(n, 0) => Expr::Sym(n.clone()),
            Bound::Sym(n, k) => Expr::Add(vec![Expr::Sym(n.clone()), Expr::int(*k)].into()),
        }
    }

    /// The bound plus `k`; `None` on overflow.
    pub fn shifted(&self, k: i64) -> Option<Bound> {
        Some(match self {
            Bound::Int(i) => Bound::Int(i.checked_add(k)?),
            Bound::Sym(n, c) => Bound::Sym(n.clone(), c.checked_add(k)?),
        })
    }
}

/// A summation: `sum_{index=lo}^{hi}(body)`.
#[derive(Clone, Debug)]
pub struct Sum {
    pub index: String,
    pub lo: Bound,
    pub hi: Bound,
    /// Whether the bounds were written out; only affects printing.
    pub explicit_bounds: bool,
    pub body: Arc<Expr>,
}

impl Sum {
    /// `sum_{index=lo}^{hi}(body)`; printers show the bounds of any range but the usual `1..n`.
    pub fn over(index: String, lo: Bound, hi: Bound, body: Expr) -> Expr {
        let explicit_bounds = lo != Bound::Int(1) || !matches!(hi, Bound::Sym(_, 0));
        Sum::written(index, lo, hi, explicit_bounds, body)
    }

    /// `sum_{index=lo}^{hi}(body)`, its bounds printed when `explicit_bounds`.
    pub fn written(index: String, lo: Bound, hi: Bound, explicit_bounds: bool, body: Expr) -> Expr {
        Expr::Sum(Arc::new(Sum { index, lo, hi, explicit_bounds, body: Arc::new(body) }))
    }

    /// This sum with `body` in place of its body.
    pub fn with_body(&self, body: Expr) -> Expr {
        Expr::Sum(Arc::new(Sum { body: Arc::new(body), ..self.clone() }))
    }
}

/// A term of the language.
#[derive(Clone, Debug)]
pub enum Expr {
    Num(Rat),
    Sym(String),
    /// An indexed symbol such as `z_i` or `W_{i,k}`.
    Idx(String, Vec<Index>),
    /// Terms and factors are shared, like every other child: cloning a term is cheap.
    Add(Arc<[Expr]>),
    Mul(Arc<[Expr]>),
    Div(Arc<Expr>, Arc<Expr>),
    Neg(Arc<Expr>),
    Pow(Arc<Expr>, Arc<Expr>),
    Call(Func, Arc<Expr>),
    Delta(Index, Index),
    /// Boxed, as the largest variant: a list of terms costs a third of the space inline.
    Sum(Arc<Sum>),
    /// `D(f, x)`: the derivative of `f` with respect to the variable `x`.
    D(Arc<Expr>, Arc<Expr>),
}

impl Expr {
    pub fn int(n: i64) -> Expr {
        Expr::Num(Rat::int(n))
    }

    pub fn call(f: Func, arg: Expr) -> Expr {
        Expr::Call(f, Arc::new(arg))
    }

    pub fn pow(base: Expr, exp: Expr) -> Expr {
        Expr::Pow(Arc::new(base), Arc::new(exp))
    }

    pub fn div(num: Expr, den: Expr) -> Expr {
        if let (Expr::Num(a), Expr::Num(b)) = (&num, &den) {
            if !num_traits::Zero::is_zero(b) {
                return Expr::Num(a / b);
            }
        }
        Expr::Div(Arc::new(num), Arc::new(den))
    }

    pub fn d(f: Expr, var: Expr) -> Expr {
        Expr::D(Arc::new(f), Arc::new(var))
    }

    pub fn as_num(&self) -> Option<&Rat> {
        match self {
            Expr::Num(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is a variable one can differentiate with respect to.
    pub fn is_variable(&self) -> bool {
        matches!(self, Expr::Sym(_) | Expr::Idx(_, _))
    }

    /// The immediate subterms, in order, without allocating (walks run over every node).
    /// Positions index into this list.
    pub fn children(&self) -> impl DoubleEndedIterator<Item = &Expr> + Clone {
        let (first, second): (&[Expr], &[Expr]) = match self {
            Expr::Num(_) | Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _) => (&[], &[]),
            Expr::Add(xs) | Expr::Mul(xs) => (xs, &[]),
            Expr::Div(a, b) | Expr::Pow(a, b) | Expr::D(a, b) => (from_ref(a), from_ref(b)),
            Expr::Neg(a) | Expr::Call(_, a) => (from_ref(a), &[]),
            Expr::Sum(s) => (from_ref(&s.body), &[]),
        };
        first.iter().chain(second)
    }

    /// The indices of an indexed symbol or a delta, in order.
    pub fn indices(&self) -> impl Iterator<Item = &Index> + Clone {
        let (first, second): (&[Index], &[Index]) = match self {
            Expr::Idx(_, ix) => (ix, &[]),
            Expr::Delta(i, j) => (from_ref(i), from_ref(j)),
            _ => (&[], &[]),
        };
        first.iter().chain(second)
    }

    /// Nesting depth, computed iteratively-bounded: stops counting past `MAX_DEPTH + 1`.
    pub fn depth(&self) -> usize {
        fn go(e: &Expr, d: usize, seen: &mut BTreeMap<*const (), usize>) -> usize {
            // A shared part already gone into at least as deep reaches no deeper now.
            let known = e.shared().is_some_and(|p| seen.insert(p, d).is_some_and(|at| at >= d));
            if d > MAX_DEPTH || known {
                return d;
            }
            e.children().map(|c| go(c, d + 1, seen)).max().unwrap_or(d)
        }
        go(self, 1, &mut BTreeMap::new())
    }

    /// Whether `pred` holds for this term or any subterm.
    pub fn any(&self, pred: &mut dyn FnMut(&Expr) -> bool) -> bool {
        pred(self) || self.children().any(|c| c.any(pred))
    }

    /// Whether a walk goes into this node's children: a list or a function's argument that
    /// is shared (`sin(x)` in `cos(sin(x))*cos(x)`) is gone into once per `seen`, so a walk
    /// costs the distinct nodes of a step's terms, not their tree (`cos(sin^k(x))` factors).
    pub fn enter(&self, seen: &mut Seen) -> bool {
        self.shared().is_none_or(|p| seen.insert(p))
    }

    /// The address of the list or function argument of this node, if other terms share it.
    fn shared(&self) -> Option<*const ()> {
        match self {
            Expr::Call(_, a) if Arc::strong_count(a) > 1 => Some(Arc::as_ptr(a).cast()),
            Expr::Add(l) | Expr::Mul(l) if Arc::strong_count(l) > 1 => Some(l.as_ptr().cast()),
            _ => None,
        }
    }

    /// [`Expr::any`] for a `pred` that judges each node on its own, each shared part once.
    pub fn any_once(&self, pred: &mut dyn FnMut(&Expr) -> bool) -> bool {
        fn go(e: &Expr, pred: &mut dyn FnMut(&Expr) -> bool, seen: &mut Seen) -> bool {
            pred(e) || (e.enter(seen) && e.children().any(|c| go(c, pred, seen)))
        }
        go(self, pred, &mut Seen::new())
    }

    /// Whether a symbol or indexed symbol called `name` occurs.
    pub fn mentions_name(&self, name: &str) -> bool {
        self.any(&mut |e| matches!(e, Expr::Sym(s) | Expr::Idx(s, _) if s == name))
    }
}

impl Index {
    /// The name of an index that is not a number.
    pub fn name(&self) -> Option<&String> {
        match self {
            Index::Name(n) => Some(n),
            Index::Int(_) => None,
        }
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Index::Name(n) => f.write_str(n),
            Index::Int(i) => write!(f, "{i}"),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Int(i) => write!(f, "{i}"),
            Bound::Sym(s, 0) => f.write_str(s),
            Bound::Sym(s, k) => write!(f, "{s}{k:+}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists of terms are copied at every step that rewrites one of their terms, so a term
    /// stays small: the indexed symbol (a name and its indices) is the largest variant.
    #[test]
    fn a_term_is_no_larger_than_an_indexed_symbol() {
        let indexed = std::mem::size_of::<(String, Vec<Index>)>();
        assert!(std::mem::size_of::<Expr>() <= indexed + 8, "{}", std::mem::size_of::<Expr>());
    }

    /// Walks go into a shared part once: the depth and the subterms found are still those
    /// of the tree, wherever the part is met first, shallow or deep.
    #[test]
    fn walks_over_shared_parts_see_what_the_tree_has() {
        let shared = crate::syntax::parse_expr("sin(sin(x_k + 1))").unwrap();
        let deep = |e: &Expr| Expr::call(Func::Exp, Expr::call(Func::Exp, e.clone()));
        for e in [
            Expr::mul(vec![shared.clone(), deep(&shared)]),
            Expr::mul(vec![deep(&shared), shared.clone()]),
            Expr::add(vec![deep(&deep(&shared)), shared.clone(), deep(&shared)]),
        ] {
            let tree = crate::syntax::parse_expr(&e.to_string()).unwrap();
            assert_eq!(e.depth(), tree.depth(), "{e}");
            let indexed = |t: &Expr| matches!(t, Expr::Idx(..));
            assert!(e.any_once(&mut |t| indexed(t)) && tree.any(&mut |t| indexed(t)), "{e}");
        }
    }
}

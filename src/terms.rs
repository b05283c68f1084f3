//! Term helpers the trusted kernel does not use: constructors for tests and strategies,
//! positions, sizes and signs. They live outside `src/expr` so the trusted base holds
//! only what the kernel needs; import [`ExprExt`] to call them as `Expr::sym("x")`.

use crate::expr::{Expr, Index, Rat};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

pub trait ExprExt: Sized {
    fn rat(n: i64, d: i64) -> Self;
    fn sym(name: &str) -> Self;
    fn idx(name: &str, indices: &[&str]) -> Self;
    /// `a - b` as the parser builds it.
    fn sub(a: Self, b: Self) -> Self;
    /// The inverse of [`Expr::neg`]: `Some(x)` when this term reads as `-x`.
    fn unneg(&self) -> Option<Self>;
    /// The subterm at a position (a path of child numbers), if there is one.
    fn at(&self, path: &[usize]) -> Option<&Self>;
    /// Replace the subterm at `path` by `with`; `None` if the path leads nowhere.
    fn replace_at(&self, path: &[usize], with: Self) -> Option<Self>;
    /// Number of nodes; the size measure that simplification minimises starts from this.
    fn size(&self) -> usize;
    /// [`Expr::reshape`] at every node, bottom-up: every node is rebuilt.
    fn reshape_all(&self) -> Self;
    /// [`ExprExt::reshape_all`], keeping what is already in shape as it is: shared with this
    /// term, so walks memoised by address see it once (`reshape_all` rebuilds every node).
    fn shaped(&self) -> Self;
    /// Whether this term is the number 1.
    fn is_one(&self) -> bool;
    /// The name of a symbol or indexed symbol (`a` of `a_i`).
    fn variable_name(&self) -> Option<&String>;
}

impl ExprExt for Expr {
    fn rat(n: i64, d: i64) -> Expr {
        Expr::Num(Rat::small(n, d))
    }

    fn sym(name: &str) -> Expr {
        Expr::Sym(name.to_string())
    }

    fn idx(name: &str, indices: &[&str]) -> Expr {
        Expr::Idx(name.to_string(), indices.iter().map(|i| Index::Name(i.to_string())).collect())
    }

    fn variable_name(&self) -> Option<&String> {
        match self {
            Expr::Sym(n) | Expr::Idx(n, _) => Some(n),
            _ => None,
        }
    }

    fn is_one(&self) -> bool {
        matches!(self, Expr::Num(r) if *r == Rat::small(1, 1))
    }

    fn sub(a: Expr, b: Expr) -> Expr {
        Expr::Add(vec![a, Expr::neg(b)].into())
    }

    fn unneg(&self) -> Option<Expr> {
        match self {
            Expr::Num(c) if c.is_negative() => Some(Expr::Num(-c)),
            Expr::Neg(x) => Some((**x).clone()),
            _ => None,
        }
    }

    fn at(&self, path: &[usize]) -> Option<&Expr> {
        let mut e = self;
        for &i in path {
            e = e.children().nth(i)?;
        }
        Some(e)
    }

    fn replace_at(&self, path: &[usize], with: Expr) -> Option<Expr> {
        let Some((&first, rest)) = path.split_first() else {
            return Some(with);
        };
        let child = self.children().nth(first)?.replace_at(rest, with)?;
        let mut at = 0..;
        Some(self.map_children(|c| if at.next() == Some(first) { &child } else { c }.clone()))
    }

    fn size(&self) -> usize {
        1 + self.children().map(Expr::size).sum::<usize>()
    }

    fn reshape_all(&self) -> Expr {
        self.map_children(Expr::reshape_all).reshape()
    }

    fn shaped(&self) -> Expr {
        shaped(self, &mut AddressMap::default()).unwrap_or_else(|| self.clone())
    }
}

/// [`ExprExt::shaped`], or `None` when every node is already in shape. A node shared
/// within the term (the deep argument of many factors) is looked at once.
fn shaped(e: &Expr, seen: &mut AddressMap<Option<Expr>>) -> Option<Expr> {
    if matches!(e, Expr::Num(_) | Expr::Sym(_) | Expr::Idx(..) | Expr::Delta(..)) {
        return None;
    }
    if let Some(known) = seen.get(&(e as *const Expr)) {
        return known.clone();
    }
    let mut new: Vec<Option<Expr>> = e.children().map(|c| shaped(c, seen)).collect();
    let changed = new.iter().any(Option::is_some);
    let mut new = new.iter_mut().map(Option::take);
    let node = match changed {
        true => e.map_children(|c| new.next().flatten().unwrap_or_else(|| c.clone())),
        false => e.clone(),
    };
    // The nodes `Expr::reshape` changes (a test holds the two to the same terms).
    let number = |t: &Expr| matches!(t, Expr::Num(_));
    let local = match &node {
        Expr::Neg(x) => number(x),
        Expr::Div(a, b) => number(a) && b.as_num().is_some_and(|d| !num_traits::Zero::is_zero(d)),
        Expr::Add(ts) | Expr::Mul(ts) => ts.len() <= 1,
        _ => false,
    };
    let out = (changed || local).then(|| node.reshape());
    seen.insert(e, out.clone());
    out
}

/// Whether `terms` have more than `limit` nodes together, found without counting past it
/// (a term that shares a deep subterm among many factors is far larger as a tree).
pub fn more_nodes_than(terms: &[&Expr], limit: usize) -> bool {
    more_nodes_within(terms, limit, |_| true)
}

/// Whether `terms` have more than `limit` nodes together, an atom of the algebra (see
/// [`edit_size`]) counting as one: the most that [`edit_size`] between them can be, found
/// without looking inside atoms, however deep their arguments.
pub fn more_ring_nodes_than(terms: &[&Expr], limit: usize) -> bool {
    more_nodes_within(terms, limit, is_ring_operation)
}

/// Whether `terms` have more than `limit` nodes, counting the children only of the nodes
/// `enter` holds of; it stops counting past `limit`.
fn more_nodes_within(terms: &[&Expr], limit: usize, enter: impl Fn(&Expr) -> bool) -> bool {
    let (mut left, mut stack) = (limit, terms.to_vec());
    while let Some(e) = stack.pop() {
        let Some(fewer) = left.checked_sub(1) else { return true };
        left = fewer;
        if enter(e) {
            stack.extend(e.children());
        }
    }
    false
}

/// A node [`edit_size`] looks inside: `+ * / -` and a power with a numeric exponent.
fn is_ring_operation(e: &Expr) -> bool {
    matches!(e, Expr::Add(_) | Expr::Mul(_) | Expr::Div(..) | Expr::Neg(_))
        || matches!(e, Expr::Pow(_, k) if k.as_num().is_some())
}

/// Number helpers the trusted kernel does not use; import [`RatExt`] to call them as
/// `Rat::small(1, 2)`.
pub trait RatExt: Sized {
    /// `n/d`; panics when `d` is zero.
    fn small(n: i64, d: i64) -> Self;
    fn from_integer(n: BigInt) -> Self;
    fn numer(&self) -> BigInt;
    /// Positive.
    fn denom(&self) -> BigInt;
    /// The larger of `self` and `-self`.
    fn abs(&self) -> Self;
    /// The nearest float.
    fn to_f64(&self) -> Option<f64>;
    /// `1/self`; panics on zero.
    fn recip(&self) -> Self;
}

impl RatExt for Rat {
    fn small(n: i64, d: i64) -> Rat {
        Rat::int(n) / Rat::int(d)
    }

    fn from_integer(n: BigInt) -> Rat {
        Rat::from_big(BigRational::from_integer(n))
    }

    fn numer(&self) -> BigInt {
        self.to_big().numer().clone()
    }

    fn denom(&self) -> BigInt {
        self.to_big().denom().clone()
    }

    fn abs(&self) -> Rat {
        std::cmp::max(self.clone(), -self)
    }

    fn to_f64(&self) -> Option<f64> {
        self.to_big().to_f64()
    }

    fn recip(&self) -> Rat {
        Rat::int(1) / self
    }
}

/// A fresh index name a reader takes for a new summation index: `m`, `p`, `q`, `r`, `l`
/// in turn, else `base` numbered.
pub fn reader_index(base: &str, avoid: &std::collections::BTreeSet<String>) -> String {
    ["m", "p", "q", "r", "l"]
        .iter()
        .map(|n| n.to_string())
        .find(|n| !avoid.contains(n))
        .unwrap_or_else(|| crate::expr::fresh_index(base, avoid))
}
/// The names a new summation index in `e` must not take: its index names, its symbols,
/// and every size (`m` in `1..m`, which `sum_{m=1}^{m}(…)` would print as its own index).
pub fn taken_names(ctx: &crate::expr::Context, e: &Expr) -> std::collections::BTreeSet<String> {
    let mut taken = e.all_index_names();
    taken.extend(crate::kernel::validate::sizes(ctx));
    e.any(&mut |t| {
        match t {
            Expr::Sym(n) => {
                taken.insert(n.clone());
            }
            Expr::Sum(s) => {
                taken.extend([&s.lo, &s.hi].iter().filter_map(|b| b.size().map(str::to_string)))
            }
            _ => {}
        }
        false
    });
    taken
}

/// A hasher for keys that are addresses: SipHash, the standard one, showed in profiles of
/// walks over large terms. The mix spreads aligned addresses over the table.
#[derive(Default, Clone, Copy)]
pub struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_u64(u64::from(*b)));
    }
    fn write_u64(&mut self, n: u64) {
        let x = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }
}

/// A map keyed by the address of a node.
pub type AddressMap<V> =
    std::collections::HashMap<*const Expr, V, std::hash::BuildHasherDefault<AddressHasher>>;

/// A key for a compound node that its copies share: the addresses of its children (an
/// `Expr` held inline in a list moves with every list rebuilt around it, but what it points
/// to does not), tagged by kind in bits that no address has. `None` for leaves and sums.
#[inline]
pub fn node_key(e: &Expr) -> Option<(usize, usize)> {
    use std::sync::Arc;
    let pair = |a: &Arc<Expr>, b: &Arc<Expr>, tag: usize| {
        (Arc::as_ptr(a) as usize, Arc::as_ptr(b) as usize | tag)
    };
    Some(match e {
        Expr::Add(xs) => (xs.as_ptr() as usize, 1),
        Expr::Mul(xs) => (xs.as_ptr() as usize, 2),
        Expr::Neg(a) => (Arc::as_ptr(a) as usize, 3),
        Expr::Call(f, a) => (Arc::as_ptr(a) as usize, 4 + *f as usize),
        Expr::Div(a, b) => pair(a, b, 0),
        Expr::Pow(a, b) => pair(a, b, 1),
        Expr::D(a, b) => pair(a, b, 2),
        _ => return None,
    })
}

/// [`node_key`], or for a leaf or a sum its own address (tagged 0, which no node key is).
pub fn visit_key(e: &Expr) -> (usize, usize) {
    node_key(e).unwrap_or((e as *const Expr as usize, 0))
}

/// A map keyed by [`node_key`] or [`visit_key`].
pub type NodeMap<V> =
    std::collections::HashMap<(usize, usize), V, std::hash::BuildHasherDefault<AddressHasher>>;

/// Visit every node of `terms` once, however many of them share it: terms of a chain share
/// most of their subterms (a step rebuilds only the path to what it rewrote), so walking each
/// as a tree costs the chain's length times a term's size. Nodes are told apart by
/// [`visit_key`] (stable while `terms` are borrowed), so a node copied into a rebuilt list
/// is still seen once: `visit` must judge a node by its value, not its address. It says
/// whether to go into a node's children. Iterative, so deep terms take no stack.
pub fn walk_shared<'a>(terms: &[&'a Expr], mut visit: impl FnMut(&'a Expr) -> bool) {
    let mut seen = NodeMap::default();
    let mut stack: Vec<&'a Expr> = terms.iter().rev().copied().collect();
    while let Some(e) = stack.pop() {
        if seen.insert(visit_key(e), ()).is_none() && visit(e) {
            stack.extend(e.children().rev());
        }
    }
}

/// Whether `pred` holds of some subterm of some term, each shared node tried once.
pub fn any_shared(terms: &[&Expr], mut pred: impl FnMut(&Expr) -> bool) -> bool {
    let mut found = false;
    walk_shared(terms, |e| {
        found = found || pred(e);
        !found
    });
    found
}

/// A hash that equal terms share, computed once per node (by address): the kind, names,
/// numbers, functions, ranges and the children's hashes. Index names are left out, since
/// equal terms may name their bound indices differently; a match is confirmed with `==`.
fn shape_hash(e: &Expr, memo: &mut AddressMap<u64>) -> u64 {
    use std::hash::{Hash, Hasher};
    if let Some(h) = memo.get(&(e as *const Expr)) {
        return *h;
    }
    let mut h = std::hash::DefaultHasher::new();
    std::mem::discriminant(e).hash(&mut h);
    match e {
        Expr::Num(r) => r.hash(&mut h),
        Expr::Sym(name) => name.hash(&mut h),
        Expr::Idx(name, ix) => (name, ix.len()).hash(&mut h),
        Expr::Call(f, _) => f.hash(&mut h),
        Expr::Sum(s) => (&s.lo, &s.hi).hash(&mut h),
        _ => {}
    }
    for c in e.children() {
        shape_hash(c, memo).hash(&mut h);
    }
    let h = h.finish();
    memo.insert(e as *const Expr, h);
    h
}

/// How much an algebra step that turned `before` into `after` changed, an estimate of their
/// tree edit distance over the ring structure: the nodes of each that are not a subterm of
/// the other (a node with a changed child is changed), an atom counting as one. Moving or
/// rebracketing whole subterms costs a node or two; writing out new terms, or dropping old
/// ones, costs their size in ring operations and atoms. Linear in the terms' distinct nodes.
pub fn edit_size(before: &Expr, after: &Expr) -> usize {
    type Old<'a> = std::collections::HashMap<u64, Vec<&'a Expr>>;
    // An atom of the algebra (a variable, a call, a sum) is one node, whatever is inside it:
    // cancelling `exp(…)` is one move however long its argument.
    fn new_nodes(e: &Expr, old: &Old, memo: &mut AddressMap<u64>) -> usize {
        let ring = is_ring_operation(e);
        let known = old.get(&shape_hash(e, memo)).is_some_and(|ts| ts.iter().any(|t| *t == e));
        match known {
            true => 0,
            false if ring => 1 + e.children().map(|c| new_nodes(c, old, memo)).sum::<usize>(),
            false => 1,
        }
    }
    let mut memo = AddressMap::default();
    let mut one_way = |from: &Expr, to: &Expr| {
        let mut old = Old::new();
        walk_shared(&[from], |e| {
            old.entry(shape_hash(e, &mut memo)).or_default().push(e);
            true
        });
        new_nodes(to, &old, &mut memo)
    };
    one_way(before, after) + one_way(after, before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;
    use std::sync::Arc;

    #[test]
    fn shaped_is_reshape_all_and_shares_what_was_in_shape() {
        let deep = parse_expr("exp(sin(x)*cos(y))").expect("parses");
        let one = |t: Expr| Expr::Mul(vec![t].into());
        let neg = |t: Expr| Expr::Neg(Arc::new(t));
        let unshaped = [
            Expr::Add(vec![deep.clone(), neg(Expr::int(3))].into()),
            one(Expr::Add(vec![].into())),
            Expr::Div(Arc::new(Expr::int(1)), Arc::new(Expr::int(2))),
            Expr::Div(Arc::new(Expr::int(1)), Arc::new(Expr::int(0))),
            Expr::call(crate::expr::Func::Log, one(one(deep.clone()))),
            neg(neg(Expr::int(2))),
            deep.clone(),
        ];
        for t in unshaped {
            assert_eq!(format!("{:?}", t.shaped()), format!("{:?}", t.reshape_all()), "{t:?}");
        }
        // `deep` in shape: the result holds the very node, not a copy.
        let in_sum = Expr::Add(vec![deep, neg(Expr::int(3))].into());
        let Expr::Add(before) = &in_sum else { unreachable!() };
        let Expr::Add(after) = in_sum.shaped() else { panic!("a sum") };
        let inner = |e: &Expr| match e {
            Expr::Call(_, a) => Arc::as_ptr(a),
            _ => std::ptr::null(),
        };
        assert_eq!(inner(&before[0]), inner(&after[0]));
    }
}

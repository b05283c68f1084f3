//! Matrix notation to index notation: the expansion of a matrix expression at given row and
//! column indices, with fresh bound indices for its sums.

use super::{combine, shape_of, Elementwise, Kind, MFunc, Shape, Shapes, M};
use crate::expr::{fresh_index, Bound, Context, Expr, Func, Index, IndexDecl, Sum};
use std::collections::BTreeSet;

/// Names for the indices an expansion needs. A document's indices are declared: a range's
/// own declared names are used first, and more are declared when those run out, so sums
/// print as `sum_k(…)`. Elsewhere (a certificate) a new index is written with its bounds.
#[derive(Clone, Debug)]
pub struct Namer {
    decls: Vec<IndexDecl>,
    /// Names never to take: every identifier of the document.
    taken: BTreeSet<String>,
    declare: bool,
    /// The names this namer declared.
    added: Vec<String>,
}

/// New index names, in order of preference (`l` and `o` last: they read as 1 and 0).
const CANDIDATES: [&str; 22] = [
    "i", "j", "k", "p", "q", "r", "s", "t", "u", "v", "w", "a", "b", "c", "d", "e", "f", "g", "h",
    "m", "l", "o",
];

impl Namer {
    /// A namer over `decls`; `declare` says whether it may declare new indices.
    pub fn new(decls: &[IndexDecl], taken: BTreeSet<String>, declare: bool) -> Namer {
        let mut taken = taken;
        taken.extend(decls.iter().flat_map(|d| d.names.iter().cloned()));
        Namer { decls: decls.to_vec(), taken, declare, added: Vec::new() }
    }

    /// The index declarations, with those this namer added last.
    pub fn decls(&self) -> &[IndexDecl] {
        &self.decls
    }

    /// Declared names of the range `1..size`, in order.
    fn declared_over(&self, size: &Bound) -> Vec<String> {
        self.decls
            .iter()
            .filter(|d| d.lo == Bound::Int(1) && d.hi == *size)
            .flat_map(|d| d.names.iter().cloned())
            .collect()
    }

    /// An index over `1..size` that is not in `avoid`, and whether it is declared over
    /// that range (so a sum over it needs no bounds written).
    pub fn index(&mut self, size: &Bound, avoid: &BTreeSet<String>) -> (String, bool) {
        if let Some(name) = self.declared_over(size).into_iter().find(|n| !avoid.contains(n)) {
            return (name, true);
        }
        if !self.declare {
            let mut not = avoid.clone();
            not.extend(self.taken.iter().cloned());
            return (fresh_index("k", &not), false);
        }
        let fresh_name = |avoid: &BTreeSet<String>, taken: &mut BTreeSet<String>| {
            let name = CANDIDATES
                .iter()
                .map(|c| c.to_string())
                .chain((1..).flat_map(|n| CANDIDATES.iter().map(move |c| format!("{c}{n}"))))
                .find(|c| !taken.contains(c) && !avoid.contains(c))
                .unwrap_or_else(|| "k".into());
            taken.insert(name.clone());
            name
        };
        let fresh = fresh_name(avoid, &mut self.taken);
        let own = |d: &IndexDecl| {
            d.lo == Bound::Int(1) && d.hi == *size && d.names.iter().all(|n| self.added(n))
        };
        match self.decls.iter().position(own) {
            Some(at) => self.decls[at].names.push(fresh.clone()),
            None => {
                // A new range gets three names at once, as one would declare them: the
                // sums inside an expansion need more than the goal's own index.
                let mut names = vec![fresh.clone()];
                for _ in 0..2 {
                    names.push(fresh_name(avoid, &mut self.taken));
                }
                self.added.extend(names.iter().skip(1).cloned());
                self.decls.push(IndexDecl { names, lo: Bound::Int(1), hi: size.clone() });
            }
        }
        self.added.push(fresh.clone());
        (fresh, true)
    }

    fn added(&self, name: &str) -> bool {
        self.added.iter().any(|n| n == name)
    }
}

/// The expansion of `m` at the output indices `out` (rows, then columns), in `ctx`.
pub fn expansion(
    m: &M,
    out: &[Index],
    shapes: &Shapes,
    ctx: &Context,
    avoid: &BTreeSet<String>,
) -> Result<Expr, String> {
    let shape = shape_of(m, shapes)?;
    let (r, c) = match (shape.rows == Bound::Int(1), shape.cols == Bound::Int(1), out) {
        (false, true, [i]) => (Some(i), None),
        (false, false, [i, j]) => (Some(i), Some(j)),
        (true, false, [j]) => (None, Some(j)),
        (true, true, []) => (None, None),
        _ => return Err("the form's shape is not the result's".into()),
    };
    let mut taken: BTreeSet<String> = avoid.clone();
    for d in &ctx.definitions {
        taken.extend(d.name.all_index_names());
        taken.extend(d.body.all_index_names());
    }
    let mut namer = Namer::new(&ctx.indices, taken, false);
    desugar(m, shapes, r, c, &mut namer, avoid)
}

/// The most nodes a matrix expression may expand to.
pub const MAX_EXPANSION: u64 = 100_000;

/// The expansion of `m` at row index `rows` and column index `cols` (each used only when
/// that dimension is not 1). `avoid` holds the index names in scope, which new bound
/// indices must not take.
pub fn desugar(
    m: &M,
    shapes: &Shapes,
    rows: Option<&Index>,
    cols: Option<&Index>,
    namer: &mut Namer,
    avoid: &BTreeSet<String>,
) -> Result<Expr, String> {
    // A nest of softmaxes doubles at each level: 40 of them would never finish.
    if m.expansion_weight() > MAX_EXPANSION {
        return Err(format!("it expands to more than {MAX_EXPANSION} terms"));
    }
    let mut avoid = avoid.clone();
    for ix in [rows, cols].into_iter().flatten() {
        if let Index::Name(n) = ix {
            avoid.insert(n.clone());
        }
    }
    Expander { shapes, namer }.at(m, rows, cols, &avoid)
}

struct Expander<'a> {
    shapes: &'a Shapes,
    namer: &'a mut Namer,
}

/// `a*b` with products spliced in, as the parser reads a run of `*`.
fn times(a: Expr, b: Expr) -> Expr {
    let mut fs = Vec::new();
    for e in [a, b] {
        match e {
            Expr::Mul(xs) => fs.extend(xs.iter().cloned()),
            other => fs.push(other),
        }
    }
    Expr::mul(fs)
}

fn sum(index: String, declared: bool, size: &Bound, body: Expr) -> Expr {
    Sum::written(index, Bound::Int(1), size.clone(), !declared, body)
}

impl Expander<'_> {
    fn shape(&self, m: &M) -> Result<Shape, String> {
        shape_of(m, self.shapes)
    }

    /// A new bound index over `size`, with the scope it opens.
    fn bound(
        &mut self,
        size: &Bound,
        avoid: &BTreeSet<String>,
    ) -> (String, bool, BTreeSet<String>) {
        let (k, declared) = self.namer.index(size, avoid);
        let mut inner = avoid.clone();
        inner.insert(k.clone());
        (k, declared, inner)
    }

    fn at(
        &mut self,
        m: &M,
        r: Option<&Index>,
        c: Option<&Index>,
        avoid: &BTreeSet<String>,
    ) -> Result<Expr, String> {
        let need = |ix: Option<&Index>| ix.cloned().ok_or("an index is missing".to_string());
        Ok(match m {
            M::Scalar(e) => e.clone(),
            M::Name(n) => match self.shapes.get(n) {
                Some(Kind::Vector(_)) => Expr::Idx(n.clone(), vec![need(r)?]),
                Some(Kind::Matrix(..)) => Expr::Idx(n.clone(), vec![need(r)?, need(c)?]),
                None => return Err(format!("`{n}` is not a declared vector or matrix")),
            },
            M::Add(ts) => {
                let mut out = Vec::new();
                for t in ts {
                    out.push(self.at(t, r, c, avoid)?);
                }
                Expr::add(out)
            }
            M::Neg(a) => Expr::neg(self.at(a, r, c, avoid)?),
            M::Transpose(a) => self.at(a, c, r, avoid)?,
            M::Call(f, a) => Expr::call(*f, self.at(a, r, c, avoid)?),
            M::Div(a, b) => Expr::div(self.at(a, r, c, avoid)?, self.at(b, r, c, avoid)?),
            M::Pow(a, b) | M::Elementwise(Elementwise::Pow, a, b) => {
                Expr::pow(self.at(a, r, c, avoid)?, self.at(b, r, c, avoid)?)
            }
            M::Elementwise(Elementwise::Mul, a, b) => {
                times(self.at(a, r, c, avoid)?, self.at(b, r, c, avoid)?)
            }
            M::Elementwise(Elementwise::Div, a, b) => {
                Expr::div(self.at(a, r, c, avoid)?, self.at(b, r, c, avoid)?)
            }
            M::Mul(a, b) => self.product(a, b, r, c, avoid)?,
            M::Apply(f, args) => self.apply(*f, args, r, c, avoid)?,
            M::Sum { index, lo, hi, explicit, body } => {
                let mut inner = avoid.clone();
                inner.insert(index.clone());
                Sum::written(
                    index.clone(),
                    lo.clone(),
                    hi.clone(),
                    *explicit,
                    self.at(body, None, None, &inner)?,
                )
            }
            M::D(f, x) => Expr::d(self.at(f, None, None, avoid)?, x.clone()),
        })
    }

    /// `a*b` at `(r, c)`: a scalar multiple, an outer product, or a sum over the inner size;
    /// a diagonal factor multiplies rows or columns without a sum.
    fn product(
        &mut self,
        a: &M,
        b: &M,
        r: Option<&Index>,
        c: Option<&Index>,
        avoid: &BTreeSet<String>,
    ) -> Result<Expr, String> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        combine("*", &sa, &sb).map_err(|e| e.to_string())?;
        if sa.is_scalar() || sb.is_scalar() {
            return Ok(times(self.at(a, r, c, avoid)?, self.at(b, r, c, avoid)?));
        }
        if sa.cols == Bound::Int(1) {
            return Ok(times(self.at(a, r, None, avoid)?, self.at(b, None, c, avoid)?));
        }
        // A row of `a` meets a column of `b`; which of r, c each keeps depends on their shapes.
        let ra = (sa.rows != Bound::Int(1)).then_some(r).flatten();
        let cb = (sb.cols != Bound::Int(1)).then_some(c).flatten();
        if let M::Apply(MFunc::Diag, v) = a {
            if let ([v], Some(i)) = (v.as_slice(), ra) {
                return Ok(times(
                    self.at(v, Some(i), None, avoid)?,
                    self.at(b, Some(i), cb, avoid)?,
                ));
            }
        }
        if let M::Apply(MFunc::Diag, v) = b {
            if let ([v], Some(j)) = (v.as_slice(), cb) {
                return Ok(times(
                    self.at(a, ra, Some(j), avoid)?,
                    self.at(v, Some(j), None, avoid)?,
                ));
            }
        }
        let (k, declared, inner) = self.bound(&sa.cols, avoid);
        let ki = Index::Name(k.clone());
        let body = times(self.at(a, ra, Some(&ki), &inner)?, self.at(b, Some(&ki), cb, &inner)?);
        Ok(sum(k, declared, &sa.cols, body))
    }

    fn apply(
        &mut self,
        f: MFunc,
        args: &[M],
        r: Option<&Index>,
        c: Option<&Index>,
        avoid: &BTreeSet<String>,
    ) -> Result<Expr, String> {
        let shapes: Vec<Shape> = args.iter().map(|a| self.shape(a)).collect::<Result<_, _>>()?;
        super::apply_shape(f, &shapes)?;
        match (f, args, shapes.as_slice()) {
            (MFunc::Norm2 | MFunc::Sum, [v], [s]) => {
                let square = |e: Expr| match f {
                    MFunc::Norm2 => Expr::pow(e, Expr::int(2)),
                    _ => e,
                };
                // Over every entry: a sum for each dimension that is not 1.
                let (ri, rd, inner) = if s.rows != Bound::Int(1) {
                    let (k, d, inner) = self.bound(&s.rows, avoid);
                    (Some(k), d, inner)
                } else {
                    (None, false, avoid.clone())
                };
                let (ci, cd, inner) = if s.cols != Bound::Int(1) {
                    let (k, d, inner) = self.bound(&s.cols, &inner);
                    (Some(k), d, inner)
                } else {
                    (None, false, inner)
                };
                let idx = |k: &Option<String>| k.clone().map(Index::Name);
                let (rx, cx) = (idx(&ri), idx(&ci));
                let mut e = square(self.at(v, rx.as_ref(), cx.as_ref(), &inner)?);
                if let Some(k) = ci {
                    e = sum(k, cd, &s.cols, e);
                }
                if let Some(k) = ri {
                    e = sum(k, rd, &s.rows, e);
                }
                Ok(e)
            }
            (MFunc::Outer, [u, v], _) => {
                Ok(times(self.at(u, r, None, avoid)?, self.at(v, c, None, avoid)?))
            }
            (MFunc::Softmax, [z], [s]) => {
                let top = Expr::call(Func::Exp, self.at(z, r, None, avoid)?);
                let (k, declared, inner) = self.bound(&s.rows, avoid);
                let ki = Index::Name(k.clone());
                let each = Expr::call(Func::Exp, self.at(z, Some(&ki), None, &inner)?);
                Ok(Expr::div(top, sum(k, declared, &s.rows, each)))
            }
            (MFunc::Diag, [v], _) => {
                let (Some(i), Some(j)) = (r, c) else {
                    return Err("an index is missing".into());
                };
                Ok(times(self.at(v, Some(i), None, avoid)?, Expr::Delta(i.clone(), j.clone())))
            }
            _ => Err(format!("`{}` does not apply here", f.name())),
        }
    }
}

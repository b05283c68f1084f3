//! Matrix notation in `.deriv` files: `vector`/`matrix` declarations, and statements
//! written with whole vectors and matrices (`let h = tanh(W*x + b)`, `derive l wrt W`),
//! built with their shapes checked (a mismatch names both operands and their shapes,
//! under a caret) and desugared into index notation (`crate::matrix::desugar`), so the
//! rest of the program sees only index notation. A part of a statement without matrix
//! notation is built by the ordinary [`Builder`], unchanged.

use super::parser::{Builder, Rule};
use super::Diagnostic;
use crate::expr::{Bound, Context, Expr, Func, Index, IndexDecl, MAX_DEPTH};
use crate::matrix::{
    apply_shape, combine, desugar, Elementwise, GoalForm, Kind, MFunc, Namer, Shape, Shapes, M,
};
use pest::iterators::Pair;
use std::collections::BTreeSet;

/// The matrix side of one file being parsed: its shapes and the namer of its indices.
pub(super) struct Matrices {
    pub shapes: Shapes,
    namer: Namer,
    /// The goal being built: the indices it has taken, and what it says in matrix notation.
    goal: BTreeSet<String>,
    form: GoalForm,
}

/// Every identifier in the statements of `src` (not in comments or the title): names a
/// new index must not take.
fn identifiers(src: &str) -> BTreeSet<String> {
    let code = src.lines().map(|l| {
        let l = l.split('#').next().unwrap_or("");
        if l.trim_start().starts_with("title") {
            ""
        } else {
            l
        }
    });
    code.flat_map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(str::to_string)
        .collect()
}

/// `R^n`, `R^{n}`, `R^{m x n}` as sizes.
fn sizes(space: Pair<Rule>, src: &str) -> Result<Vec<Bound>, Diagnostic> {
    space.into_inner().map(|b| super::parser::bound(&b, src)).collect::<Result<Vec<_>, _>>()
}

/// The text of a pair, for messages.
fn text(p: &Pair<Rule>) -> String {
    p.as_str().trim().to_string()
}

/// Parse a matrix expression (a certificate's stated form) under `shapes`, with the index
/// declarations `decls`.
pub fn parse_matrix(src: &str, decls: &[IndexDecl], shapes: &Shapes) -> Result<M, Diagnostic> {
    use super::parser::{
        check_names, first_inner, from_pest, on_parser_stack, prescan, Grammar, IndexScope,
    };
    use pest::Parser;
    prescan(src)?;
    on_parser_stack(src, || {
        let mut pairs = Grammar::parse(Rule::expr_input, src)
            .map_err(|e| from_pest(src, e, Rule::expr_input))?;
        check_names(src, pairs.clone())?;
        let input = pairs.next().ok_or_else(|| Diagnostic::at(src, 0, "empty input"))?;
        let inner = first_inner(input, src)?;
        let mut b = Builder::new(src, IndexScope::Certificate(decls));
        let mx = Matrices {
            shapes: shapes.clone(),
            namer: Namer::new(decls, BTreeSet::new(), false),
            goal: BTreeSet::new(),
            form: GoalForm::default(),
        };
        mx.build(&mut b, inner, 0).map(|(m, _)| m)
    })
}

impl Matrices {
    /// Read the `vector`/`matrix` statements (`shape_stmts`) of a file whose indices are `decls`.
    pub fn new(
        src: &str,
        decls: &[IndexDecl],
        shape_stmts: &[Pair<Rule>],
    ) -> Result<Matrices, Diagnostic> {
        let mut shapes = Shapes::new();
        for st in shape_stmts {
            let mut inner: Vec<Pair<Rule>> = st.clone().into_inner().collect();
            let (Some(space), true) = (inner.pop(), inner.len() >= 2) else {
                return Err(Diagnostic::at(src, st.as_span().start(), "incomplete declaration"));
            };
            let matrix = inner[0].as_str() == "matrix";
            let dims = sizes(space.clone(), src)?;
            let at = |p: &Pair<Rule>, m: String| Diagnostic::at(src, p.as_span().start(), m);
            if dims.iter().any(|d| matches!(d, Bound::Int(k) if *k < 2)) {
                return Err(at(
                    &space,
                    "a size of a vector or matrix is at least 2 (a size of 1 is a scalar)".into(),
                ));
            }
            let kind = match (matrix, dims.as_slice()) {
                (false, [n]) => Kind::Vector(n.clone()),
                (true, [m, n]) => Kind::Matrix(m.clone(), n.clone()),
                (false, _) => {
                    return Err(at(&space, "a vector has one size: `R^n`".into()));
                }
                (true, _) => {
                    return Err(at(&space, "a matrix has two sizes: `R^{m x n}`".into()));
                }
            };
            for name in &inner[1..] {
                let n = name.as_str().to_string();
                if shapes.contains_key(&n) {
                    return Err(at(name, format!("`{n}` is declared twice")));
                }
                if decls.iter().any(|d| d.names.contains(&n)) {
                    return Err(at(name, format!("`{n}` is declared as an index")));
                }
                if dims.iter().any(|d| d.size() == Some(n.as_str())) {
                    return Err(at(name, format!("`{n}` is a size")));
                }
                shapes.insert(n, kind.clone());
            }
        }
        Ok(Matrices {
            shapes,
            namer: Namer::new(decls, identifiers(src), true),
            goal: BTreeSet::new(),
            form: GoalForm::default(),
        })
    }

    /// The index declarations, with the ones desugaring added.
    pub fn decls(&self) -> &[IndexDecl] {
        self.namer.decls()
    }

    /// Whether `p` has matrix notation: a vector or matrix name, `'`, `.*`, `./`, `.^`, or a
    /// function of vectors.
    fn has_matrix(&self, p: &Pair<Rule>) -> bool {
        std::iter::once(p.clone()).chain(p.clone().into_inner().flatten()).any(|q| {
            match q.as_rule() {
                Rule::transpose | Rule::matrix_call => true,
                Rule::mul_op | Rule::pow_op => q.as_str().starts_with('.'),
                Rule::variable => q
                    .into_inner()
                    .next()
                    .is_some_and(|name| self.shapes.contains_key(name.as_str())),
                _ => false,
            }
        })
    }

    /// The matrix expression of `p` and its shape.
    pub fn build(
        &self,
        b: &mut Builder,
        p: Pair<Rule>,
        depth: usize,
    ) -> Result<(M, Shape), Diagnostic> {
        if !self.has_matrix(&p) {
            return Ok((M::Scalar(b.expr(p, depth)?), Shape::scalar()));
        }
        if depth >= MAX_DEPTH {
            return Err(b.err(&p, format!("expression nests more than {MAX_DEPTH} levels deep")));
        }
        let d = depth + 1;
        let at = p.clone();
        match p.as_rule() {
            Rule::expr => {
                let mut it = p.into_inner();
                let first = it.next().ok_or_else(|| b.err(&at, "empty expression"))?;
                let start = first.as_span().start();
                let (m, mut shape) = self.build(b, first, d)?;
                let mut terms = vec![m];
                while let (Some(op), Some(t)) = (it.next(), it.next()) {
                    let left = b.src[start..op.as_span().start()].trim().to_string();
                    let right = text(&t);
                    let (m, s) = self.build(b, t, d)?;
                    shape = combine(op.as_str(), &shape, &s)
                        .map_err(|e| b.err(&op, e.message(&left, &right)))?;
                    terms.push(if op.as_str() == "-" { M::neg(m) } else { m });
                }
                let m = if terms.len() == 1 { terms.remove(0) } else { M::Add(terms) };
                Ok((m, shape))
            }
            Rule::signed | Rule::factor => {
                let mut minuses = 0;
                let mut last = None;
                for q in p.into_inner() {
                    if q.as_rule() == Rule::minus {
                        minuses += 1;
                    } else {
                        last = Some(q);
                    }
                }
                let inner = last.ok_or_else(|| b.err(&at, "expected an expression"))?;
                let (mut m, s) = self.build(b, inner, d)?;
                for _ in 0..minuses {
                    m = M::neg(m);
                }
                Ok((m, s))
            }
            Rule::term => {
                let mut it = p.into_inner();
                let first = it.next().ok_or_else(|| b.err(&at, "empty term"))?;
                let start = first.as_span().start();
                let (mut acc, mut shape) = self.build(b, first, d)?;
                while let (Some(op), Some(f)) = (it.next(), it.next()) {
                    let left = b.src[start..op.as_span().start()].trim().to_string();
                    let right = text(&f);
                    let (m, s) = self.build(b, f, d)?;
                    shape = combine(op.as_str(), &shape, &s)
                        .map_err(|e| b.err(&op, e.message(&left, &right)))?;
                    acc = match op.as_str() {
                        "*" => M::mul(acc, m),
                        "/" => M::Div(Box::new(acc), Box::new(m)),
                        ".*" => M::elementwise(Elementwise::Mul, acc, m),
                        _ => M::elementwise(Elementwise::Div, acc, m),
                    };
                }
                Ok((acc, shape))
            }
            Rule::power => {
                let mut it = p.into_inner();
                let base = it.next().ok_or_else(|| b.err(&at, "empty power"))?;
                let base_text = text(&base);
                let (mut m, mut shape) = self.build(b, base, d)?;
                let mut written = base_text;
                for q in it {
                    match q.as_rule() {
                        Rule::transpose => {
                            if shape.is_scalar() {
                                let what = if written.chars().all(|c| c.is_ascii_alphanumeric()) {
                                    format!("`{written}` is not a declared vector or matrix")
                                } else {
                                    format!("`{written}` is a scalar")
                                };
                                return Err(b.err(&q, format!("{what}: `'` transposes vectors and matrices, declared with `vector x in R^n` or `matrix W in R^{{m x n}}`")));
                            }
                            m = M::transpose(m);
                            shape = shape.transposed();
                            written.push('\'');
                        }
                        Rule::pow_op => {
                            let op = q.clone();
                            return self.power(b, m, shape, &written, op, &at, d);
                        }
                        _ => {}
                    }
                }
                Ok((m, shape))
            }
            Rule::paren => {
                let inner = at.into_inner().next().ok_or_else(|| b.err(&p, "empty brackets"))?;
                self.build(b, inner, depth)
            }
            Rule::call => {
                let mut it = p.into_inner();
                let name = it.next().ok_or_else(|| b.err(&at, "expected a function"))?;
                let arg = it.next().ok_or_else(|| b.err(&at, "expected an argument"))?;
                let arg_text = text(&arg);
                let (x, sx) = self.build(b, arg, d)?;
                let second = match it.next() {
                    Some(q) => {
                        let written = text(&q);
                        let (y, sy) = self.build(b, q.clone(), d)?;
                        Some((q, written, y, sy))
                    }
                    None => None,
                };
                // Entry by entry, as the parser reads the shorthands of scalars: `ln(x)` is
                // `log(x)`, `log(x, b)` is `log(x)/log(b)`, `max(x, y)` is
                // `(x + y + abs(x - y))/2`.
                let word = name.as_str();
                let call = |f: Func, m: M| M::Call(f, Box::new(m));
                match (word, second) {
                    ("ln" | "log", None) if b.sugar() => Ok((call(Func::Log, x), sx)),
                    ("log", Some((q, _, base, sb))) if b.sugar() => {
                        if !sb.is_scalar() {
                            return Err(b.err(
                                &q,
                                format!("the base of `log` is a scalar, not {}", sb.describe()),
                            ));
                        }
                        Ok((
                            M::Div(Box::new(call(Func::Log, x)), Box::new(call(Func::Log, base))),
                            sx,
                        ))
                    }
                    ("max", Some((q, written, y, sy))) if b.sugar() => {
                        let shape = combine("+", &sx, &sy)
                            .map_err(|e| b.err(&q, e.message(&arg_text, &written)))?;
                        let diff = M::Add(vec![x.clone(), M::neg(y.clone())]);
                        let sum = M::Add(vec![x, y, call(Func::Abs, diff)]);
                        Ok((M::Div(Box::new(sum), Box::new(M::Scalar(Expr::int(2)))), shape))
                    }
                    (_, Some((q, ..))) => {
                        Err(b.err(&q, format!("`{word}` takes one argument: `{word}(…)`")))
                    }
                    (_, None) => {
                        let f = Func::from_name(word).ok_or_else(|| {
                            let how = super::parser::shorthand(word).map(str::to_string);
                            b.err(
                                &name,
                                how.unwrap_or_else(|| format!("unknown function `{word}`")),
                            )
                        })?;
                        Ok((call(f, x), sx))
                    }
                }
            }
            Rule::matrix_call => {
                let mut it = p.into_inner();
                let name = it.next().ok_or_else(|| b.err(&at, "expected a function"))?;
                let mut args = Vec::new();
                let mut shapes = Vec::new();
                for a in it {
                    let (m, s) = self.build(b, a, d)?;
                    args.push(m);
                    shapes.push(s);
                }
                if name.as_str() == "transpose" {
                    return match (args.pop(), shapes.pop(), args.is_empty()) {
                        (Some(_), Some(s), true) if s.is_scalar() => Err(b.err(&at, "`transpose` takes a vector or a matrix, not a scalar (declare vectors and matrices with `vector x in R^n` or `matrix W in R^{m x n}`)")),
                        (Some(m), Some(s), true) => Ok((M::transpose(m), s.transposed())),
                        _ => Err(b.err(&at, "`transpose` takes one argument")),
                    };
                }
                let f = MFunc::from_name(name.as_str())
                    .ok_or_else(|| b.err(&name, "unknown function"))?;
                let s = apply_shape(f, &shapes).map_err(|m| b.err(&at, m))?;
                Ok((M::Apply(f, args), s))
            }
            Rule::variable => {
                let mut inner = p.clone().into_inner();
                let name = inner.next().map(|n| n.as_str().to_string()).unwrap_or_default();
                let kind = self.shapes.get(&name);
                match (kind, inner.next()) {
                    (Some(k), None) => Ok((M::Name(name), k.shape())),
                    (Some(k), Some(list)) => {
                        let given = list.into_inner().count();
                        if given != k.rank() {
                            let what = match k {
                                Kind::Vector(_) => format!("`{name}` is a vector: write one index, as in `{name}_k`"),
                                Kind::Matrix(..) => format!("`{name}` is a matrix: write two indices, as in `{name}_{{i,j}}`"),
                            };
                            return Err(b.err(&at, what));
                        }
                        Ok((M::Scalar(b.variable(p)?), Shape::scalar()))
                    }
                    (None, _) => Ok((M::Scalar(b.variable(p)?), Shape::scalar())),
                }
            }
            Rule::sum => {
                let mut it = p.into_inner();
                let head = it.next().ok_or_else(|| b.err(&at, "expected `sum_k(…)`"))?;
                let body = it.next().ok_or_else(|| b.err(&at, "expected the summand"))?;
                let (index, lo, hi, explicit) = b.sum_binder(head, &at)?;
                b.bound.push(index.clone());
                let built = self.build(b, body.clone(), d);
                b.bound.pop();
                let (m, s) = built?;
                if !s.is_scalar() {
                    return Err(b.err(
                        &body,
                        format!("a sum's summand must be a scalar, not {}", s.describe()),
                    ));
                }
                Ok((M::Sum { index, lo, hi, explicit, body: Box::new(m) }, Shape::scalar()))
            }
            Rule::derivative => {
                let mut it = p.into_inner();
                let (Some(f), Some(x)) = (it.next(), it.next()) else {
                    return Err(b.err(&at, "expected `D(f, x)`"));
                };
                let (m, s) = self.build(b, f.clone(), d)?;
                if !s.is_scalar() {
                    return Err(b.err(&f, format!("`D` takes a scalar, not {}", s.describe())));
                }
                let (var, vs) = self.build(b, x.clone(), d)?;
                match (var, vs.is_scalar()) {
                    (M::Scalar(_), true) => Ok((M::D(Box::new(m), b.wrt(x, d)?), Shape::scalar())),
                    _ => Err(b.err(&x, format!("`D` is with respect to a scalar variable: write one entry, or the goal `derive … wrt {}`", text(&x)))),
                }
            }
            _ => Ok((M::Scalar(b.expr(p, depth)?), Shape::scalar())),
        }
    }

    /// `base ^ exponent` or `base .^ exponent`, `op` being the operator.
    #[allow(clippy::too_many_arguments)]
    fn power(
        &self,
        b: &mut Builder,
        base: M,
        shape: Shape,
        written: &str,
        op: Pair<Rule>,
        at: &Pair<Rule>,
        d: usize,
    ) -> Result<(M, Shape), Diagnostic> {
        let exponent = at
            .clone()
            .into_inner()
            .find(|q| q.as_span().start() > op.as_span().start())
            .ok_or_else(|| b.err(&op, "expected an exponent"))?;
        let exponent_text = text(&exponent);
        if op.as_str() == "^" && !shape.is_scalar() {
            let transpose = exponent_text == "T" && !self.shapes.contains_key("T");
            let message = if transpose {
                format!(
                    "`{written}^T` is a power, not a transpose: write `{written}'` (or `transpose({written})`) for the transpose of {}",
                    shape.describe()
                )
            } else {
                format!(
                    "`^` is a power of scalars, and `{written}` is {}: write `{written}.^{exponent_text}` for the power entry by entry{}",
                    shape.describe(),
                    if shape.is_vector() && exponent_text == "2" {
                        format!(", or `norm2({written})` for its squared norm")
                    } else {
                        String::new()
                    }
                )
            };
            return Err(b.err(&op, message));
        }
        let (e, s) = self.build(b, exponent, d)?;
        let shape = combine(op.as_str(), &shape, &s)
            .map_err(|m| b.err(&op, m.message(written, &exponent_text)))?;
        let m = match op.as_str() {
            // `e^x` is the exponential, as in scalar input.
            "^" if written == "e" && shape.is_scalar() && b.sugar() => {
                M::Call(Func::Exp, Box::new(e))
            }
            "^" => M::Pow(Box::new(base), Box::new(e)),
            _ => M::elementwise(Elementwise::Pow, base, e),
        };
        Ok((m, shape))
    }

    /// Index names used anywhere in `m`'s scalars and sums, which new indices avoid.
    fn used_indices(m: &M) -> BTreeSet<String> {
        let mut out: BTreeSet<String> =
            m.scalars().iter().flat_map(|e| e.all_index_names()).collect();
        fn sums(m: &M, out: &mut BTreeSet<String>) {
            if let M::Sum { index, body, .. } = m {
                out.insert(index.clone());
                sums(body, out);
            }
        }
        sums(m, &mut out);
        out
    }

    /// The expansion of `m` (of shape `s`) at new indices, with the indices.
    fn expand(
        &mut self,
        m: &M,
        s: &Shape,
        avoid: &BTreeSet<String>,
    ) -> Result<(Expr, Vec<Index>), String> {
        let mut avoid = avoid.clone();
        avoid.extend(Self::used_indices(m));
        let mut out = Vec::new();
        for size in [&s.rows, &s.cols] {
            if *size != Bound::Int(1) {
                let (k, _) = self.namer.index(size, &avoid);
                avoid.insert(k.clone());
                out.push(Index::Name(k));
            }
        }
        let (r, c) = match (s.rows == Bound::Int(1), out.as_slice()) {
            (_, []) => (None, None),
            (false, [i]) => (Some(i), None),
            (true, [j]) => (None, Some(j)),
            (_, [i, j]) => (Some(i), Some(j)),
            _ => (None, None),
        };
        let e = desugar(m, &self.shapes, r, c, &mut self.namer, &avoid)?;
        Ok((e, out))
    }

    /// A scalar statement part: its expansion, checked for depth.
    fn scalar(&mut self, b: &Builder, p: &Pair<Rule>, m: &M) -> Result<Expr, Diagnostic> {
        let (e, _) = self.expand(m, &Shape::scalar(), &BTreeSet::new()).map_err(|e| b.err(p, e))?;
        deep_enough(b, p, e)
    }

    /// `let NAME = BODY`: a scalar, or a whole vector or matrix, which becomes a definition
    /// of its entries (`h_i = …`) and a new vector or matrix name.
    pub fn definition(
        &mut self,
        b: &mut Builder,
        name_p: Pair<Rule>,
        body_p: Pair<Rule>,
        ctx: &Context,
    ) -> Result<(Expr, Expr), Diagnostic> {
        let name = b.variable(name_p.clone())?;
        let (Expr::Sym(n) | Expr::Idx(n, _)) = &name else {
            return Err(b.err(&name_p, "expected a name"));
        };
        let n = n.clone();
        if self.shapes.contains_key(&n) && ctx.definition(&n).is_none() {
            return Err(b.err(
                &name_p,
                format!("`{n}` is declared as a vector or matrix: it cannot also be defined"),
            ));
        }
        let (m, s) = self.build(b, body_p.clone(), 0)?;
        if s.is_scalar() {
            let body = self.scalar(b, &body_p, &m)?;
            // An entry of a vector or matrix defined in index notation names the whole too.
            if let Expr::Idx(_, ix) = &name {
                let kind = ix
                    .iter()
                    .map(|i| match i {
                        Index::Name(i) => ctx
                            .range_of(i)
                            .filter(|(lo, _)| **lo == Bound::Int(1))
                            .map(|(_, hi)| hi.clone()),
                        Index::Int(_) => None,
                    })
                    .collect::<Option<Vec<Bound>>>();
                match kind.as_deref() {
                    Some([n1]) => {
                        self.shapes.insert(n.clone(), Kind::Vector(n1.clone()));
                    }
                    Some([n1, n2]) => {
                        self.shapes.insert(n.clone(), Kind::Matrix(n1.clone(), n2.clone()));
                    }
                    _ => {}
                }
            }
            return Ok((name, body));
        }
        if matches!(name, Expr::Idx(..)) {
            return Err(b.err(
                &body_p,
                format!("the right side is {}: define the whole, `let {n} = …`", s.describe()),
            ));
        }
        let kind = match (s.rows.clone(), s.cols.clone()) {
            (r, Bound::Int(1)) => Kind::Vector(r),
            (Bound::Int(1), _) => {
                return Err(b.err(
                    &body_p,
                    format!("the right side is {}: define its transpose instead", s.describe()),
                ));
            }
            (r, c) => Kind::Matrix(r, c),
        };
        let (body, ix) = self.expand(&m, &s, &BTreeSet::new()).map_err(|e| b.err(&body_p, e))?;
        let body = deep_enough(b, &body_p, body)?;
        self.shapes.insert(n.clone(), kind);
        Ok((Expr::Idx(n, ix), body))
    }

    /// `assume LHS = RHS`, of scalars or of whole vectors (an equation entry by entry).
    pub fn hypothesis(
        &mut self,
        b: &mut Builder,
        l: Pair<Rule>,
        r: Pair<Rule>,
    ) -> Result<(Expr, Expr), Diagnostic> {
        let (ml, sl) = self.build(b, l.clone(), 0)?;
        let (mr, sr) = self.build(b, r.clone(), 0)?;
        if sl.is_scalar() && sr.is_scalar() {
            return Ok((self.scalar(b, &l, &ml)?, self.scalar(b, &r, &mr)?));
        }
        if sl != sr {
            let m = format!(
                "cannot equate `{}` ({}) and `{}` ({})",
                text(&l),
                sl.describe(),
                text(&r),
                sr.describe()
            );
            return Err(b.err(&r, m));
        }
        let mut avoid = Self::used_indices(&ml);
        avoid.extend(Self::used_indices(&mr));
        let (lhs, ix) = self.expand(&ml, &sl, &avoid).map_err(|e| b.err(&l, e))?;
        let (rr, rc) = match (sl.rows == Bound::Int(1), ix.as_slice()) {
            (false, [i]) => (Some(i), None),
            (true, [j]) => (None, Some(j)),
            (_, [i, j]) => (Some(i), Some(j)),
            _ => (None, None),
        };
        avoid.extend(ix.iter().map(|i| i.to_string()));
        let rhs = desugar(&mr, &self.shapes, rr, rc, &mut self.namer, &avoid)
            .map_err(|e| b.err(&r, e))?;
        Ok((deep_enough(b, &l, lhs)?, deep_enough(b, &r, rhs)?))
    }

    /// The expression of a goal: a scalar, or a whole vector (whose entry is differentiated).
    /// Its new indices avoid those of the definitions and hypotheses so far, which the
    /// derivation writes out, and the names in `rest`, the goal's text after `wrt` (the
    /// indices of `derive x'*A*x wrt x_i, x_j` are not `i` and `j`).
    pub fn goal_of(
        &mut self,
        b: &mut Builder,
        p: Pair<Rule>,
        ctx: &Context,
        rest: &str,
    ) -> Result<Expr, Diagnostic> {
        let (m, s) = self.build(b, p.clone(), 0)?;
        self.goal = ctx
            .definitions
            .iter()
            .flat_map(|d| [&d.name, &d.body])
            .chain(ctx.assumptions.iter().flat_map(|a| [&a.lhs, &a.rhs]))
            .flat_map(|e| e.all_index_names())
            .chain(identifiers(rest))
            .collect();
        self.form = GoalForm::default();
        if !m.is_plain_scalar() {
            self.form.source = Some(m.clone());
        }
        if !(s.is_scalar() || s.is_vector()) {
            return Err(b.err(
                &p,
                format!(
                    "`{}` is {}: differentiate a scalar, a vector, or one entry",
                    text(&p),
                    s.describe()
                ),
            ));
        }
        self.form.whole = s.is_vector();
        let (e, ix) = self.expand(&m, &s, &self.goal.clone()).map_err(|e| b.err(&p, e))?;
        self.goal.extend(e.all_index_names());
        self.goal.extend(ix.iter().map(|i| i.to_string()));
        deep_enough(b, &p, e)
    }

    /// A variable of a goal: a whole vector or matrix becomes its entry at new indices.
    /// The variable is read as an expression (`Rule::expr`), as the grammar reads it.
    pub fn goal_wrt(&mut self, b: &mut Builder, p: Pair<Rule>) -> Result<Expr, Diagnostic> {
        let name = text(&p);
        let Some(kind) = self.shapes.get(&name).cloned() else {
            // An entry (`W_{i,j}`) has its indices counted; other matrix notation is no
            // variable.
            if self.has_matrix(&p) && !matches!(self.build(b, p.clone(), 0)?, (M::Scalar(_), _)) {
                return Err(b.err(&p, format!("cannot differentiate with respect to `{name}`: a derivative is taken with respect to a variable, a defined name, or a whole declared vector or matrix")));
            }
            return b.wrt(p, 0);
        };
        let mut ix = Vec::new();
        for size in kind.sizes() {
            let (k, _) = self.namer.index(&size, &self.goal);
            self.goal.insert(k.clone());
            ix.push(Index::Name(k));
        }
        self.form.whole = true;
        Ok(Expr::Idx(name, ix))
    }

    /// What the goal just built says in matrix notation.
    pub fn goal_form(&mut self) -> GoalForm {
        std::mem::take(&mut self.form)
    }
}

/// `e`, unless it nests deeper than the language allows.
fn deep_enough(b: &Builder, p: &Pair<Rule>, e: Expr) -> Result<Expr, Diagnostic> {
    if e.depth() > MAX_DEPTH {
        return Err(b.err(p, format!("expression nests more than {MAX_DEPTH} levels deep")));
    }
    Ok(e)
}

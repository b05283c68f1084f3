//! Vectors and matrices as users write them: `W*x`, `x'`, `x'*A*x`, `norm2(x)`, `diag(a)`.
//!
//! A matrix expression ([`M`]) has a [`Shape`] and means its index-notation expansion
//! ([`desugar`]): `W*x` at row `i` is `sum_k(W_{i,k}*x_k)`. Nothing downstream of the
//! parser sees matrix notation except as text to show: the kernel and every rule work on
//! the expansion. Results are written back in matrix form by the engine
//! (`engine/matrix_form.rs`), and that reading is checked, never trusted: the kernel proves
//! the component result equal to the expansion of the printed form.

mod desugar;
mod infer;
pub(crate) mod print;

pub use desugar::{desugar, expansion, Namer};
pub use infer::{infer_shapes, output_indices};
pub use print::print;

use crate::expr::{Bound, Expr, Func};
use std::collections::BTreeMap;

/// A function of vectors and matrices (the grammar's `matrix_func`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MFunc {
    /// `norm2(x)`: the squared Euclidean (for a matrix, Frobenius) norm, ‖x‖².
    Norm2,
    /// `sum(x)`: the sum of the entries.
    Sum,
    /// `outer(x, y)`: `x*y'`.
    Outer,
    /// `softmax(z)`: `exp(z_i)/sum_k(exp(z_k))`.
    Softmax,
    /// `diag(v)`: the square matrix with `v` on its diagonal.
    Diag,
}

impl MFunc {
    pub fn name(self) -> &'static str {
        match self {
            MFunc::Norm2 => "norm2",
            MFunc::Sum => "sum",
            MFunc::Outer => "outer",
            MFunc::Softmax => "softmax",
            MFunc::Diag => "diag",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            MFunc::Outer => 2,
            _ => 1,
        }
    }

    pub fn from_name(name: &str) -> Option<MFunc> {
        [MFunc::Norm2, MFunc::Sum, MFunc::Outer, MFunc::Softmax, MFunc::Diag]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// An elementwise operator: `.*`, `./`, `.^`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Elementwise {
    Mul,
    Div,
    Pow,
}

impl Elementwise {
    pub fn symbol(self) -> &'static str {
        match self {
            Elementwise::Mul => ".*",
            Elementwise::Div => "./",
            Elementwise::Pow => ".^",
        }
    }
}

/// A matrix expression. Products are binary and read left to right, as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum M {
    /// A scalar term of index notation (`2`, `t`, `y_k`, `sum_k(x_k)`).
    Scalar(Expr),
    /// A declared or defined vector or matrix, written without indices.
    Name(String),
    Add(Vec<M>),
    Neg(Box<M>),
    /// `a*b`: the matrix product, or a scalar multiple.
    Mul(Box<M>, Box<M>),
    /// `a/s`: division by a scalar.
    Div(Box<M>, Box<M>),
    /// `a^b` of two scalars.
    Pow(Box<M>, Box<M>),
    /// `a .* b`, `a ./ b`, `a .^ s`.
    Elementwise(Elementwise, Box<M>, Box<M>),
    /// `a'`.
    Transpose(Box<M>),
    /// `f(a)`, entry by entry.
    Call(Func, Box<M>),
    Apply(MFunc, Vec<M>),
    /// `sum_k(…)` of index notation around matrix notation (`sum_k(y_k*norm2(x))`).
    Sum {
        index: String,
        lo: Bound,
        hi: Bound,
        explicit: bool,
        body: Box<M>,
    },
    /// `D(f, x)` of a scalar written in matrix notation.
    D(Box<M>, Expr),
}

impl M {
    /// About how many nodes the expansion has: `softmax(z)` writes `z` twice, so a nest of
    /// them doubles at each level (saturating; nests are bounded by the parser).
    pub fn expansion_weight(&self) -> u64 {
        let of = |ms: &[&M]| ms.iter().fold(1u64, |w, m| w.saturating_add(m.expansion_weight()));
        match self {
            M::Scalar(_) | M::Name(_) => 1,
            M::D(m, _) | M::Neg(m) | M::Transpose(m) | M::Call(_, m) => of(&[m]),
            M::Sum { body, .. } => of(&[body]),
            M::Add(ms) => of(&ms.iter().collect::<Vec<_>>()),
            M::Mul(a, b) | M::Div(a, b) | M::Pow(a, b) | M::Elementwise(_, a, b) => of(&[a, b]),
            M::Apply(MFunc::Softmax, ms) => of(&ms.iter().collect::<Vec<_>>()).saturating_mul(2),
            M::Apply(_, ms) => of(&ms.iter().collect::<Vec<_>>()),
        }
    }

    pub fn mul(a: M, b: M) -> M {
        M::Mul(Box::new(a), Box::new(b))
    }

    pub fn transpose(a: M) -> M {
        M::Transpose(Box::new(a))
    }

    pub fn neg(a: M) -> M {
        M::Neg(Box::new(a))
    }

    pub fn elementwise(op: Elementwise, a: M, b: M) -> M {
        M::Elementwise(op, Box::new(a), Box::new(b))
    }

    /// The left-to-right product of several factors; `None` for none.
    pub fn product(factors: Vec<M>) -> Option<M> {
        factors.into_iter().reduce(M::mul)
    }

    /// Whether no matrix notation occurs (a vector or matrix name, a transpose, an
    /// entry-by-entry operator, a function of vectors): this is a scalar of index notation.
    pub fn is_plain_scalar(&self) -> bool {
        let mut plain = true;
        self.walk(&mut |m| {
            plain &= !matches!(m, M::Name(_) | M::Transpose(_) | M::Elementwise(..) | M::Apply(..))
        });
        plain
    }

    /// Every vector or matrix name, in order of first use.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut |m| {
            if let M::Name(n) = m {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        });
        out
    }

    /// Every scalar leaf.
    pub fn scalars(&self) -> Vec<&Expr> {
        fn go<'a>(m: &'a M, out: &mut Vec<&'a Expr>) {
            match m {
                M::Scalar(e) => out.push(e),
                M::D(f, _) => go(f, out),
                _ => m.children().into_iter().for_each(|c| go(c, out)),
            }
        }
        let mut out = Vec::new();
        go(self, &mut out);
        out
    }

    fn children(&self) -> Vec<&M> {
        match self {
            M::Scalar(_) | M::Name(_) => vec![],
            M::Add(ts) | M::Apply(_, ts) => ts.iter().collect(),
            M::Neg(a) | M::Transpose(a) | M::Call(_, a) | M::D(a, _) => vec![a],
            M::Sum { body, .. } => vec![body],
            M::Mul(a, b) | M::Div(a, b) | M::Pow(a, b) | M::Elementwise(_, a, b) => vec![a, b],
        }
    }

    fn walk(&self, f: &mut dyn FnMut(&M)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
}

/// The shape of a value: rows × columns, each a size (`n`) or a number; 1 × 1 is a scalar,
/// n × 1 a (column) vector, 1 × n a row vector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub rows: Bound,
    pub cols: Bound,
}

fn one(b: &Bound) -> bool {
    *b == Bound::Int(1)
}

impl Shape {
    pub fn scalar() -> Shape {
        Shape { rows: Bound::Int(1), cols: Bound::Int(1) }
    }

    pub fn vector(n: Bound) -> Shape {
        Shape { rows: n, cols: Bound::Int(1) }
    }

    pub fn is_scalar(&self) -> bool {
        one(&self.rows) && one(&self.cols)
    }

    /// A column vector (not a scalar).
    pub fn is_vector(&self) -> bool {
        !one(&self.rows) && one(&self.cols)
    }

    pub fn transposed(&self) -> Shape {
        Shape { rows: self.cols.clone(), cols: self.rows.clone() }
    }

    /// "a scalar", "a vector in R^n", "a row vector in R^{1 x n}", "a matrix in R^{m x n}".
    pub fn describe(&self) -> String {
        match (one(&self.rows), one(&self.cols)) {
            (true, true) => "a scalar".into(),
            (false, true) => format!("a vector in R^{}", self.rows),
            (true, false) => format!("a row vector in R^{{1 x {}}}", self.cols),
            (false, false) => format!("a matrix in R^{{{} x {}}}", self.rows, self.cols),
        }
    }
}

/// How a name was declared: `vector x in R^n` or `matrix W in R^{m x n}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Vector(Bound),
    Matrix(Bound, Bound),
}

impl Kind {
    pub fn shape(&self) -> Shape {
        match self {
            Kind::Vector(n) => Shape::vector(n.clone()),
            Kind::Matrix(m, n) => Shape { rows: m.clone(), cols: n.clone() },
        }
    }

    /// How many indices the name takes in index notation.
    pub fn rank(&self) -> usize {
        match self {
            Kind::Vector(_) => 1,
            Kind::Matrix(..) => 2,
        }
    }

    /// The sizes its indices range over.
    pub fn sizes(&self) -> Vec<Bound> {
        match self {
            Kind::Vector(n) => vec![n.clone()],
            Kind::Matrix(m, n) => vec![m.clone(), n.clone()],
        }
    }
}

/// What a goal says in matrix notation, for its writeup and its result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoalForm {
    /// The differentiated expression as written, when it uses matrix notation.
    pub source: Option<M>,
    /// Whether the goal is of a whole vector or with respect to a whole vector or matrix,
    /// so that its result is wanted in matrix form.
    pub whole: bool,
}

/// The vectors and matrices in force: declared, defined, or read off index notation.
pub type Shapes = BTreeMap<String, Kind>;

/// Two shapes an operator cannot combine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// "add", "multiply", …
    verb: &'static str,
    /// "by" (`multiply a by b`) or "and" (`add a and b`).
    joiner: &'static str,
    /// Why, after the shapes: "the inner sizes n and m differ".
    why: Option<String>,
    a: Shape,
    b: Shape,
}

impl Mismatch {
    /// The message, naming each operand (its text, where given) and its shape.
    pub fn message(&self, left: &str, right: &str) -> String {
        let operand = |text: &str, s: &Shape| {
            if text.is_empty() {
                s.describe()
            } else {
                format!("`{text}` ({})", s.describe())
            }
        };
        let mut out = format!(
            "cannot {} {} {} {}",
            self.verb,
            operand(left, &self.a),
            self.joiner,
            operand(right, &self.b)
        );
        if let Some(why) = &self.why {
            out.push_str(": ");
            out.push_str(why);
        }
        out
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message("", ""))
    }
}

/// The shape of `a op b`, or why the shapes do not combine. Scalars combine with anything
/// (`2*x`, `x - 1`, `x/2`).
pub fn combine(op: &str, a: &Shape, b: &Shape) -> Result<Shape, Mismatch> {
    let fail = |verb, joiner, why: Option<String>| {
        Err(Mismatch { verb, joiner, why, a: a.clone(), b: b.clone() })
    };
    match op {
        "+" | "-" | ".*" | "./" | "=" => {
            if a == b || b.is_scalar() {
                Ok(a.clone())
            } else if a.is_scalar() {
                Ok(b.clone())
            } else {
                match op {
                    "+" => fail("add", "and", None),
                    "-" => fail("subtract", "and", None),
                    ".*" => fail("multiply entry by entry", "and", None),
                    "=" => fail("equate", "and", None),
                    _ => fail("divide entry by entry", "by", None),
                }
            }
        }
        "*" => {
            if a.is_scalar() {
                Ok(b.clone())
            } else if b.is_scalar() {
                Ok(a.clone())
            } else if a.cols == b.rows {
                Ok(Shape { rows: a.rows.clone(), cols: b.cols.clone() })
            } else {
                let why = format!("the inner sizes {} and {} differ", a.cols, b.rows);
                fail("multiply", "by", Some(why))
            }
        }
        "/" if b.is_scalar() => Ok(a.clone()),
        "/" => fail("divide", "by", Some("divide by a scalar, or entry by entry with `./`".into())),
        ".^" if b.is_scalar() => Ok(a.clone()),
        ".^" => fail("raise", "to", Some("the exponent of `.^` is a scalar".into())),
        _ if a.is_scalar() && b.is_scalar() => Ok(a.clone()),
        _ => fail(
            "raise",
            "to",
            Some("`^` is a power of scalars: write `.^` for the power entry by entry".into()),
        ),
    }
}

/// The shape of a function's result, or why its arguments do not fit.
pub fn apply_shape(f: MFunc, args: &[Shape]) -> Result<Shape, String> {
    let column = |s: &Shape| s.is_vector();
    match (f, args) {
        (_, [s]) if s.is_scalar() => Err(format!(
            "`{}` takes a vector or a matrix, not a scalar (declare vectors and matrices with `vector x in R^n` or `matrix W in R^{{m x n}}`)",
            f.name()
        )),
        (MFunc::Norm2 | MFunc::Sum, [_]) => Ok(Shape::scalar()),
        (MFunc::Softmax, [s]) if column(s) => Ok(s.clone()),
        (MFunc::Diag, [s]) if s.is_vector() => {
            Ok(Shape { rows: s.rows.clone(), cols: s.rows.clone() })
        }
        (MFunc::Outer, [a, b]) if column(a) && column(b) => {
            Ok(Shape { rows: a.rows.clone(), cols: b.rows.clone() })
        }
        (MFunc::Outer, [a, b]) => Err(format!(
            "`outer` takes two vectors, not {} and {}",
            a.describe(),
            b.describe()
        )),
        (_, [s]) => Err(format!("`{}` takes a vector, not {}", f.name(), s.describe())),
        _ => Err(format!("`{}` takes {} argument(s)", f.name(), f.arity())),
    }
}

/// The shape of `m` under `shapes`, or why it has none.
pub fn shape_of(m: &M, shapes: &Shapes) -> Result<Shape, String> {
    let s = |x: &M| shape_of(x, shapes);
    let combine = |op: &str, a: &Shape, b: &Shape| combine(op, a, b).map_err(|e| e.to_string());
    match m {
        M::Scalar(_) | M::D(..) => Ok(Shape::scalar()),
        M::Name(n) => shapes
            .get(n)
            .map(Kind::shape)
            .ok_or_else(|| format!("`{n}` is not a declared vector or matrix")),
        M::Add(ts) => {
            let mut acc = Shape::scalar();
            for t in ts {
                acc = combine("+", &acc, &s(t)?)?;
            }
            Ok(acc)
        }
        M::Neg(a) | M::Call(_, a) => s(a),
        M::Transpose(a) => Ok(s(a)?.transposed()),
        M::Mul(a, b) => combine("*", &s(a)?, &s(b)?),
        M::Div(a, b) => combine("/", &s(a)?, &s(b)?),
        M::Pow(a, b) => combine("^", &s(a)?, &s(b)?),
        M::Elementwise(op, a, b) => combine(op.symbol(), &s(a)?, &s(b)?),
        M::Apply(f, args) => apply_shape(*f, &args.iter().map(s).collect::<Result<Vec<_>, _>>()?),
        M::Sum { body, .. } => {
            let b = s(body)?;
            if b.is_scalar() {
                Ok(b)
            } else {
                Err(format!("a sum's summand must be a scalar, not {}", b.describe()))
            }
        }
    }
}

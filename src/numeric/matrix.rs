//! The matrix form of a result checked on its own: evaluated as matrices, with plain loops
//! (a product is a triple loop, `diag(v)` a matrix with `v` on its diagonal, `softmax` the
//! stable formula), never through its expansion into index notation, and compared entry by
//! entry with the component result at random valid points.

use super::check::{
    for_each_point, invalid_or_fail, judged_error, magnitude, CheckError, CheckOptions,
    CheckSummary, Outcome, REL_TOLERANCE,
};
use super::eval::{bound_value, eval_f64, EvalError};
use super::funcs::apply;
use super::point::Point;
use super::sample::Sampler;
use super::stack::guarded;
use crate::expr::{Context, Expr, Index};
use crate::matrix::{Elementwise, Kind, MFunc, Shapes, M};

/// A dense matrix of f64, row by row; a scalar is 1 × 1.
#[derive(Clone, Debug, PartialEq)]
struct Mat {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Mat {
    fn new(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Mat {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Mat { rows, cols, data }
    }

    fn scalar(x: f64) -> Mat {
        Mat { rows: 1, cols: 1, data: vec![x] }
    }

    fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    fn is_scalar(&self) -> bool {
        self.rows == 1 && self.cols == 1
    }

    fn map(&self, f: impl Fn(f64) -> Result<f64, EvalError>) -> Result<Mat, EvalError> {
        let data = self.data.iter().map(|&x| f(x)).collect::<Result<_, _>>()?;
        Ok(Mat { data, ..*self })
    }

    /// Entry by entry, a scalar standing for every entry.
    fn zip(
        &self,
        other: &Mat,
        f: impl Fn(f64, f64) -> Result<f64, EvalError>,
    ) -> Result<Mat, EvalError> {
        let (rows, cols) =
            if self.is_scalar() { (other.rows, other.cols) } else { (self.rows, self.cols) };
        if !(self.is_scalar()
            || other.is_scalar()
            || (self.rows == other.rows && self.cols == other.cols))
        {
            return Err(shape_error());
        }
        let get = |m: &Mat, r: usize, c: usize| if m.is_scalar() { m.data[0] } else { m.at(r, c) };
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(get(self, r, c), get(other, r, c))?);
            }
        }
        Ok(Mat { rows, cols, data })
    }

    /// The matrix product, or a scalar multiple.
    fn product(&self, other: &Mat) -> Result<Mat, EvalError> {
        if self.is_scalar() || other.is_scalar() {
            return self.zip(other, |a, b| Ok(a * b));
        }
        if self.cols != other.rows {
            return Err(shape_error());
        }
        Ok(Mat::new(self.rows, other.cols, |r, c| {
            (0..self.cols).map(|k| self.at(r, k) * other.at(k, c)).sum()
        }))
    }

    fn transpose(&self) -> Mat {
        Mat::new(self.cols, self.rows, |r, c| self.at(c, r))
    }
}

fn shape_error() -> EvalError {
    EvalError::Unsupported("the matrix form's shapes do not fit".into())
}

/// Evaluates matrix expressions at one point.
struct Evaluator<'a> {
    ctx: &'a Context,
    shapes: &'a Shapes,
}

impl Evaluator<'_> {
    fn size(&self, b: &crate::expr::Bound, point: &Point) -> Result<usize, EvalError> {
        let n = bound_value(b, point)?;
        usize::try_from(n).map_err(|_| EvalError::Unsupported(format!("size {n}")))
    }

    fn eval(&self, m: &M, point: &Point) -> Result<Mat, EvalError> {
        let ev = |x: &M| self.eval(x, point);
        Ok(match m {
            M::Scalar(e) => Mat::scalar(eval_f64(self.ctx, e, point)?),
            M::Name(n) => {
                // Each entry as the context defines it: a variable's value, or a definition
                // evaluated at that entry.
                let kind = self.shapes.get(n).ok_or_else(shape_error)?;
                let sizes: Vec<usize> =
                    kind.sizes().iter().map(|s| self.size(s, point)).collect::<Result<_, _>>()?;
                let (rows, cols) = match kind {
                    Kind::Vector(_) => (sizes[0], 1),
                    Kind::Matrix(..) => (sizes[0], sizes[1]),
                };
                let mut data = Vec::with_capacity(rows * cols);
                for r in 1..=rows {
                    for c in 1..=cols {
                        let ix = match kind {
                            Kind::Vector(_) => vec![Index::Int(r as i64)],
                            Kind::Matrix(..) => vec![Index::Int(r as i64), Index::Int(c as i64)],
                        };
                        data.push(eval_f64(self.ctx, &Expr::Idx(n.clone(), ix), point)?);
                    }
                }
                Mat { rows, cols, data }
            }
            M::Add(ts) => {
                let mut acc = Mat::scalar(0.0);
                for t in ts {
                    acc = acc.zip(&ev(t)?, |a, b| Ok(a + b))?;
                }
                acc
            }
            M::Neg(x) => ev(x)?.map(|a| Ok(-a))?,
            M::Mul(a, b) => ev(a)?.product(&ev(b)?)?,
            M::Div(a, b) | M::Elementwise(Elementwise::Div, a, b) => {
                ev(a)?.zip(&ev(b)?, |x, y| {
                    if y == 0.0 {
                        Err(EvalError::Domain("division by zero".into()))
                    } else {
                        Ok(x / y)
                    }
                })?
            }
            M::Elementwise(Elementwise::Mul, a, b) => ev(a)?.zip(&ev(b)?, |x, y| Ok(x * y))?,
            M::Pow(a, b) | M::Elementwise(Elementwise::Pow, a, b) => {
                ev(a)?.zip(&ev(b)?, |x, y| {
                    let v = x.powf(y);
                    if v.is_finite() {
                        Ok(v)
                    } else {
                        Err(EvalError::Domain(format!("{x}^{y}")))
                    }
                })?
            }
            M::Transpose(a) => ev(a)?.transpose(),
            M::Call(f, a) => ev(a)?.map(|x| apply(*f, x))?,
            M::Apply(f, args) => {
                let args: Vec<Mat> = args.iter().map(ev).collect::<Result<_, _>>()?;
                match (f, args.as_slice()) {
                    (MFunc::Norm2, [v]) => Mat::scalar(v.data.iter().map(|x| x * x).sum()),
                    (MFunc::Sum, [v]) => Mat::scalar(v.data.iter().sum()),
                    (MFunc::Outer, [u, v]) => u.product(&v.transpose())?,
                    (MFunc::Diag, [v]) => {
                        let n = v.data.len();
                        Mat::new(n, n, |r, c| if r == c { v.data[r] } else { 0.0 })
                    }
                    (MFunc::Softmax, [z]) => {
                        let top = z.data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let total: f64 = z.data.iter().map(|x| (x - top).exp()).sum();
                        z.map(|x| Ok((x - top).exp() / total))?
                    }
                    _ => return Err(shape_error()),
                }
            }
            M::Sum { index, lo, hi, body, .. } => {
                let (lo, hi) = (bound_value(lo, point)?, bound_value(hi, point)?);
                let mut total = 0.0;
                let mut at = point.clone();
                for k in lo..=hi {
                    at.set_index(index, k);
                    let v = self.eval(body, &at)?;
                    total += v.data.first().copied().ok_or_else(shape_error)?;
                }
                Mat::scalar(total)
            }
            M::D(..) => {
                return Err(EvalError::Unsupported("a derivative inside a matrix form".into()))
            }
        })
    }
}

/// Compare the matrix form `m` of `result` (whose row and column indices are `out`) with
/// `result` entry by entry, at `opts.points` valid points for each size n.
pub fn check_matrix_form(
    ctx: &Context,
    m: &M,
    shapes: &Shapes,
    result: &Expr,
    out: &[Index],
    opts: &CheckOptions,
) -> Result<CheckSummary, CheckError> {
    guarded(ctx, &[result], || {
        let sampler = Sampler::new(ctx, &[result], opts.seed)?;
        let evaluator = Evaluator { ctx, shapes };
        let scale = magnitude(ctx, result);
        let mut worst: f64 = 0.0;
        let names: Vec<&str> = out
            .iter()
            .map(|i| match i {
                Index::Name(n) => Ok(n.as_str()),
                Index::Int(_) => Err(CheckError::Eval(shape_error())),
            })
            .collect::<Result<_, _>>()?;
        let coverage = for_each_point(&sampler, opts, |point| {
            let value = match invalid_or_fail(evaluator.eval(m, point))? {
                Ok(v) => v,
                Err(o) => return Ok(o),
            };
            let (rows, cols) = match names.len() {
                1 => (value.rows, 1),
                _ => (value.rows, value.cols),
            };
            if names.len() == 1 && value.cols != 1 {
                return Err(CheckError::Eval(shape_error()));
            }
            for r in 0..rows {
                for c in 0..cols {
                    let mut at = point.clone();
                    at.set_index(names[0], r as i64 + 1);
                    if let Some(col) = names.get(1) {
                        at.set_index(col, c as i64 + 1);
                    }
                    let want = match invalid_or_fail(eval_f64(ctx, result, &at))? {
                        Ok(v) => v,
                        Err(o) => return Ok(o),
                    };
                    let got = value.at(r, c);
                    let err = judged_error(got, want, || {
                        Ok(eval_f64(ctx, &scale, &at).map_err(CheckError::Eval)?.abs())
                    })?;
                    if err > REL_TOLERANCE {
                        return Err(CheckError::Mismatch {
                            what: "the matrix form against the components".into(),
                            lhs: got.to_string(),
                            rhs: want.to_string(),
                            rel_error: err,
                            point: at.describe(),
                        });
                    }
                    worst = worst.max(err);
                }
            }
            Ok(Outcome::Counted)
        })?;
        Ok(CheckSummary {
            against: "the components".into(),
            points: coverage.points,
            n_values: coverage.n_values,
            max_rel_error: worst,
            exact: false,
            tolerance: format!("rel {REL_TOLERANCE:e}"),
            rejected: coverage.rejected,
        })
    })
}

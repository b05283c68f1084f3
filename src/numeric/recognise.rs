//! Recognising a derivation goal as one of the reference kernels: at random valid points,
//! the goal's original must agree with the kernel's value and the derived result with the
//! kernel's gradient (or Jacobian). Every kernel whose shape fits is tried.

use super::check::{
    for_each_point, invalid_or_fail, rel_error, CheckError, CheckOptions, CheckSummary, Outcome,
    REL_TOLERANCE,
};
use super::eval::{bound_value, EvalError, Evaluations};
use super::point::Point;
use super::reference::{Reference, Shape, REFERENCES};
use super::sample::{index_range, variables_of, Sampler};
use super::stack::guarded;
use crate::expr::{Context, Expr, Index};

/// What the goal maps from and to.
enum GoalShape {
    /// `d f / d x` for scalars.
    Scalar { x: String },
    /// `d f / d z_j` (f a scalar) or `d f_i / d z_j` (`out` = i).
    Vector { z: String, j: String, out: Option<String> },
}

fn goal_shape(ctx: &Context, of: &Expr, wrt: &Expr) -> Option<GoalShape> {
    let free: Vec<String> = of.free_indices().into_iter().collect();
    match wrt {
        Expr::Sym(x) if free.is_empty() => Some(GoalShape::Scalar { x: x.clone() }),
        Expr::Idx(z, ix) => match (ix.as_slice(), free.as_slice()) {
            ([Index::Name(j)], []) => {
                Some(GoalShape::Vector { z: z.clone(), j: j.clone(), out: None })
            }
            ([Index::Name(j)], [i]) if i != j && index_range(ctx, i) == index_range(ctx, j) => {
                Some(GoalShape::Vector { z: z.clone(), j: j.clone(), out: Some(i.clone()) })
            }
            _ => None,
        },
        _ => None,
    }
}

/// Compare the goal `d of / d wrt = result` with every reference kernel whose shape fits;
/// return a summary for each kernel that agrees on both the value and the derivative.
/// The seed's softmax cross-entropy gradient `a_j - y_j` matches "softmax-ce".
pub fn cross_check_with_references(
    ctx: &Context,
    of: &Expr,
    wrt: &Expr,
    result: &Expr,
    opts: &CheckOptions,
) -> Result<Vec<CheckSummary>, CheckError> {
    guarded(ctx, &[of, wrt, result], || {
        let sampler = Sampler::new(ctx, &[of, wrt, result], opts.seed)?;
        references_at(ctx, of, wrt, result, opts, &sampler)
    })
}

/// [`cross_check_with_references`] at the points of `sampler` (made for `[of, wrt, result]`).
pub(crate) fn references_at(
    ctx: &Context,
    of: &Expr,
    wrt: &Expr,
    result: &Expr,
    opts: &CheckOptions,
    sampler: &Sampler,
) -> Result<Vec<CheckSummary>, CheckError> {
    let Some(shape) = goal_shape(ctx, of, wrt) else {
        return Ok(Vec::new());
    };
    let (scalars, vectors) = variables_of(ctx, of)?;
    let mut evaluations = Evaluations::new(ctx);
    let mut matches = Vec::new();
    for reference in REFERENCES {
        let targets: Vec<Option<&String>> = match (&shape, reference.shape) {
            (GoalShape::Scalar { .. }, Shape::Scalar { .. })
            | (
                GoalShape::Vector { out: Some(_), .. },
                Shape::Scalar { .. } | Shape::VectorMap { .. },
            )
            | (GoalShape::Vector { out: None, .. }, Shape::Reduction { .. }) => vec![None],
            (GoalShape::Scalar { x }, Shape::ScalarTarget { .. }) => {
                scalars.iter().filter(|t| *t != x).map(Some).collect()
            }
            (GoalShape::Vector { z, out: Some(_), .. }, Shape::ScalarTarget { .. })
            | (GoalShape::Vector { z, out: None, .. }, Shape::ReductionTarget { .. }) => {
                vectors.iter().filter(|t| *t != z).map(Some).collect()
            }
            _ => Vec::new(),
        };
        for target in targets {
            let goal = Goal {
                ctx,
                of,
                result,
                shape: &shape,
                target: target.map(String::as_str),
                reference,
            };
            let mut max_rel = 0.0f64;
            let outcome = for_each_point(sampler, opts, |point| {
                goal.compare(point, &mut evaluations, &mut max_rel)
            });
            match outcome {
                Ok(coverage) => matches.push(CheckSummary {
                    against: format!("reference kernel {}", reference.name),
                    points: coverage.points,
                    n_values: coverage.n_values,
                    max_rel_error: max_rel,
                    exact: false,
                    tolerance: format!("rel {REL_TOLERANCE:e}"),
                    rejected: coverage.rejected,
                }),
                // This kernel is not the goal's.
                Err(CheckError::Mismatch { .. }) | Err(CheckError::NoValidPoints { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(matches)
}

/// One goal paired with one kernel (and target).
struct Goal<'a> {
    ctx: &'a Context,
    of: &'a Expr,
    result: &'a Expr,
    shape: &'a GoalShape,
    target: Option<&'a str>,
    reference: &'a Reference,
}

/// The kernel's values at one point: the function (one per output index) and the
/// derivative (indexed [i][j], or [0][j] for scalar outputs).
struct KernelValues {
    value: Vec<f64>,
    derivative: Vec<Vec<f64>>,
}

impl<'a> Goal<'a> {
    fn compare(
        &self,
        point: &Point,
        evaluations: &mut Evaluations<'a, f64>,
        max_rel: &mut f64,
    ) -> Result<Outcome, CheckError> {
        let (range, kernel) = match self.kernel_values(point)? {
            Ok(v) => v,
            Err(o) => return Ok(o),
        };
        if kernel.value.iter().chain(kernel.derivative.iter().flatten()).any(|v| !v.is_finite()) {
            return Ok(Outcome::Invalid(format!(
                "the kernel {} is not finite here",
                self.reference.name
            )));
        }
        let (out, j) = match self.shape {
            GoalShape::Scalar { .. } => (None, None),
            GoalShape::Vector { j, out, .. } => (out.as_deref(), Some(j.as_str())),
        };
        let lo = range.0;
        // One evaluator for the whole point: every entry shares the values of defined names.
        let mut at = evaluations.at(point);
        let mut indices: Vec<(&str, i64)> = Vec::new();
        for (row, (value, derivatives)) in kernel.value.iter().zip(&kernel.derivative).enumerate() {
            indices.clear();
            if let Some(i) = out {
                indices.push((i, lo + row as i64));
            }
            let got = match invalid_or_fail(at.eval_with(self.of, &indices))? {
                Ok(v) => v,
                Err(o) => return Ok(o),
            };
            self.agree(got, *value, "value", (point, &indices), max_rel)?;
            for (col, want) in derivatives.iter().enumerate() {
                if let Some(j) = j {
                    indices.truncate(usize::from(out.is_some()));
                    indices.push((j, lo + col as i64));
                }
                let got = match invalid_or_fail(at.eval_with(self.result, &indices))? {
                    Ok(v) => v,
                    Err(o) => return Ok(o),
                };
                self.agree(got, *want, "derivative", (point, &indices), max_rel)?;
            }
        }
        Ok(Outcome::Counted)
    }

    /// Fail unless `got` and `want` agree; `at` is the point and the output indices.
    fn agree(
        &self,
        got: f64,
        want: f64,
        what: &str,
        at: (&Point, &[(&str, i64)]),
        max_rel: &mut f64,
    ) -> Result<(), CheckError> {
        let err = rel_error(got, want);
        if err > REL_TOLERANCE {
            let what = format!(
                "the goal's {what} differs from the reference kernel {}",
                self.reference.name
            );
            let mut point = at.0.clone();
            for (name, v) in at.1 {
                point.set_index(name, *v);
            }
            return Err(super::check::mismatch(&what, got, want, err, &point));
        }
        *max_rel = max_rel.max(err);
        Ok(())
    }

    /// The kernel evaluated on the point's vectors; the range is that of the vector index.
    #[allow(clippy::type_complexity)]
    fn kernel_values(
        &self,
        point: &Point,
    ) -> Result<Result<((i64, i64), KernelValues), Outcome>, EvalError> {
        let missing = |name: &str| Outcome::Invalid(format!("no values for {name}"));
        let (input, target, range) = match self.shape {
            GoalShape::Scalar { x } => {
                let scalar = |name: &str| point.value(name, &[]).map(|v| vec![v.float]);
                let Some(x) = scalar(x) else {
                    return Ok(Err(missing(x)));
                };
                let t = match self.target.map(scalar) {
                    Some(None) => return Ok(Err(missing("the target"))),
                    Some(Some(t)) => t,
                    None => Vec::new(),
                };
                (x, t, (1, 1))
            }
            GoalShape::Vector { z, j, .. } => {
                let (lo, hi) = index_range(self.ctx, j);
                let (lo, hi) = (bound_value(&lo, point)?, bound_value(&hi, point)?);
                let Some(zv) = point.vector(z, lo, hi) else {
                    return Ok(Err(missing(z)));
                };
                let t = match self.target.map(|t| point.vector(t, lo, hi)) {
                    Some(None) => return Ok(Err(missing("the target"))),
                    Some(Some(t)) => t,
                    None => Vec::new(),
                };
                (zv, t, (lo, hi))
            }
        };
        if self.reference.target_on_simplex && (target.iter().sum::<f64>() - 1.0).abs() > 1e-12 {
            return Ok(Err(Outcome::Invalid("the target does not sum to one".into())));
        }
        let n = input.len();
        let delta = |i: usize, j: usize| f64::from(u8::from(i == j));
        let values = match self.reference.shape {
            Shape::Scalar { value, grad } => KernelValues {
                value: input.iter().map(|&x| value(x)).collect(),
                derivative: (0..n)
                    .map(|i| (0..n).map(|j| delta(i, j) * grad(input[i])).collect())
                    .collect(),
            },
            Shape::ScalarTarget { value, grad } => KernelValues {
                value: input.iter().zip(&target).map(|(&x, &t)| value(x, t)).collect(),
                derivative: (0..n)
                    .map(|i| (0..n).map(|j| delta(i, j) * grad(input[i], target[i])).collect())
                    .collect(),
            },
            Shape::VectorMap { value, jacobian } => {
                let mut out = vec![0.0; n];
                value(&input, &mut out);
                let derivative =
                    (0..n).map(|i| (0..n).map(|j| jacobian(&input, i, j)).collect()).collect();
                KernelValues { value: out, derivative }
            }
            Shape::Reduction { value, grad } => {
                let mut g = vec![0.0; n];
                grad(&input, &mut g);
                KernelValues { value: vec![value(&input)], derivative: vec![g] }
            }
            Shape::ReductionTarget { value, grad } => {
                let mut g = vec![0.0; n];
                grad(&input, &target, &mut g);
                KernelValues { value: vec![value(&input, &target)], derivative: vec![g] }
            }
        };
        Ok(Ok((range, values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expr, parse_file, parse_variable, IndexScope};

    fn names(found: &[CheckSummary]) -> Vec<&str> {
        found.iter().map(|c| c.against.as_str()).collect()
    }

    #[test]
    fn the_seed_gradient_matches_fused_softmax_ce() {
        let doc = parse_file(crate::numeric::fixtures::SOFTMAX_CE).unwrap();
        let ctx = &doc.context;
        let zj = parse_variable("z_j", IndexScope::Declared(&ctx.indices)).unwrap();
        let opts = CheckOptions::default();
        let found = cross_check_with_references(
            ctx,
            &parse_expr("l").unwrap(),
            &zj,
            &parse_expr("a_j - y_j").unwrap(),
            &opts,
        )
        .unwrap();
        assert_eq!(names(&found), vec!["reference kernel softmax-ce"]);
        assert_eq!(found[0].points, 40);
        let jac = cross_check_with_references(
            ctx,
            &parse_expr("a_i").unwrap(),
            &zj,
            &parse_expr("a_i*(delta(i,j) - a_j)").unwrap(),
            &opts,
        )
        .unwrap();
        assert_eq!(names(&jac), vec!["reference kernel softmax"]);
        // A wrong gradient matches nothing.
        let wrong = cross_check_with_references(
            ctx,
            &parse_expr("l").unwrap(),
            &zj,
            &parse_expr("a_j + y_j").unwrap(),
            &opts,
        )
        .unwrap();
        assert!(wrong.is_empty());
        // Without Σy = 1 the fused gradient does not apply.
        let mut bare = ctx.clone();
        bare.assumptions.clear();
        let found = cross_check_with_references(
            &bare,
            &parse_expr("l").unwrap(),
            &zj,
            &parse_expr("a_j - y_j").unwrap(),
            &opts,
        )
        .unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn scalar_elementwise_and_vector_kernels() {
        let ctx = Context::default();
        let opts = CheckOptions::default();
        let e = |s: &str| parse_expr(s).unwrap();
        // (original, variable, derivative, the kernels it must match)
        let cases: [(&str, &str, &str, &[&str]); 7] = [
            ("softplus(x)", "x", "sigmoid(x)", &["softplus"]),
            ("log(1 + exp(x)) - t*x", "x", "sigmoid(x) - t", &["bce-with-logits"]),
            ("tanh(z_i)", "z_j", "(1 - tanh(z_i)^2)*delta(i,j)", &["tanh"]),
            ("log(sum_k(exp(z_k)))", "z_j", "exp(z_j)/sum_k(exp(z_k))", &["log-sum-exp"]),
            ("sum_k((x_k - t_k)^2)/2", "x_j", "x_j - t_j", &["squared-error"]),
            (
                "z_i - log(sum_k(exp(z_k)))",
                "z_j",
                "delta(i,j) - exp(z_j)/sum_k(exp(z_k))",
                &["log-softmax"],
            ),
            ("x^2", "x", "2*x", &[]),
        ];
        for (of, wrt, result, kernels) in cases {
            let found = cross_check_with_references(&ctx, &e(of), &e(wrt), &e(result), &opts);
            let want: Vec<String> =
                kernels.iter().map(|k| format!("reference kernel {k}")).collect();
            assert_eq!(names(&found.unwrap()), want, "{of}");
        }
    }
}

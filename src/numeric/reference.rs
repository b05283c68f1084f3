//! Hand-written, numerically stable reference kernels, each with its gradient.
//!
//! They are written independently of the evaluators (sigmoid through tanh, softmax with
//! the max shift, cross-entropy through log-sum-exp), so that agreeing with them is
//! evidence. Slices of unequal length are read up to the shorter one; nothing panics.

/// The largest element, or -∞ for an empty slice.
fn max_of(z: &[f64]) -> f64 {
    z.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// `log Σ_k exp(z_k)`, shifted by the maximum so that it neither overflows nor underflows.
pub fn log_sum_exp(z: &[f64]) -> f64 {
    let m = max_of(z);
    if !m.is_finite() {
        return m;
    }
    m + z.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}

/// The gradient of log-sum-exp is the softmax.
pub fn log_sum_exp_grad(z: &[f64], grad: &mut [f64]) {
    softmax(z, grad);
}

/// `a_i = exp(z_i) / Σ_k exp(z_k)`, computed as `exp(z_i - m) / Σ_k exp(z_k - m)`.
pub fn softmax(z: &[f64], out: &mut [f64]) {
    let m = max_of(z);
    let mut total = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - m).exp();
        total += *o;
    }
    let inv = 1.0 / total;
    for o in out.iter_mut().take(z.len()) {
        *o *= inv;
    }
}

/// `∂a_i/∂z_j = a_i (δ_ij − a_j)` (indices from 0).
pub fn softmax_jacobian(z: &[f64], i: usize, j: usize) -> f64 {
    let mut a = vec![0.0; z.len()];
    softmax(z, &mut a);
    match (a.get(i), a.get(j)) {
        (Some(ai), Some(aj)) => ai * (f64::from(u8::from(i == j)) - aj),
        _ => f64::NAN,
    }
}

/// `log a_i = z_i − log Σ_k exp(z_k)`, without forming `a`.
pub fn log_softmax(z: &[f64], out: &mut [f64]) {
    let lse = log_sum_exp(z);
    for (o, &v) in out.iter_mut().zip(z) {
        *o = v - lse;
    }
}

/// `∂ log a_i/∂z_j = δ_ij − a_j`.
pub fn log_softmax_jacobian(z: &[f64], i: usize, j: usize) -> f64 {
    let lse = log_sum_exp(z);
    match (z.get(i), z.get(j)) {
        (Some(_), Some(zj)) => f64::from(u8::from(i == j)) - (zj - lse).exp(),
        _ => f64::NAN,
    }
}

/// Cross-entropy of probabilities `p` against a target distribution `y`: `−Σ_i y_i log p_i`.
pub fn cross_entropy(p: &[f64], y: &[f64]) -> f64 {
    -p.iter().zip(y).map(|(&pi, &yi)| yi * pi.ln()).sum::<f64>()
}

/// `∂/∂p_j = −y_j / p_j`.
pub fn cross_entropy_grad(p: &[f64], y: &[f64], grad: &mut [f64]) {
    for ((g, &pi), &yi) in grad.iter_mut().zip(p).zip(y) {
        *g = -yi / pi;
    }
}

/// Softmax cross-entropy from logits: `−Σ_i y_i log softmax(z)_i = Σ_i y_i (lse(z) − z_i)`.
pub fn softmax_cross_entropy(z: &[f64], y: &[f64]) -> f64 {
    let lse = log_sum_exp(z);
    z.iter().zip(y).map(|(&zi, &yi)| yi * (lse - zi)).sum()
}

/// The fused gradient `a − y`, valid when `Σ_i y_i = 1` (in general it is `(Σy) a − y`).
/// The tight loop: a max pass, a pass computing each exponential once into `grad` while
/// summing them, and one pass scaling by the reciprocal of the sum and subtracting `y`.
pub fn softmax_cross_entropy_grad(z: &[f64], y: &[f64], grad: &mut [f64]) {
    let m = max_of(z);
    let mut total = 0.0;
    for (g, &zi) in grad.iter_mut().zip(z) {
        *g = (zi - m).exp();
        total += *g;
    }
    let inv = 1.0 / total;
    for (g, &yi) in grad.iter_mut().zip(y) {
        *g = *g * inv - yi;
    }
}

/// The softmax Jacobian-vector product `Σ_j ∂a_i/∂z_j v_j = a_i (v_i − Σ_j a_j v_j)`, as a
/// tight loop: the max, each exponential once into `out` while summing, the dot product
/// with `v`, and one output pass.
pub fn softmax_jvp(z: &[f64], v: &[f64], out: &mut [f64]) {
    let m = max_of(z);
    let mut total = 0.0;
    for (o, &zi) in out.iter_mut().zip(z) {
        *o = (zi - m).exp();
        total += *o;
    }
    let inv = 1.0 / total;
    let dot = out.iter().zip(v).map(|(&e, &vi)| e * vi).sum::<f64>() * inv;
    for (o, &vi) in out.iter_mut().zip(v) {
        *o = *o * inv * (vi - dot);
    }
}

/// `1/(1+exp(−x))`: in IEEE arithmetic exp(−x) overflows to ∞ and the quotient to 0,
/// so the plain form is already stable, and accurate in both tails.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn sigmoid_grad(x: f64) -> f64 {
    let s = sigmoid(x);
    s * (1.0 - s)
}

/// `log(1+exp(x))`: `x + log(1+exp(−x))` for positive x, `log(1+exp(x))` otherwise.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

pub fn softplus_grad(x: f64) -> f64 {
    sigmoid(x)
}

pub fn tanh(x: f64) -> f64 {
    x.tanh()
}

pub fn tanh_grad(x: f64) -> f64 {
    let t = x.tanh();
    1.0 - t * t
}

/// Binary cross-entropy of logit `x` against target `t`:
/// `−t log σ(x) − (1−t) log(1−σ(x)) = max(x, 0) − x t + log(1 + exp(−|x|))`.
pub fn bce_with_logits(x: f64, t: f64) -> f64 {
    x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()
}

pub fn bce_with_logits_grad(x: f64, t: f64) -> f64 {
    sigmoid(x) - t
}

/// Squared error `½ Σ_i (x_i − t_i)²`.
pub fn squared_error(x: &[f64], t: &[f64]) -> f64 {
    0.5 * x.iter().zip(t).map(|(&xi, &ti)| (xi - ti) * (xi - ti)).sum::<f64>()
}

pub fn squared_error_grad(x: &[f64], t: &[f64], grad: &mut [f64]) {
    for ((g, &xi), &ti) in grad.iter_mut().zip(x).zip(t) {
        *g = xi - ti;
    }
}

/// How a kernel is called, which decides which goals it can be compared with.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `f(x)` of a scalar, also applied elementwise to a vector.
    Scalar { value: fn(f64) -> f64, grad: fn(f64) -> f64 },
    /// `f(x, t)` of a scalar and a target, also elementwise.
    ScalarTarget { value: fn(f64, f64) -> f64, grad: fn(f64, f64) -> f64 },
    /// A vector to a vector, with its Jacobian entry (i, j).
    VectorMap { value: fn(&[f64], &mut [f64]), jacobian: fn(&[f64], usize, usize) -> f64 },
    /// A vector to a scalar.
    Reduction { value: fn(&[f64]) -> f64, grad: fn(&[f64], &mut [f64]) },
    /// A vector and a target vector to a scalar; the gradient is with respect to the first.
    ReductionTarget { value: fn(&[f64], &[f64]) -> f64, grad: fn(&[f64], &[f64], &mut [f64]) },
}

/// A reference kernel with the name used in check summaries.
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    pub name: &'static str,
    /// What it computes, for writeups.
    pub description: &'static str,
    /// Whether the target must sum to one (the fused softmax cross-entropy gradient).
    pub target_on_simplex: bool,
    pub shape: Shape,
}

/// Every reference kernel, in a fixed order.
pub const REFERENCES: &[Reference] = &[
    Reference {
        name: "softmax",
        description: "softmax with the max shift; Jacobian a_i(δ_ij − a_j)",
        target_on_simplex: false,
        shape: Shape::VectorMap { value: softmax, jacobian: softmax_jacobian },
    },
    Reference {
        name: "log-softmax",
        description: "z_i − log-sum-exp(z); Jacobian δ_ij − a_j",
        target_on_simplex: false,
        shape: Shape::VectorMap { value: log_softmax, jacobian: log_softmax_jacobian },
    },
    Reference {
        name: "log-sum-exp",
        description: "log Σ_k exp(z_k) with the max shift; gradient softmax(z)",
        target_on_simplex: false,
        shape: Shape::Reduction { value: log_sum_exp, grad: log_sum_exp_grad },
    },
    Reference {
        name: "cross-entropy",
        description: "−Σ_i y_i log p_i; gradient −y/p",
        target_on_simplex: false,
        shape: Shape::ReductionTarget { value: cross_entropy, grad: cross_entropy_grad },
    },
    Reference {
        name: "softmax-ce",
        description: "softmax cross-entropy from logits; fused gradient a − y (Σy = 1)",
        target_on_simplex: true,
        shape: Shape::ReductionTarget {
            value: softmax_cross_entropy,
            grad: softmax_cross_entropy_grad,
        },
    },
    Reference {
        name: "squared-error",
        description: "½ Σ_i (x_i − t_i)²; gradient x − t",
        target_on_simplex: false,
        shape: Shape::ReductionTarget { value: squared_error, grad: squared_error_grad },
    },
    Reference {
        name: "sigmoid",
        description: "1/(1+exp(−x)); derivative σ(x)(1 − σ(x))",
        target_on_simplex: false,
        shape: Shape::Scalar { value: sigmoid, grad: sigmoid_grad },
    },
    Reference {
        name: "softplus",
        description: "log(1+exp(x)); derivative σ(x)",
        target_on_simplex: false,
        shape: Shape::Scalar { value: softplus, grad: softplus_grad },
    },
    Reference {
        name: "tanh",
        description: "tanh(x); derivative 1 − tanh(x)²",
        target_on_simplex: false,
        shape: Shape::Scalar { value: tanh, grad: tanh_grad },
    },
    Reference {
        name: "bce-with-logits",
        description: "binary cross-entropy from a logit; derivative σ(x) − t",
        target_on_simplex: false,
        shape: Shape::ScalarTarget { value: bce_with_logits, grad: bce_with_logits_grad },
    },
];

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EPS: f64 = 1e-6;

    /// gradcheck's acceptance rule.
    fn close_fd(analytic: f64, fd: f64) -> bool {
        (analytic - fd).abs() <= 1e-5 + 1e-3 * fd.abs()
    }

    fn shifted(z: &[f64], k: usize, h: f64) -> Vec<f64> {
        let mut w = z.to_vec();
        w[k] += h;
        w
    }

    fn simplex(w: &[f64]) -> Vec<f64> {
        let s: f64 = w.iter().sum();
        w.iter().map(|v| v / s).collect()
    }

    fn vectors() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (2usize..7).prop_flat_map(|n| {
            (prop::collection::vec(-5.0f64..5.0, n), prop::collection::vec(0.05f64..1.0, n))
        })
    }

    proptest! {
        #![proptest_config(crate::seeded::config(256))]
        #[test]
        fn vector_kernels_agree_with_each_other((z, w) in vectors()) {
            let n = z.len();
            let y = simplex(&w);
            let mut a = vec![0.0; n];
            softmax(&z, &mut a);
            prop_assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let mut la = vec![0.0; n];
            log_softmax(&z, &mut la);
            for k in 0..n {
                prop_assert!((la[k] - a[k].ln()).abs() < 1e-12);
            }
            // Softmax-CE is cross-entropy after softmax; its fused gradient is a − y.
            prop_assert!((softmax_cross_entropy(&z, &y) - cross_entropy(&a, &y)).abs() < 1e-12);
            let mut g = vec![0.0; n];
            softmax_cross_entropy_grad(&z, &y, &mut g);
            let mut lse_g = vec![0.0; n];
            log_sum_exp_grad(&z, &mut lse_g);
            for k in 0..n {
                prop_assert!((g[k] - (a[k] - y[k])).abs() < 1e-14);
                prop_assert!((lse_g[k] - a[k]).abs() < 1e-15);
            }
            // The Jacobian-vector product is the Jacobian times v (here v = w).
            let mut jvp = vec![0.0; n];
            softmax_jvp(&z, &w, &mut jvp);
            for i in 0..n {
                let product: f64 = (0..n).map(|j| softmax_jacobian(&z, i, j) * w[j]).sum();
                prop_assert!((jvp[i] - product).abs() < 1e-14);
            }
            // The chain rule through cross-entropy and the softmax Jacobian gives the same gradient.
            let mut ce_g = vec![0.0; n];
            cross_entropy_grad(&a, &y, &mut ce_g);
            for j in 0..n {
                let chained: f64 = (0..n).map(|i| ce_g[i] * softmax_jacobian(&z, i, j)).sum();
                prop_assert!((chained - g[j]).abs() < 1e-12);
                for i in 0..n {
                    let via_log = a[i] * log_softmax_jacobian(&z, i, j);
                    prop_assert!((via_log - softmax_jacobian(&z, i, j)).abs() < 1e-14);
                }
            }
        }

        #[test]
        fn vector_kernels_match_finite_differences((z, w) in vectors()) {
            let n = z.len();
            let y = simplex(&w);
            let p = simplex(&w.iter().map(|v| v + 0.5).collect::<Vec<_>>());
            let mut grads = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            log_sum_exp_grad(&z, &mut grads[0]);
            softmax_cross_entropy_grad(&z, &y, &mut grads[1]);
            squared_error_grad(&z, &y, &mut grads[2]);
            cross_entropy_grad(&p, &y, &mut grads[3]);
            for k in 0..n {
                let fd = |f: &dyn Fn(&[f64]) -> f64, x: &[f64]| (f(&shifted(x, k, EPS)) - f(&shifted(x, k, -EPS))) / (2.0 * EPS);
                prop_assert!(close_fd(grads[0][k], fd(&log_sum_exp, &z)));
                prop_assert!(close_fd(grads[1][k], fd(&|x| softmax_cross_entropy(x, &y), &z)));
                prop_assert!(close_fd(grads[2][k], fd(&|x| squared_error(x, &y), &z)));
                prop_assert!(close_fd(grads[3][k], fd(&|x| cross_entropy(x, &y), &p)));
                for i in 0..n {
                    let component = |f: fn(&[f64], &mut [f64]), x: &[f64]| {
                        let mut out = vec![0.0; n];
                        f(x, &mut out);
                        out[i]
                    };
                    let fd_soft = (component(softmax, &shifted(&z, k, EPS)) - component(softmax, &shifted(&z, k, -EPS))) / (2.0 * EPS);
                    prop_assert!(close_fd(softmax_jacobian(&z, i, k), fd_soft));
                    let fd_log = (component(log_softmax, &shifted(&z, k, EPS)) - component(log_softmax, &shifted(&z, k, -EPS))) / (2.0 * EPS);
                    prop_assert!(close_fd(log_softmax_jacobian(&z, i, k), fd_log));
                }
            }
        }

        #[test]
        fn scalar_kernels_match_definitions_and_finite_differences(x in -20.0f64..20.0, t in 0.0f64..1.0) {
            let naive_sigmoid = x.exp() / (1.0 + x.exp());
            prop_assert!((sigmoid(x) - naive_sigmoid).abs() < 1e-15);
            prop_assert!((softplus(x) - (1.0 + x.exp()).ln()).abs() < 1e-12 * (1.0 + x.abs()));
            let s = naive_sigmoid;
            let naive_bce = -(t * s.ln() + (1.0 - t) * (1.0 - s).ln());
            if (1.0 - s) > 1e-6 && s > 1e-6 {
                prop_assert!((bce_with_logits(x, t) - naive_bce).abs() < 1e-9);
            }
            let fd = |f: fn(f64) -> f64| (f(x + EPS) - f(x - EPS)) / (2.0 * EPS);
            prop_assert!(close_fd(sigmoid_grad(x), fd(sigmoid)));
            prop_assert!(close_fd(softplus_grad(x), fd(softplus)));
            prop_assert!(close_fd(tanh_grad(x), fd(tanh)));
            let fd_bce = (bce_with_logits(x + EPS, t) - bce_with_logits(x - EPS, t)) / (2.0 * EPS);
            prop_assert!(close_fd(bce_with_logits_grad(x, t), fd_bce));
        }
    }

    #[test]
    fn stable_at_extreme_logits() {
        let z = [1000.0, -1000.0, 999.0, 0.0];
        let y = [0.25, 0.25, 0.25, 0.25];
        let mut a = [0.0; 4];
        softmax(&z, &mut a);
        assert!(a.iter().all(|v| v.is_finite()));
        assert!((a[0] - 1.0 / (1.0 + (-1f64).exp())).abs() < 1e-15);
        let mut g = [0.0; 4];
        softmax_cross_entropy_grad(&z, &y, &mut g);
        assert!(g.iter().all(|v| v.is_finite()));
        softmax_jvp(&z, &y, &mut g);
        assert!(g.iter().all(|v| v.is_finite()));
        assert!(softmax_cross_entropy(&z, &y).is_finite());
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(
            bce_with_logits(1000.0, 0.0).is_finite() && bce_with_logits(-1000.0, 1.0).is_finite()
        );
    }
}

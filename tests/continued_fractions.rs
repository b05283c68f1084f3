//! The derivative of a continued fraction `1/(c + 1/(c + … 1/(c + x)))`, n deep, comes
//! out in lowest terms at every depth: `±1/(C*x + D)^2`, where `(C, D)` is the bottom row
//! of the n-th power of the Möbius matrix `[[0, 1], [1, c]]`, whose determinant −1 gives
//! the sign. Up to depth 8 the simplifier's candidates see the whole quotient; deeper, the
//! engine clears the brackets one by one (`src/engine/clearing.rs`).

use deriv::engine::derive;
use deriv::expr::Expr;
use deriv::syntax::parse_expr;
use deriv::terms::ExprExt;

fn continued_fraction(c: i128, depth: usize, sign: &str) -> String {
    format!("{}x{}", format!("1/({c} {sign} ").repeat(depth), ")".repeat(depth))
}

/// `±1/(C*x + D)^2` for `1/(c + …)` `depth` deep, from the matrix power.
fn textbook(c: i128, depth: usize) -> String {
    // `f_0 = x` is the identity; `f_k = 1/(c + f_(k-1))` multiplies by `[[0, 1], [1, c]]`.
    let (mut a, mut b, mut lower_x, mut lower_1) = (1i128, 0i128, 0i128, 1i128);
    for _ in 0..depth {
        (a, b, lower_x, lower_1) = (lower_x, lower_1, a + c * lower_x, b + c * lower_1);
    }
    let sign = if depth % 2 == 1 { "-" } else { "" };
    let x = if lower_x == 1 { "x".to_string() } else { format!("{lower_x}*x") };
    format!("{sign}1/({x} + {lower_1})^2")
}

fn derivative(src: &str) -> Expr {
    let e = parse_expr(src).expect("the input parses");
    let proof = derive(Default::default(), &e, &Expr::sym("x"))
        .unwrap_or_else(|err| panic!("{src}: {err}"));
    parse_expr(&proof.current().to_string()).expect("the result reparses")
}

/// A debug build needs more than a test thread's stack for a deep term.
fn with_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(256 << 20).spawn(f).unwrap().join().unwrap();
}

#[test]
fn every_depth_comes_out_in_lowest_terms() {
    with_stack(|| {
        for c in 1..=3 {
            for depth in [2, 3, 5, 8, 9, 10, 13, 21] {
                let got = derivative(&continued_fraction(c, depth, "+"));
                let want = parse_expr(&textbook(c, depth)).unwrap();
                assert_eq!(got, want, "c = {c}, depth {depth}: got {got}, want {want}");
            }
        }
    });
}

#[test]
fn a_fraction_that_is_x_again_has_derivative_one() {
    // `1/(1 - u)` applied three times is the identity.
    with_stack(|| {
        for depth in [9, 12, 15] {
            let got = derivative(&continued_fraction(1, depth, "-"));
            assert_eq!(got, Expr::int(1), "depth {depth}: got {got}");
        }
    });
}

/// Found by review: a region whose brackets multiply a factor equal to zero read as the
/// zero quotient, which has no sum to write, and the engine panicked.
#[test]
fn a_region_equal_to_zero_does_not_panic() {
    with_stack(|| {
        for src in [
            "x*(1/(x-1) - (x+1)/(x^2-1))/(1 + 1/(1 + x))",
            "x^2*(1/(x-1) - (x+1)/(x^2-1))/(1 + 1/(1 + 1/(1 + x)))",
        ] {
            derivative(src);
        }
    });
}

//! Side conditions the kernel must refuse rather than carry: regressions found by the
//! rule-soundness property (a bound index's range, an empty summation range).

use deriv::expr::{Bound, Context, Expr, IndexDecl};
use deriv::kernel::{rewrite, KernelError, Step};
use deriv::syntax::{parse_expr_in, IndexScope};
use deriv::terms::ExprExt;

fn ctx() -> Context {
    Context {
        indices: vec![IndexDecl {
            names: vec!["j".into(), "m".into()],
            lo: Bound::Int(1),
            hi: Bound::Sym("n".into(), 0),
        }],
        ..Context::default()
    }
}

fn term(ctx: &Context, s: &str) -> Expr {
    parse_expr_in(s, IndexScope::Declared(&ctx.indices)).expect("parses")
}

#[test]
fn a_delta_collapse_needing_a_bound_index_in_a_narrower_range_is_refused() {
    let ctx = ctx();
    // j runs over 1..n outside; collapsing over m in 2..n would drop the j = 1 term.
    let e = term(&ctx, "sum_j(x_j*sum_{m=2}^{n}(z_m*delta(j,m)))");
    let step = Step::new("delta-collapse", vec![0, 1]);
    match rewrite(&ctx, &e, &step) {
        Err(KernelError::ConditionFails(c)) => assert!(c.to_string().contains("j in 2..n"), "{c}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Over the same range it is fine, and no hypothesis is left.
    let e = term(&ctx, "sum_j(x_j*sum_m(z_m*delta(j,m)))");
    let (after, open, _) = rewrite(&ctx, &e, &step).expect("accepted");
    assert_eq!(after, term(&ctx, "sum_j(x_j*z_j)"));
    assert!(open.is_empty(), "{open:?}");
}

#[test]
fn a_sum_of_constants_over_a_possibly_empty_range_carries_its_length_condition() {
    let ctx = ctx();
    let e = term(&ctx, "sum_{m=4}^{n}(c)");
    let mut step = Step::new("sum-of-constant", vec![]);
    step.binding.terms.insert("C".into(), Expr::sym("c"));
    step.binding.indices.insert("k".into(), deriv::expr::Index::Name("m".into()));
    step.binding.bounds.insert("A".into(), Bound::Int(4));
    step.binding.bounds.insert("B".into(), Bound::Sym("n".into(), 0));
    let (_, open, _) = rewrite(&ctx, &e, &step).expect("accepted under a hypothesis");
    assert_eq!(open.iter().map(|c| c.to_string()).collect::<Vec<_>>(), vec!["n >= 4 - 1"]);
    // With numbers the kernel decides: 5..3 is empty and has length 0, 5..2 is refused.
    let e = term(&ctx, "sum_{m=5}^{2}(c)");
    step.binding.bounds.insert("A".into(), Bound::Int(5));
    step.binding.bounds.insert("B".into(), Bound::Int(2));
    assert!(matches!(rewrite(&ctx, &e, &step), Err(KernelError::ConditionFails(_))));
}

#[test]
fn numbers_that_cancel_do_not_hide_the_sign_of_a_size() {
    use deriv::kernel::rules::Condition;
    use deriv::kernel::{decide, Verdict};
    let ctx = ctx();
    let verdict = |s: &str| decide(&ctx, &Condition::NonZero(term(&ctx, s)), &[]);
    // A size is at least 1, so `n - 1 + 1` (the length of 0..n-1) is not zero ...
    assert_eq!(verdict("n - 1 + 1"), Verdict::Holds);
    assert_eq!(verdict("(n - 1) - 0 + 1"), Verdict::Holds);
    // ... but `n - 1` may be, and so may `n - 2 + 1`.
    assert_eq!(verdict("n - 1"), Verdict::Unknown);
    assert_eq!(verdict("n - 2 + 1"), Verdict::Unknown);
}

#[test]
fn range_lengths_with_a_size_are_decided_by_comparing_bounds() {
    let ctx = ctx();
    let length = |lo: Bound, hi: Bound| {
        let e = term(&ctx, &format!("sum_{{m={lo}}}^{{{hi}}}(c)"));
        let mut step = Step::new("sum-of-constant", vec![]);
        step.binding.terms.insert("C".into(), Expr::sym("c"));
        step.binding.indices.insert("k".into(), deriv::expr::Index::Name("m".into()));
        step.binding.bounds.insert("A".into(), lo);
        step.binding.bounds.insert("B".into(), hi);
        rewrite(&ctx, &e, &step).map(|(_, open, _)| open.len())
    };
    let n = |k: i64| Bound::Sym("n".into(), k);
    // n+1..n is empty: its length is 0, so the condition holds; n+3..n has length -2.
    assert_eq!(length(n(1), n(0)), Ok(0));
    assert!(matches!(length(n(3), n(0)), Err(KernelError::ConditionFails(_))));
    // 2..n has n - 1 >= 0 terms for a size n >= 1, and 3..n+1 likewise; 4..n may not.
    assert_eq!(length(Bound::Int(2), n(0)), Ok(0));
    assert_eq!(length(Bound::Int(3), n(1)), Ok(0));
    assert_eq!(length(Bound::Int(4), n(0)), Ok(1));
}

/// `d0 = exp(y)`, and each `dk` is ten copies of the one before: the deciders must take
/// each definition once, not once per mention (10^15 walks of `d0` for `d15`). Found by
/// an adversarial certificate whose replay did not finish.
#[test]
fn deciders_walk_each_definition_once_however_often_it_is_mentioned() {
    use deriv::expr::Definition;
    use deriv::kernel::{decide, Verdict};
    use deriv::rules::Condition;
    let mut ctx = Context::default();
    ctx.definitions.push(Definition { name: Expr::sym("d0"), body: term(&ctx, "exp(y)") });
    for k in 1..=15 {
        let body = vec![format!("d{}", k - 1); 10].join(" + ");
        ctx.definitions
            .push(Definition { name: Expr::sym(&format!("d{k}")), body: term(&ctx, &body) });
    }
    let top = Expr::sym("d15");
    let free_of_x = Condition::FreeOf(Expr::sym("x"), top.clone());
    let depends_on_y = Condition::FreeOf(Expr::sym("y"), top.clone());
    assert_eq!(decide(&ctx, &free_of_x, &[]), Verdict::Holds);
    assert_eq!(decide(&ctx, &depends_on_y, &[]), Verdict::Fails);
    // The sign analysis unfolds 16 levels (two per definition here), 10^7 walks unshared.
    let seventh = Expr::sym("d7");
    assert_eq!(decide(&ctx, &Condition::Positive(seventh.clone()), &[]), Verdict::Holds);
    assert_eq!(decide(&ctx, &Condition::NonNegative(seventh), &[]), Verdict::Holds);
    assert_eq!(decide(&ctx, &Condition::Positive(top), &[]), Verdict::Unknown);
}

/// `|u| = u` needs `u >= 0` decided: carried as a hypothesis it would hold on no
/// neighbourhood of 0, and under a derivative give `D(abs(x), x) = 1` at x = 0.
#[test]
fn a_closed_condition_is_decided_or_refused_never_carried() {
    let ctx = Context::default();
    let e = term(&ctx, "D(abs(x), x)");
    let mut step = Step::new("abs-of-nonnegative", vec![0]);
    step.binding.terms.insert("U".into(), Expr::sym("x"));
    assert!(matches!(rewrite(&ctx, &e, &step), Err(KernelError::ConditionFails(_))));
    // Where the sign analysis shows it, the rule applies with nothing left open.
    let e = term(&ctx, "D(abs(exp(x)), x)");
    step.binding.terms.insert("U".into(), term(&ctx, "exp(x)"));
    let (after, open, _) = rewrite(&ctx, &e, &step).expect("accepted");
    assert_eq!(after, term(&ctx, "D(exp(x), x)"));
    assert!(open.is_empty(), "{open:?}");
}

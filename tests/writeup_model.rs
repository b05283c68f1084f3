//! The writeup model: every printed line is a term the kernel produced, grouping only
//! chooses where lines break, and the Jacobian's cases of the seed are proved by the kernel.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::expr::{Expr, Index};
use deriv::kernel::ring::ring_equal;
use deriv::kernel::Proof;
use deriv::matrix::M;
use deriv::render::abbreviations::choose;
use deriv::render::matrix::{Notation, Vectors};
use deriv::render::writeup::{build, Detail, Formula, Rel, Span, Writeup};
use deriv::report::{derive_and_check, Report};
use deriv::rules::Condition;
use deriv::syntax::{parse_expr, parse_expr_in, parse_file, IndexScope};
use deriv::terms::ExprExt;
use std::path::Path;
use writeups::{examples, name};

fn report(path: &Path) -> Report {
    let src = std::fs::read_to_string(path).expect("readable");
    derive_and_check(&parse_file(&src).expect("parses"))
        .unwrap_or_else(|f| panic!("{}: {f:?}", name(path)))
}

fn seed() -> Report {
    report(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/softmax_ce.deriv"))
}

fn term(r: &Report, src: &str) -> Expr {
    parse_expr_in(src, IndexScope::Declared(&r.context.indices)).expect("parses")
}

/// Every line is the kernel's term after its last step, once the abbreviations the writeup
/// names are unfolded (and the result line is the result, whole).
#[test]
fn every_line_is_the_kernels_term_after_its_last_step() {
    for path in examples().into_iter().chain(writeups::deriv_files("tests/index")) {
        let r = report(&path);
        let proofs: Vec<&Proof> = r.goals.iter().map(|g| &g.proof).collect();
        let abbreviations = choose(&r.context, &proofs);
        for detail in [Detail::Brief, Detail::Full] {
            let w = build(&r, detail, Vectors::Bold);
            for (g, d) in w.goals.iter().zip(&r.goals) {
                let steps = d.proof.steps();
                assert_eq!(g.statement, *d.proof.start_term());
                let mut next = 0;
                for line in &g.lines {
                    assert_eq!(
                        line.steps.start,
                        next,
                        "{}: lines cover the steps in order",
                        name(&path)
                    );
                    assert!(!line.steps.is_empty());
                    let after = &steps[line.steps.end - 1].after;
                    assert_eq!(abbreviations.unfold(&line.term), *after, "{}", name(&path));
                    if after == d.proof.current() {
                        assert_eq!(
                            line.term,
                            *after,
                            "{}: the result is printed whole",
                            name(&path)
                        );
                    }
                    assert!(!line.caption.is_empty(), "{}: every line has a caption", name(&path));
                    next = line.steps.end;
                }
                assert_eq!(next, steps.len(), "{}: every step is on some line", name(&path));
                assert_eq!(g.result, *d.proof.current());
                if detail == Detail::Full {
                    assert_eq!(
                        g.lines.len(),
                        steps.len(),
                        "{}: full detail shows every step",
                        name(&path)
                    );
                }
            }
        }
    }
}

fn captions(w: &Writeup) -> Vec<Vec<Span>> {
    w.goals.iter().flat_map(|g| g.lines.iter().map(|l| l.caption.clone())).collect()
}

fn words(c: &[Span]) -> String {
    c.iter().filter_map(|s| if let Span::Text(t) = s { Some(t.as_str()) } else { None }).collect()
}

#[test]
fn the_seed_is_captioned_as_a_person_would() {
    let r = seed();
    let brief = build(&r, Detail::Brief, Vectors::Bold);
    let full = build(&r, Detail::Full, Vectors::Bold);
    assert!(brief.goals[0].lines.len() < full.goals[0].lines.len(), "brief groups micro-steps");
    let all: Vec<String> = captions(&brief).iter().map(|c| words(c)).collect();
    for want in [
        "by the quotient rule",
        "the sum of Kronecker deltas collapses",
        "fold the definition of ",
        "use ",
    ] {
        assert!(all.iter().any(|c| c.contains(want)), "no caption `{want}` in {all:?}");
    }
    // Folding names the definition; using a hypothesis quotes it.
    let a_i = term(&r, "a_i");
    let hypothesis = Span::Math(Formula::Rel(term(&r, "sum_i(y_i)"), Rel::Eq, Expr::int(1)));
    let caps = captions(&brief);
    assert!(caps.iter().any(|c| words(c).contains("fold the definition of")
        && c.contains(&Span::Math(Formula::Term(a_i.clone())))));
    assert!(caps.iter().any(|c| c.contains(&hypothesis)));
    // In full detail the derivative of a variable is its Kronecker delta.
    let leaf = Span::Math(Formula::Rel(term(&r, "D(z_k, z_j)"), Rel::Eq, term(&r, "delta(k,j)")));
    assert!(captions(&full).iter().any(|c| c.contains(&leaf)), "{:?}", captions(&full));
    // The brief line with the same derivative says what it is worth.
    let worked =
        [Span::Text("the derivative of ".into()), Span::Math(Formula::Term(term(&r, "exp(z_k)")))];
    assert!(caps.iter().any(|c| c.starts_with(&worked)), "{caps:?}");
}

#[test]
fn the_seeds_jacobian_cases_are_proved_by_the_kernel() {
    let r = seed();
    let w = build(&r, Detail::Brief, Vectors::Bold);
    let j = w.goals[0].jacobian.as_ref().expect("∂a_i/∂z_j has a Jacobian");
    assert!(w.goals[1].jacobian.is_none(), "∂l/∂z_j is a gradient, not a Jacobian");
    // The textbook's cases: a_i(1 - a_i) on the diagonal, -a_i a_j off it.
    for (case, want) in [(&j.same, "a_i*(1 - a_i)"), (&j.distinct, "-a_i*a_j")] {
        let got = case.proof.current();
        assert!(ring_equal(got, &term(&r, want)).unwrap_or(false), "got `{got}`, want `{want}`");
        assert!(got.size() <= term(&r, want).size(), "`{got}` is no larger than `{want}`");
        // Replaying the steps with the kernel alone gives the same chain.
        let mut replayed = Proof::start(r.context.clone(), case.proof.start_term().clone())
            .expect("the kernel starts");
        for s in case.proof.steps() {
            replayed.apply(s.step.clone()).expect("the kernel accepts");
        }
        assert_eq!(replayed.current(), got);
    }
    // Each case goes on from the goal's own proof: its first step leaves the unified
    // result by a case rule, whose hypothesis the case carries.
    let unified = r.goals[0].proof.current();
    let goal = r.goals[0].proof.start_term();
    let (i, jx) = (Index::Name("i".into()), Index::Name("j".into()));
    for (case, rule, hypothesis) in [
        (&j.same, "index-case", Condition::IndexEq(i.clone(), jx.clone())),
        (&j.distinct, "delta-distinct", Condition::IndexNe(i.clone(), jx.clone())),
    ] {
        assert_eq!(case.proof.start_term(), goal);
        let first = &case.proof.steps()[case.from];
        assert_eq!((&first.before, first.step.rule.as_str()), (unified, rule));
        assert!(case.proof.hypotheses().contains(&hypothesis), "{:?}", case.proof.hypotheses());
    }
    assert_eq!(j.same.proof.steps()[j.same.from].after, unified.subst_index("j", &i));
    let m = j.matrix.as_ref().expect("1..n gives a matrix");
    // The corners index by the range's ends, 1 and n.
    let corner = |src: &str| parse_expr(src).expect("parses");
    assert_eq!(m.values[0][0], corner("a_1*(1 - a_1)"));
    assert!(ring_equal(&m.values[1][0], &corner("-a_n*a_1")).unwrap_or(false));
    assert_eq!(m.partials[0][1], corner("D(a_1, z_n)"));
    // Off the diagonal, a corner is the case i ≠ j at 1 and n: it needs 1 ≠ n.
    assert_eq!(m.assumes, vec![Condition::IndexNe(Index::Int(1), Index::Name("n".into()))]);
}

#[test]
fn vector_forms_and_hypotheses_of_the_seed() {
    let r = seed();
    let w = build(&r, Detail::Brief, Vectors::Bold);
    let l = &w.goals[1];
    assert_eq!(
        l.vector,
        Some(Formula::Gradient {
            of: M::Scalar(term(&r, "l")),
            wrt: M::Name("z".into()),
            value: M::Add(vec![M::Name("a".into()), M::neg(M::Name("y".into()))]),
            notation: Notation { vectors: Vectors::Bold, matrices: Default::default() },
        })
    );
    assert_eq!(l.depends_on.len(), 1, "{:?}", l.depends_on);
    assert!(w.goals[0].vector.is_none() && w.goals[0].depends_on.is_empty());
    assert!(l.checked.starts_with("every step replayed by the kernel"));
}

/// Each abbreviation is a definition the kernel's validator accepts after the context, and
/// each one a goal lists is shown in its lines or used by another one it lists.
#[test]
fn every_abbreviation_is_a_definition_the_kernel_accepts() {
    let mut named = 0;
    for path in examples().into_iter().chain(writeups::deriv_files("tests/index")) {
        let r = report(&path);
        let proofs: Vec<&Proof> = r.goals.iter().map(|g| &g.proof).collect();
        let abbreviations = choose(&r.context, &proofs);
        let mut extended = (*r.context).clone();
        extended.definitions.extend(abbreviations.definitions.iter().cloned());
        let verdict = deriv::kernel::validate::check_context(&extended);
        assert!(verdict.is_ok(), "{}: {verdict:?}", name(&path));
        named += abbreviations.definitions.len();
        for g in build(&r, Detail::Full, Vectors::Bold).goals {
            for (k, a) in g.abbreviations.iter().enumerate() {
                let Formula::Rel(Expr::Sym(n) | Expr::Idx(n, _), Rel::Eq, _) = a else {
                    panic!("{}: `{a:?}` is not a definition", name(&path))
                };
                let shown = g.lines.iter().any(|l| l.term.mentions_name(n))
                    || g.abbreviations[k + 1..]
                        .iter()
                        .any(|b| matches!(b, Formula::Rel(_, _, body) if body.mentions_name(n)));
                assert!(shown, "{}: `{n}` is listed but not shown", name(&path));
            }
        }
    }
    assert!(named >= 10, "only {named} abbreviations over the example and index files");
}

/// The softmax's denominator, the issue's own example, gets its name in the quotient rule.
#[test]
fn the_softmax_denominator_is_named_in_the_quotient_rule() {
    let r = seed();
    let w = build(&r, Detail::Brief, Vectors::Bold);
    let s = Expr::sym("S");
    let stated = Formula::Rel(s.clone(), Rel::Eq, term(&r, "sum_k(exp(z_k))"));
    assert_eq!(w.goals[0].abbreviations, [stated]);
    let quotient = &w.goals[0].lines[1];
    assert!(
        quotient.term.mentions_name("S") && !quotient.term.any(&mut |e| matches!(e, Expr::Sum(_)))
    );
}

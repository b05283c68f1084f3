//! Soundness of the rule table: every rule's two sides agree numerically at random points.
//!
//! Each rule has an instance generator, one line of `TESTS` (or, for a function's
//! derivative rule, one from the function's domain in the function table). A generic engine draws
//! instances, replays each as a step with `kernel::rewrite` and compares the term before
//! and after with `numeric::check_equal`: exactly when both sides are rational, else in
//! f64. The walk over `RULES` fails for a rule without a generator or with too few
//! compared samples, so a rule cannot join the table untested; the negative control runs
//! wrong rules through the same engine to show that it refutes them.

use deriv::expr::{Bound, Context, Expr, Func, Index, Sum};
use deriv::functions::{on, Domain, FUNCTIONS};
use deriv::kernel::{self, KernelError, Lemma, Proof, Step};
use deriv::numeric::{check_equal, CheckError, CheckOptions};
use deriv::rules::{Binding, Condition, RuleBody, RuleId, Shape, RULES};
use deriv::syntax::{parse_expr, parse_file};
use deriv::terms::ExprExt;
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Instances drawn per rule, and how many of them the kernel must accept and numeric compare.
const SAMPLES: usize = 32;
const MIN_ACCEPTED: usize = 20;
/// Rules marked `EXACT` must be compared in exact rationals at least this often.
const MIN_EXACT: usize = 5;
/// Valid points per check: `POINTS` for terms without sizes, else `POINTS_PER_SIZE` for each n = 2..6.
const POINTS: usize = 8;
const POINTS_PER_SIZE: usize = 2;

/// Rational instances are frequent enough to demand exact comparisons.
const EXACT: bool = true;
/// Functions or `D(…)` on a side (dual numbers are f64): compared in f64 only.
const FLOAT: bool = false;

/// One line per rule: its name, whether it must see exact comparisons, and its instances.
static TESTS: &[RuleTest] = &[
    bi(RuleId::RingNormalize, EXACT, ring_identity),
    bi(RuleId::RenameBoundIndex, EXACT, rename_bound_index),
    bi(RuleId::DerivativeOfVariable, FLOAT, derivative_of_variable),
    rw(RuleId::DerivativeOfConstant, FLOAT, |g| bind().x(g).t("C", g.free_of_x())),
    bi(RuleId::SumRule, FLOAT, |g| {
        let terms = g.several(Gen::any);
        Built::at(Expr::d(Expr::Add(terms.into()), g.x.clone()))
    }),
    bi(RuleId::ProductRule, FLOAT, |g| {
        let factors = g.several(Gen::any);
        Built::at(Expr::d(Expr::Mul(factors.into()), g.x.clone()))
    }),
    rw(RuleId::ConstantFactor, FLOAT, |g| bind().x(g).t("C", g.free_of_x()).t("U", g.any())),
    rw(RuleId::ConstantFactorRight, FLOAT, |g| bind().x(g).t("U", g.any()).t("C", g.free_of_x())),
    rw(RuleId::ConstantDivisor, FLOAT, |g| bind().x(g).t("U", g.any()).t("C", g.free_of_x())),
    rw(RuleId::NegationRule, FLOAT, |g| bind().x(g).t("U", g.any())),
    rw(RuleId::QuotientRule, FLOAT, |g| bind().x(g).t("U", g.any()).t("V", g.any())),
    rw(RuleId::PowerRule, FLOAT, |g| bind().x(g).t("U", g.any()).t("N", g.int(1, 4))),
    rw(RuleId::PowerRuleInteger, FLOAT, |g| bind().x(g).t("U", g.any()).t("N", g.int(-3, 3))),
    rw(RuleId::PowerRuleReal, FLOAT, |g| bind().x(g).t("U", g.positive()).t("C", g.free_of_x())),
    rw(RuleId::PowerAsExp, FLOAT, |g| bind().t("U", g.positive()).t("V", g.any())),
    rw(RuleId::DerivativeIntoSum, FLOAT, |g| bind().x(g).sum(g).t("U", g.with_k())),
    rw(RuleId::LogOfExp, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::ExpOfLog, FLOAT, |g| bind().t("U", g.positive())),
    rw(RuleId::LogOfProduct, FLOAT, |g| bind().t("U", g.positive()).t("V", g.positive())),
    rw(RuleId::LogOfQuotient, FLOAT, |g| bind().t("U", g.positive()).t("V", g.positive())),
    rw(RuleId::LogOfPower, FLOAT, |g| bind().t("U", g.positive()).t("C", g.any())),
    rw(RuleId::ExpOfSum, FLOAT, |g| bind().t("U", g.any()).t("V", g.any())),
    rw(RuleId::ExpOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::ExpOfMultiple, FLOAT, |g| bind().t("N", g.int(-3, 3)).t("U", g.any())),
    rw(RuleId::PythagoreanIdentity, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanAsQuotient, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SinDoubleAngle, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::CosDoubleAngle, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SinOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::CosOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanhOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SoftplusOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::ExpOfZero, FLOAT, |_| bind()),
    rw(RuleId::LogOfOne, FLOAT, |_| bind()),
    rw(RuleId::OneToAPower, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SinOfZero, FLOAT, |_| bind()),
    rw(RuleId::CosOfZero, FLOAT, |_| bind()),
    rw(RuleId::TanOfZero, FLOAT, |_| bind()),
    rw(RuleId::TanhOfZero, FLOAT, |_| bind()),
    rw(RuleId::SigmoidOfZero, FLOAT, |_| bind()),
    rw(RuleId::SinhOfZero, FLOAT, |_| bind()),
    rw(RuleId::CoshOfZero, FLOAT, |_| bind()),
    rw(RuleId::AtanOfZero, FLOAT, |_| bind()),
    rw(RuleId::AsinOfZero, FLOAT, |_| bind()),
    rw(RuleId::AsinhOfZero, FLOAT, |_| bind()),
    rw(RuleId::AcosOfOne, FLOAT, |_| bind()),
    rw(RuleId::SqrtOfZero, FLOAT, |_| bind()),
    rw(RuleId::ReluOfZero, FLOAT, |_| bind()),
    rw(RuleId::StepOfZero, FLOAT, |_| bind()),
    rw(RuleId::ErfOfZero, FLOAT, |_| bind()),
    rw(RuleId::ErfOfNegation, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::AbsOfNegation, FLOAT, |g| bind().t("U", g.any())),
    // The kernel applies it only where the sign analysis shows `u >= 0`.
    rw(RuleId::AbsOfNonnegative, FLOAT, |g| bind().t("U", g.positive())),
    rw(RuleId::AbsSquared, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SignAsStep, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SinOfPi, FLOAT, |_| bind()),
    rw(RuleId::CosOfPi, FLOAT, |_| bind()),
    rw(RuleId::SinOfHalfPi, FLOAT, |_| bind()),
    rw(RuleId::SinOfThirdPi, FLOAT, |_| bind()),
    rw(RuleId::CosOfThirdPi, FLOAT, |_| bind()),
    rw(RuleId::SinOfQuarterPi, FLOAT, |_| bind()),
    rw(RuleId::CosOfQuarterPi, FLOAT, |_| bind()),
    rw(RuleId::TanOfQuarterPi, FLOAT, |_| bind()),
    rw(RuleId::SinOfSixthPi, FLOAT, |_| bind()),
    rw(RuleId::CosOfSixthPi, FLOAT, |_| bind()),
    rw(RuleId::CosOfHalfPi, FLOAT, |_| bind()),
    rw(RuleId::SinOfMultipleOfPi, FLOAT, |g| bind().t("N", g.int(-40, 40))),
    rw(RuleId::CosOfMultipleOfPi, FLOAT, |g| bind().t("N", g.int(-40, 40))),
    rw(RuleId::SigmoidDefinition, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SigmoidComplement, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SoftplusDefinition, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanhDefinition, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanhViaSigmoid, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::TanhAsRatio, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::CoshSquared, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SinhSquared, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SigmoidOfNegationDefinition, FLOAT, |g| bind().t("U", g.any())),
    rw(RuleId::SqrtSquared, FLOAT, |g| bind().t("U", g.positive())),
    rw(RuleId::PowerOneHalf, FLOAT, |g| bind().t("U", g.positive())),
    rw(RuleId::LawOfExponents, FLOAT, |g| bind().t("U", g.positive()).t("A", g.any())),
    rw(RuleId::SqrtOfSquare, FLOAT, |g| bind().t("U", g.positive())),
    rw(RuleId::SqrtOfSquareTimes, FLOAT, |g| bind().t("U", g.positive()).t("V", g.positive())),
    bi(RuleId::DeltaCollapse, EXACT, delta_collapse),
    bi(RuleId::DeltaOffRange, EXACT, delta_off_range),
    bi(RuleId::DeltaSubstitute, EXACT, delta_substitute),
    rw(RuleId::DeltaSameIndex, EXACT, |g| bind().i("k", g.index())),
    rw(RuleId::DeltaDistinct, EXACT, |g| {
        g.refusable = true; // equal indices: the condition is false
        bind().i("k", g.index()).i("j", g.index())
    }),
    bi(RuleId::IndexCase, EXACT, index_case),
    rw(RuleId::DeltaSymmetric, EXACT, |g| bind().i("k", g.index()).i("j", g.index())),
    rw(RuleId::DeltaSquared, EXACT, |g| bind().i("k", g.index()).i("j", g.index())),
    bi(RuleId::SumLinearity, EXACT, |g| {
        let terms = g.several(Gen::with_k);
        Built::at(g.sum(Expr::Add(terms.into())))
    }),
    rw(RuleId::SumOfNegation, EXACT, |g| bind().sum(g).t("U", g.with_k())),
    rw(RuleId::PullFactorOutOfSum, EXACT, |g| {
        bind().sum(g).t("C", g.without_k()).t("U", g.with_k())
    }),
    rw(RuleId::PullDivisorOutOfSum, EXACT, |g| {
        bind().sum(g).t("U", g.with_k()).t("C", g.without_k())
    }),
    rw(RuleId::SignIntoSum, EXACT, |g| bind().sum(g).t("U", g.with_k())),
    rw(RuleId::FactorIntoSum, EXACT, |g| bind().sum(g).t("C", g.without_k()).t("U", g.with_k())),
    rw(RuleId::DivisorIntoSum, EXACT, |g| bind().sum(g).t("U", g.with_k()).t("C", g.without_k())),
    rw(RuleId::CombineSums, EXACT, |g| bind().sum(g).t("U", g.with_k()).t("V", g.with_k())),
    rw(RuleId::SumOfConstant, EXACT, |g| bind().sum(g).t("C", g.without_k())),
    bi(RuleId::UnfoldDefinition, EXACT, |g| definition_use(g, false)),
    bi(RuleId::FoldDefinition, EXACT, |g| definition_use(g, true)),
    bi(RuleId::UseHypothesis, EXACT, use_hypothesis),
    bi(RuleId::ChainRule, FLOAT, chain_rule),
    bi(RuleId::UseLemma, FLOAT, use_lemma),
];

/// A rule's test: its line of `TESTS` or, for a function's derivative rule, one that draws
/// the argument from the function's domain in the function table.
fn test_of(rule: RuleId) -> Option<RuleTest> {
    if let Some(test) = TESTS.iter().find(|t| t.rule == rule) {
        return Some(*test);
    }
    let f = FUNCTIONS.iter().find(|f| f.derivative == rule)?;
    Some(match f.domain {
        Domain::Positive | Domain::NonNegative => {
            rw(rule, FLOAT, |g| bind().x(g).t("U", g.positive()))
        }
        Domain::Reals | Domain::BetweenPoles | Domain::Kinked => {
            rw(rule, FLOAT, |g| bind().x(g).t("U", g.any()))
        }
        // Inside (-1, 1): `sin(t)*9/10`.
        Domain::UnitInterval => rw(rule, FLOAT, |g| {
            let t = Expr::call(Func::Sin, g.any());
            bind().x(g).t("U", Expr::Mul(vec![Expr::rat(9, 10), t].into()))
        }),
    })
}

/// Wrong rules that the engine must refute: a rule's right side mutated by hand, or a
/// builtin's computed result altered.
static MUTANTS: &[(RuleId, Mutation)] = &[
    (RuleId::DerivativeOfSin, Mutation::Rhs("-cos(U)*D(U, X)")),
    (RuleId::QuotientRule, Mutation::Rhs("(U*D(V, X) - D(U, X)*V)/V^2")),
    (RuleId::PowerRule, Mutation::Rhs("N*U^N*D(U, X)")),
    (RuleId::LogOfQuotient, Mutation::Rhs("log(U) + log(V)")),
    (RuleId::SigmoidComplement, Mutation::Rhs("sigmoid(U)")),
    (RuleId::SumOfConstant, Mutation::Rhs("(B - A)*C")),
    (RuleId::DeltaSymmetric, Mutation::Rhs("delta(k,k)")),
    (RuleId::DeltaDistinct, Mutation::Rhs("1")),
    (RuleId::PullDivisorOutOfSum, Mutation::Rhs("sum_{k=A}^{B}(U)*C")),
    (RuleId::DerivativeOfErf, Mutation::Rhs("2*exp(-U^2)/acos(-1)*D(U, X)")),
    (RuleId::CosOfMultipleOfPi, Mutation::Rhs("1")),
    (RuleId::SinOfHalfPi, Mutation::Rhs("0")),
    (RuleId::ProductRule, Mutation::Result(drop_last_term)),
    (RuleId::DerivativeOfVariable, Mutation::Result(|_| Expr::int(1))),
    (RuleId::ChainRule, Mutation::Result(|e| Expr::mul(vec![Expr::int(2), e.clone()]))),
    (RuleId::UseLemma, Mutation::Result(|e| Expr::add(vec![e.clone(), Expr::int(1)]))),
];

/// Indices, definitions and hypotheses of every check; generated terms use none of the
/// defined or hypothesised names (a, s, t, y_i) except where a rule is about them.
const CONTEXT: &str = "index i, j, k, m, p, q in 1..n
let a_i = exp(z_i) / sum_k(exp(z_k))
let s = x^2 + 1
let g = sum_i(a_i*w_i) + s
let h_i = tanh(g*a_i)
assume sum_i(y_i) = 1
assume t = 2*x + 1
";

/// Goals derived in `CONTEXT` by the engine, whose results are the lemmas `use-lemma`
/// draws on (numbered from one).
const LEMMA_GOALS: &[(&str, &str)] = &[("a_i", "z_j"), ("s", "x"), ("g", "w_j"), ("h_i", "z_j")];

fn lemmas() -> &'static [Lemma] {
    static LEMMAS: OnceLock<Vec<Lemma>> = OnceLock::new();
    LEMMAS.get_or_init(|| {
        let ctx = Arc::new(context().clone());
        let read = |t: &str| parse_expr(t).unwrap_or_else(|d| panic!("{d}"));
        let derived = LEMMA_GOALS.iter().map(|(of, wrt)| {
            let proof = deriv::engine::derive(ctx.clone(), &read(of), &read(wrt));
            proof.unwrap_or_else(|e| panic!("D({of}, {wrt}): {e}")).lemma()
        });
        derived.collect()
    })
}

/// The kernel's rewrite, with [`lemmas`] in scope for `use-lemma`.
fn replay(ctx: &Context, term: &Expr, step: &Step) -> Result<kernel::Rewritten, KernelError> {
    if step.rule != RuleId::UseLemma.name() {
        return kernel::rewrite(ctx, term, step);
    }
    let mut proof = Proof::start_with(Arc::new(ctx.clone()), term.clone(), lemmas().to_vec())?;
    proof.apply(step.clone())?;
    let s = &proof.steps()[0];
    Ok((s.after.clone(), s.conditions.to_vec(), s.discharged.to_vec()))
}

fn context() -> &'static Context {
    static CONTEXT_CELL: OnceLock<Context> = OnceLock::new();
    CONTEXT_CELL.get_or_init(|| parse_file(CONTEXT).unwrap_or_else(|d| panic!("{d}")).context)
}

// ------------------------------------------------------------------------ the table's types

#[derive(Clone, Copy)]
struct RuleTest {
    rule: RuleId,
    exact: bool,
    make: Make,
}

#[derive(Clone, Copy)]
enum Make {
    /// Values for a rewrite rule's metavariables; the engine instantiates the pattern.
    Rewrite(fn(&mut Gen) -> Bind),
    /// A whole builtin step.
    Builtin(fn(&mut Gen) -> Built),
}

const fn rw(rule: RuleId, exact: bool, make: fn(&mut Gen) -> Bind) -> RuleTest {
    RuleTest { rule, exact, make: Make::Rewrite(make) }
}

const fn bi(rule: RuleId, exact: bool, make: fn(&mut Gen) -> Built) -> RuleTest {
    RuleTest { rule, exact, make: Make::Builtin(make) }
}

#[derive(Debug)]
enum Mutation {
    /// Replace a rewrite rule's right side by this pattern.
    Rhs(&'static str),
    /// Alter the subterm a builtin computed.
    Result(fn(&Expr) -> Expr),
}

/// A rewrite rule's binding, built metavariable by metavariable.
struct Bind(Binding);

fn bind() -> Bind {
    Bind(Binding::default())
}

impl Bind {
    fn t(mut self, name: &str, value: Expr) -> Bind {
        self.0.terms.insert(name.into(), value);
        self
    }
    fn i(mut self, name: &str, value: Index) -> Bind {
        self.0.indices.insert(name.into(), value);
        self
    }
    /// `X`: the sample's variable.
    fn x(self, g: &Gen) -> Bind {
        let x = g.x.clone();
        self.t("X", x)
    }
    /// `sum_{k=A}^{B}`: the sample's bound index and a random range.
    fn sum(mut self, g: &mut Gen) -> Bind {
        let (lo, hi) = g.range();
        self.0.bounds.insert("A".into(), lo);
        self.0.bounds.insert("B".into(), hi);
        self.i("k", name(&g.k))
    }
}

/// A builtin step: the whole term and what the step says.
struct Built {
    term: Expr,
    position: Vec<usize>,
    uses: Option<&'static str>,
    reversed: bool,
    replacement: Option<Expr>,
    indices: Vec<(&'static str, Index)>,
}

impl Built {
    fn at(term: Expr) -> Built {
        Built::inside(term, vec![])
    }
    fn inside(term: Expr, position: Vec<usize>) -> Built {
        Built {
            term,
            position,
            uses: None,
            reversed: false,
            replacement: None,
            indices: Vec::new(),
        }
    }
    fn replacement(mut self, e: Expr) -> Built {
        self.replacement = Some(e);
        self
    }
}

// ------------------------------------------------------------------------ random terms

fn sym(s: &str) -> Expr {
    Expr::sym(s)
}

fn idx(s: &str, ix: &[&str]) -> Expr {
    Expr::idx(s, ix)
}

fn name(n: &str) -> Index {
    Index::Name(n.to_string())
}

fn sum(k: &str, (lo, hi): (Bound, Bound), body: Expr) -> Expr {
    Sum::written(k.to_string(), lo, hi, true, body)
}

fn var_name(e: &Expr) -> &str {
    match e {
        Expr::Sym(s) | Expr::Idx(s, _) => s,
        _ => "",
    }
}

/// The variables of terms outside sums: x and y, and the vector z at the free indices i
/// and j. Every choice of `X` is among them.
fn scalar_atoms() -> Vec<Expr> {
    let (x, y) = (sym("x"), sym("y"));
    vec![x.clone(), y.clone(), x, y, idx("z", &["i"]), idx("z", &["j"])]
}

/// Random terms for one sample. A `rational` sample uses no functions, so that rational
/// rules are compared exactly; `x` is the variable `X` of derivative rules and `k` the
/// bound index of sums.
struct Gen {
    rng: TestRng,
    rational: bool,
    x: Expr,
    k: String,
    /// The generator made an invalid step on purpose: the kernel may refuse it.
    refusable: bool,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut bytes = [0u8; 32];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed.rotate_left(16 * i as u32) ^ i as u64).to_le_bytes());
        }
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let rational = rng.random_bool(0.5);
        let x = match rng.random_range(0..5) {
            0 => sym("y"),
            1 => idx("z", &["j"]),
            _ => sym("x"),
        };
        let k = if rng.random_bool(0.7) { "k" } else { "m" };
        Gen { rng, rational, x, k: k.to_string(), refusable: false }
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    fn int(&mut self, lo: i64, hi: i64) -> Expr {
        Expr::int(self.rng.random_range(lo..=hi))
    }

    /// A non-zero number, so that no denominator is zero everywhere.
    fn number(&mut self) -> Expr {
        let (n, d) =
            self.pick(&[(1, 1), (2, 1), (3, 1), (-1, 1), (-2, 1), (1, 2), (3, 2), (-3, 4)]);
        Expr::rat(n, d)
    }

    /// 2 to 4 terms from `make`.
    fn several(&mut self, make: fn(&mut Gen) -> Expr) -> Vec<Expr> {
        let n = self.rng.random_range(2..=4);
        (0..n).map(|_| make(self)).collect()
    }

    /// A term over `atoms` at most `depth` operators deep.
    fn term(&mut self, atoms: &[Expr], depth: usize) -> Expr {
        if depth == 0 || self.chance(0.25) {
            return if self.chance(0.75) { self.pick(atoms) } else { self.number() };
        }
        let d = depth - 1;
        match self.below(if self.rational { 5 } else { 7 }) {
            0 => {
                let n = self.rng.random_range(2..=3);
                Expr::Add((0..n).map(|_| self.term(atoms, d)).collect())
            }
            1 => {
                let n = self.rng.random_range(2..=3);
                Expr::Mul((0..n).map(|_| self.term(atoms, d)).collect())
            }
            2 => Expr::div(self.term(atoms, d), self.term(atoms, d)),
            3 => Expr::neg(self.term(atoms, d)),
            4 => {
                let k = self.pick(&[2, 3, -1]);
                Expr::pow(self.term(atoms, d), Expr::int(k))
            }
            // The function table's functions on their domains (none with poles).
            5 => {
                let f = self.pick(&on(Domain::Reals));
                Expr::call(f, self.term(atoms, d))
            }
            _ => {
                let f = self.pick(&[on(Domain::Positive), on(Domain::NonNegative)].concat());
                Expr::call(f, self.positive_over(atoms, d))
            }
        }
    }

    /// A term positive everywhere; now and then an arbitrary term instead, whose positivity
    /// the kernel leaves open, so that the guards of `exercise` are exercised.
    fn positive_over(&mut self, atoms: &[Expr], depth: usize) -> Expr {
        let t = self.term(atoms, depth.saturating_sub(1));
        let square = Expr::pow(t.clone(), Expr::int(2));
        match self.below(if self.rational { 5 } else { 7 }) {
            0 | 1 => Expr::Add(vec![Expr::int(1), square].into()),
            2 => Expr::Add(vec![square, Expr::rat(1, 4)].into()),
            3 => Expr::Mul(
                vec![Expr::rat(3, 2), Expr::Add(vec![square, Expr::int(2)].into())].into(),
            ),
            4 => t,
            5 => Expr::call(Func::Exp, t),
            _ => Expr::call(self.pick(&[Func::Sigmoid, Func::Softplus]), t),
        }
    }

    fn any(&mut self) -> Expr {
        self.term(&scalar_atoms(), 2)
    }

    fn positive(&mut self) -> Expr {
        self.positive_over(&scalar_atoms(), 2)
    }

    /// A term that does not mention `X`'s name, as `free-of(X, C)` wants.
    fn free_of_x(&mut self) -> Expr {
        let x = var_name(&self.x).to_string();
        let atoms: Vec<Expr> = scalar_atoms().into_iter().filter(|a| var_name(a) != x).collect();
        self.term(&atoms, 2)
    }

    /// A summand that mentions the bound index `k` (and may mention the free j).
    fn with_k(&mut self) -> Expr {
        let k = self.k.clone();
        let atoms = [
            idx("z", &[&k]),
            idx("w", &[&k]),
            idx("z", &[&k]),
            sym("x"),
            sym("y"),
            idx("z", &["j"]),
        ];
        let t = self.term(&atoms, 2);
        if t.free_indices().contains(&k) {
            t
        } else {
            Expr::Mul(vec![idx("z", &[&k]), t].into())
        }
    }

    /// A term without `k`; one time in eight one with it, so that the kernel's refusal of
    /// `index-free(k, C)` is exercised (a refused sample is skipped, never counted).
    fn without_k(&mut self) -> Expr {
        if self.chance(0.125) {
            self.refusable = true;
            return self.with_k();
        }
        let atoms = [sym("x"), sym("y"), idx("z", &["j"]), idx("w", &["i"])];
        self.term(&atoms, 2)
    }

    /// A summation range: mostly the declared `1..n`, sometimes narrower or empty at small
    /// n (`3..n` and `4..n` at n = 2, where `sum-of-constant` needs its range-length
    /// condition).
    fn range(&mut self) -> (Bound, Bound) {
        let n = || Bound::Sym("n".into(), 0);
        self.pick(&[
            (Bound::Int(1), n()),
            (Bound::Int(1), n()),
            (Bound::Int(1), n()),
            (Bound::Int(2), n()),
            (Bound::Int(3), n()),
            (Bound::Int(4), n()),
            (Bound::Int(1), Bound::Int(3)),
        ])
    }

    /// `sum_{k=A}^{B}(body)` over the sample's bound index and a random range.
    fn sum(&mut self, body: Expr) -> Expr {
        let range = self.range();
        sum(&self.k, range, body)
    }

    /// A free index: a declared name or a number.
    fn index(&mut self) -> Index {
        if self.chance(0.2) {
            return Index::Int(self.rng.random_range(1..=2));
        }
        name(self.pick(&["i", "j", "k", "m"]))
    }

    /// A small term to embed an instance in.
    fn host(&mut self) -> Expr {
        self.pick(&[
            sym("y"),
            Expr::rat(3, 2),
            Expr::Add(vec![Expr::int(1), Expr::pow(sym("x"), Expr::int(2))].into()),
        ])
    }
}

// ------------------------------------------------------------------------ builtin instances

/// `lhs = rhs` by ring arithmetic: a factored polynomial and its expansion, a term and its
/// mirror image, or a rational-function identity, over variables and opaque atoms.
fn ring_identity(g: &mut Gen) -> Built {
    let mut atoms = vec![sym("x"), sym("y"), idx("z", &["j"])];
    if !g.rational {
        let s = sum("k", (Bound::Int(1), Bound::Sym("n".into(), 0)), idx("z", &["k"]));
        atoms.extend([Expr::call(Func::Sin, sym("x")), Expr::call(Func::Exp, sym("y")), s]);
    }
    let a = g.pick(&atoms);
    let b = loop {
        let b = g.pick(&atoms);
        if b != a {
            break b;
        }
    };
    let (lhs, rhs) = match g.below(5) {
        0 | 1 => expansion(g, &a, &b),
        2 => {
            let e = g.term(&atoms, 3);
            (e.clone(), mirrored(&e))
        }
        3 => {
            let mut t = || g.term(&atoms, 1);
            let (p, q, u, v) = (t(), t(), t(), t());
            let sum_of_quotients = Expr::Add(
                vec![Expr::div(p.clone(), q.clone()), Expr::div(u.clone(), v.clone())].into(),
            );
            let numerator = Expr::Add(
                vec![Expr::Mul(vec![p, v.clone()].into()), Expr::Mul(vec![u, q.clone()].into())]
                    .into(),
            );
            (sum_of_quotients, Expr::div(numerator, Expr::Mul(vec![q, v].into())))
        }
        _ => (
            Expr::div(
                Expr::sub(Expr::pow(a.clone(), Expr::int(2)), Expr::pow(b.clone(), Expr::int(2))),
                Expr::sub(a.clone(), b.clone()),
            ),
            Expr::Add(vec![a, b].into()),
        ),
    };
    let (lhs, rhs) = if g.chance(0.5) { (lhs, rhs) } else { (rhs, lhs) };
    Built::at(lhs).replacement(rhs)
}

/// Polynomials in two atoms: exponents of each to their coefficient.
type Poly = BTreeMap<(u32, u32), i64>;

fn poly_mul(p: &Poly, q: &Poly) -> Poly {
    let mut out = Poly::new();
    for ((a, b), c) in p {
        for ((d, e), f) in q {
            *out.entry((a + d, b + e)).or_insert(0) += c * f;
        }
    }
    out.retain(|_, c| *c != 0);
    out
}

/// `p` as a term in `a` and `b`, its monomials in a random order.
fn poly_expr(g: &mut Gen, p: &Poly, a: &Expr, b: &Expr) -> Expr {
    let power = |e: &Expr, k: u32| match k {
        0 => None,
        1 => Some(e.clone()),
        _ => Some(Expr::pow(e.clone(), Expr::int(k.into()))),
    };
    let mut terms: Vec<Expr> = p
        .iter()
        .map(|(&(i, j), &c)| {
            let vars: Vec<Expr> = [power(a, i), power(b, j)].into_iter().flatten().collect();
            match (c, vars.is_empty()) {
                (_, true) => Expr::int(c),
                (1, false) => Expr::mul(vars),
                _ => Expr::Mul([vec![Expr::int(c)], vars].concat().into()),
            }
        })
        .collect();
    for i in (1..terms.len()).rev() {
        let j = g.below(i + 1);
        terms.swap(i, j);
    }
    Expr::add(terms)
}

/// A random product of polynomials in `a` and `b` (perhaps squared), and its expansion.
fn expansion(g: &mut Gen, a: &Expr, b: &Expr) -> (Expr, Expr) {
    let mut factors: Vec<Poly> = Vec::new();
    for _ in 0..g.rng.random_range(1..=3) {
        let mut f = Poly::new();
        for _ in 0..g.rng.random_range(1..=3) {
            let m = (g.rng.random_range(0..=2), g.rng.random_range(0..=2));
            let c = g.pick(&[1, 2, 3, -1, -2]);
            *f.entry(m).or_insert(0) += c;
        }
        f.retain(|_, c| *c != 0);
        if !f.is_empty() {
            factors.push(f);
        }
    }
    let squared = g.chance(0.3);
    let mut product = Poly::from([((0, 0), 1)]);
    for f in &factors {
        product = poly_mul(&product, f);
    }
    if squared {
        product = poly_mul(&product, &product);
    }
    let written: Vec<Expr> = factors.iter().map(|f| poly_expr(g, f, a, b)).collect();
    let mut factored = Expr::mul(written);
    if squared {
        factored = Expr::pow(factored, Expr::int(2));
    }
    (factored, poly_expr(g, &product, a, b))
}

/// `e` with the operands of every sum and product in reverse order.
fn mirrored(e: &Expr) -> Expr {
    match e {
        Expr::Add(ts) => Expr::Add(ts.iter().rev().map(mirrored).collect()),
        Expr::Mul(fs) => Expr::Mul(fs.iter().rev().map(mirrored).collect()),
        _ => e.map_children(mirrored),
    }
}

/// A sum and the same sum with its bound index renamed, naively: a name free in the body
/// is captured, and then the kernel must refuse.
fn rename_bound_index(g: &mut Gen) -> Built {
    let body = g.with_k();
    let original = g.sum(body.clone());
    let Expr::Sum(s) = &original else { unreachable!("Gen::sum makes a sum") };
    let to = g.pick(&["p", "q", "i", "j"]);
    let renamed = Expr::Sum(std::sync::Arc::new(Sum {
        index: to.to_string(),
        body: Arc::new(body.subst_index(&g.k, &name(to))),
        ..Sum::clone(s)
    }));
    g.refusable = body.free_indices().contains(to);
    Built::at(original).replacement(renamed)
}

/// `D(v, w)` for variables: the same vector or matrix at indices, different names, scalars.
fn derivative_of_variable(g: &mut Gen) -> Built {
    let mut ix = || match g.index() {
        Index::Name(n) => n,
        Index::Int(v) => v.to_string(),
    };
    let (a, b, c, d) = (ix(), ix(), ix(), ix());
    let z = |i: &str| Expr::Idx("z".into(), vec![parse_index(i)]);
    let w = |i: &str, k: &str| Expr::Idx("W".into(), vec![parse_index(i), parse_index(k)]);
    let (v, x) = match g.below(5) {
        0 => (z(&a), z(&b)),
        1 => (w(&a, &b), w(&c, &d)),
        2 => (g.pick(&[sym("x"), sym("y")]), g.pick(&[sym("x"), sym("y")])),
        3 => (z(&a), w(&b, &c)),
        _ => (sym("x"), z(&a)),
    };
    let (v, x) = if g.chance(0.5) { (v, x) } else { (x, v) };
    Built::at(Expr::d(v, x))
}

fn parse_index(i: &str) -> Index {
    i.parse().map(Index::Int).unwrap_or_else(|_| name(i))
}

/// `sum_k(F*delta(k,j))` with the delta anywhere in the product, either way round; now and
/// then a factor whose own sum over j must be renamed, or an enclosing sum that binds j.
/// With a narrower inner range the kernel leaves `j in A..B` open about that bound j; its
/// guard then sits inside the enclosing sum, and no point satisfies it.
fn delta_collapse(g: &mut Gen) -> Built {
    let k = name(&g.k);
    let j = g.pick(&[name("i"), name("j"), Index::Int(2)]);
    let delta = if g.chance(0.5) {
        Expr::Delta(k.clone(), j.clone())
    } else {
        Expr::Delta(j.clone(), k.clone())
    };
    let mut factors: Vec<Expr> = (0..g.below(3)).map(|_| g.with_k()).collect();
    if g.chance(0.3) {
        let inner =
            Expr::Mul(vec![idx("w", &["j"]), Expr::Idx("z".into(), vec![k.clone()])].into());
        factors.push(sum("j", (Bound::Int(1), Bound::Sym("n".into(), 0)), inner));
    }
    let at = g.below(factors.len() + 1);
    factors.insert(at, delta);
    // Not 3..n: empty at n = 2, where the in-range guard then leaves no valid point.
    let range = loop {
        let r = g.range();
        if r.0 != Bound::Int(3) {
            break r;
        }
    };
    let collapsing = sum(&g.k, range, Expr::mul(factors));
    match j {
        Index::Name(j) if g.chance(0.3) => {
            let outer = Expr::Mul(vec![Expr::Idx("x".into(), vec![name(&j)]), collapsing].into());
            let n = Bound::Sym("n".into(), 0);
            Built::inside(sum(&j, (Bound::Int(1), n), outer), vec![0, 1])
        }
        _ => Built::at(collapsing),
    }
}

/// `sum_{k=A}^{B}(F*delta(k,j))` with `j` outside `A..B` (a number, the declared `j`, or
/// `j` bound by an enclosing sum), where the sum is 0; one time in four `j` may lie inside
/// and the kernel must refuse.
fn delta_off_range(g: &mut Gen) -> Built {
    let k = name(&g.k);
    let n = |c: i64| Bound::Sym("n".into(), c);
    let outside = [
        (Index::Int(1), (Bound::Int(2), n(0))),
        (Index::Int(1), (Bound::Int(3), n(1))),
        (Index::Int(5), (Bound::Int(1), Bound::Int(3))),
        (Index::Int(0), (Bound::Int(1), n(0))),
        (name("j"), (n(1), n(3))),
    ];
    let inside = [
        (Index::Int(2), (Bound::Int(1), n(0))),
        (name("j"), (Bound::Int(2), n(0))),
        (name("j"), (Bound::Int(1), Bound::Int(3))),
    ];
    let (j, range) = if g.chance(0.25) {
        g.refusable = true;
        g.pick(&inside)
    } else {
        g.pick(&outside)
    };
    let delta = if g.chance(0.5) {
        Expr::Delta(k.clone(), j.clone())
    } else {
        Expr::Delta(j.clone(), k.clone())
    };
    let mut factors: Vec<Expr> = (0..g.below(3)).map(|_| g.with_k()).collect();
    let at = g.below(factors.len() + 1);
    factors.insert(at, delta);
    let zero_sum = sum(&g.k, range, Expr::mul(factors));
    match j {
        Index::Name(j) if g.chance(0.3) => {
            let outer = Expr::Mul(vec![Expr::Idx("x".into(), vec![name(&j)]), zero_sum].into());
            Built::inside(sum(&j, (Bound::Int(1), n(0)), outer), vec![0, 1])
        }
        _ => Built::at(zero_sum),
    }
}

/// `delta(a,b)*F` and the product with `a` replaced by `b` (or `b` by `a`) in the other
/// factors, computed with capture-avoiding substitution.
fn delta_substitute(g: &mut Gen) -> Built {
    let (a, b) = g.pick(&[("i", "j"), ("j", "k"), ("k", "i"), ("i", "2")]);
    let (a, b) = (parse_index(a), parse_index(b));
    let atoms = [
        Expr::Idx("z".into(), vec![a.clone()]),
        Expr::Idx("w".into(), vec![b.clone()]),
        Expr::Idx("W".into(), vec![a.clone(), b.clone()]),
        sym("x"),
    ];
    let mut factors: Vec<Expr> =
        (0..g.rng.random_range(1..=3)).map(|_| g.term(&atoms, 1)).collect();
    if let (true, Index::Name(bn)) = (g.chance(0.3), &b) {
        // Substituting a := b under a sum over b must rename that sum's index.
        let inner = Expr::Mul(
            vec![Expr::Idx("z".into(), vec![b.clone()]), Expr::Idx("w".into(), vec![a.clone()])]
                .into(),
        );
        factors.push(sum(bn, (Bound::Int(1), Bound::Sym("n".into(), 0)), inner));
    }
    let at = g.below(factors.len() + 1);
    factors.insert(at, Expr::Delta(a.clone(), b.clone()));
    let (from, to) = match (&a, &b) {
        (Index::Name(an), _) if g.chance(0.5) => (an.clone(), b.clone()),
        (_, Index::Name(bn)) => (bn.clone(), a.clone()),
        (Index::Name(an), _) => (an.clone(), b.clone()),
        _ => unreachable!("one index is a name"),
    };
    let substituted = factors
        .iter()
        .enumerate()
        .map(|(i, f)| if i == at { f.clone() } else { f.subst_index(&from, &to) })
        .collect();
    Built::at(Expr::Mul(factors.into())).replacement(Expr::Mul(substituted))
}

/// A defined name in a random host (`a_j`, `s`, `a_2`, or `a_k` under a sum over k) for
/// unfolding, or the definition's body in its place for folding.
fn definition_use(g: &mut Gen, fold: bool) -> Built {
    let ctx = context();
    let host = g.any();
    let (leaf, uses) = match g.below(4) {
        0 | 1 => (sym("s"), "s"),
        2 => (Expr::Idx("a".into(), vec![g.pick(&[name("j"), Index::Int(2)])]), "a"),
        _ => (idx("a", &["k"]), "a"),
    };
    let def = ctx.definition(uses).expect("defined in CONTEXT");
    let body = match (&def.name, &leaf) {
        (Expr::Idx(_, formal), Expr::Idx(_, actual)) => match (&formal[..], &actual[..]) {
            ([Index::Name(f)], [a]) => def.body.subst_index(f, a),
            _ => unreachable!("a has one index"),
        },
        _ => def.body.clone(),
    };
    let (here, replacement) = if fold { (body, Some(leaf.clone())) } else { (leaf.clone(), None) };
    let (term, position) = if leaf == idx("a", &["k"]) {
        let summand = Expr::Mul(vec![here, idx("z", &["k"])].into());
        (sum("k", (Bound::Int(1), Bound::Sym("n".into(), 0)), summand), vec![0, 0])
    } else {
        (Expr::Add(vec![host, here].into()), vec![1])
    };
    let mut b = Built::inside(term, position);
    b.uses = Some(uses);
    b.replacement = replacement;
    b
}

/// The chain rule through `a` (by `z_j` or `z_2`, reached through `g` and `h` as well) or
/// through the scalar `s` (by `x`); sometimes the term also mentions the variable directly,
/// which the kernel must refuse.
fn chain_rule(g: &mut Gen) -> Built {
    let (x, uses, mut atoms) = match g.below(3) {
        0 => (idx("z", &["j"]), "a", vec![idx("a", &["j"]), idx("a", &["m"]), sym("g")]),
        1 => (Expr::idx("z", &["2"]), "a", vec![idx("h", &["p"]), idx("a", &["2"]), sym("g")]),
        _ => (sym("x"), "s", vec![sym("s"), sym("s"), idx("w", &["j"])]),
    };
    atoms.push(sym("y"));
    if g.chance(0.2) {
        atoms = vec![x.clone()];
        g.refusable = true;
    }
    let f = g.term(&atoms, 2);
    let mut b = Built::at(Expr::d(f, x));
    b.uses = Some(uses);
    b
}

/// An earlier result at random indices (names, numbers, or the index of a sum it stands
/// in), inside a random host.
fn use_lemma(g: &mut Gen) -> Built {
    let n = g.below(lemmas().len());
    let lhs = lemmas()[n].lhs().clone();
    // Rename the free indices all at once, through names nothing else uses.
    let free: Vec<String> = lhs.free_indices().into_iter().collect();
    let mut renamed = lhs;
    let mut indices = Vec::new();
    for (t, from) in free.iter().enumerate() {
        renamed = renamed.subst_index(from, &name(&format!("tmp{t}")));
    }
    for (t, from) in free.iter().enumerate() {
        let to = g.index();
        renamed = renamed.subst_index(&format!("tmp{t}"), &to);
        if to != name(from) {
            indices.push((leak(from), to));
        }
    }
    let host = g.any();
    let mut b = match g.below(3) {
        0 => Built::inside(Expr::Add(vec![host, renamed].into()), vec![1]),
        1 => Built::inside(Expr::Mul(vec![renamed, host].into()), vec![0]),
        // Summed over one of its indices: the lemma holds at every index of the range.
        _ => match renamed.free_indices().into_iter().next() {
            Some(k) => {
                let body = Expr::Mul(vec![renamed, Expr::idx("w", &[&k])].into());
                Built::inside(g_sum(&k, body), vec![0, 0])
            }
            None => Built::at(renamed),
        },
    };
    b.uses = Some(["1", "2", "3", "4"][n]);
    b.indices = indices;
    b
}

/// `sum_k(body)` over `1..n`.
fn g_sum(k: &str, body: Expr) -> Expr {
    Sum::over(k.to_string(), Bound::Int(1), Bound::Sym("n".into(), 0), body)
}

/// A metavariable name as the `'static` string `Built` holds.
fn leak(s: &str) -> &'static str {
    ["i", "j", "k", "m", "p", "q"].into_iter().find(|n| *n == s).expect("a declared index")
}

/// A hypothesis used either way round inside a random host: `sum_i(y_i) = 1` (also
/// written with another bound index), or `t = 2*x + 1`.
fn use_hypothesis(g: &mut Gen) -> Built {
    let ctx = context();
    let (uses, h) =
        if g.chance(0.6) { ("1", &ctx.assumptions[0]) } else { ("2", &ctx.assumptions[1]) };
    let reversed = g.chance(0.5);
    let mut from = if reversed { h.rhs.clone() } else { h.lhs.clone() };
    if from == h.lhs && uses == "1" && g.chance(0.5) {
        from = parse_expr("sum_k(y_k)").expect("parses");
    }
    let host = g.any();
    let mut b = if g.chance(0.5) {
        Built::inside(Expr::Add(vec![host, from].into()), vec![1])
    } else {
        Built::inside(Expr::Mul(vec![from, host].into()), vec![0])
    };
    b.uses = Some(uses);
    b.reversed = reversed;
    b
}

/// A term with free indices `i` and `j` (deltas, indexed variables, a sum over another
/// index), split on the case `i = j` for a random `i` (a name or a number).
fn index_case(g: &mut Gen) -> Built {
    let i = g.index();
    let j = name(g.pick(&["j", "m"]));
    let jn = match &j {
        Index::Name(n) => n.clone(),
        Index::Int(_) => unreachable!("a name"),
    };
    let term = Expr::Add(
        vec![
            Expr::Mul(vec![idx("x", &[&jn]), Expr::Delta(i.clone(), j.clone()), g.any()].into()),
            Expr::Mul(vec![idx("w", &[&jn]), g.any()].into()),
        ]
        .into(),
    );
    g.refusable = i == j;
    let mut b = Built::at(term);
    b.indices = vec![("i", i), ("j", j)];
    b
}

fn drop_last_term(e: &Expr) -> Expr {
    match e {
        Expr::Add(ts) => Expr::add(ts[..ts.len() - 1].to_vec()),
        other => other.clone(),
    }
}

// ------------------------------------------------------------------------ the engine

/// What one rule's samples came to.
#[derive(Debug, Default)]
struct Tally {
    /// Accepted by the kernel and compared at enough valid points.
    accepted: usize,
    /// Of those, compared exactly.
    exact: usize,
    /// Refused by the kernel (a side condition decidably false, or a deliberately bad step).
    refused: usize,
    /// No valid point found (e.g. a denominator zero everywhere): compared nowhere.
    no_points: usize,
}

fn seed_of(rule: &str, sample: usize) -> u64 {
    // FNV-1a over the name, then the sample number: fixed, so the test is deterministic.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule.bytes().chain(sample.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Draw `SAMPLES` instances of the rule, replay each with the kernel and compare both sides.
/// With a mutation, the kernel's result is altered before the comparison.
fn exercise(test: &RuleTest, mutation: Option<&Mutation>) -> Result<Tally, String> {
    let ctx = context();
    let rule_name = test.rule.name();
    let rule = test.rule.rule().ok_or_else(|| format!("{rule_name}: not in the table"))?;
    let mut tally = Tally::default();
    for sample in 0..SAMPLES {
        let seed = seed_of(rule_name, sample);
        let mut g = Gen::new(seed);
        let (term, step) = match (&test.make, rule) {
            (Make::Rewrite(make), RuleBody::Rewrite { lhs, rhs, .. }) => {
                let binding = make(&mut g).0;
                let inst = |p: &Expr| {
                    kernel::instantiate(p, &binding)
                        .map_err(|e| format!("{}: bad generated binding: {e}", rule_name))
                };
                let (l, r) = (inst(lhs)?, inst(rhs)?);
                // Right to left now and then, where that introduces no free index and the
                // rule is not about derivatives (which the kernel never reads backwards).
                let about_derivatives = lhs.any(&mut |t| matches!(t, Expr::D(..)));
                let reversed = mutation.is_none()
                    && sample % 4 == 3
                    && !about_derivatives
                    && l.free_indices().is_subset(&r.free_indices());
                let (term, position) = embed(&mut g, if reversed { r } else { l }, sample);
                let mut step = test.rule.step(position);
                step.binding = binding;
                step.reversed = reversed;
                (term, step)
            }
            (Make::Builtin(make), RuleBody::Builtin(_)) => {
                let b = make(&mut g);
                let mut step = test.rule.step(b.position);
                step.uses = b.uses.map(str::to_string);
                step.reversed = b.reversed;
                step.replacement = b.replacement;
                for (k, v) in b.indices {
                    step.binding.indices.insert(k.to_string(), v);
                }
                (b.term, step)
            }
            _ => {
                return Err(format!("{}: the generator is for the other shape of rule", rule_name))
            }
        };
        let (after, open, _) = match replay(ctx, &term, &step) {
            Ok(r) => r,
            Err(KernelError::ConditionFails(_)) => {
                tally.refused += 1;
                continue;
            }
            Err(_) if g.refusable => {
                tally.refused += 1;
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "{}: the kernel refused the generated step on `{term}`: {e}",
                    rule_name
                ))
            }
        };
        let after = match mutation {
            None => after,
            Some(m) => mutate(m, &step, &after)?,
        };
        // A case condition on indices is met by choosing them: both sides are compared
        // at indices where it holds.
        let (term, after) =
            open.iter().fold((term, after), |(t, a), c| (in_case(&t, c), in_case(&a, c)));
        let open: Vec<Condition> = open
            .into_iter()
            .filter(|c| !matches!(c, Condition::IndexEq(..) | Condition::IndexNe(..)))
            .collect();
        let guards = open
            .iter()
            .map(guard)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", rule_name))?;
        let lhs = guarded(&term, &step.position, &guards);
        let rhs = guarded(&after, &step.position, &guards);
        let sized = [&lhs, &rhs].iter().any(|e| has_sizes(e));
        let opts = CheckOptions {
            seed,
            points: if sized { POINTS_PER_SIZE } else { POINTS },
            n_min: 2,
            n_max: 6,
        };
        match check_equal(ctx, &lhs, &rhs, &opts) {
            Ok(summary) if summary.points < POINTS => {
                return Err(format!(
                    "{}: only {} points compared for `{term}`",
                    rule_name, summary.points
                ))
            }
            Ok(summary) => {
                tally.accepted += 1;
                tally.exact += usize::from(summary.exact);
            }
            Err(CheckError::NoValidPoints { .. }) => tally.no_points += 1,
            Err(e) => {
                return Err(format!(
                    "{}: refuted: `{term}` = `{after}` (step {step:?}, open conditions {}): {e}",
                    rule_name,
                    open.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
    Ok(tally)
}

/// The instance alone, or inside a small host, so that positions and splicing count too.
fn embed(g: &mut Gen, e: Expr, sample: usize) -> (Expr, Vec<usize>) {
    match sample % 3 {
        0 => (e, vec![]),
        1 => (Expr::Add(vec![g.host(), e].into()), vec![1]),
        _ => (Expr::Mul(vec![e, g.host()].into()), vec![0]),
    }
}

fn mutate(m: &Mutation, step: &Step, after: &Expr) -> Result<Expr, String> {
    let new = match m {
        Mutation::Rhs(rhs) => {
            let pattern = parse_expr(rhs).map_err(|e| e.to_string())?;
            kernel::instantiate(&pattern, &step.binding).map_err(|e| e.to_string())?
        }
        Mutation::Result(f) => f(after.at(&step.position).ok_or("no result subterm")?),
    };
    after.replace_at(&step.position, new).ok_or_else(|| "no position".into())
}

/// A term with no value (a domain error, so the sampler draws another point) exactly where
/// the open side condition fails. Only nonzero, positive and in-range conditions stay open:
/// the kernel decides index-free, free-of, integer and natural itself. A guard rather than
/// generators alone, because `positive(U)` is not a domain error of both sides in general
/// (`log(U*V)` is defined when U and V are both negative).
fn guard(c: &Condition) -> Result<Expr, String> {
    deriv::report::guard(c).ok_or_else(|| format!("the kernel left `{c}` open"))
}

/// `e` at indices where the case holds: `j := i` for `i = j`; for `i ≠ j`, names replaced
/// by distinct numbers (1 and 2, or whichever of them the other index is not).
fn in_case(e: &Expr, c: &Condition) -> Expr {
    match c {
        Condition::IndexEq(i, Index::Name(j)) => e.subst_index(j, i),
        Condition::IndexEq(Index::Name(i), j) => e.subst_index(i, j),
        Condition::IndexNe(Index::Name(i), Index::Name(j)) => {
            e.subst_index(i, &Index::Int(1)).subst_index(j, &Index::Int(2))
        }
        Condition::IndexNe(Index::Name(i), Index::Int(v))
        | Condition::IndexNe(Index::Int(v), Index::Name(i)) => {
            e.subst_index(i, &Index::Int(if *v == 1 { 2 } else { 1 }))
        }
        _ => e.clone(),
    }
}

/// `e` with `0*g1 + 0*g2 + …` added to its subterm at `position`, inside the sums that
/// bind the guards' indices: the value of `e`, wherever every guard has one.
fn guarded(e: &Expr, position: &[usize], guards: &[Expr]) -> Expr {
    if guards.is_empty() {
        return e.clone();
    }
    let add = |t: &Expr| {
        let zeros = guards.iter().map(|g| Expr::Mul(vec![Expr::int(0), g.clone()].into()));
        Expr::Add(std::iter::once(t.clone()).chain(zeros).collect())
    };
    e.at(position).and_then(|sub| e.replace_at(position, add(sub))).unwrap_or_else(|| add(e))
}

/// Whether the sampler will try several sizes n: a free index (declared over 1..n) or a
/// sum up to a symbol. Definitions may add sizes too; that only means more points.
fn has_sizes(e: &Expr) -> bool {
    !e.free_indices().is_empty()
        || e.any(&mut |t| matches!(t, Expr::Sum(s) if matches!((&s.lo, &s.hi), (Bound::Sym(..), _) | (_, Bound::Sym(..)))))
}

/// Run the rules of the table that `which` selects; fail naming every rule without a
/// generator, refuted, or compared too rarely.
fn walk(which: fn(&Shape) -> bool) {
    let mut failures = Vec::new();
    let mut rows = vec![format!(
        "{:<26} {:>8} {:>5} {:>7} {:>9}",
        "rule", "accepted", "exact", "refused", "no points"
    )];
    for spec in RULES.iter().filter(|s| which(&s.shape)) {
        let Some(test) = test_of(spec.id) else {
            failures.push(format!("{}: no instance generator in TESTS", spec.name));
            continue;
        };
        let t = match exercise(&test, None) {
            Ok(t) => t,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        rows.push(format!(
            "{:<26} {:>8} {:>5} {:>7} {:>9}",
            spec.name, t.accepted, t.exact, t.refused, t.no_points
        ));
        if t.accepted < MIN_ACCEPTED {
            failures.push(format!(
                "{}: only {} of {SAMPLES} samples accepted and compared ({t:?})",
                spec.name, t.accepted
            ));
        }
        if test.exact && t.exact < MIN_EXACT {
            failures.push(format!(
                "{}: only {} exact comparisons, want {MIN_EXACT}",
                spec.name, t.exact
            ));
        }
    }
    println!("{}", rows.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------------ the tests

#[test]
fn rewrite_rules_agree_numerically_at_random_points() {
    walk(|s| matches!(s, Shape::Rewrite { .. }));
}

#[test]
fn builtin_rules_agree_numerically_at_random_points() {
    walk(|s| matches!(s, Shape::Builtin { .. }));
}

#[test]
fn every_rule_has_one_generator() {
    for (n, test) in TESTS.iter().enumerate() {
        let name = test.rule.name();
        assert!(TESTS[..n].iter().all(|t| t.rule != test.rule), "two generators for `{name}`");
        assert!(
            FUNCTIONS.iter().all(|f| f.derivative != test.rule),
            "`{name}` has a generator in TESTS and one from the function table"
        );
    }
}

#[test]
fn wrong_rules_are_refuted_by_the_same_machinery() {
    for (rule, mutation) in MUTANTS {
        let test = test_of(*rule).expect("a generator");
        match exercise(&test, Some(mutation)) {
            Ok(t) => panic!("`{rule}` mutated by {mutation:?} was not refuted: {t:?}"),
            Err(e) => assert!(e.starts_with(&format!("{rule}: refuted")), "{e}"),
        }
    }
    // The smallest case by hand: the derivative of sin is not -cos.
    let ctx = context();
    let wrong = check_equal(
        ctx,
        &parse_expr("D(sin(x), x)").expect("parses"),
        &parse_expr("-cos(x)").expect("parses"),
        &CheckOptions::default(),
    );
    assert!(matches!(wrong, Err(CheckError::Mismatch { .. })), "{wrong:?}");
}

//! The kernel against the numeric evaluator: random certificates, made by applying random
//! rules at random positions with random bindings in random contexts, and by mutating and
//! splicing the engine's own derivations. Whenever the kernel accepts a step, its two sides
//! must agree at random points that satisfy the context's hypotheses, the step's open side
//! conditions and the index ranges (and every whole chain, goal against end, under all the
//! conditions it carried); a disagreement is a false theorem the kernel let through.
//!
//! Two more oracles speak where the numbers cannot: a term the kernel starts from or
//! produces must mean something to the evaluator (no derivative with respect to a size or a
//! non-variable, none with respect to a defined name around another derivative), and a
//! context the kernel reasons in must have a model (its definitions evaluate; a size it
//! pins is evaluated at that value). Contexts have fixed labels now and then (`m` in
//! `let g = y_m + 1`), and goals differentiate with respect to defined names, which the
//! evaluator holds as variables, as the kernel must.
//!
//! One broad property, one mutation property, and one targeted property per soundness hole
//! (the generator restricted to the hole's shape). Seeded and deterministic:
//! `DERIV_DIFF_SEED` overrides the seed, which every failure prints.

#[path = "common/stack.rs"]
mod stack;

use deriv::engine::derive;
use deriv::expr::{Assumption, Bound, Context, Definition, Expr, Func, Index, Sum};
use deriv::functions::{Domain, FUNCTIONS};
use deriv::kernel::{rewrite, Proof, Step};
use deriv::numeric::{check_equal, eval_f64, CheckError, CheckOptions, EvalError, Point};
use deriv::rules::matching::match_pattern;
use deriv::rules::{rule, Builtin, Condition, RuleBody, RULES};
use deriv::syntax::{parse_expr, parse_file};
use deriv::terms::ExprExt;
use std::collections::BTreeMap;
use std::sync::Arc;

const SEED: u64 = 0xD1FF_C0DE;

fn seed() -> u64 {
    std::env::var("DERIV_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(SEED)
}

// ---------------------------------------------------------------------------------------
// The kernel, as this test sees it: keep every call into it here, so that a change of its
// API (a fallible start, new condition kinds) is a change of these few functions.

/// Whether the kernel starts a chain from `goal` in `ctx` (it validates both).
fn kernel_starts(ctx: &Context, goal: &Expr) -> bool {
    Proof::start(Arc::new(ctx.clone()), goal.clone()).is_ok()
}

/// One step replayed by the kernel: the new term, the conditions it leaves open, and
/// those it proved (known only where the kernel also starts a proof from `term`).
struct Replayed {
    after: Expr,
    open: Vec<Condition>,
    discharged: Vec<Condition>,
}

fn kernel_step(ctx: &Context, term: &Expr, step: &Step) -> Option<Replayed> {
    if let Ok(mut proof) = Proof::start(Arc::new(ctx.clone()), term.clone()) {
        proof.apply(step.clone()).ok()?;
        let s = proof.steps().last()?;
        return Some(Replayed {
            after: s.after.clone(),
            open: s.conditions.to_vec(),
            discharged: s.discharged.to_vec(),
        });
    }
    let (after, open, _) = rewrite(ctx, term, step).ok()?;
    Some(Replayed { after, open, discharged: vec![] })
}

/// A term with no value where a condition fails, so the sampler keeps only points where
/// it holds; `Err(())` for a condition the numbers cannot guard (the step is then
/// inconclusive), `Ok(None)` for a case condition (met by [`resolve_cases`]).
fn guard(c: &Condition) -> Result<Option<Expr>, ()> {
    let bound = |b: &Bound| b.term();
    Ok(Some(match c {
        Condition::NonZero(e) => Expr::div(Expr::int(1), e.clone()),
        Condition::Positive(e) => Expr::call(Func::Log, e.clone()),
        Condition::NonNegative(e) => Expr::call(Func::Sqrt, e.clone()),
        Condition::InRange(j, lo, hi) => {
            // 1/(number of r in lo..hi equal to j): no value outside the range.
            let hits = Sum::written(
                "r9".into(),
                lo.clone(),
                hi.clone(),
                true,
                Expr::Delta(Index::Name("r9".into()), j.clone()),
            );
            Expr::div(Expr::int(1), hits)
        }
        Condition::RangeLength(lo, hi) => Expr::call(
            Func::Log,
            Expr::Add(vec![bound(hi), Expr::neg(bound(lo)), Expr::int(2)].into()),
        ),
        Condition::ForAll(k, lo, hi, inner) => match guard(inner)? {
            Some(g) => Sum::written(k.clone(), lo.clone(), hi.clone(), true, g),
            None => return Err(()),
        },
        Condition::IndexEq(..) | Condition::IndexNe(..) => return Ok(None),
        _ => return Err(()),
    }))
}

// ---------------------------------------------------------------------------------------
// Randomness.

/// SplitMix64: small, fixed and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

fn term(src: &str) -> Expr {
    parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Contexts.

/// Pieces of context the parser accepts. A piece named `a+b` needs the pieces `a` and `b`.
const PIECES: &[(&str, &str)] = &[
    ("softmax", "let a_i = exp(z_i) / sum_k(exp(z_k))"),
    ("simplex", "assume sum_i(y_i) = 1"),
    ("sum-def", "let s = sum_i(y_i)"),
    ("sum-def+simplex", "assume s = 1"),
    ("square", "let b_i = x_i^2"),
    ("scalar-def", "let c = x^2 + 1"),
    ("alias", "let v = x"),
    ("x-two", "assume x = 2"),
    ("alias+x-two", "assume v = 2"),
    ("x-one", "assume x_i = 1"),
    ("w-two", "assume w = 2"),
    ("t-line", "assume t = 2*x + 1"),
    ("u-three", "assume u = 3"),
    ("y-shift", "assume y_i = x_i + 1"),
    // Fixed labels: `m` is one value throughout once `g` or `h` is defined.
    ("label", "let g = y_m + 1"),
    ("one-hot", "let h_i = delta(i,m)"),
    ("label-hyp", "assume e_m = 2"),
];

/// Pieces the parser refuses (holes 7 and 8), put into the context directly: the kernel
/// must refuse to reason in them.
const INVALID: &[(&str, &str)] = &[
    ("self", "let p = p + 1"),
    ("mutual", "let q = r*2"),
    ("mutual", "let r = q + 1"),
    ("size-def", "let n = 0"),
    ("size-hyp", "assume n = 0"),
    ("label-bound", "let o = x_k + sum_k(x_k)"),
];

/// A context to reason in, with its text for failure messages. `model` is the context the
/// numbers evaluate in: the same, except that a size the context pins to a number (`let n
/// = 0`) is replaced by it, so that the model has one value for it.
struct World {
    ctx: Context,
    model: Context,
    text: String,
    pinned: Vec<(String, i64)>,
    /// Whether it has pieces the parser refuses.
    invalid: bool,
}

/// What the context generator must include or choose.
#[derive(Clone, Copy, Default)]
struct Bias {
    /// Pieces always included.
    pieces: &'static [&'static str],
    /// Invalid pieces always included.
    invalid: &'static [&'static str],
    /// Chance of each invalid piece otherwise.
    invalid_chance: f64,
    /// The range of `i, j`, else random.
    ij: Option<&'static str>,
    /// The range of `k`, else random.
    k: Option<&'static str>,
    /// The variable of the goal's derivative, else one of `wrts`, else random.
    wrt: Option<&'static str>,
    wrts: &'static [&'static str],
    /// Terms to differentiate more often than random ones.
    goals: &'static [&'static str],
    /// Chance of a step's position being in a derivative's variable slot.
    slot_chance: f64,
}

fn random_world(rng: &mut Rng, bias: &Bias) -> World {
    loop {
        let ij = bias.ij.unwrap_or_else(|| rng.pick(&["1..n", "1..2", "1..3"]));
        let k = bias.k.unwrap_or_else(|| rng.pick(&["2..1", "1..n", "1..2", "1..3"]));
        let mut text = format!("index i, j in {ij}\nindex k in {k}\nindex m in 1..n\n");
        let mut chosen: Vec<&str> = Vec::new();
        for (name, line) in PIECES {
            let needs: Vec<&str> = name.split('+').collect();
            let included = if needs.len() > 1 {
                needs.iter().all(|n| chosen.contains(n)) && rng.chance(0.5)
            } else {
                bias.pieces.contains(name) || rng.chance(0.35)
            };
            // Two constructions of `y` leave no point: keep one.
            let clash = *name == "y-shift" && chosen.contains(&"simplex");
            if included && !clash {
                chosen.push(name);
                text.push_str(line);
                text.push('\n');
            }
        }
        let Ok(doc) = parse_file(&text) else { continue };
        let mut ctx = doc.context;
        let mut pinned = Vec::new();
        for (name, line) in INVALID {
            if !(bias.invalid.contains(name) || rng.chance(bias.invalid_chance)) {
                continue;
            }
            let (kind, rest) = line.split_once(' ').expect("a piece");
            let (lhs, rhs) = rest.split_once(" = ").expect("an equation");
            let (lhs, rhs) = (term(lhs), term(rhs));
            if lhs == Expr::sym("n") {
                pinned.push(("n".to_string(), rhs.to_string().parse().expect("a number")));
            }
            if kind == "let" {
                ctx.definitions.push(Definition { name: lhs, body: rhs });
            } else {
                ctx.assumptions.push(Assumption { lhs, rhs });
            }
            text.push_str(line);
            text.push_str("   (not parsed: put in directly)\n");
        }
        pinned.dedup();
        let model = pin_context(&ctx, &pinned);
        return World {
            invalid: ctx.definitions.len() + ctx.assumptions.len() > doc_items(&text),
            ctx,
            model,
            text,
            pinned,
        };
    }
}

/// How many definitions and hypotheses the parsed part of a world's text has.
fn doc_items(text: &str) -> usize {
    text.lines()
        .filter(|l| (l.starts_with("let") || l.starts_with("assume")) && !l.contains("not parsed"))
        .count()
}

/// `e` with each pinned size replaced by its value, in terms and in range bounds.
fn pin(e: &Expr, pinned: &[(String, i64)]) -> Expr {
    if pinned.is_empty() {
        return e.clone();
    }
    let bound = |b: &Bound| match b {
        Bound::Sym(s, k) => {
            pinned.iter().find(|(n, _)| n == s).map_or(b.clone(), |(_, v)| Bound::Int(*v + *k))
        }
        Bound::Int(_) => b.clone(),
    };
    match e {
        Expr::Sym(s) => {
            pinned.iter().find(|(n, _)| n == s).map_or(e.clone(), |(_, v)| Expr::int(*v))
        }
        Expr::Sum(s) => Expr::Sum(std::sync::Arc::new(Sum {
            index: s.index.clone(),
            explicit_bounds: true,
            lo: bound(&s.lo),
            hi: bound(&s.hi),
            body: Arc::new(pin(&s.body, pinned)),
        })),
        _ => e.map_children(|c| pin(c, pinned)),
    }
}

/// The context the numbers evaluate in: pinned sizes replaced by their values, and the
/// definitions and hypotheses that pinned them dropped (they hold by construction).
fn pin_context(ctx: &Context, pinned: &[(String, i64)]) -> Context {
    if pinned.is_empty() {
        return ctx.clone();
    }
    let is_pin = |e: &Expr| matches!(e, Expr::Sym(s) if pinned.iter().any(|(n, _)| n == s));
    let mut out = ctx.clone();
    for d in &mut out.indices {
        for b in [&mut d.lo, &mut d.hi] {
            if let Bound::Sym(s, k) = b {
                if let Some((_, v)) = pinned.iter().find(|(n, _)| n == s) {
                    *b = Bound::Int(*v + *k);
                }
            }
        }
    }
    out.definitions.retain(|d| !is_pin(&d.name));
    out.assumptions.retain(|a| !is_pin(&a.lhs));
    for d in &mut out.definitions {
        d.body = pin(&d.body, pinned);
    }
    for a in &mut out.assumptions {
        a.lhs = pin(&a.lhs, pinned);
        a.rhs = pin(&a.rhs, pinned);
    }
    out
}

/// Whether the context has a model: every definition evaluates without endless recursion.
/// On a roomy stack, since a cycle recurses to the evaluator's depth bound.
fn model_fault(ctx: &Context) -> Option<String> {
    let ctx = ctx.clone();
    stack::on_roomy_stack(move || model_fault_here(&ctx))
}

fn model_fault_here(ctx: &Context) -> Option<String> {
    for d in &ctx.definitions {
        let name = match &d.name {
            Expr::Idx(s, ix) => Expr::Idx(s.clone(), ix.iter().map(|_| Index::Int(1)).collect()),
            other => other.clone(),
        };
        let mut point = Point::new();
        point.set_range("n", 2);
        if let Err(EvalError::TooLarge(why)) = eval_f64(ctx, &name, &point) {
            return Some(format!("`{}` has no value: {why}", d.name));
        }
    }
    None
}

/// Why a derivative in `e` has no meaning for the evaluator, if one has none: it is with
/// respect to a non-variable, a size (a sum is not differentiable in the number of its
/// terms), or a defined name (held as a variable) around another derivative.
fn meaningless_derivative(ctx: &Context, e: &Expr) -> Option<String> {
    let mut sizes: Vec<String> = Vec::new();
    let mut note = |b: &Bound| {
        if let Some(s) = b.size() {
            sizes.push(s.to_string());
        }
    };
    for d in &ctx.indices {
        note(&d.lo);
        note(&d.hi);
    }
    let bodies = ctx.definitions.iter().map(|d| &d.body);
    for t in std::iter::once(e).chain(bodies) {
        t.any(&mut |u| {
            if let Expr::Sum(s) = u {
                note(&s.lo);
                note(&s.hi);
            }
            false
        });
    }
    let mut fault = None;
    e.any(&mut |u| {
        if let Expr::D(f, x) = u {
            let inner = f.any(&mut |t| matches!(t, Expr::D(..)));
            fault = match &**x {
                Expr::Sym(n) | Expr::Idx(n, _) if ctx.definition(n).is_some() && inner => {
                    Some(format!("`{u}` is with respect to a defined name, around a derivative"))
                }
                Expr::Sym(n) if sizes.contains(n) => {
                    Some(format!("`{u}` is with respect to a size"))
                }
                Expr::Sym(_) | Expr::Idx(..) => None,
                _ => Some(format!("`{u}` is with respect to a non-variable")),
            };
        }
        fault.is_some()
    });
    fault
}

// ---------------------------------------------------------------------------------------
// Terms and steps.

fn index(rng: &mut Rng) -> Index {
    if rng.chance(0.3) {
        Index::Int(rng.below(4) as i64 + 1)
    } else {
        Index::Name(rng.pick(&["i", "j", "k"]).to_string())
    }
}

/// Leaves: variables of every kind, defined names (valid or not), hypothesised names,
/// numbers, sizes, and sums over empty, pinned and symbolic ranges.
const LEAVES: &[&str] = &[
    "x",
    "y",
    "w",
    "t",
    "u",
    "s",
    "c",
    "v",
    "z_i",
    "x_i",
    "y_i",
    "y_j",
    "x_j",
    "x_3",
    "y_1",
    "a_i",
    "a_j",
    "b_i",
    "2",
    "3",
    "-1",
    "1/2",
    "x",
    "y_j",
    "x^2 + 1",
    "x_i^2",
    "sum_i(y_i)",
    "exp(z_j)/sum_k(exp(z_k))",
    "x_2^2",
    "n",
    "p",
    "q",
    "x^2",
    "v^2",
    "sum_{k=2}^{1}(-1)",
    "sum_{k=1}^{n}(1)",
    "sum_m(x_m)",
    "sum_{k=2}^{1}(-exp(x_k))",
    "sum_{k=1}^{n}(y)",
    "g",
    "h_j",
    "h_i",
    "e_i",
    "e_m",
    "x_m",
    "y_m*sum_i(h_i)",
    "sum_i(g*x_i)",
    "sum_j(e_j*y_j)",
    "sum_k(y_m*x_k)",
];

fn leaf(rng: &mut Rng) -> Expr {
    term(rng.pick(LEAVES))
}

/// A random term; `k` names the index of an enclosing sum, if any.
fn random_term(rng: &mut Rng, depth: usize, k: Option<&str>) -> Expr {
    if depth == 0 || rng.chance(0.25) {
        if let (Some(k), true) = (k, rng.chance(0.5)) {
            let v = rng.pick(&["x", "y", "z"]);
            return Expr::Idx(v.into(), vec![Index::Name(k.into())]);
        }
        return leaf(rng);
    }
    let d = depth - 1;
    match rng.below(13) {
        0 | 1 => Expr::Add(vec![random_term(rng, d, k), random_term(rng, d, k)].into()),
        2 | 3 => Expr::Mul(vec![random_term(rng, d, k), random_term(rng, d, k)].into()),
        4 => Expr::div(random_term(rng, d, k), random_term(rng, d, k)),
        5 => Expr::neg(random_term(rng, d, k)),
        6 => {
            let e = rng.pick(&[Expr::int(2), Expr::int(3), Expr::int(-1), Expr::rat(1, 2)]);
            Expr::pow(random_term(rng, d, k), e)
        }
        7 => {
            // Every function of the table but those with poles.
            let f = rng.pick(
                &FUNCTIONS
                    .iter()
                    .filter(|s| s.domain != Domain::BetweenPoles)
                    .map(|s| s.func)
                    .collect::<Vec<_>>(),
            );
            Expr::call(f, random_term(rng, d, k))
        }
        8 => {
            let (lo, hi) = rng.pick(&[
                (Bound::Int(1), Bound::Sym("n".into(), 0)),
                (Bound::Int(2), Bound::Int(1)),
                (Bound::Int(1), Bound::Int(2)),
                (Bound::Int(1), Bound::Int(3)),
                (Bound::Int(2), Bound::Int(3)),
            ]);
            let name = rng.pick(&["k", "i", "m"]).to_string();
            let mut body = random_term(rng, d, Some(&name));
            if rng.chance(0.4) {
                let other = rng.pick(&[
                    Index::Name("j".into()),
                    Index::Int(1),
                    Index::Int(3),
                    Index::Int(5),
                ]);
                body = Expr::Mul(vec![body, Expr::Delta(Index::Name(name.clone()), other)].into());
            }
            Expr::Sum(std::sync::Arc::new(Sum {
                index: name,
                explicit_bounds: true,
                lo,
                hi,
                body: Arc::new(body),
            }))
        }
        9 => Expr::Delta(index(rng), index(rng)),
        10 => Expr::Mul(vec![random_term(rng, d, k), Expr::Delta(index(rng), index(rng))].into()),
        // A derivative inside: positions inside `D`, hypotheses under `D`.
        11 => Expr::d(random_term(rng, d, k), term(rng.pick(&["x", "y", "w", "x_1"]))),
        _ => {
            // Shapes the holes live in: a squared name, a square root of a square.
            let v = random_term(rng, 0, k);
            let other = random_term(rng, d, k);
            rng.pick(&[
                Expr::pow(v.clone(), Expr::int(2)),
                Expr::call(Func::Sqrt, Expr::pow(v.clone(), Expr::int(2))),
                Expr::div(Expr::Mul(vec![v.clone(), other].into()), v),
            ])
        }
    }
}

/// Variables of differentiation: independent ones, components, sizes and defined names.
const WRT: &[&str] = &[
    "x", "y", "w", "t", "u", "z_j", "x_1", "y_j", "x_3", "x_j", "y_1", "n", "x", "v", "c", "p",
    "s", "g", "a_j", "h_j", "x_m", "b_i",
];

/// A goal: mostly a derivative of a random term.
fn random_goal(rng: &mut Rng, bias: &Bias) -> Expr {
    let f = match bias.goals {
        [] => random_term(rng, 3, None),
        goals if rng.chance(0.6) => term(rng.pick(goals)),
        _ => random_term(rng, 3, None),
    };
    if bias.wrt.is_some() || !bias.wrts.is_empty() || rng.chance(0.75) {
        let wrts = if bias.wrts.is_empty() { WRT } else { bias.wrts };
        let x = term(bias.wrt.unwrap_or_else(|| rng.pick(wrts)));
        Expr::d(f, x)
    } else {
        f
    }
}

/// Every position of `e`, the variable slot of each derivative included.
fn positions(e: &Expr, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(at.clone());
    for (n, c) in e.children().enumerate() {
        at.push(n);
        positions(c, at, out);
        at.pop();
    }
}

/// Whether `position` is the variable slot of a derivative in `e`.
fn in_slot(e: &Expr, position: &[usize]) -> bool {
    position
        .split_last()
        .is_some_and(|(last, parent)| *last == 1 && matches!(e.at(parent), Some(Expr::D(..))))
}

/// A random step at a random position: a rule matched there (so that many are accepted),
/// now and then with a value of the binding changed.
fn random_step(
    rng: &mut Rng,
    world: &World,
    e: &Expr,
    forced: Option<&str>,
    bias: &Bias,
    last: &[usize],
) -> Option<Step> {
    let mut all = Vec::new();
    positions(e, &mut Vec::new(), &mut all);
    let slots: Vec<Vec<usize>> = all.iter().filter(|p| in_slot(e, p)).cloned().collect();
    // Hypotheses and folds go where a name of theirs stands.
    let named: Vec<Vec<usize>> = all
        .iter()
        .filter(|p| {
            e.at(p).is_some_and(|t| {
                matches!(
                    t,
                    Expr::Sym(_) | Expr::Idx(..) | Expr::Sum(_) | Expr::Add(_) | Expr::Pow(..)
                )
            })
        })
        .cloned()
        .collect();
    for _ in 0..40 {
        let name = forced.unwrap_or_else(|| {
            if rng.chance(0.25) {
                rng.pick(RISKY)
            } else {
                RULES[rng.below(RULES.len())].name
            }
        });
        // Mostly where the rule could apply: its pattern matches, or a builtin's shape
        // stands; so rules are tried about evenly, not only those that fit anywhere.
        let fitting: Vec<Vec<usize>> = match rule(name) {
            Some(RuleBody::Builtin(b)) => {
                all.iter().filter(|p| e.at(p).is_some_and(|t| fits(*b, t))).cloned().collect()
            }
            Some(RuleBody::Rewrite { lhs, rhs, .. }) => all
                .iter()
                .filter(|p| {
                    e.at(p).is_some_and(|t| {
                        match_pattern(lhs, t).is_some() || match_pattern(rhs, t).is_some()
                    })
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        if fitting.is_empty() && forced.is_none() && rng.chance(0.9) {
            continue;
        }
        let targeted =
            matches!(forced, Some("use-hypothesis" | "fold-definition")) || rng.chance(0.3);
        // Near the previous step now and then, as a proof goes on where it changed something.
        let near: Vec<Vec<usize>> = fitting
            .iter()
            .filter(|p| last.starts_with(p) || p.starts_with(last))
            .cloned()
            .collect();
        let position = if !slots.is_empty() && rng.chance(bias.slot_chance.max(0.05)) {
            rng.pick(&slots)
        } else if !near.is_empty() && !last.is_empty() && rng.chance(0.4) {
            rng.pick(&near)
        } else if !fitting.is_empty() && rng.chance(0.85) {
            rng.pick(&fitting)
        } else if targeted && !named.is_empty() {
            rng.pick(&named)
        } else {
            rng.pick(&all)
        };
        if let Some(step) = step_at(rng, world, e, name, position) {
            return Some(step);
        }
    }
    None
}

/// Rules whose soundness rests on the context, on ranges or on conditions over sums:
/// tried more often than the others.
const RISKY: &[&str] = &[
    "use-hypothesis",
    "fold-definition",
    "unfold-definition",
    "ring-normalize",
    "sqrt-of-square",
    "derivative-into-sum",
    "sum-of-constant",
    "index-case",
    "delta-collapse",
];

/// Whether builtin `b` could apply to `t`, by its root alone.
fn fits(b: Builtin, t: &Expr) -> bool {
    match b {
        Builtin::DerivativeOfVariable | Builtin::SumRule | Builtin::ProductRule => {
            matches!(t, Expr::D(..))
        }
        Builtin::SumLinearity | Builtin::DeltaCollapse | Builtin::Rename => {
            matches!(t, Expr::Sum(_))
        }
        Builtin::DeltaSubstitute => matches!(t, Expr::Mul(_)),
        Builtin::Unfold | Builtin::Hypothesis => {
            matches!(t, Expr::Sym(_) | Expr::Idx(..) | Expr::Sum(_))
        }
        _ => true,
    }
}

/// Factors `S/S` that ring steps multiply in: an empty sum of negative terms, a sum to a
/// size (empty where the size is pinned to 0), an empty sum of a constant.
const PADS: &[&str] = &["sum_{k=2}^{1}(-1)", "sum_{k=1}^{n}(1)", "sum_{k=2}^{1}(-exp(x_k))"];

fn step_at(
    rng: &mut Rng,
    world: &World,
    e: &Expr,
    name: &str,
    position: Vec<usize>,
) -> Option<Step> {
    let ctx = &world.ctx;
    let sub = e.at(&position)?;
    let parsed = rule(name)?;
    let mut step = Step::new(name, position);
    match parsed {
        RuleBody::Rewrite { lhs, rhs, .. } => {
            step.reversed = rng.chance(0.2);
            let from = if step.reversed { rhs } else { lhs };
            step.binding = match_pattern(from, sub)?;
            if rng.chance(0.3) {
                if let Some(v) = step.binding.indices.values_mut().next() {
                    *v = index(rng);
                } else if let Some(v) = step.binding.terms.values_mut().next() {
                    *v = random_term(rng, 1, None);
                }
            }
        }
        RuleBody::Builtin(b) => {
            let mut names: Vec<String> =
                ctx.definitions.iter().map(|d| d.name.to_string()).collect();
            if names.is_empty() {
                names.push("v".into());
            }
            match b {
                Builtin::Ring => {
                    let pad = term(rng.pick(PADS));
                    let s = if rng.chance(0.5) { random_term(rng, 1, None) } else { pad };
                    let other = random_term(rng, 2, None);
                    let mut with = rng.pick(&[
                        Expr::Add(vec![sub.clone(), Expr::int(0)].into()),
                        Expr::div(Expr::Mul(vec![sub.clone(), s.clone()].into()), s.clone()),
                        Expr::div(Expr::Mul(vec![sub.clone(), s.clone()].into()), s),
                        other,
                        Expr::sym("x"),
                    ]);
                    // Now and then the engine's own simplification of the subterm.
                    if rng.chance(0.3) {
                        if let Some(simpler) = simplified(ctx, sub) {
                            with = simpler;
                        }
                    }
                    step.replacement = Some(with);
                }
                // A sum renamed to another name now and then (onto a fixed label too).
                Builtin::Rename => {
                    step.replacement = Some(match sub {
                        Expr::Sum(s) if rng.chance(0.6) => {
                            let to = rng.pick(&["i", "j", "k", "m"]).to_string();
                            let body = s.body.subst_index(&s.index, &Index::Name(to.clone()));
                            Expr::Sum(std::sync::Arc::new(Sum {
                                index: to,
                                body: Arc::new(body),
                                ..Sum::clone(s)
                            }))
                        }
                        _ => sub.clone(),
                    })
                }
                Builtin::DeltaSubstitute => step.replacement = Some(sub.clone()),
                Builtin::Unfold => {
                    let own = match sub {
                        Expr::Sym(n) | Expr::Idx(n, _) if rng.chance(0.8) => Some(n.clone()),
                        _ => None,
                    };
                    let n = own.unwrap_or_else(|| rng.pick(&names));
                    step.uses = Some(n.split('_').next().unwrap_or_default().to_string());
                }
                Builtin::Fold => {
                    let (name, folded) = fold_candidate(ctx, sub).unwrap_or_else(|| {
                        let n = rng.pick(&names);
                        let name = n.split('_').next().unwrap_or_default().to_string();
                        let folded = if n.contains('_') {
                            Expr::Idx(name.clone(), vec![index(rng)])
                        } else {
                            Expr::Sym(name.clone())
                        };
                        (name, folded)
                    });
                    step.replacement = Some(folded);
                    step.uses = Some(name);
                }
                Builtin::Hypothesis => {
                    // The hypothesis this subterm is a side of, if one is.
                    let mut uses = rng.below(ctx.assumptions.len() + 1);
                    for (n, h) in ctx.assumptions.iter().enumerate() {
                        for (side, reversed) in [(&h.lhs, false), (&h.rhs, true)] {
                            let same_name = |a: &Expr, b: &Expr| match (a, b) {
                                (Expr::Idx(x, _), Expr::Idx(y, _)) => x == y,
                                _ => a == b,
                            };
                            if same_name(side, sub) && rng.chance(0.8) {
                                uses = n + 1;
                                step.reversed = reversed;
                                let free = side.free_indices().into_iter().next();
                                let bind = rng.chance(0.7);
                                if let (Expr::Idx(_, ix), Some(f), true) = (sub, free, bind) {
                                    step.binding.indices.insert(f, ix[0].clone());
                                }
                            }
                        }
                    }
                    step.uses = Some(uses.to_string());
                    if rng.chance(0.2) {
                        step.binding.indices.insert("i".into(), index(rng));
                    }
                }
                Builtin::IndexCase => {
                    step.binding.indices.insert("i".into(), index(rng));
                    step.binding
                        .indices
                        .insert("j".into(), Index::Name(rng.pick(&["i", "j", "k"]).into()));
                }
                _ => {}
            }
        }
    }
    Some(step)
}

/// The definition whose body `sub` is, and the name it folds into, if one is.
fn fold_candidate(ctx: &Context, sub: &Expr) -> Option<(String, Expr)> {
    ctx.definitions.iter().find_map(|d| {
        let (Expr::Idx(name, _) | Expr::Sym(name)) = &d.name else {
            return None;
        };
        let candidates: Vec<Expr> = match &d.name {
            Expr::Idx(..) => ["i", "j", "k", "1", "2", "3"]
                .iter()
                .map(|i| term(&format!("{name}_{i}")))
                .collect(),
            _ => vec![Expr::Sym(name.clone())],
        };
        let mut unfold = Step::new("unfold-definition", vec![]);
        unfold.uses = Some(name.clone());
        let folded = candidates
            .into_iter()
            .find(|c| kernel_step(ctx, c, &unfold).is_some_and(|r| &r.after == sub))?;
        Some((name.clone(), folded))
    })
}

/// What the engine's simplifier makes of `e` (its steps go through the kernel too).
fn simplified(ctx: &Context, e: &Expr) -> Option<Expr> {
    let mut d = deriv::engine::Driver::new(Arc::new(ctx.clone()), e.clone()).ok()?;
    deriv::engine::simplify_current(&mut d).ok()?;
    Some(d.proof.current().clone())
}

// ---------------------------------------------------------------------------------------
// The numeric verdict.

/// Index values under which every case condition holds (`j := i`, distinct numbers for
/// `i ≠ j`), or `None` when they contradict each other (the claim is then vacuous).
fn resolve_cases(ctx: &Context, conditions: &[Condition]) -> Option<Vec<(String, Index)>> {
    let mut subs: Vec<(String, Index)> = Vec::new();
    let apply = |subs: &[(String, Index)], i: &Index| {
        subs.iter().fold(i.clone(), |i, (from, to)| match &i {
            Index::Name(n) if n == from => to.clone(),
            _ => i,
        })
    };
    for c in conditions {
        if let Condition::IndexEq(a, b) = c {
            let (a, b) = (apply(&subs, a), apply(&subs, b));
            match (&a, &b) {
                _ if a == b => {}
                (_, Index::Name(n)) => subs.push((n.clone(), a.clone())),
                (Index::Name(n), _) => subs.push((n.clone(), b.clone())),
                _ => return None,
            }
        }
    }
    // Numbers for the names an inequality mentions, unlike every number in sight.
    let mut taken: Vec<Index> = conditions
        .iter()
        .flat_map(|c| match c {
            Condition::IndexEq(a, b) | Condition::IndexNe(a, b) => vec![a.clone(), b.clone()],
            _ => vec![],
        })
        .filter(|i| matches!(i, Index::Int(_)))
        .collect();
    let mut next = 1;
    for c in conditions {
        if let Condition::IndexNe(a, b) = c {
            for x in [a, b] {
                if let Index::Name(n) = apply(&subs, x) {
                    while taken.contains(&Index::Int(next)) {
                        next += 1;
                    }
                    taken.push(Index::Int(next));
                    subs.push((n, Index::Int(next)));
                }
            }
            if apply(&subs, a) == apply(&subs, b) {
                return None;
            }
        }
    }
    // A free index keeps to its declared range: a case outside it is vacuous.
    let outside = subs.iter().any(|(name, value)| match (value, ctx.range_of(name)) {
        (Index::Int(v), Some((Bound::Int(lo), Bound::Int(hi)))) => v < lo || v > hi,
        _ => false,
    });
    (!outside).then_some(subs)
}

/// What became of one comparison.
enum Verdict {
    Agrees,
    /// No point satisfied everything, or the terms could not be evaluated there.
    Inconclusive,
}

/// Compare `before = after` where the open conditions hold, in the world's model.
fn compare(
    world: &World,
    before: &Expr,
    after: &Expr,
    open: &[Condition],
    seed: u64,
) -> Result<Verdict, String> {
    let Some(subs) = resolve_cases(&world.ctx, open) else {
        return Ok(Verdict::Inconclusive);
    };
    let Ok(mut guards) = open.iter().map(guard).collect::<Result<Vec<_>, ()>>() else {
        return Ok(Verdict::Inconclusive);
    };
    // A case keeps its indices in their declared ranges: `j := 2` with `j in 1..n` speaks
    // only of n >= 2.
    for (from, to) in &subs {
        if let Some((lo, hi)) = world.ctx.range_of(from) {
            guards.push(
                guard(&Condition::InRange(to.clone(), lo.clone(), hi.clone())).ok().flatten(),
            );
        }
    }
    // Each side plus 0*guard: no value wherever a condition fails.
    let with = |e: &Expr| {
        let zeros =
            guards.iter().flatten().map(|g| Expr::Mul(vec![Expr::int(0), g.clone()].into()));
        let mut e = Expr::Add(std::iter::once(e.clone()).chain(zeros).collect());
        for (from, to) in &subs {
            e = e.subst_index(from, to);
        }
        pin(&e, &world.pinned)
    };
    let opts = CheckOptions { seed, points: 3, n_min: 1, n_max: 4 };
    match check_equal(&world.model, &with(before), &with(after), &opts) {
        Ok(_) => Ok(Verdict::Agrees),
        Err(e @ CheckError::Mismatch { .. }) => Err(e.to_string()),
        Err(_) => Ok(Verdict::Inconclusive),
    }
}

// ---------------------------------------------------------------------------------------
// Runs.

#[derive(Default, Debug)]
struct Tally {
    /// Goals offered to the kernel, and those it started from.
    goals: usize,
    chains: usize,
    attempts: usize,
    accepted: usize,
    agreed: usize,
    inconclusive: usize,
    /// Chains whose goal and end were compared (and agreed).
    whole_chains: usize,
    /// Steps attempted in a derivative's variable slot.
    slot_attempts: usize,
    /// Goals offered that differentiate with respect to a size, or to a defined name around
    /// another derivative.
    odd_goals: usize,
    /// Goals offered in contexts with pieces the parser refuses.
    invalid_goals: usize,
    /// Attempts and acceptances by rule.
    by_rule: BTreeMap<String, (usize, usize)>,
}

impl Tally {
    fn attempts_of(&self, rule: &str) -> usize {
        self.by_rule.get(rule).map_or(0, |r| r.0)
    }
}

thread_local! {
    /// Chains started so far in this thread's run, for the failure message.
    static CHAINS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Panic with everything needed to replay a refutation.
fn refuted(seed: u64, world: &World, what: &str, detail: &str) -> ! {
    panic!(
        "seed {seed} (set DERIV_DIFF_SEED to replay), chain {}: {what}\ncontext:\n{}{}\n{detail}",
        CHAINS.get(),
        world.text,
        if world.pinned.is_empty() {
            String::new()
        } else {
            format!("(evaluated with {:?})\n", world.pinned)
        }
    )
}

fn describe_step(step: &Step) -> String {
    format!(
        "step: {} at {:?}{}{}{}{}",
        step.rule,
        step.position,
        if step.reversed { " reversed" } else { "" },
        step.uses.as_ref().map(|u| format!(" uses {u}")).unwrap_or_default(),
        if step.binding == Default::default() {
            String::new()
        } else {
            format!(" binding {:?}", step.binding)
        },
        step.replacement.as_ref().map(|r| format!(" replacement `{r}`")).unwrap_or_default()
    )
}

fn show(conditions: &[Condition]) -> String {
    let v: Vec<String> = conditions.iter().map(ToString::to_string).collect();
    format!("[{}]", v.join(", "))
}

/// The sums enclosing the subterm at `path`: index and range, outermost first.
fn binders(e: &Expr, path: &[usize]) -> Vec<(String, Bound, Bound)> {
    let mut out = Vec::new();
    let mut t = e;
    for &i in path {
        if let Expr::Sum(s) = t {
            out.push((s.index.clone(), s.lo.clone(), s.hi.clone()));
        }
        match t.children().nth(i) {
            Some(c) => t = c,
            None => break,
        }
    }
    out
}

/// The terms a condition speaks of, as one term defined where they are. `j in lo..hi`
/// speaks of `j`: where `j` has no value (a free index declared in an empty range), the
/// claim is vacuous, not false.
fn plain(c: &Condition) -> Option<Expr> {
    Some(match c {
        Condition::NonZero(e) | Condition::Positive(e) | Condition::NonNegative(e) => e.clone(),
        Condition::InRange(j, ..) => Expr::Delta(j.clone(), j.clone()),
        Condition::RangeLength(..) => Expr::int(1),
        Condition::ForAll(k, lo, hi, inner) => {
            Sum::written(k.clone(), lo.clone(), hi.clone(), true, plain(inner)?)
        }
        _ => return None,
    })
}

/// A condition the kernel proved that fails at every valid point where its terms have a
/// value (`sum_{k=2}^{1}(-1) != 0`): a proof of something false.
fn false_discharge(
    world: &World,
    c: &Condition,
    around: &[(String, Bound, Bound)],
    seed: u64,
) -> bool {
    // Quantified over the enclosing sums whose indices it mentions, as the kernel carries
    // open ones.
    let mut c = c.clone();
    for (k, lo, hi) in around.iter().rev() {
        if c.free_indices().contains(k) {
            c = Condition::ForAll(k.clone(), lo.clone(), hi.clone(), Box::new(c));
        }
    }
    let (Ok(Some(g)), Some(p)) = (guard(&c), plain(&c)) else {
        return false;
    };
    let opts = CheckOptions { seed, points: 2, n_min: 1, n_max: 4 };
    let (g, p) = (pin(&g, &world.pinned), pin(&p, &world.pinned));
    matches!(check_equal(&world.model, &g, &g, &opts), Err(CheckError::NoValidPoints { .. }))
        && check_equal(&world.model, &p, &p, &opts).is_ok()
}

/// Check one accepted step with every oracle; panics on a refutation.
#[allow(clippy::too_many_arguments)]
fn check_step(
    seed: u64,
    world: &World,
    step: &Step,
    before: &Expr,
    after: &Expr,
    open: &[Condition],
    discharged: &[Condition],
    point_seed: u64,
    tally: &mut Tally,
) {
    let detail = || {
        format!(
            "{}\nbefore: {before}\nafter:  {after}\nopen conditions: {}",
            describe_step(step),
            show(open)
        )
    };
    if let Some(why) = meaningless_derivative(&world.ctx, after) {
        refuted(
            seed,
            world,
            &format!("the kernel accepted a step to a term the numbers cannot mean: {why}"),
            &detail(),
        );
    }
    let around = binders(before, &step.position);
    for c in discharged {
        if false_discharge(world, c, &around, point_seed) {
            refuted(
                seed,
                world,
                &format!("the kernel proved `{c}`, false wherever its terms have a value"),
                &detail(),
            );
        }
    }
    match compare(world, before, after, open, point_seed) {
        Ok(Verdict::Agrees) => tally.agreed += 1,
        Ok(Verdict::Inconclusive) => tally.inconclusive += 1,
        Err(why) => refuted(
            seed,
            world,
            "the kernel accepted a false step",
            &format!("{}\n{why}", detail()),
        ),
    }
}

/// Random chains of up to 8 steps from random goals in random worlds. `only` forces the
/// rules (cycled); `bias` steers the worlds, the goals and the positions. Each test draws
/// from `seed ^ tag`, but failures name `seed`, the value `DERIV_DIFF_SEED` replays.
fn random_chains(seed: u64, tag: u64, chains: usize, only: &[&str], bias: &Bias) -> Tally {
    let mut rng = Rng(seed ^ tag);
    let mut tally = Tally::default();
    CHAINS.set(0);
    // Worlds and goals the kernel refuses count towards a cap, so a run ends.
    while tally.chains < chains && tally.goals < 12 * chains {
        let world = random_world(&mut rng, bias);
        // A few goals per world.
        for _ in 0..4 {
            let goal = random_goal(&mut rng, bias);
            tally.goals += 1;
            if meaningless_derivative(&world.ctx, &goal).is_some() {
                tally.odd_goals += 1;
            }
            if world.invalid {
                tally.invalid_goals += 1;
            }
            if !kernel_starts(&world.ctx, &goal) {
                continue;
            }
            // The kernel starts only from what means something, in a context with a model.
            if let Some(why) = meaningless_derivative(&world.ctx, &goal) {
                refuted(
                    seed,
                    &world,
                    "the kernel started from a meaningless goal",
                    &format!("goal: {goal}\n{why}"),
                );
            }
            if let Some(why) = model_fault(&world.ctx) {
                refuted(
                    seed,
                    &world,
                    "the kernel reasons in a context without a model",
                    &format!("goal: {goal}\n{why}"),
                );
            }
            tally.chains += 1;
            CHAINS.set(tally.chains);
            run_chain(seed, &mut rng, &world, &goal, only, bias, &mut tally);
            if tally.chains >= chains {
                break;
            }
        }
    }
    tally
}

fn run_chain(
    seed: u64,
    rng: &mut Rng,
    world: &World,
    goal: &Expr,
    only: &[&str],
    bias: &Bias,
    tally: &mut Tally,
) {
    let mut current = goal.clone();
    let mut carried: Vec<Condition> = Vec::new();
    let mut last: Vec<usize> = Vec::new();
    for n in 0..8 {
        let forced = (!only.is_empty()).then(|| only[n % only.len()]);
        let Some(step) = random_step(rng, world, &current, forced, bias, &last) else {
            continue;
        };
        tally.attempts += 1;
        if in_slot(&current, &step.position) {
            tally.slot_attempts += 1;
        }
        let entry = tally.by_rule.entry(step.rule.clone()).or_default();
        entry.0 += 1;
        let Some(r) = kernel_step(&world.ctx, &current, &step) else {
            continue;
        };
        entry.1 += 1;
        tally.accepted += 1;
        let (after, open) = (r.after, r.open);
        check_step(seed, world, &step, &current, &after, &open, &r.discharged, rng.next(), tally);
        carried.extend(open);
        last = step.position.clone();
        current = after;
    }
    // The chain as a certificate states it: goal = end under every condition carried.
    // Steps each undefined somewhere can chain into a false whole (x = x*S/S = … = 0).
    if current != *goal {
        match compare(world, goal, &current, &carried, rng.next()) {
            Ok(Verdict::Agrees) => tally.whole_chains += 1,
            Ok(Verdict::Inconclusive) => {}
            Err(why) => refuted(
                seed,
                world,
                "the kernel accepted a false chain",
                &format!("goal: {goal}\nend:  {current}\nconditions: {}\n{why}", show(&carried)),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The properties.

/// Random rules at random positions in random worlds, one invalid piece now and then.
#[test]
fn the_kernel_accepts_no_step_the_numbers_refute() {
    let seed = seed();
    let bias = Bias { invalid_chance: 0.05, slot_chance: 0.1, ..Bias::default() };
    let t = random_chains(seed, 0, 1000, &[], &bias);
    eprintln!("seed {seed}: {t:?}");
    assert!(t.accepted >= 1500, "too few accepted steps to mean much: {t:?}");
    assert!(t.agreed * 2 >= t.accepted, "most accepted steps are compared: {t:?}");
    assert!(t.whole_chains >= 300, "too few whole chains compared: {t:?}");
}

/// Mutations of the engine's own derivations (the examples and random small goals):
/// positions, bindings, rule names, directions, `uses` and replacements changed, and
/// steps spliced from one proof into another; each mutant replayed on the step's term.
#[test]
fn mutated_engine_steps_are_refused_or_true() {
    let seed = seed();
    let mut rng = Rng(seed ^ 0x5EED);
    // Sources: the examples, small documents, then random small goals in random worlds.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut sources: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/")
        .filter_map(|f| f.ok().map(|f| f.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deriv"))
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect();
    sources.sort();
    sources.extend(
        [
            "assume t = 2\nderive sigmoid(t*x)^2/(1 + x^2) wrt x",
            "index i in 1..3\nassume y_i = 2\nderive sum_i(y_i*x_i^2) wrt x_2",
            "index i in 1..2\nassume x_i = 1\nlet b_i = x_i^2\nderive b_i*y wrt y",
            "index i, k in 1..n\nlet v = w\nassume w = 2\nderive sqrt(x^2)*sum_k(z_k^2) + v*x wrt x",
        ]
        .map(String::from),
    );
    // (world, proof)
    let mut proofs: Vec<(World, Proof)> = Vec::new();
    for src in &sources {
        let doc = parse_file(src).unwrap_or_else(|d| panic!("{d}"));
        let ctx = Arc::new(doc.context.clone());
        for g in &doc.goals {
            if let Ok(p) = derive(ctx.clone(), &g.of, &g.wrt) {
                let world = World {
                    ctx: doc.context.clone(),
                    model: doc.context.clone(),
                    text: src.clone(),
                    pinned: vec![],
                    invalid: false,
                };
                proofs.push((world, p));
            }
        }
    }
    let from_files = proofs.len();
    let bias = Bias::default();
    let mut tries = 0;
    while proofs.len() < from_files + 25 && tries < 200 {
        tries += 1;
        let world = random_world(&mut rng, &bias);
        let of = random_term(&mut rng, 2, None);
        let wrt = term(rng.pick(&["x", "y", "w", "t", "z_j", "x_1", "y_j"]));
        if let Ok(p) = derive(Arc::new(world.ctx.clone()), &of, &wrt) {
            if p.steps().len() > 1 {
                proofs.push((world, p));
            }
        }
    }
    let pool: Vec<Step> =
        proofs.iter().flat_map(|(_, p)| p.steps().iter().map(|s| s.step.clone())).collect();
    let mut tally = Tally::default();
    let mut mutants = 0;
    for (world, proof) in &proofs {
        let steps = proof.steps();
        // At most 12 steps of each proof, spread over it.
        let stride = steps.len().div_ceil(12).max(1);
        for s in steps.iter().step_by(stride) {
            let before = &s.before;
            for _ in 0..8 {
                let m = mutate(&mut rng, world, before, &s.step, &pool);
                mutants += 1;
                tally.attempts += 1;
                if let Some(r) = kernel_step(&world.ctx, before, &m) {
                    tally.accepted += 1;
                    let seed2 = rng.next();
                    check_step(
                        seed,
                        world,
                        &m,
                        before,
                        &r.after,
                        &r.open,
                        &r.discharged,
                        seed2,
                        &mut tally,
                    );
                }
            }
        }
    }
    eprintln!(
        "seed {seed}: {} proofs ({from_files} from files), {mutants} mutants: {tally:?}",
        proofs.len()
    );
    assert!(proofs.len() >= from_files + 10 && mutants > 1000 && tally.agreed > 100, "{tally:?}");
}

/// One or two changes to an engine step.
fn mutate(rng: &mut Rng, world: &World, before: &Expr, step: &Step, pool: &[Step]) -> Step {
    let mut m = step.clone();
    for _ in 0..1 + rng.below(2) {
        match rng.below(10) {
            0 => m.position.push(rng.below(2)),
            1 => {
                m.position.pop();
            }
            2 => {
                if let Some(last) = m.position.last_mut() {
                    *last = rng.below(3);
                }
            }
            3 => {
                if let Some(v) = m.binding.indices.values_mut().next() {
                    *v = index(rng);
                } else {
                    m.binding.indices.insert(rng.pick(&["i", "j", "k"]).into(), index(rng));
                }
            }
            4 => {
                // A term of the binding: random, or a subterm of the term itself.
                let mut all = Vec::new();
                positions(before, &mut Vec::new(), &mut all);
                let sub = before.at(&rng.pick(&all)).cloned().unwrap_or(Expr::int(1));
                let with = if rng.chance(0.5) { random_term(rng, 1, None) } else { sub };
                if let Some(v) = m.binding.terms.values_mut().next() {
                    *v = with;
                }
            }
            5 => m.reversed = !m.reversed,
            6 => m.rule = RULES[rng.below(RULES.len())].name.to_string(),
            7 => {
                let defs: Vec<String> = world
                    .ctx
                    .definitions
                    .iter()
                    .filter_map(|d| match &d.name {
                        Expr::Sym(s) | Expr::Idx(s, _) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                let hyp = (rng.below(world.ctx.assumptions.len() + 2)).to_string();
                m.uses =
                    Some(if defs.is_empty() || rng.chance(0.5) { hyp } else { rng.pick(&defs) });
            }
            8 => {
                let other = rng.pick(pool).replacement;
                let fresh = random_term(rng, 2, None);
                m.replacement = Some(match other {
                    Some(o) if rng.chance(0.5) => o,
                    _ => fresh,
                });
            }
            _ => {
                // A step of another proof, at its own position or at this one.
                let other = rng.pick(pool);
                let keep = rng.chance(0.5);
                let position = std::mem::take(&mut m.position);
                m = other;
                if keep {
                    m.position = position;
                }
            }
        }
    }
    m
}

/// The generator restricted to one hole's shape: `chains` chains of `rules` (cycled)
/// under `bias`, which must reach the shape (each test's assertions say how).
fn hole(tag: u64, chains: usize, rules: &[&str], bias: Bias) -> Tally {
    let seed = seed();
    let t = random_chains(seed, tag, chains, rules, &bias);
    eprintln!("seed {seed}, {rules:?}: {t:?}");
    t
}

/// 1: an empty sum of negative terms taken as negative, so non-zero (`sum_{k=2}^{1}(-1)`).
#[test]
fn hole_1_empty_sums_have_no_sign() {
    let t = hole(
        1,
        150,
        &["ring-normalize", "sum-of-constant", "ring-normalize"],
        Bias { k: Some("2..1"), ..Bias::default() },
    );
    assert!(t.attempts_of("ring-normalize") >= 400 && t.whole_chains >= 30, "{t:?}");
}

/// 2: a hypothesis used with an index outside its range (`i in 1..2`, `x_i = 1` at 3).
#[test]
fn hole_2_hypotheses_keep_to_their_ranges() {
    let t = hole(
        2,
        250,
        &["use-hypothesis", "derivative-of-constant"],
        Bias { pieces: &["x-one", "y-shift"], ij: Some("1..2"), ..Bias::default() },
    );
    assert!(t.attempts_of("use-hypothesis") >= 500, "{t:?}");
}

/// 3: a hypothesis on `x` used inside `D(…, x)` (`x = 2`: `D(x^2, x)` to `D(2^2, x)`),
/// also through a definition (`v = x`, `v = 2`).
#[test]
fn hole_3_hypotheses_do_not_hold_along_a_derivative() {
    let t = hole(
        3,
        250,
        &["use-hypothesis", "derivative-of-constant"],
        Bias { pieces: &["alias", "x-two", "t-line"], wrt: Some("x"), ..Bias::default() },
    );
    assert!(t.attempts_of("use-hypothesis") >= 500, "{t:?}");
}

/// 4: a step inside the variable slot of `D` (`D(x^2, x)` folded into `D(x^2, v)`).
#[test]
fn hole_4_no_step_enters_the_variable_slot() {
    let t = hole(
        4,
        250,
        &["fold-definition", "ring-normalize", "use-hypothesis"],
        Bias { pieces: &["alias", "x-two"], wrt: Some("x"), slot_chance: 0.5, ..Bias::default() },
    );
    assert!(t.slot_attempts >= 300, "{t:?}");
}

/// 5: differentiation with respect to a size (`D(sum_{k=1}^{n}(y), n)`).
#[test]
fn hole_5_sizes_are_not_variables() {
    let t = hole(
        5,
        150,
        &["derivative-into-sum", "sum-of-constant", "derivative-of-constant"],
        Bias { wrt: Some("n"), ..Bias::default() },
    );
    // Every such goal is refused at the start, so count the goals offered.
    assert!(t.odd_goals >= 150, "{t:?}");
}

/// 6: a condition on an index bound by an enclosing sum, carried as one on a free index
/// (`sum_k(sqrt(x_k^2))` to `sum_k(x_k)` under `x_k > 0` for the free `k`).
#[test]
fn hole_6_conditions_on_bound_indices_stay_bound() {
    let t = hole(
        6,
        250,
        &["sqrt-of-square", "derivative-into-sum"],
        Bias { k: Some("1..3"), ..Bias::default() },
    );
    assert!(t.attempts_of("sqrt-of-square") >= 500, "{t:?}");
}

/// 7: definitions the parser refuses (self-referential, mutually recursive) and
/// derivatives with respect to a defined name.
#[test]
fn hole_7_no_reasoning_from_refused_definitions() {
    let t = hole(
        7,
        200,
        &[
            "unfold-definition",
            "ring-normalize",
            "derivative-of-variable",
            "derivative-of-constant",
        ],
        Bias { pieces: &["alias", "scalar-def"], invalid_chance: 0.5, ..Bias::default() },
    );
    assert!(t.invalid_goals >= 200 && t.odd_goals >= 50, "{t:?}");
}

/// 9: a fixed label captured by a sum of its name: `g = y_m + 1` unfolded or folded inside
/// `sum_m(…)` (after a renaming brings the sum's index to `m`), a hypothesis `e_m = 2` used
/// there, or renamed to another index.
#[test]
fn hole_9_fixed_labels_are_never_captured() {
    let t = hole(
        9,
        250,
        &["rename-bound-index", "unfold-definition", "use-hypothesis", "fold-definition"],
        Bias {
            pieces: &["label", "one-hot", "label-hyp"],
            goals: &["sum_i(g*x_i)", "sum_j(e_j*y_j)", "x*sum_i(h_i*g)", "sum_k(g*y_k) + g"],
            ..Bias::default()
        },
    );
    assert!(t.attempts_of("rename-bound-index") >= 300, "{t:?}");
}

/// 10: a defined name held as the variable of `D(…, c)` unfolded or folded there
/// (`D(c, c)` is 1, `D(x^2 + 1, c)` is 0), or a derivative brought inside it.
#[test]
fn hole_10_defined_names_are_held_as_variables() {
    let t = hole(
        10,
        250,
        &[
            "unfold-definition",
            "derivative-of-variable",
            "fold-definition",
            "derivative-of-constant",
        ],
        Bias {
            pieces: &["softmax", "scalar-def", "alias", "sum-def", "label", "square"],
            wrts: &["c", "v", "s", "a_j", "g", "b_i"],
            ..Bias::default()
        },
    );
    assert!(t.attempts_of("unfold-definition") >= 300, "{t:?}");
}

/// 8: a size defined to be 0 (`let n = 0`), where `1..n` is empty although the
/// convention takes it as non-empty.
#[test]
fn hole_8_sizes_are_not_defined() {
    let t = hole(8, 100, HOLE_8_RULES, hole_8_bias(&["size-def"]));
    assert!(t.invalid_goals >= 100, "{t:?}");
}

/// 8: a size assumed to be 0 (`assume n = 0`).
#[test]
fn hole_8_sizes_are_not_assumed() {
    let t = hole(80, 100, HOLE_8_RULES, hole_8_bias(&["size-hyp"]));
    assert!(t.invalid_goals >= 100, "{t:?}");
}

const HOLE_8_RULES: &[&str] =
    &["ring-normalize", "sum-of-constant", "unfold-definition", "use-hypothesis", "ring-normalize"];

fn hole_8_bias(invalid: &'static [&'static str]) -> Bias {
    Bias { invalid, ij: Some("1..n"), ..Bias::default() }
}

//! The pest parser and the conversion from its parse tree to [`Expr`] and [`Document`].

use super::document::{Document, Goal};
use super::Diagnostic;
use crate::expr::{
    Assumption, Bound, Definition, Expr, Func, Index, IndexDecl, Rat, Sum, MAX_DEPTH,
};
use crate::kernel::certificate::MAX_DERIVATIONS;
use crate::kernel::validate;
use crate::terms::ExprExt;
use num_bigint::BigInt;
use std::sync::Arc;

use pest::iterators::{Pair, Pairs};
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/deriv.pest"]
pub(super) struct Grammar;

/// Inputs larger than this are refused before parsing.
const MAX_INPUT_BYTES: usize = 1 << 20;
/// Deepest bracket nesting accepted; bounds the parser's recursion. Machine-generated input
/// nests deeply; the term's own depth is bounded separately, by the same number
/// ([`MAX_DEPTH`]), so that every term within it prints and parses back.
const MAX_BRACKETS: usize = MAX_DEPTH;
/// Most `^` operators in one line (a statement is one line); `x^x^x^…` recurses once per
/// operator. Per line, so that a document of many derivations is not refused for its
/// length.
const MAX_POWERS: usize = MAX_DEPTH;
/// Most unary minus signs in a row: as many as the depth allows, so that every term within
/// [`MAX_DEPTH`], `--x` included, prints and parses back.
const MAX_MINUSES: usize = MAX_DEPTH;
/// Longest number literal, in digits.
const MAX_DIGITS: usize = 1000;
/// Stack for parsing. pest's generated parser recurses through several rules per bracket,
/// with frames so large in unoptimised builds (some 150 KB a bracket) that even shallow
/// input can overflow a test thread, so parsing gets a thread of its own with room for the
/// deepest accepted input several times over (only the pages it touches are committed).
const PARSE_STACK_BYTES: usize = 1 << 30;

/// For matrix notation where no vector or matrix can be declared.
const MATRIX_ONLY: &str = "this is matrix notation (`x'`, `.*`, `./`, `.^`, `norm2(…)`, …), for vectors and matrices declared in a `.deriv` file (`vector x in R^n`, `matrix W in R^{m x n}`)";

/// Which index names an expression may use, and the range a bare `sum_k` runs over.
#[derive(Clone, Copy, Debug)]
pub enum IndexScope<'a> {
    /// Any identifier is an index over `1..n` (the `deriv diff` convention).
    Any,
    /// Only the declared names (the `.deriv` file convention).
    Declared(&'a [IndexDecl]),
    /// Any name as an index, bare sums over declared indices only: terms of a certificate,
    /// which may mention a bound index outside its sum (a summand in a substitution).
    Certificate(&'a [IndexDecl]),
}

impl IndexScope<'_> {
    fn range(&self, name: &str) -> Option<(Bound, Bound)> {
        match self {
            IndexScope::Any => Some((Bound::Int(1), Bound::Sym("n".into(), 0))),
            IndexScope::Declared(decls) | IndexScope::Certificate(decls) => decls
                .iter()
                .find(|d| d.names.iter().any(|n| n == name))
                .map(|d| (d.lo.clone(), d.hi.clone())),
        }
    }
}

/// Parse one expression, any identifier being usable as an index.
pub fn parse_expr(src: &str) -> Result<Expr, Diagnostic> {
    parse_expr_in(src, IndexScope::Any)
}

/// Parse one expression under the given index declarations.
pub fn parse_expr_in(src: &str, scope: IndexScope) -> Result<Expr, Diagnostic> {
    prescan(src)?;
    on_parser_stack(src, || single(src, scope, Rule::expr_input))
}

/// Parse the whole of `src` as one expression (`Rule::expr_input`) or variable (`Rule::var_input`).
fn single(src: &str, scope: IndexScope, rule: Rule) -> Result<Expr, Diagnostic> {
    let mut pairs = Grammar::parse(rule, src).map_err(|e| from_pest(src, e, rule))?;
    check_names(src, pairs.clone())?;
    let input = pairs.next().ok_or_else(|| Diagnostic::at(src, 0, "empty input"))?;
    let inner = first_inner(input, src)?;
    let mut builder = Builder { src, scope, bound: Vec::new() };
    if rule == Rule::var_input {
        builder.wrt(inner, 0)
    } else {
        builder.expr(inner, 0)
    }
}

/// Parse a variable: a symbol or an indexed symbol such as `z_j` or `W_{p,q}`.
pub fn parse_variable(src: &str, scope: IndexScope) -> Result<Expr, Diagnostic> {
    prescan(src)?;
    on_parser_stack(src, || single(src, scope, Rule::var_input))
}

/// Parse a `.deriv` file.
pub fn parse_file(src: &str) -> Result<Document, Diagnostic> {
    prescan(src)?;
    let mut doc = on_parser_stack(src, || file_input(src))?;
    doc.numbers = super::numbers::scan(src);
    Ok(doc)
}

/// Deepest nesting parsed on the caller's stack (under 1 MB even in unoptimised builds).
const INLINE_NESTING: usize = 5;

/// A bound on how deep pest will recurse: brackets and powers, which nest to the right.
fn nesting(src: &str) -> usize {
    let (mut depth, mut deepest, mut powers) = (0usize, 0usize, 0usize);
    for c in src.bytes() {
        match c {
            b'(' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' => depth = depth.saturating_sub(1),
            b'^' => powers += 1,
            _ => {}
        }
    }
    deepest + powers
}

/// Run `parse` on a thread of its own with [`PARSE_STACK_BYTES`] of stack.
pub(super) fn on_parser_stack<T: Send>(
    src: &str,
    parse: impl Fn() -> Result<T, Diagnostic> + Send + Sync,
) -> Result<T, Diagnostic> {
    let parse = || detailed_on_failure(&parse);
    // Most input is shallow: parse it here, and pay for a thread only for deep input.
    if nesting(src) <= INLINE_NESTING {
        return parse();
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("deriv-parser".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, parse);
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => Err(Diagnostic::at(src, 0, format!("cannot start the parser: {e}"))),
        }
    })
}

/// Run `parse`; if it fails, run it again tracking the literal tokens it expected (`,`,
/// `)`, `wrt`). The tracking makes diagnostics clearer and parsing several times slower, so
/// only a failed parse pays for it. The setting is process-wide; another thread parsing
/// meanwhile is only slowed, never changed.
fn detailed_on_failure<T>(parse: impl Fn() -> Result<T, Diagnostic>) -> Result<T, Diagnostic> {
    parse().or_else(|_| {
        pest::set_error_detail(true);
        let detailed = parse();
        pest::set_error_detail(false);
        detailed
    })
}

fn file_input(src: &str) -> Result<Document, Diagnostic> {
    let mut pairs = Grammar::parse(Rule::file, src).map_err(|e| from_pest(src, e, Rule::file))?;
    check_names(src, pairs.clone())?;
    let file = pairs.next().ok_or_else(|| Diagnostic::at(src, 0, "empty input"))?;
    let mut doc = Document::default();
    // Index declarations come first in meaning, wherever they stand, so collect them first.
    let statements: Vec<Pair<Rule>> =
        file.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect();
    for st in statements.iter().filter(|p| p.as_rule() == Rule::index_stmt) {
        let pos = st.as_span().start();
        let mut inner: Vec<Pair<Rule>> = st.clone().into_inner().collect();
        let hi = inner.pop().ok_or_else(|| Diagnostic::at(src, pos, "missing range"))?;
        let lo = inner.pop().ok_or_else(|| Diagnostic::at(src, pos, "missing range"))?;
        let names: Vec<String> = inner.iter().map(|p| p.as_str().to_string()).collect();
        for (p, name) in inner.iter().zip(&names) {
            if doc.context.indices.iter().any(|d| d.names.contains(name)) {
                return Err(Diagnostic::at(
                    src,
                    p.as_span().start(),
                    format!("index `{name}` is declared twice"),
                ));
            }
        }
        doc.context.indices.push(IndexDecl { names, lo: bound(&lo, src)?, hi: bound(&hi, src)? });
    }
    let decls = doc.context.indices.clone();
    let scope = IndexScope::Declared(&decls);
    let shape_stmts: Vec<Pair<Rule>> =
        statements.iter().filter(|p| p.as_rule() == Rule::shape_stmt).cloned().collect();
    let mut mx = super::matrix::Matrices::new(src, &decls, &shape_stmts)?;
    let mut forms = Vec::new();
    let mut goals = Vec::new();
    let mut definition_positions = Vec::new();
    let mut assumption_positions = Vec::new();
    for st in statements {
        let pos = st.as_span().start();
        let st_end = st.as_span().end();
        let line = st.as_span().start_pos().line_col().0;
        let b = || Builder { src, scope, bound: Vec::new() };
        match st.as_rule() {
            Rule::title_stmt => {
                if doc.title.is_some() {
                    return Err(Diagnostic::at(src, pos, "a file has at most one title"));
                }
                let s = first_inner(st, src)?;
                let body = first_inner(s, src)?.as_str();
                doc.title = Some(body.replace("\\\"", "\"").replace("\\\\", "\\"));
            }
            Rule::index_stmt => {}
            Rule::let_stmt => {
                let mut it = st.into_inner();
                let (name_p, body_p) = two(&mut it, src, pos)?;
                let name_pos = name_p.as_span().start();
                let (name, body) = mx.definition(&mut b(), name_p, body_p, &doc.context)?;
                doc.context.indices = mx.decls().to_vec();
                check_definition(&doc, &name, &body, src, name_pos)?;
                definition_positions.push((name_pos, st_end));
                doc.context.definitions.push(Definition { name, body });
                doc.definition_lines.push(line);
            }
            Rule::assume_stmt => {
                let mut it = st.into_inner();
                let (l, r) = two(&mut it, src, pos)?;
                let (lhs, rhs) = mx.hypothesis(&mut b(), l, r)?;
                doc.context.indices = mx.decls().to_vec();
                let sizes = validate::sizes(&doc.context);
                validate::check_hypothesis(&doc.context, &sizes, &lhs, &rhs)
                    .map_err(|m| Diagnostic::at(src, pos, m))?;
                assumption_positions.push((pos, st_end));
                doc.context.assumptions.push(Assumption { lhs, rhs });
                doc.assumption_lines.push(line);
            }
            Rule::derive_stmt => {
                // `derive l wrt z_i, z_j` is the second derivative `derive D(l, z_i) wrt z_j`.
                let mut it = st.into_inner();
                let (of_p, wrt_p) = two(&mut it, src, pos)?;
                let rest = src.get(wrt_p.as_span().start()..st_end).unwrap_or_default();
                let mut of = mx.goal_of(&mut b(), of_p, &doc.context, rest)?;
                let mut wrt_p = wrt_p;
                loop {
                    let wrt_pos = wrt_p.as_span().start();
                    let wrt = mx.goal_wrt(&mut b(), wrt_p)?;
                    match it.next() {
                        Some(next) if next.as_rule() != Rule::via_clause => {
                            of = Expr::d(of, wrt);
                            wrt_p = next;
                        }
                        via_p => {
                            doc.context.indices = mx.decls().to_vec();
                            let (via, intermediates) = match via_p {
                                Some(v) => via_names(&doc.context, &of, &wrt, v, src)?,
                                None => (vec![], vec![]),
                            };
                            // An intermediate's derivative is a goal of its own, before
                            // this one, unless an earlier goal gives it.
                            for a in intermediates {
                                let wrt_name = wrt.variable_name();
                                let given = goals.iter().any(|(g, _, _): &(Goal, _, _)| {
                                    g.of.variable_name() == Some(&a)
                                        && g.wrt.variable_name() == wrt_name
                                        && g.wrt.indices().all(|i| i.name().is_some())
                                });
                                if let Some(of) = intermediate_goal(&doc.context, &a, &wrt) {
                                    if !given {
                                        let goal = Goal {
                                            of,
                                            wrt: wrt.clone(),
                                            line,
                                            via: vec![],
                                            inserted: true,
                                        };
                                        goals.push((goal, (wrt_pos, st_end), pos));
                                        forms.push(Default::default());
                                    }
                                }
                            }
                            let goal = Goal { of, wrt, line, via, inserted: false };
                            goals.push((goal, (wrt_pos, st_end), pos));
                            forms.push(mx.goal_form());
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // The whole context once more, now that every size is known (a later sum can make a
    // size of an earlier definition's name), then each goal's derivatives: the kernel's
    // `check_goal`, with the context checked once for all goals.
    validate::check_context(&doc.context).map_err(|(item, m)| {
        let (at, end) = match item {
            validate::Item::Indices => (0, 0),
            validate::Item::Definition(k) => definition_positions[k],
            validate::Item::Hypothesis(k) => assumption_positions[k],
        };
        Diagnostic::at(src, binder_in(src, at, end, &m).unwrap_or(at), m)
    })?;
    if let Some((_, _, at)) = goals.get(MAX_DERIVATIONS) {
        let m =
            format!("a file holds at most {MAX_DERIVATIONS} derivations (with those `via` adds)");
        return Err(Diagnostic::at(src, *at, m));
    }
    for (goal, (wrt_pos, end), start) in goals {
        validate::check_goal_term(&doc.context, &Expr::d(goal.of.clone(), goal.wrt.clone()))
            .map_err(|m| {
                Diagnostic::at(src, binder_in(src, start, end, &m).unwrap_or(wrt_pos), m)
            })?;
        doc.goals.push(goal);
    }
    doc.shapes = mx.shapes;
    doc.forms = forms;
    Ok(doc)
}

/// Where in `src[from..to]` a sum binds the fixed label that message `m` says is bound
/// (`sum_k(`, `sum_{k=`), for the caret.
fn binder_in(src: &str, from: usize, to: usize, m: &str) -> Option<usize> {
    let rest = m.strip_prefix("index `")?;
    let k = &rest[..rest.find('`')?];
    if !rest.contains("is a fixed label") || !rest.contains("sum") {
        return None;
    }
    let text = src.get(from..to)?;
    ["sum_", "sum_{"].iter().find_map(|head| {
        text.match_indices(&format!("{head}{k}")).find_map(|(at, found)| {
            let next = text[at + found.len()..].chars().find(|c| !matches!(c, ' ' | '\t'));
            matches!(next, Some('(' | '=' | '}')).then_some(from + at)
        })
    })
}

/// The kernel's own rules for a definition (`kernel::validate`), as a diagnostic here.
fn check_definition(
    doc: &Document,
    name: &Expr,
    body: &Expr,
    src: &str,
    pos: usize,
) -> Result<(), Diagnostic> {
    let def = Definition { name: name.clone(), body: body.clone() };
    let sizes = validate::sizes(&doc.context);
    validate::check_definition(&doc.context.definitions, &sizes, &def)
        .and_then(|()| validate::check_derivatives(&doc.context, body))
        .map_err(|m| Diagnostic::at(src, pos, m))
}

/// The names of a `via` clause: definitions, each reached by the one before (the first by
/// the goal), each reaching the variable, so the chain connects the goal to it. From the
/// first name that the goal (or the name before) reaches the variable other than through,
/// the rest are intermediates kept folded in that derivative, all reached from it.
fn via_names(
    ctx: &crate::expr::Context,
    of: &Expr,
    wrt: &Expr,
    p: Pair<Rule>,
    src: &str,
) -> Result<(Vec<String>, Vec<String>), Diagnostic> {
    use crate::kernel::{decide, rules::Condition, Verdict};
    let reaches = |ctx: &crate::expr::Context, e: &Expr, name: &str| {
        let free = Condition::FreeOf(Expr::Sym(name.to_string()), e.clone());
        decide(ctx, &free, &[]) != Verdict::Holds
    };
    let mut names: Vec<String> = Vec::new();
    let mut from = of.clone();
    let mut intermediates = false;
    let mut kept = Vec::new();
    for q in p.into_inner() {
        let (at, name) = (q.as_span().start(), q.as_str().to_string());
        let Some(def) = ctx.definition(&name) else {
            let m = format!("`via {name}`: `{name}` is not a definition; `via` names the definitions (`let`) the goal reaches the variable through");
            return Err(Diagnostic::at(src, at, m));
        };
        if names.contains(&name) || !reaches(ctx, &from, &name) {
            let m = format!("`via {name}`: the chain does not reach `{name}` (the goal, or the name before it in `via`, does not depend on it)");
            return Err(Diagnostic::at(src, at, m));
        }
        let x = wrt.to_string();
        let xn = match wrt {
            Expr::Sym(n) | Expr::Idx(n, _) => n.as_str(),
            _ => x.as_str(),
        };
        if !reaches(ctx, &def.body, xn) {
            let m = format!("`via {name}`: `{name}` does not depend on `{wrt}`, so the chain does not connect the goal to it");
            return Err(Diagnostic::at(src, at, m));
        }
        // With `name` held (its definition dropped), a `from` that still reaches the
        // variable keeps `name` as an intermediate rather than going through it.
        let mut held = ctx.clone();
        held.definitions
            .retain(|d| !matches!(&d.name, Expr::Sym(n) | Expr::Idx(n, _) if *n == name));
        intermediates = intermediates || reaches(&held, &from, xn);
        if intermediates {
            kept.push(name.clone());
        } else {
            from = def.name.clone();
        }
        names.push(name);
    }
    Ok((names, kept))
}

/// The goal `D(a…, wrt)` for an intermediate `a`: at its own formal indices, each renamed
/// to another index of its declaration where `wrt` uses it (`a_i` by `z_i` is `a_j` by
/// `z_i`), so the result serves every instance.
fn intermediate_goal(ctx: &crate::expr::Context, a: &str, wrt: &Expr) -> Option<Expr> {
    let def = ctx.definition(a)?;
    let Expr::Idx(_, formal) = &def.name else { return Some(def.name.clone()) };
    let mut taken: Vec<String> = wrt.indices().filter_map(|i| i.name().cloned()).collect();
    let mut indices = Vec::new();
    for i in formal {
        let name = i.name()?;
        let decl = ctx.indices.iter().find(|d| d.names.contains(name))?;
        let free = decl.names.iter().find(|n| !taken.contains(n))?;
        taken.push(free.clone());
        indices.push(crate::expr::Index::Name(free.clone()));
    }
    Some(Expr::Idx(a.to_string(), indices))
}

fn two<'a>(
    it: &mut impl Iterator<Item = Pair<'a, Rule>>,
    src: &str,
    pos: usize,
) -> Result<(Pair<'a, Rule>, Pair<'a, Rule>), Diagnostic> {
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(Diagnostic::at(src, pos, "incomplete statement")),
    }
}

pub(super) fn first_inner<'a>(p: Pair<'a, Rule>, src: &str) -> Result<Pair<'a, Rule>, Diagnostic> {
    let pos = p.as_span().start();
    p.into_inner().next().ok_or_else(|| Diagnostic::at(src, pos, "incomplete input"))
}

pub(super) fn bound(p: &Pair<Rule>, src: &str) -> Result<Bound, Diagnostic> {
    let s = p.as_str();
    if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse::<i64>()
            .map(Bound::Int)
            .map_err(|_| Diagnostic::at(src, p.as_span().start(), "range bound is too large"))
    } else {
        // `n`, `n+1` or `n-1`: a size and a small whole offset.
        let (name, offset) = match s.find(['+', '-']) {
            Some(at) => (&s[..at], s[at..].trim_start_matches('+').parse::<i64>().ok()),
            None => (s, Some(0)),
        };
        match offset {
            Some(k) if k.abs() <= 1_000_000 && !(k == 0 && name.len() < s.len()) => {
                Ok(Bound::Sym(name.to_string(), k))
            }
            _ => Err(Diagnostic::at(
                src,
                p.as_span().start(),
                "a range bound is a whole number, a size `n`, or a size plus or minus a whole number (`n-1`)",
            )),
        }
    }
}

/// Refuse inputs whose nesting would make the recursive-descent parser recurse too deep.
pub(super) fn prescan(src: &str) -> Result<(), Diagnostic> {
    if src.len() > MAX_INPUT_BYTES {
        return Err(Diagnostic::at(
            src,
            0,
            format!("input is larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    let mut depth = 0usize;
    let mut powers = 0usize;
    for (i, c) in src.char_indices() {
        match c {
            '(' | '{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return Err(Diagnostic::at(
                        src,
                        i,
                        format!("brackets nest more than {MAX_BRACKETS} deep"),
                    ));
                }
            }
            ')' | '}' => depth = depth.saturating_sub(1),
            '\n' => powers = 0,
            '^' => {
                powers += 1;
                if powers > MAX_POWERS {
                    return Err(Diagnostic::at(
                        src,
                        i,
                        format!("more than {MAX_POWERS} `^` operators in one line"),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns the parse tree into terms, checking indices and bounding depth.
pub(super) struct Builder<'s, 'd> {
    pub(super) src: &'s str,
    scope: IndexScope<'d>,
    /// Indices bound by enclosing sums.
    pub(super) bound: Vec<String>,
}

impl<'s, 'd> Builder<'s, 'd> {
    pub(super) fn new(src: &'s str, scope: IndexScope<'d>) -> Self {
        Builder { src, scope, bound: Vec::new() }
    }

    pub(super) fn err(&self, p: &Pair<Rule>, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.src, p.as_span().start(), msg)
    }

    /// The depth of the children of a node at `depth` that wraps them in `levels` terms;
    /// an error once the term would nest more than [`MAX_DEPTH`] deep.
    fn deeper(&self, p: &Pair<Rule>, depth: usize, levels: usize) -> Result<usize, Diagnostic> {
        if depth + levels >= MAX_DEPTH {
            Err(self.err(p, format!("expression nests more than {MAX_DEPTH} levels deep")))
        } else {
            Ok(depth + levels)
        }
    }

    /// Build the term of `p`, which sits under `depth` enclosing terms. Rules that only pass
    /// a term through (brackets, a lone factor) do not count; a term that wraps its parts does.
    pub(super) fn expr(&mut self, p: Pair<Rule>, depth: usize) -> Result<Expr, Diagnostic> {
        match p.as_rule() {
            Rule::expr => {
                let d = if p.clone().into_inner().nth(1).is_some() {
                    self.deeper(&p, depth, 1)?
                } else {
                    depth
                };
                let mut it = p.into_inner();
                let first =
                    it.next().ok_or_else(|| Diagnostic::at(self.src, 0, "empty expression"))?;
                let mut terms = vec![self.expr(first, d)?];
                while let (Some(op), Some(t)) = (it.next(), it.next()) {
                    let term = self.expr(t, d)?;
                    terms.push(if op.as_str() == "-" { Expr::neg(term) } else { term });
                }
                Ok(Expr::add(terms))
            }
            Rule::signed | Rule::factor => {
                let mut minuses = 0;
                let mut last = None;
                let at = p.clone();
                for q in p.into_inner() {
                    if q.as_rule() == Rule::minus {
                        minuses += 1;
                    } else {
                        last = Some(q);
                    }
                }
                if minuses > MAX_MINUSES {
                    return Err(
                        self.err(&at, format!("more than {MAX_MINUSES} minus signs in a row"))
                    );
                }
                let inner = last.ok_or_else(|| self.err(&at, "expected an expression"))?;
                let d = self.deeper(&at, depth, minuses)?;
                let mut e = self.expr(inner, d)?;
                for _ in 0..minuses {
                    e = Expr::neg(e);
                }
                Ok(e)
            }
            Rule::term => self.term(p, depth),
            Rule::power => {
                let d = if p.clone().into_inner().nth(1).is_some() {
                    self.deeper(&p, depth, 1)?
                } else {
                    depth
                };
                let mut it = p.into_inner();
                let base = it.next().ok_or_else(|| Diagnostic::at(self.src, 0, "empty power"))?;
                // `e^x` is the exponential, `exp(x)`.
                let euler = base.as_str() == "e" && self.sugar();
                let base = self.expr(base, d)?;
                match (it.next(), it.next()) {
                    (Some(op), _) if op.as_rule() == Rule::transpose || op.as_str() == ".^" => {
                        Err(self.err(&op, MATRIX_ONLY))
                    }
                    // `x^T` is most likely a transpose, which a power is not.
                    (Some(_op), Some(exp)) if exp.as_str() == "T" && self.sugar() => {
                        Err(Diagnostic::at(self.src, exp.as_span().start(), TRANSPOSE_HINT))
                    }
                    (Some(_op), Some(exp)) if euler => {
                        Ok(Expr::call(Func::Exp, self.expr(exp, d)?))
                    }
                    (Some(_op), Some(exp)) => Ok(Expr::pow(base, self.expr(exp, d)?)),
                    _ => Ok(base),
                }
            }
            Rule::paren => {
                let inner = first_inner(p, self.src)?;
                self.expr(inner, depth)
            }
            Rule::number => self.number(&p),
            Rule::call => {
                let d = self.deeper(&p, depth, 1)?;
                let mut it = p.clone().into_inner();
                let name = it.next().ok_or_else(|| self.err(&p, "expected a function"))?;
                let arg = it.next().ok_or_else(|| self.err(&p, "expected an argument"))?;
                let arg = self.expr(arg, d)?;
                let second = it.next().map(|b| self.expr(b, d)).transpose()?;
                let at = name.as_span().start();
                match (name.as_str(), second) {
                    (word, second) if shorthand(word).is_some() && self.sugar() => {
                        desugar(word, arg, second).ok_or_else(|| {
                            Diagnostic::at(self.src, at, shorthand(word).unwrap_or_default())
                        })
                    }
                    (word, None) => match Func::from_name(word) {
                        Some(f) => Ok(Expr::call(f, arg)),
                        None => Err(unknown_function(self.src, at, word)),
                    },
                    (word, Some(_)) if Func::from_name(word).is_some() => Err(Diagnostic::at(
                        self.src,
                        at,
                        format!("`{word}` takes one argument: `{word}(…)`"),
                    )),
                    (word, Some(_)) => Err(unknown_function(self.src, at, word)),
                }
            }
            Rule::delta => {
                let mut it = p.clone().into_inner();
                let (a, b) = two(&mut it, self.src, p.as_span().start())?;
                Ok(Expr::Delta(self.index(&a)?, self.index(&b)?))
            }
            Rule::derivative => {
                let d = self.deeper(&p, depth, 1)?;
                let mut it = p.clone().into_inner();
                let (f, x) = two(&mut it, self.src, p.as_span().start())?;
                let f = self.expr(f, d)?;
                Ok(Expr::d(f, self.wrt(x, d)?))
            }
            // π, the term `acos(-1)`; printed `pi`, so read in certificates too.
            Rule::variable if p.as_str() == "pi" => Ok(crate::functions::pi()),
            // Euler's number, `exp(1)`.
            Rule::variable if p.as_str() == "e" && self.sugar() => {
                Ok(Expr::call(Func::Exp, Expr::int(1)))
            }
            Rule::variable => self.variable(p),
            Rule::sum => {
                let d = self.deeper(&p, depth, 1)?;
                self.sum(p, d)
            }
            Rule::matrix_call => Err(self.err(&p, MATRIX_ONLY)),
            r => Err(self.err(&p, format!("unexpected {r:?}"))),
        }
    }

    /// `a*b/c*d` reads left to right: `((a*b)/c)*d`, with runs of `*` kept flat.
    fn term(&mut self, p: Pair<Rule>, depth: usize) -> Result<Expr, Diagnostic> {
        // How deep the first factor, the deepest, ends up: each `/` wraps what precedes it,
        // and a run of two or more factors is a product.
        let (mut levels, mut run) = (0, 1);
        for op in p.clone().into_inner().filter(|q| q.as_rule() == Rule::mul_op) {
            if op.as_str() == "*" {
                run += 1;
            } else {
                levels += 1 + usize::from(run > 1);
                run = 1;
            }
        }
        levels += usize::from(run > 1);
        let d = self.deeper(&p, depth, levels)?;
        let mut it = p.into_inner();
        let first = it.next().ok_or_else(|| Diagnostic::at(self.src, 0, "empty term"))?;
        let mut factors = vec![self.expr(first, d)?];
        while let (Some(op), Some(f)) = (it.next(), it.next()) {
            if op.as_str().starts_with('.') {
                return Err(self.err(&op, MATRIX_ONLY));
            }
            let rhs = self.expr(f, d)?;
            if op.as_str() == "*" {
                factors.push(rhs);
            } else {
                let lhs = Expr::mul(std::mem::take(&mut factors));
                factors.push(Expr::div(lhs, rhs));
            }
        }
        Ok(Expr::mul(factors))
    }

    fn number(&self, p: &Pair<Rule>) -> Result<Expr, Diagnostic> {
        let s = p.as_str();
        if s.len() > MAX_DIGITS {
            return Err(self.err(p, format!("number has more than {MAX_DIGITS} digits")));
        }
        // Scientific notation: `1e-5`, `2.5E3`.
        let (mantissa, exponent) = match s.split_once(['e', 'E']) {
            Some((m, e)) => {
                let e: i64 = e.parse().map_err(|_| self.err(p, "malformed exponent"))?;
                if e.unsigned_abs() > MAX_DIGITS as u64 {
                    let msg = format!("the exponent of a number is past ±{MAX_DIGITS}");
                    return Err(self.err(p, msg));
                }
                (m, e)
            }
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: BigInt =
            format!("{int}{frac}").parse().map_err(|_| self.err(p, "malformed number"))?;
        let places = frac.len() as i64 - exponent;
        let ten = |k: i64| num_traits::pow(BigInt::from(10), k.unsigned_abs() as usize);
        Ok(Expr::Num(if places >= 0 {
            Rat::new(digits, ten(places))
        } else {
            Rat::new(digits * ten(places), BigInt::from(1))
        }))
    }

    fn index(&self, p: &Pair<Rule>) -> Result<Index, Diagnostic> {
        let s = p.as_str();
        if s.chars().all(|c| c.is_ascii_digit()) {
            return s
                .parse::<i64>()
                .map(Index::Int)
                .map_err(|_| self.err(p, "index number is too large"));
        }
        let lenient = matches!(self.scope, IndexScope::Certificate(_));
        if lenient || self.bound.iter().any(|b| b == s) || self.scope.range(s).is_some() {
            Ok(Index::Name(s.to_string()))
        } else {
            Err(self.err(p, format!("undeclared index `{s}`: declare it with `index {s} in 1..n`")))
        }
    }

    /// The variable of a derivative: a variable or a defined name, nothing else.
    pub(super) fn wrt(&mut self, p: Pair<Rule>, depth: usize) -> Result<Expr, Diagnostic> {
        let at = p.clone();
        let bracketed = at.as_str().trim_start().starts_with('(');
        match self.expr(p, depth)? {
            x if x.is_variable() && !bracketed => Ok(x),
            x if x.is_variable() => {
                Err(self.err(&at, format!("write the variable of a derivative without brackets: `{x}`")))
            }
            x => Err(self.err(&at, format!("cannot differentiate with respect to `{x}`: a derivative is taken with respect to a variable or a defined name, such as `x`, `z_j` or `a_i`"))),
        }
    }

    /// Whether the input is the user's, read with the shorthands (`e`, `ln`, `log(x, b)`,
    /// `max`); a certificate's terms are printed terms, which the kernel reads without them.
    pub(super) fn sugar(&self) -> bool {
        !matches!(self.scope, IndexScope::Certificate(_))
    }

    pub(super) fn variable(&self, p: Pair<Rule>) -> Result<Expr, Diagnostic> {
        let mut it = p.into_inner();
        let name = it.next().map(|n| n.as_str().to_string()).unwrap_or_default();
        match it.next() {
            None => Ok(Expr::Sym(name)),
            Some(list) => {
                let ix =
                    list.into_inner().map(|q| self.index(&q)).collect::<Result<Vec<_>, _>>()?;
                Ok(Expr::Idx(name, ix))
            }
        }
    }

    fn sum(&mut self, p: Pair<Rule>, d: usize) -> Result<Expr, Diagnostic> {
        let at = p.clone();
        let mut it = p.into_inner();
        let head = it.next().ok_or_else(|| self.err(&at, "expected `sum_k(…)`"))?;
        let body = it.next().ok_or_else(|| self.err(&at, "expected the summand"))?;
        let (index, lo, hi, explicit) = self.sum_binder(head, &at)?;
        self.bound.push(index.clone());
        let body = self.expr(body, d);
        self.bound.pop();
        Ok(Sum::written(index, lo, hi, explicit, body?))
    }

    /// The index of `sum_k` or `sum_{k=lo}^{hi}`, its range, and whether the range is written.
    pub(super) fn sum_binder(
        &self,
        head: Pair<Rule>,
        at: &Pair<Rule>,
    ) -> Result<(String, Bound, Bound, bool), Diagnostic> {
        let binder = first_inner(head, self.src)?;
        let binder_inner = first_inner(binder, self.src)?;
        if binder_inner.as_rule() == Rule::bounded_binder {
            let parts: Vec<Pair<Rule>> = binder_inner.into_inner().collect();
            let [name, lo, hi] = parts.as_slice() else {
                return Err(self.err(at, "expected `sum_{k=1}^{n}(…)`"));
            };
            Ok((name.as_str().to_string(), bound(lo, self.src)?, bound(hi, self.src)?, true))
        } else {
            let name = binder_inner.as_str().to_string();
            let (lo, hi) = self.scope.range(&name).ok_or_else(|| {
                self.err(&binder_inner, format!("undeclared index `{name}`: declare it with `index {name} in 1..n`, or write `sum_{{{name}=1}}^{{n}}(…)`"))
            })?;
            Ok((name, lo, hi, false))
        }
    }
}

/// Words for what the grammar expected at the point of failure.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::signed | Rule::term | Rule::factor | Rule::power | Rule::paren => {
            "an expression"
        }
        Rule::number => "a number",
        Rule::variable | Rule::ident => "a name",
        Rule::index | Rule::index_list => "an index",
        Rule::sum | Rule::sum_head => "a sum",
        Rule::sum_binder | Rule::bounded_binder => "a summation index such as `k` or `{k=1}^{n}`",
        Rule::bound => "a range bound (a number or a name)",
        Rule::call | Rule::callee => "a function call",
        Rule::delta => "`delta(i, j)`",
        Rule::derivative => "`D(f, x)`",
        Rule::add_op | Rule::mul_op | Rule::pow_op => "an operator",
        Rule::minus => "`-`",
        Rule::EOI => "the end of the input",
        Rule::title_stmt
        | Rule::index_stmt
        | Rule::let_stmt
        | Rule::assume_stmt
        | Rule::derive_stmt => "a statement (`title`, `index`, `let`, `assume` or `derive`)",
        Rule::string => "a quoted string",
        _ => return None,
    })
}

/// Literal tokens worth naming when the parse got furthest while expecting them
/// (operators are named by the rules, as "an operator").
const PUNCTUATION: [&str; 9] = ["(", ")", ",", "=", "{", "}", "..", "wrt", "in"];

const TRANSPOSE_HINT: &str = "`^T` would be a power, not a transpose: declare the vector \
    (`vector x in R^n`) and write `x'`, or write the product in index notation \
    (`sum_i(x_i*A_{i,j})`); for a power of a symbol `T`, write `x^(T)`";

/// How a reserved word is written, for input that uses it wrongly.
fn usage(word: &str) -> Option<String> {
    Some(match word {
        "sum" => "`sum` needs an index and a summand in brackets: `sum_k(…)` or `sum_{k=1}^{n}(…)`"
            .into(),
        "delta" => "`delta` takes two indices: `delta(i, j)`".into(),
        "D" => "`D` takes an expression and a variable: `D(f, x)`".into(),
        f if Func::from_name(f).is_some() || shorthand(f).is_some() => {
            format!("`{f}` is a function: write its argument in brackets, `{f}(…)`")
        }
        _ => return None,
    })
}

/// What a reserved word stands for, for input that defines it as a name.
fn reserved_meaning(word: &str) -> Option<String> {
    Some(match word {
        "sum" => "summation, `sum_k(…)`".into(),
        "delta" => "the Kronecker delta".into(),
        "D" => "the derivative, `D(f, x)`".into(),
        "pi" => "the constant π".into(),
        "e" => "Euler's number; `e^x` is `exp(x)`".into(),
        f if Func::from_name(f).is_some() || shorthand(f).is_some() => {
            format!("the function `{f}(…)`")
        }
        _ => return None,
    })
}

fn reserved_name(src: &str, at: usize, word: &str) -> Option<Diagnostic> {
    let meaning = reserved_meaning(word)?;
    Some(Diagnostic::at(src, at, format!("`{word}` is reserved ({meaning}); choose another name")))
}

/// The names the parser reads as other terms, with how they are written: `ln(x)` is
/// `log(x)`, `log(x, b)` is `log(x)/log(b)`, `max(x, y)` is `(x + y + |x - y|)/2`.
pub(super) fn shorthand(word: &str) -> Option<&'static str> {
    Some(match word {
        "ln" => "`ln` takes one argument: `ln(x)` is `log(x)`",
        "log" => "`log` takes one or two arguments: `log(x)`, or `log(x, b)` to the base `b`",
        "max" => "`max` takes two arguments: `max(x, y)`",
        _ => return None,
    })
}

/// The term a shorthand call stands for, if it has the right number of arguments.
fn desugar(word: &str, x: Expr, second: Option<Expr>) -> Option<Expr> {
    let log = |t: Expr| Expr::call(Func::Log, t);
    Some(match (word, second) {
        ("ln" | "log", None) => log(x),
        ("log", Some(b)) => Expr::Div(Arc::new(log(x)), Arc::new(log(b))),
        ("max", Some(y)) => {
            let diff = Expr::Add(vec![x.clone(), Expr::neg(y.clone())].into());
            let sum = Expr::Add(vec![x, y, Expr::call(Func::Abs, diff)].into());
            Expr::Div(Arc::new(sum), Arc::new(Expr::int(2)))
        }
        _ => return None,
    })
}

/// What the grammar leaves to the function table: a call's callee must name a function,
/// and no other name (a symbol, an index declared, a summation index) may be one.
pub(super) fn check_names(src: &str, pairs: Pairs<Rule>) -> Result<(), Diagnostic> {
    for p in pairs.flatten() {
        let (name, at) = (p.as_str(), p.as_span().start());
        match p.as_rule() {
            Rule::callee if Func::from_name(name).is_none() && shorthand(name).is_none() => {
                let mut d = unknown_function(src, at, name);
                // `x (y)` is more likely a product than a call.
                if src.get(p.as_span().end()..).is_some_and(|r| r.starts_with([' ', '\t'])) {
                    d.message.push_str(&format!(" (a product needs `*`: `{name}*(…)`)"));
                }
                return Err(d);
            }
            // A definition's name may not be a reserved word (`let pi = 3`).
            Rule::let_stmt => {
                let name = p.clone().into_inner().flatten().find(|q| q.as_rule() == Rule::ident);
                if let Some(d) =
                    name.and_then(|n| reserved_name(src, n.as_span().start(), n.as_str()))
                {
                    return Err(d);
                }
            }
            Rule::ident => {
                let reserved = Func::from_name(name).is_some() || shorthand(name).is_some();
                if let (true, Some(how)) = (reserved, usage(name)) {
                    return Err(Diagnostic::at(src, at, how));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn unknown_function(src: &str, at: usize, word: &str) -> Diagnostic {
    let mut names: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
    names.extend(["ln", "max"]);
    Diagnostic::at(
        src,
        at,
        format!("unknown function `{word}`; the functions are {}", names.join(", ")),
    )
}

/// The project's own words for a pest error from parsing `src` as `rule`; in a `.deriv`
/// file, input ends line by line.
pub(super) fn from_pest(src: &str, e: pest::error::Error<Rule>, rule: Rule) -> Diagnostic {
    let in_file = rule == Rule::file;
    let rule_pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((p, _)) => p,
    }
    .min(src.len());
    // A misused name before the failure comes first (`(exp x)` is `exp` used as a symbol,
    // not a missing operator): the input up to the failure, its brackets closed, is
    // checked where it parses.
    let mut closed = src.get(..rule_pos).unwrap_or_default().to_string();
    let mut open = Vec::new();
    for c in closed.chars() {
        match c {
            '(' | '{' => open.push(if c == '(' { ')' } else { '}' }),
            ')' | '}' => drop(open.pop()),
            _ => {}
        }
    }
    closed.extend(open.iter().rev());
    if let Ok(prefix) = Grammar::parse(rule, &closed) {
        if let Err(d) = check_names(src, prefix) {
            return d;
        }
    }
    let rules = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { message } => {
            return Diagnostic::at(src, rule_pos, message.clone())
        }
    };
    let found = |pos: usize| {
        let rest = &src[pos..];
        let word = &rest[..rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len())];
        match rest.chars().next() {
            None => "the end of the input".to_string(),
            Some('\n') | Some('\r') => "the end of the line".to_string(),
            Some(_) if !word.is_empty() => format!("`{word}`"),
            Some(c) => format!("`{c}`"),
        }
    };
    let line_start = src[..rule_pos].rfind('\n').map_or(0, |i| i + 1);
    let next = src[rule_pos..].chars().next();

    // The literal tokens the parse expected where it got furthest.
    let (furthest, tokens) = match e.parse_attempts() {
        Some(attempts) => (
            attempts.max_position.min(src.len()),
            attempts.expected_tokens().iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        ),
        None => (rule_pos, Vec::new()),
    };
    let named = |extra: &[&str]| -> Vec<String> {
        let mut named: Vec<String> = Vec::new();
        for t in &tokens {
            if (PUNCTUATION.contains(&t.as_str()) || extra.contains(&t.as_str()))
                && !named.contains(t)
            {
                named.push(t.clone());
            }
        }
        named.into_iter().map(|t| format!("`{t}`")).collect()
    };
    // `delta*x`: a keyword is a construct, so its bracket is missing, not an operator.
    let upto = src[..furthest].trim_end_matches([' ', '\t']);
    let keyword_start = upto.trim_end_matches(|c: char| c.is_ascii_alphanumeric()).len();
    let keyword = &upto[keyword_start..];
    let standalone =
        !upto[..keyword_start].ends_with(|c: char| c == '_' || c.is_ascii_alphanumeric());
    if standalone
        && matches!(keyword, "delta" | "D")
        && !src[furthest..].trim_start().starts_with('(')
    {
        let head = upto[..keyword_start].rsplit('\n').next().unwrap_or_default().trim();
        if head == "let" || head.starts_with("index") {
            if let Some(d) = reserved_name(src, keyword_start, keyword) {
                return d;
            }
        }
        if let Some(how) = usage(keyword) {
            return Diagnostic::at(src, keyword_start, how);
        }
    }

    // Inside a construct, further than the rules say: name the missing token.
    let further = named(&["^"]);
    if furthest > rule_pos && !further.is_empty() {
        return Diagnostic::at(
            src,
            furthest,
            format!("expected {}, found {}", or_list(further), found(furthest)),
        );
    }

    // Brackets: an unclosed one at the end of the line, or a closing one with no partner.
    let mut open: Vec<(usize, char)> = Vec::new();
    for (i, c) in src[line_start..rule_pos].char_indices() {
        match c {
            '(' | '{' => open.push((line_start + i, c)),
            ')' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    match next {
        None | Some('\n') | Some('\r') => {
            if let Some(&(at, c)) = open.last() {
                return Diagnostic::at(src, at, format!("this `{c}` is never closed"));
            }
        }
        Some(c @ (')' | '}')) if open.is_empty() => {
            return Diagnostic::at(src, rule_pos, format!("`{c}` has no matching opening bracket"));
        }
        Some('"')
            if !src[rule_pos + 1..].split(['\n', '\r']).next().unwrap_or("").contains('"') =>
        {
            return Diagnostic::at(src, rule_pos, "this `\"` is never closed");
        }
        _ => {}
    }

    // A name where an operator was expected: `foo(x)` or `2x`.
    let before = &src[line_start..rule_pos];
    if before.trim_end().ends_with("wrt") && !next.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Diagnostic::at(
            src,
            rule_pos,
            format!("expected a variable or a defined name after `wrt`, found {}", found(rule_pos)),
        );
    }
    let word_start = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric()).len();
    let word = &before[word_start..];
    if next == Some('(') && word.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return unknown_function(src, line_start + word_start, word);
    }

    // A reserved word defined as a name (`let delta = …`), or used as one (`delta*x`).
    let statement_head = before.trim_start();
    let defining = ["let", "index"].iter().any(|k| {
        statement_head.strip_prefix(k).is_some_and(|r| r.trim().is_empty() || k == &"index")
    }) && !statement_head.contains(" in ");
    let rest = &src[rule_pos..];
    let word_at = &rest[..rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len())];
    if defining {
        if let Some(d) = reserved_name(src, rule_pos, word_at) {
            return d;
        }
    }

    // A reserved word used as a name.
    let word_at = &rest[..rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len())];
    if let Some(how) = usage(word_at) {
        if !rest[word_at.len()..].trim_start_matches([' ', '\t']).starts_with('(')
            || word_at == "sum"
        {
            return Diagnostic::at(src, rule_pos, how);
        }
    }

    let statement =
        rules.iter().any(|r| matches!(r, Rule::title_stmt | Rule::let_stmt | Rule::derive_stmt));
    let mut words: Vec<String> = Vec::new();
    for r in &rules {
        let w = match (r, describe(*r)) {
            // A line that is not a statement: only a statement could stand there.
            (Rule::EOI, _) if statement => continue,
            (Rule::EOI, _) if in_file => "the end of the line",
            (_, Some(w)) => w,
            (_, None) => continue,
        };
        if !words.iter().any(|x| x == w) {
            words.push(w.to_string());
        }
    }
    // Opening brackets start constructs the rules already name ("an expression").
    let mut tokens_here = if furthest == rule_pos { named(&[]) } else { Vec::new() };
    tokens_here.retain(|t| t != "`(`" && t != "`{`");
    let operator_only = tokens_here.is_empty();
    words.extend(tokens_here);
    let mut message = match words.len() {
        0 => format!("unexpected {}", found(rule_pos)),
        _ => format!("expected {}, found {}", or_list(words), found(rule_pos)),
    };
    if operator_only
        && rules.contains(&Rule::mul_op)
        && next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '(')
    {
        message.push_str(" (a product needs `*`, as in `2*x`)");
    }
    Diagnostic::at(src, rule_pos, message)
}

/// `a`, `a or b`, `a, b or c`.
fn or_list<S: AsRef<str>>(items: Vec<S>) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

//! Rules as the kernel reads them: the table's entries ([`super::table::RULES`]) parsed
//! by the kernel's own reader, side conditions and bindings.

use super::read::{read_bound_strict, read_index_strict, read_term, read_variable};
use super::table::{RuleId, RULES};
use crate::expr::{Bound, Expr, Index};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// A rule as written in the table.
pub struct RuleSpec {
    pub id: RuleId,
    /// Kebab-case name, used in certificates.
    pub name: &'static str,
    pub shape: Shape,
    /// One line for writeups: "the quotient rule".
    pub caption: &'static str,
}

/// What a rule does.
pub enum Shape {
    /// `lhs = rhs` when every condition in `when` holds.
    Rewrite { lhs: &'static str, rhs: &'static str, when: &'static [&'static str] },
    /// A scheme the kernel applies itself; `lhs` and `rhs` describe it.
    Builtin { builtin: Builtin, lhs: &'static str, rhs: &'static str },
}

/// The rules the kernel implements directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// Equal as rational functions over opaque atoms.
    Ring,
    /// Equal up to the names of bound indices.
    Rename,
    DerivativeOfVariable,
    SumRule,
    ProductRule,
    SumLinearity,
    DeltaCollapse,
    /// A sum of Kronecker deltas whose other index lies outside the sum's range is 0.
    DeltaOffRange,
    DeltaSubstitute,
    Unfold,
    Fold,
    Hypothesis,
    /// `F = F[j := i]` under the case hypothesis `i = j`.
    IndexCase,
    /// The chain rule through a definition, held as an independent variable.
    Chain,
    /// An earlier goal's result, at renamed free indices.
    Lemma,
}

/// A rule as the kernel parsed it.
pub enum RuleBody {
    Rewrite { lhs: Expr, rhs: Expr, conditions: Vec<Condition> },
    Builtin(Builtin),
}

/// A side condition; in a rule its terms are patterns, in a step they are instances.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    NonZero(Expr),
    Positive(Expr),
    /// The term is at least zero wherever it is defined.
    NonNegative(Expr),
    /// The index does not occur free in the term.
    IndexFree(Index, Expr),
    /// The term does not depend on the variable (directly or through definitions).
    FreeOf(Expr, Expr),
    /// The index lies in the range `lo..hi`.
    InRange(Index, Bound, Bound),
    /// The index lies outside the range `lo..hi`, whatever the sizes: decided or refused.
    OutOfRange(Index, Bound, Bound),
    /// The range `lo..hi` has `hi - lo + 1 ≥ 0` terms (it is empty or longer).
    RangeLength(Bound, Bound),
    /// The term is an integer literal.
    Integer(Expr),
    /// The term is an integer literal of at least 1.
    Natural(Expr),
    /// The two indices are equal (the case `i = j` of a case split).
    IndexEq(Index, Index),
    /// The two indices differ (the case `i ≠ j`).
    IndexNe(Index, Index),
    /// The condition holds for every value of the index in `lo..hi`: a condition on an
    /// index bound by an enclosing sum, which must hold over the sum's whole range.
    ForAll(String, Bound, Bound, Box<Condition>),
}

/// A substitution for a rule's metavariables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    pub terms: BTreeMap<String, Expr>,
    pub indices: BTreeMap<String, Index>,
    pub bounds: BTreeMap<String, Bound>,
}

/// Whether a symbol name in a pattern is a term (or range) metavariable.
pub fn is_metavar(name: &str) -> bool {
    name.len() == 1 && name.chars().all(|c| c.is_ascii_uppercase())
}

/// Metavariables that only match variables.
pub fn is_variable_metavar(name: &str) -> bool {
    matches!(name, "X" | "Y")
}

/// The parsed rule called `name`. The table is parsed once, on first use; a malformed
/// entry reads as absent, which `tests/rule_soundness.rs` reports since it walks the whole
/// table.
pub fn rule(name: &str) -> Option<&'static RuleBody> {
    static PARSED: OnceLock<Vec<Option<RuleBody>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| RULES.iter().map(|r| parse_rule(r).ok()).collect());
    let at = RULES.iter().position(|r| r.name == name)?;
    parsed[at].as_ref()
}

/// Parse one table entry; `Err` names what is malformed.
pub fn parse_rule(spec: &RuleSpec) -> Result<RuleBody, String> {
    Ok(match &spec.shape {
        Shape::Builtin { builtin, .. } => RuleBody::Builtin(*builtin),
        Shape::Rewrite { lhs, rhs, when } => RuleBody::Rewrite {
            lhs: read_term(lhs, &[])?,
            rhs: read_term(rhs, &[])?,
            conditions: when.iter().map(|c| parse_condition(c)).collect::<Result<_, _>>()?,
        },
    })
}

/// Parse `nonzero(V)`, `index-free(k, C)`, `range-length(A, B)`, ….
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    let bad = || format!("bad condition `{text}`");
    let (name, rest) = text.split_once('(').ok_or_else(bad)?;
    let args: Vec<&str> =
        rest.strip_suffix(')').ok_or_else(bad)?.split(',').map(str::trim).collect();
    let term = |s: &str| read_term(s, &[]);
    Ok(match (name, args.as_slice()) {
        ("nonzero", [e]) => Condition::NonZero(term(e)?),
        ("positive", [e]) => Condition::Positive(term(e)?),
        ("nonnegative", [e]) => Condition::NonNegative(term(e)?),
        ("integer", [e]) => Condition::Integer(term(e)?),
        ("natural", [e]) => Condition::Natural(term(e)?),
        ("index-free", [k, e]) => Condition::IndexFree(read_index_strict(k)?, term(e)?),
        ("free-of", [x, e]) => Condition::FreeOf(read_variable(x)?, term(e)?),
        ("range-length", [lo, hi]) => {
            Condition::RangeLength(read_bound_strict(lo)?, read_bound_strict(hi)?)
        }
        ("distinct", [i, j]) => Condition::IndexNe(read_index_strict(i)?, read_index_strict(j)?),
        _ => return Err(format!("unknown condition `{text}`")),
    })
}

impl Condition {
    /// The index names the condition mentions free.
    pub fn free_indices(&self) -> BTreeSet<String> {
        use Condition as C;
        let (terms, indices): (Vec<&Expr>, Vec<&Index>) = match self {
            C::NonZero(e) | C::Positive(e) | C::NonNegative(e) | C::Integer(e) | C::Natural(e) => {
                (vec![e], vec![])
            }
            C::IndexFree(i, e) => (vec![e], vec![i]),
            C::FreeOf(x, e) => (vec![x, e], vec![]),
            C::InRange(i, ..) | C::OutOfRange(i, ..) => (vec![], vec![i]),
            C::RangeLength(..) => (vec![], vec![]),
            C::IndexEq(i, j) | C::IndexNe(i, j) => (vec![], vec![i, j]),
            C::ForAll(k, _, _, c) => {
                let mut out = c.free_indices();
                out.remove(k);
                return out;
            }
        };
        let names = indices.into_iter().filter_map(Index::name).cloned();
        terms.iter().flat_map(|t| t.free_indices()).chain(names).collect()
    }

    /// The condition as text, its terms printed by `term`.
    pub fn text(&self, term: &dyn Fn(&Expr) -> String) -> String {
        match self {
            Condition::NonZero(e) => format!("{} != 0", term(e)),
            Condition::Positive(e) => format!("{} > 0", term(e)),
            Condition::NonNegative(e) => format!("{} >= 0", term(e)),
            Condition::IndexFree(k, e) => format!("{} is free of the index {k}", term(e)),
            Condition::FreeOf(x, e) => format!("{} does not depend on {}", term(e), term(x)),
            Condition::InRange(j, lo, hi) => format!("{j} in {lo}..{hi}"),
            Condition::OutOfRange(j, lo, hi) => format!("{j} outside {lo}..{hi}"),
            Condition::RangeLength(lo, hi) => format!("{hi} >= {lo} - 1"),
            Condition::Integer(e) => format!("{} is an integer", term(e)),
            Condition::Natural(e) => format!("{} is a positive integer", term(e)),
            Condition::IndexEq(i, j) => format!("{i} = {j}"),
            Condition::IndexNe(i, j) => format!("{i} != {j}"),
            Condition::ForAll(k, lo, hi, c) => format!("{} for {k} in {lo}..{hi}", c.text(term)),
        }
    }
}

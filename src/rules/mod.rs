//! The rule table and its conditions, as the rest of the program sees them: re-exported
//! from the kernel, which owns them, plus the engine's pattern matcher (`matching.rs`),
//! which is a convenience and not trusted, and the typed rule identities' accessors.

pub mod matching;

pub use crate::kernel::rules::*;
pub use crate::kernel::table::{RuleId, RULES};

use crate::kernel::{KernelError, Step};
use std::fmt;

impl RuleId {
    /// The rule's line in the table.
    pub fn spec(self) -> &'static RuleSpec {
        &RULES[self as usize]
    }

    /// The kebab-case name certificates use.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The one-line caption writeups print.
    pub fn caption(self) -> &'static str {
        self.spec().caption
    }

    /// The rule as the kernel parsed it (`None` for a malformed entry, which
    /// `tests/rule_soundness.rs` reports).
    pub fn rule(self) -> Option<&'static RuleBody> {
        rule(self.name())
    }

    /// The rule a certificate or a step names.
    pub fn from_name(name: &str) -> Option<RuleId> {
        spec(name).map(|s| s.id)
    }

    /// A step by this rule at `position`, nothing bound yet.
    pub fn step(self, position: Vec<usize>) -> Step {
        Step::new(self.name(), position)
    }
}

impl Step {
    /// A step by the rule called `rule` at `position`, nothing bound yet.
    pub fn new(rule: &str, position: Vec<usize>) -> Step {
        Step { rule: rule.to_string(), position, ..Step::default() }
    }
}

/// The name certificates use.
impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// In the expression syntax, e.g. `1 + x^2 != 0`, `x > 0`, `j in 1..n`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(&|e| e.to_string()))
    }
}

/// How a refused step is worded.
impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::UnknownRule(name) => write!(f, "unknown rule `{name}`"),
            KernelError::Binding(m) => write!(f, "bad substitution: {m}"),
            KernelError::NoSuchPosition(p) => write!(f, "no subterm at position {p:?}"),
            KernelError::Mismatch(expected, found) => write!(
                f,
                "pattern does not match: the rule needs `{expected}` but the term has `{found}`"
            ),
            KernelError::ConditionFails(c) => write!(f, "side condition unmet: {c} is false"),
            KernelError::NotApplicable(m) => write!(f, "rule does not apply: {m}"),
            KernelError::ChainBroken(m) => write!(f, "chain broken: {m}"),
            KernelError::Undefined(m) => write!(f, "undefined: {m}"),
            KernelError::TooLarge(m) | KernelError::BadGoal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KernelError {}

/// The table entry called `name`, unparsed (captions need no parsing).
pub fn spec(name: &str) -> Option<&'static RuleSpec> {
    RULES.iter().find(|r| r.name == name)
}

/// The rule a step names; `None` only for a step the kernel would refuse as unknown.
pub fn id_of(step: &Step) -> Option<RuleId> {
    RuleId::from_name(&step.rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line's identity and name say the same thing (`QuotientRule`, `quotient-rule`),
    /// and names are unique, so `from_name` finds the line it names.
    #[test]
    fn identities_match_names() {
        for spec in RULES {
            let mut kebab = String::new();
            for c in format!("{:?}", spec.id).chars() {
                if c.is_ascii_uppercase() && !kebab.is_empty() {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            assert_eq!(kebab, spec.name);
            assert_eq!(RuleId::from_name(spec.name), Some(spec.id));
            assert!(std::ptr::eq(spec.id.spec(), spec));
        }
    }
}

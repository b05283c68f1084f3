//! The rule table and its conditions, as the rest of the program sees them: re-exported
//! from the kernel, which owns them, plus the engine's pattern matcher (`matching.rs`),
//! which is a convenience and not trusted.

pub mod matching;

pub use crate::kernel::rules::*;
pub use crate::kernel::table::RULES;

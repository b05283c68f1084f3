//! Printers: plain expression syntax, LaTeX, and the derivation writeups built on them.

pub mod latex;
pub mod plain;

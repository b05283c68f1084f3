//! Diagnostics for bad input: line, column, the offending line and a caret.

use std::fmt;

/// A located error in user input. Exit status 2 in the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What went wrong, in the project's own words.
    pub message: String,
    /// The text of the offending line.
    pub source_line: String,
    /// Name of the input (a file name, `<expr>` or `<stdin>`).
    pub origin: String,
}

impl Diagnostic {
    /// A diagnostic at byte offset `pos` of `src`.
    pub fn at(src: &str, pos: usize, message: impl Into<String>) -> Diagnostic {
        let pos = pos.min(src.len());
        let before = &src[..floor_char_boundary(src, pos)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let source_line = src[line_start..].split(['\n', '\r']).next().unwrap_or("").to_string();
        Diagnostic { line, column, message: message.into(), source_line, origin: "<input>".into() }
    }

    pub fn with_origin(mut self, origin: &str) -> Diagnostic {
        self.origin = origin.to_string();
        self
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        // Long lines are shown around the caret so the message stays readable.
        let chars: Vec<char> = self.source_line.chars().collect();
        let (start, lead) = if self.column > 70 { (self.column - 40, "…") } else { (0, "") };
        let end = (start + 100).min(chars.len());
        let shown: String = chars[start.min(chars.len())..end].iter().collect();
        let tail = if end < chars.len() { "…" } else { "" };
        let caret_col = self.column - 1 - start + lead.chars().count();
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{pad}--> {}:{}:{}", self.origin, self.line, self.column)?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{} | {lead}{shown}{tail}", self.line)?;
        write!(f, "{pad} | {}^", " ".repeat(caret_col))
    }
}

impl std::error::Error for Diagnostic {}

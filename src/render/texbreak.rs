//! Breaking long display math into lines that fit the page, for the LaTeX document.
//!
//! The LaTeX printer marks where a line may break: before each `+`/`−` of a sum and between
//! the factors of a product ([`BREAK_SUM`], [`BREAK_PRODUCT`]). Here a term is cut into the
//! pieces between marks that stand outside every brace group (a mark inside `\frac{…}{…}`
//! or a script cannot break a line), each piece's width is estimated, and the pieces fill
//! lines greedily. A piece wider than a whole line is opened up where the notation allows
//! it: a wide `\frac{a}{b}` is set as `a / b`, a wide `\sqrt{u}` as `(u)^{1/2}` and a wide
//! `e^{u}` as `\exp(u)`, which bring their own marks to the surface.
//!
//! `\left( … \right)` pairs must balance on each line: a line that ends inside one closes
//! it with `\right.` and the next line reopens it with `\left.`.
//!
//! Widths are estimates in points for an 11pt Computer Modern document, on the generous
//! side, so that a line judged to fit does fit.

/// May break before this sign of a sum (the sign starts the next line).
pub const BREAK_SUM: char = '\u{F8F0}';
/// May break between two factors of a product (the next line starts with `\cdot`).
pub const BREAK_PRODUCT: char = '\u{F8F1}';
/// May break just inside the bracket of a function's argument, a last resort for nested
/// calls (the bracket depth makes it the least preferred break).
pub const BREAK_INSIDE: char = '\u{F8F2}';

/// The text width of the LaTeX document (`article`, 11pt).
pub const TEXT_WIDTH: f64 = 360.0;

/// `tex` without break marks.
pub fn strip(tex: &str) -> String {
    tex.chars().filter(|c| !is_mark(*c)).collect()
}

/// Whether `c` is a break mark.
pub fn is_mark(c: char) -> bool {
    matches!(c, BREAK_SUM | BREAK_PRODUCT | BREAK_INSIDE)
}

/// The lines of `tex` (which may carry break marks): the first at most `first` points wide,
/// the others at most `rest`, where the pieces allow. Each line is balanced LaTeX without
/// marks; a line after a product break starts with `\cdot`.
pub fn break_lines(tex: &str, first: f64, rest: f64) -> Vec<String> {
    let mut pieces = Vec::new();
    for piece in split(tex) {
        open_up(piece, rest.min(first), &mut pieces);
    }
    let n = pieces.len();
    let widths: Vec<f64> = pieces.iter().map(|p| width(&p.text)).collect();
    // Bracket depth (any bracket) and open `\left` pairs where each piece starts.
    let (mut depth, mut open) = (vec![0isize; n + 1], vec![0isize; n + 1]);
    for (k, p) in pieces.iter().enumerate() {
        depth[k + 1] = depth[k] + p.brackets;
        open[k + 1] = (open[k] + p.opens).max(0);
    }
    let mut lines = Vec::new();
    let (mut start, mut budget) = (0, first);
    while start < n {
        let (mut end, mut used) = (start + 1, widths[start]);
        while end < n && used + widths[end] <= budget {
            used += widths[end];
            end += 1;
        }
        if end < n {
            // Break where the fewest brackets are open, latest among equals, unless that
            // leaves the line less than half full.
            let mut filled = 0.0;
            let mut best = end;
            for b in start + 1..=end {
                filled += widths[b - 1];
                if filled >= budget / 2.0 && depth[b] <= depth[best] {
                    best = b;
                }
            }
            end = best;
        }
        let mut line = String::new();
        if start > 0 {
            line.push_str(&"\\left.".repeat(open[start] as usize));
            let text = pieces[start].text.trim_start();
            if pieces[start].after == Some(BREAK_PRODUCT) && !text.starts_with("\\cdot") {
                line.push_str("\\cdot ");
            }
        }
        for p in &pieces[start..end] {
            line.push_str(&strip(&p.text));
        }
        if end < n {
            line.push_str(&"\\right.".repeat(open[end] as usize));
        }
        lines.push(line);
        (start, budget) = (end, rest);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// A stretch of a term between two break marks at brace depth 0.
struct Piece {
    /// The mark this piece follows, if any.
    after: Option<char>,
    /// Its text, marks inside brace groups kept (opening it up may expose them).
    text: String,
    /// `\left` minus `\right` at brace depth 0: how many pairs it leaves open (or closes).
    opens: isize,
    /// Opening minus closing brackets of any kind at brace depth 0.
    brackets: isize,
}

fn split(tex: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut piece = Piece { after: None, text: String::new(), opens: 0, brackets: 0 };
    let mut depth = 0usize;
    let mut rest = tex;
    while let Some(c) = rest.chars().next() {
        if depth == 0 && is_mark(c) {
            let done = std::mem::replace(
                &mut piece,
                Piece { after: Some(c), text: String::new(), opens: 0, brackets: 0 },
            );
            if !done.text.is_empty() || done.after.is_some() {
                out.push(done);
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if depth == 0 && (rest.starts_with("\\left") || rest.starts_with("\\right")) {
            piece.opens += if rest.starts_with("\\left") { 1 } else { -1 };
        }
        match c {
            '\\' => {
                // A control sequence, or an escaped character such as `\{`, taken whole.
                let len = control_len(rest);
                piece.text.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '(' | '[' if depth == 0 => piece.brackets += 1,
            ')' | ']' if depth == 0 => piece.brackets -= 1,
            _ => {}
        }
        piece.text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.push(piece);
    out
}

/// The length of the control sequence at the start of `s` (which starts with `\`).
fn control_len(s: &str) -> usize {
    let name = s[1..].chars().take_while(|c| c.is_ascii_alphabetic()).count();
    if name > 0 {
        1 + name
    } else {
        1 + s[1..].chars().next().map_or(0, char::len_utf8)
    }
}

/// Push `piece`, or, if it is wider than `limit` and can be opened up, its parts.
fn open_up(piece: Piece, limit: f64, out: &mut Vec<Piece>) {
    if width(&piece.text) <= limit {
        out.push(piece);
        return;
    }
    match widen(&piece.text) {
        Some(text) => {
            let mut parts = split(&text).into_iter();
            if let Some(mut head) = parts.next() {
                head.after = piece.after;
                open_up(head, limit, out);
            }
            for part in parts {
                open_up(part, limit, out);
            }
        }
        None => out.push(piece),
    }
}

/// The first wide fraction, root or exponential at brace depth 0 of `text` rewritten in
/// a notation that may break, if there is one.
fn widen(text: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let c = rest.chars().next()?;
        if depth == 0 {
            if let Some(new) = widen_here(rest) {
                return Some(format!("{}{}", &text[..at], new));
            }
        }
        match c {
            '\\' => {
                at += control_len(rest);
                continue;
            }
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += c.len_utf8();
    }
    None
}

/// `rest` with the construct it starts with rewritten, when that construct holds a mark.
fn widen_here(rest: &str) -> Option<String> {
    let bracket = |s: &str| {
        if s.chars().any(is_mark) {
            format!("\\left({s}\\right)")
        } else {
            s.to_string()
        }
    };
    let has_mark = |s: &str| s.chars().any(is_mark);
    if let Some(after) = rest.strip_prefix("\\frac{") {
        let (num, after) = group_body(after)?;
        let (den, after) = group_body(after.strip_prefix('{')?)?;
        if !has_mark(num) && !has_mark(den) {
            return None;
        }
        return Some(format!("{} {BREAK_SUM}/ {}{after}", bracket(num), bracket(den)));
    }
    if let Some(after) = rest.strip_prefix("\\sqrt{") {
        let (radicand, after) = group_body(after)?;
        return has_mark(radicand).then(|| format!("\\left({radicand}\\right)^{{1/2}}{after}"));
    }
    if let Some(after) = rest.strip_prefix("e^{") {
        let (power, after) = group_body(after)?;
        return has_mark(power).then(|| format!("\\exp\\left({power}\\right){after}"));
    }
    None
}

/// The body of the brace group whose `{` has just been read, and the text after its `}`.
fn group_body(s: &str) -> Option<(&str, &str)> {
    let mut depth = 1usize;
    let mut at = 0;
    while at < s.len() {
        let c = s[at..].chars().next()?;
        match c {
            '\\' => {
                at += control_len(&s[at..]);
                continue;
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[..at], &s[at + 1..]));
                }
            }
            _ => {}
        }
        at += c.len_utf8();
    }
    None
}

/// The estimated width of math-mode `tex` in points (display style, 11pt).
pub fn width(tex: &str) -> f64 {
    Measure { s: tex }.run(1.0)
}

/// Estimated widths of glyphs at 11pt; generous so that what is judged to fit, fits.
const LETTER: f64 = 6.2;
const DIGIT: f64 = 5.6;
const BIN_OP: f64 = 13.5;
const REL_OP: f64 = 15.5;

struct Measure<'a> {
    s: &'a str,
}

impl Measure<'_> {
    /// The width of everything left, at `scale` (scripts are smaller).
    fn run(&mut self, scale: f64) -> f64 {
        let mut total = 0.0;
        // A base's scripts stack: a sub- and a superscript take the wider of the two.
        let mut last_script: Option<f64> = None;
        while let Some(c) = self.s.chars().next() {
            self.s = &self.s[c.len_utf8()..];
            let w = match c {
                '{' => self.run(scale),
                '}' => return total,
                '^' | '_' => {
                    let w = self.argument(scale * 0.72);
                    // A second script stacks on the first: only its excess counts.
                    match last_script.take() {
                        Some(first) => total += w.max(first) - first,
                        None => {
                            last_script = Some(w);
                            total += w;
                        }
                    }
                    continue;
                }
                '\\' => self.control(scale),
                '+' | '-' | '/' if scale < 1.0 => 7.0 * scale,
                '+' | '-' => BIN_OP * scale,
                '=' | '<' | '>' => REL_OP * scale,
                '/' => DIGIT * scale,
                '&' => 0.0,
                '(' | ')' | '[' | ']' | '|' => 4.6 * scale,
                ',' | ';' | '.' => 4.0 * scale,
                ' ' | '\n' => 0.0,
                c if is_mark(c) => 0.0,
                c if c.is_ascii_digit() => DIGIT * scale,
                _ => LETTER * scale,
            };
            last_script = None;
            total += w;
        }
        total
    }

    /// One argument: a group, a control sequence or a character.
    fn argument(&mut self, scale: f64) -> f64 {
        let Some(c) = self.s.chars().next() else { return 0.0 };
        self.s = &self.s[c.len_utf8()..];
        match c {
            '{' => self.run(scale),
            '\\' => self.control(scale),
            c if c.is_ascii_digit() => DIGIT * scale,
            _ => LETTER * scale,
        }
    }

    /// A control sequence whose `\` has been read.
    fn control(&mut self, scale: f64) -> f64 {
        let name: String = self.s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if name.is_empty() {
            // `\,`, `\{`, `\\`: a space or a symbol.
            let c = self.s.chars().next().unwrap_or(' ');
            self.s = &self.s[c.len_utf8()..];
            return 4.6 * scale;
        }
        self.s = &self.s[name.len()..];
        match name.as_str() {
            "frac" | "dfrac" | "tfrac" => {
                let num = self.argument(scale);
                let den = self.argument(scale);
                num.max(den) + 3.0 * scale
            }
            "sqrt" => self.argument(scale) + 10.0 * scale,
            "text" | "mathrm" | "textrm" | "operatorname" | "mathbf" | "boldsymbol" => {
                self.argument(scale) * 0.95
            }
            "boxed" => self.argument(scale) + 8.0 * scale,
            "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" => {
                let delimiter = self.argument(scale);
                if delimiter > 0.0 {
                    5.5 * scale
                } else {
                    0.0
                }
            }
            "quad" => 11.0 * scale,
            "qquad" => 22.0 * scale,
            "cdot" | "times" | "pm" | "mp" => 11.0 * scale,
            "neq" | "geq" | "leq" | "in" | "approx" | "to" => REL_OP * scale,
            "sum" | "prod" => 16.0 * scale,
            "partial" | "nabla" => 6.5 * scale,
            "dots" | "cdots" | "ldots" | "vdots" | "ddots" => 15.0 * scale,
            "lVert" | "rVert" | "Vert" | "vert" | "lvert" | "rvert" => 5.0 * scale,
            "mathcal" | "mathbb" | "hat" | "bar" | "tilde" | "vec" | "mathit" => {
                self.argument(scale)
            }
            "begin" | "end" => {
                self.argument(scale);
                0.0
            }
            // Function names, Greek letters and other symbols: about a letter each, wider
            // for the function names set upright.
            other if other.len() > 2 && other.chars().all(|c| c.is_ascii_lowercase()) => {
                match other {
                    "alpha" | "beta" | "gamma" | "delta" | "epsilon" | "varepsilon" | "zeta"
                    | "eta" | "theta" | "iota" | "kappa" | "lambda" | "sigma" | "tau"
                    | "upsilon" | "phi" | "varphi" | "chi" | "psi" | "omega" | "rho" => {
                        LETTER * scale
                    }
                    _ => (other.len() as f64 * 5.4 + 3.0) * scale,
                }
            }
            _ => LETTER * scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_term_stays_on_one_line() {
        let tex = format!("a {BREAK_SUM}+ b");
        assert_eq!(break_lines(&tex, 300.0, 300.0), vec!["a + b"]);
    }

    #[test]
    fn a_long_sum_breaks_before_its_signs() {
        let terms: Vec<String> = (0..40).map(|k| format!("x_{{{k}}}")).collect();
        let tex = terms.join(&format!(" {BREAK_SUM}+ "));
        let lines = break_lines(&tex, 200.0, 200.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(width(line) <= 200.0, "{line}");
        }
        assert!(lines[1].starts_with("+ "), "{lines:?}");
        assert_eq!(strip(&tex).replace(' ', ""), lines.concat().replace(' ', ""));
    }

    #[test]
    fn brackets_left_open_at_a_break_are_closed_and_reopened() {
        let terms: Vec<String> = (0..40).map(|k| format!("y_{{{k}}}")).collect();
        let tex = format!("\\left({}\\right)", terms.join(&format!(" {BREAK_SUM}+ ")));
        let lines = break_lines(&tex, 150.0, 150.0);
        assert!(lines.len() > 2);
        for line in &lines {
            assert_eq!(line.matches("\\left").count(), line.matches("\\right").count(), "{line}");
        }
        assert!(lines[0].ends_with("\\right."), "{}", lines[0]);
        assert!(lines[1].starts_with("\\left."), "{}", lines[1]);
    }

    #[test]
    fn a_wide_fraction_is_set_with_a_slash() {
        let terms: Vec<String> = (0..30).map(|k| format!("x_{{{k}}}")).collect();
        let tex = format!("\\frac{{{}}}{{y}}", terms.join(&format!(" {BREAK_SUM}+ ")));
        let lines = break_lines(&tex, 150.0, 150.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(!lines.concat().contains("\\frac"), "{lines:?}");
        assert!(lines.last().is_some_and(|l| l.ends_with("/ y")), "{lines:?}");
    }

    #[test]
    fn marks_inside_a_narrow_fraction_do_not_break_it() {
        let tex = format!("\\frac{{a {BREAK_SUM}+ b}}{{c}} {BREAK_SUM}+ d");
        assert_eq!(break_lines(&tex, 35.0, 35.0), vec!["\\frac{a + b}{c} ", "+ d"]);
    }

    #[test]
    fn widths_grow_with_the_text_and_scripts_are_smaller() {
        assert!(width("x_{1}") < width("x1"));
        assert!(width("\\frac{a + b}{c}") < width("a + b + c"));
        assert!(width("\\tanh(x)") > width("t(x)"));
    }
}

#[cfg(test)]
mod choice {
    use super::*;

    #[test]
    fn a_break_outside_brackets_is_preferred_to_one_inside() {
        // `(a + b)(c + d)…`: breaking between factors, not inside one.
        let factor = |k: usize| format!("(a_{{{k}}} {BREAK_SUM}+ b_{{{k}}})");
        let tex: Vec<String> = (0..12).map(factor).collect();
        let lines = break_lines(&tex.join(&BREAK_PRODUCT.to_string()), 200.0, 200.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert_eq!(line.matches('(').count(), line.matches(')').count(), "{lines:?}");
        }
        assert!(lines[1].starts_with("\\cdot "), "{lines:?}");
    }
}

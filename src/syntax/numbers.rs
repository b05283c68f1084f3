//! How an input writes its numbers: whether it writes decimals (`0.044715`), with how many
//! digits after the point, and which values it writes as fractions of two integers
//! (`1/3`). The printers use it to print numbers as the user wrote them
//! (`crate::render::decimals`).

use crate::expr::Rat;
use num_bigint::BigInt;
use num_traits::Zero;

/// How an input writes its numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumberStyle {
    /// The most digits after the point of any decimal the input writes.
    pub places: usize,
    /// Values the input writes as `integer/integer`.
    pub fractions: Vec<Rat>,
}

/// How `src` writes its numbers: `None` if it writes no decimal. Comments (`#` to the end
/// of the line) and strings are skipped; a range `1..n` is not a decimal.
pub fn scan(src: &str) -> Option<NumberStyle> {
    let mut style = NumberStyle::default();
    let mut decimals = false;
    for line in src.lines() {
        let code = strip_comment_and_strings(line);
        let bytes = code.as_bytes();
        let mut numbers: Vec<(usize, usize, Option<usize>)> = Vec::new(); // start, end, places
        let mut at = 0;
        while at < bytes.len() {
            let starts_name = bytes[at].is_ascii_alphabetic() || bytes[at] == b'_';
            if starts_name {
                // A name may hold digits (`x1`, `z_2`): not a number.
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                    at += 1;
                }
                continue;
            }
            if !bytes[at].is_ascii_digit() {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            let mut places = None;
            if at + 1 < bytes.len() && bytes[at] == b'.' && bytes[at + 1].is_ascii_digit() {
                at += 1;
                let frac = at;
                while at < bytes.len() && bytes[at].is_ascii_digit() {
                    at += 1;
                }
                places = Some(at - frac);
            }
            // Scientific notation: `2.5e-3` has four places, `1e5` none.
            let sign = |b: u8| b == b'+' || b == b'-';
            let digit_at = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_digit);
            if at < bytes.len() && (bytes[at] == b'e' || bytes[at] == b'E') {
                let digits =
                    if bytes.get(at + 1).copied().is_some_and(sign) { at + 2 } else { at + 1 };
                if digit_at(digits) {
                    let mut end = digits;
                    while digit_at(end) {
                        end += 1;
                    }
                    let exponent: i64 = code[at + 1..end].parse().unwrap_or(0);
                    let shifted = places.unwrap_or(0) as i64 - exponent;
                    places = usize::try_from(shifted).ok().filter(|&p| p > 0);
                    at = end;
                }
            }
            numbers.push((start, at, places));
        }
        for (k, &(_, end, places)) in numbers.iter().enumerate() {
            if let Some(p) = places {
                decimals = true;
                style.places = style.places.max(p);
            }
            // `integer / integer`: a fraction as written.
            let Some(&(next_start, next_end, next_places)) = numbers.get(k + 1) else { continue };
            let between = code[end..next_start].trim();
            // Not an exponent over a divisor: `x^2/8` writes no fraction 2/8.
            let exponent = code[..numbers[k].0].trim_end().ends_with('^');
            if between == "/" && places.is_none() && next_places.is_none() && !exponent {
                let (n, d) = (&code[numbers[k].0..end], &code[next_start..next_end]);
                if let (Ok(n), Ok(d)) = (n.parse::<BigInt>(), d.parse::<BigInt>()) {
                    if !d.is_zero() {
                        style.fractions.push(Rat::new(n, d));
                    }
                }
            }
        }
    }
    decimals.then_some(style)
}

/// `line` without its comment and with the insides of its strings blanked.
fn strip_comment_and_strings(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    for c in line.chars() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => break,
            _ if in_string => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_decimals_there_is_no_style() {
        assert_eq!(scan("x^2/2 + 1/4*y # 0.5 in a comment\ntitle \"v 2.5\""), None);
        assert_eq!(scan("index i in 1..n\nderive x_1 wrt x_2"), None);
        assert_eq!(scan("x2.5"), None, "digits in a name");
    }

    #[test]
    fn places_and_fractions_are_found() {
        let style = scan("let g = 0.5*x*(1 + 0.044715*x^3) + 1/3*y").expect("decimals");
        assert_eq!(style.places, 6);
        assert_eq!(style.fractions, vec![Rat::new(BigInt::from(1), BigInt::from(3))]);
        // An exponent over a divisor is no fraction.
        let style = scan("x^2/8 + 0.5*x").expect("decimals");
        assert_eq!(style.fractions, vec![]);
    }

    #[test]
    fn scientific_notation_counts_its_places() {
        assert_eq!(scan("x + 1e-5").map(|s| s.places), Some(5));
        assert_eq!(scan("x + 2.5E-3").map(|s| s.places), Some(4));
        assert_eq!(scan("x + 1e5 + 2.5e1"), None, "whole numbers");
        assert_eq!(scan("x*e - 1.5e+1"), None, "Euler's number is not an exponent");
    }
}

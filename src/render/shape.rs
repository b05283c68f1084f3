//! How a term reads when printed, as the two-dimensional printers (LaTeX, MathML, Unicode)
//! all see it: facts they share so that their brackets agree.

use crate::expr::{Expr, Func};

/// Whether a term prints with a leading minus sign (the shapes [`Expr::unneg`] accepts,
/// and products and quotients that start with one).
pub fn reads_negative(e: &Expr) -> bool {
    match e {
        Expr::Num(r) => r.is_negative(),
        Expr::Neg(_) => true,
        Expr::Mul(fs) => fs.first().is_some_and(reads_negative),
        Expr::Div(a, _) => reads_negative(a),
        _ => false,
    }
}

/// Whether a term ends in an unbracketed sum, which would swallow whatever follows it.
pub fn right_open(e: &Expr) -> bool {
    match e {
        Expr::Sum(_) => true,
        Expr::Neg(x) => right_open(x),
        Expr::Add(xs) | Expr::Mul(xs) => xs.last().is_some_and(right_open),
        _ => false,
    }
}

/// Whether a term is taller than a line of text, so brackets around it should grow.
pub fn tall(e: &Expr) -> bool {
    match e {
        Expr::Num(r) => !super::decimals::whole(r),
        Expr::Div(_, _) | Expr::Sum(_) | Expr::D(_, _) => true,
        Expr::Sym(_) | Expr::Idx(_, _) | Expr::Delta(_, _) => false,
        // An exponent is set small, so only the base counts.
        Expr::Pow(b, _) => tall(b),
        Expr::Call(_, a) | Expr::Neg(a) => tall(a),
        Expr::Add(xs) | Expr::Mul(xs) => xs.iter().any(tall),
    }
}

/// `exp(a)` is set as `e` to the power `a` unless `a` is tall or itself holds an exponential.
pub fn exp_as_power(a: &Expr) -> bool {
    !tall(a) && !a.any(&mut |s| matches!(s, Expr::Call(Func::Exp, _)))
}

/// A higher partial derivative of a variable, `D(D(l, z_i), z_j)`, as it is written,
/// `∂²l/∂z_j∂z_i`: the variable `l` and the variables of differentiation, outermost first,
/// each with how many times it repeats in a row (`∂²f/∂x²`). `None` for a first
/// derivative, or a derivative of something that is not a variable.
pub fn higher_partial(e: &Expr) -> Option<(&Expr, Vec<(&Expr, usize)>)> {
    let mut by: Vec<&Expr> = Vec::new();
    let mut f = e;
    while let Expr::D(inner, x) = f {
        by.push(x);
        f = inner;
    }
    if by.len() < 2 || !f.is_variable() {
        return None;
    }
    let mut grouped: Vec<(&Expr, usize)> = Vec::new();
    for x in by {
        match grouped.last_mut() {
            Some((y, k)) if *y == x => *k += 1,
            _ => grouped.push((x, 1)),
        }
    }
    Some((f, grouped))
}

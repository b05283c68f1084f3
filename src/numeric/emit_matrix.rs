//! A goal's Rust function computed from its matrix form: `2*(W*x - y)*x'` becomes a loop
//! for the product `W*x` into scratch space, then one pass over the output reading
//! `2*(r_i - y_i)*x_j`, O(m·n) in all. Each matrix product (and `softmax`, `norm2`, `sum`)
//! is computed once into `work_`; everything entry by entry (sums, scalar multiples,
//! transposes, outer products, `diag`, functions applied entry by entry) is read inline
//! where it is used. Defined vectors and scalars that are not inputs come from private
//! functions compiled from their component definitions, with the max shift on softmax.
//!
//! The function keeps the component function's parameters (sizes, then inputs in name
//! order), adding `work_` where it needs scratch space. A form it cannot set this way (a sum
//! or derivative inside, an input laid out differently from the components) gives `None`,
//! and the caller emits the component form.

use super::compile::{Kernel, Lim};
use super::emit_rust::{ident, literal, Emitter};
use super::eval::find_definition;
use crate::expr::{Bound, Context, Expr, Func, Index};
use crate::functions::{spec, Rust};
use crate::matrix::{shape_of, Elementwise, Kind, MFunc, Shape, Shapes, M};
use crate::terms::RatExt;
use std::collections::{BTreeSet, HashMap};

/// A goal with a matrix form, as the emitter sees it.
pub(super) struct FormGoal<'a> {
    pub form: &'a M,
    pub shapes: &'a Shapes,
    /// `d(l) / d(W_{j,q}) = …`, the first line of the documentation.
    pub summary: &'a str,
    /// The output indices of the component function.
    pub axes: &'a [String],
}

/// A value computed before the output pass.
#[derive(Clone)]
enum Stored {
    /// A scalar in a local variable.
    Scalar(String),
    /// A matrix in a slice of `work_`, row-major with `cols` columns.
    Buffer { slice: String, cols: String },
}

struct Planner<'a> {
    ctx: &'a Context,
    shapes: &'a Shapes,
    /// The component kernel: its sizes and inputs are the function's parameters.
    kernel: &'a Kernel,
    name: &'a str,
    /// Statements of the body, before the output pass.
    body: Vec<String>,
    /// Each region of `work_`: its slice's name and its length (an `i64` expression).
    regions: Vec<(String, String)>,
    /// Private functions this one calls.
    parts: String,
    /// Values computed before the output pass, by the address of their node.
    stored: HashMap<*const M, Stored>,
    /// Defined names and scalar leaves computed already (`a` of `diag(a) - a*a'` once).
    named: HashMap<String, Stored>,
    /// Inputs read directly, whose lengths the function checks.
    read: BTreeSet<String>,
    funcs: &'a mut BTreeSet<Func>,
    next: usize,
    /// The passes the function makes, as [`Kernel::passes`] counts them.
    passes: Vec<usize>,
}

/// A goal's function computed from its matrix form.
pub(super) struct FormFunction {
    pub text: String,
    /// Its passes, as [`Kernel::passes`] counts them, to compare with the components'.
    pub passes: Vec<usize>,
    /// The functions of the table it calls (helpers to write out once).
    pub funcs: BTreeSet<Func>,
}

/// How many of the bounds run over a size rather than a fixed range.
fn sized(bounds: &[&Bound]) -> usize {
    bounds.iter().filter(|b| matches!(b, Bound::Sym(..))).count()
}

/// The function `name` computing `goal`'s matrix form, or `None` where the form cannot be
/// computed this way with the component function's parameters.
pub(super) fn emit(
    ctx: &Context,
    kernel: &Kernel,
    goal: &FormGoal,
    name: &str,
    funcs: &BTreeSet<Func>,
) -> Option<FormFunction> {
    let mut used = funcs.clone();
    let mut p = Planner {
        ctx,
        shapes: goal.shapes,
        kernel,
        name,
        body: Vec::new(),
        regions: Vec::new(),
        parts: String::new(),
        stored: HashMap::new(),
        named: HashMap::new(),
        read: BTreeSet::new(),
        funcs: &mut used,
        next: 0,
        passes: Vec::new(),
    };
    let text = p.function(goal)?;
    let passes = std::mem::take(&mut p.passes);
    Some(FormFunction { text, passes, funcs: used })
}

impl Planner<'_> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}_", self.next)
    }

    /// A size or bound as an `i64` expression over the function's (shadowed) sizes.
    fn bound(&self, b: &Bound) -> Option<String> {
        match b {
            Bound::Int(v) => Some(format!("{v}i64")),
            Bound::Sym(s, off) if self.kernel.sizes.contains(s) => Some(match off {
                0 => ident(s),
                _ => format!("({} + {off}i64)", ident(s)),
            }),
            Bound::Sym(..) => None,
        }
    }

    /// Whether a kernel's loop bound is the bound `b`.
    fn lim_is(&self, k: &Kernel, l: Lim, b: &Bound) -> bool {
        match (l, b) {
            (Lim::Int(v), Bound::Int(w)) => v == *w,
            (Lim::Size(s, off), Bound::Sym(n, o)) => {
                off == *o && k.sizes.get(s).is_some_and(|size| size == n)
            }
            _ => false,
        }
    }

    /// Whether `k`'s output runs over 1..size for each of `sizes`, in order.
    fn output_is(&self, k: &Kernel, sizes: &[Bound]) -> bool {
        k.axes.len() == sizes.len()
            && k.axes.iter().zip(sizes).all(|(&v, size)| {
                k.vars
                    .get(v)
                    .is_some_and(|var| var.lo == Lim::Int(1) && self.lim_is(k, var.hi, size))
            })
    }

    fn shape(&self, m: &M) -> Option<Shape> {
        shape_of(m, self.shapes).ok()
    }

    fn function(&mut self, goal: &FormGoal) -> Option<String> {
        let k = self.kernel;
        let shape = self.shape(goal.form)?;
        // The output: the component function's, over 1..rows (and 1..cols).
        let out_sizes = match goal.axes.len() {
            1 if shape.cols == Bound::Int(1) => vec![shape.rows.clone()],
            2 => vec![shape.rows.clone(), shape.cols.clone()],
            _ => return None,
        };
        if !self.output_is(k, &out_sizes) {
            return None;
        }
        self.prepare(goal.form)?;
        let (rows, cols) = (self.bound(&shape.rows)?, self.bound(&shape.cols)?);
        let entry = self.entry(goal.form, "r_", "c_")?;
        self.passes.push(sized(&[&shape.rows, &shape.cols]));

        let mut t = String::new();
        let line = |t: &mut String, depth: usize, s: &str| {
            t.push_str(&"    ".repeat(depth));
            t.push_str(s);
            t.push('\n');
        };
        let sizes: Vec<String> = k.sizes.iter().map(|s| format!("{}: usize", ident(s))).collect();
        let mut params = sizes.clone();
        for input in &k.inputs {
            let ty = if input.arity() == 0 { "f64" } else { "&[f64]" };
            params.push(format!("{}: {ty}", ident(&input.name)));
        }
        let work = !self.regions.is_empty();
        let allow = "#[allow(non_snake_case, unused_variables, unused_parens, clippy::all)]";
        let shadow: Vec<String> =
            k.sizes.iter().map(|s| format!("let {0}: i64 = {0} as i64;", ident(s))).collect();
        let total = if work {
            let lens: Vec<String> =
                self.regions.iter().map(|(_, len)| format!("({len}).max(0)")).collect();
            lens.join(" + ")
        } else {
            "0i64".into()
        };
        t.push_str(&self.parts);
        if work {
            params.push("work_: &mut [f64]".into());
            line(
                &mut t,
                0,
                &format!("/// The length of the scratch space `work_` that `{}` needs.", self.name),
            );
            line(&mut t, 0, allow);
            line(
                &mut t,
                0,
                &format!("pub fn {}_work_len({}) -> usize {{", self.name, sizes.join(", ")),
            );
            for s in &shadow {
                line(&mut t, 1, s);
            }
            line(&mut t, 1, &format!("({total}) as usize"));
            line(&mut t, 0, "}");
            line(&mut t, 0, "");
        }
        params.push("out_: &mut [f64]".into());
        line(&mut t, 0, &format!("/// {}", goal.summary));
        line(&mut t, 0, &format!(
            "/// Computed from the matrix form {} (kernel-checked to equal the components): each product once into `work_`, then one pass over the output.",
            crate::matrix::print(goal.form, Some(self.ctx))
        ));
        line(
            &mut t,
            0,
            &format!(
                "/// Fills `out_` row-major over ({}), each index over its declared range.",
                goal.axes.join(", ")
            ),
        );
        line(&mut t, 0, "/// Array inputs: row-major, from index 1.");
        if work {
            line(
                &mut t,
                0,
                &format!(
                    "/// `work_`: scratch space of at least `{}_work_len(…)` values.",
                    self.name
                ),
            );
        }
        line(&mut t, 0, allow);
        line(
            &mut t,
            0,
            &format!("pub fn {}({}) -> Result<(), &'static str> {{", self.name, params.join(", ")),
        );
        for s in &shadow {
            line(&mut t, 1, s);
        }
        for name in &self.read {
            let kind = self.shapes.get(name)?;
            let len: Vec<String> =
                kind.sizes().iter().map(|b| self.bound(b)).collect::<Option<_>>()?;
            let len: Vec<String> = len.into_iter().map(|l| format!("({l}).max(0)")).collect();
            line(&mut t, 1, &format!("if {}.len() as i64 != {} {{", ident(name), len.join(" * ")));
            line(&mut t, 2, &format!("return Err(\"`{name}` has the wrong length\");"));
            line(&mut t, 1, "}");
        }
        line(&mut t, 1, &format!("if out_.len() as i64 != ({rows}).max(0) * ({cols}).max(0) {{"));
        line(&mut t, 2, "return Err(\"the output has the wrong length\");");
        line(&mut t, 1, "}");
        if work {
            line(&mut t, 1, &format!("if (work_.len() as i64) < {total} {{"));
            line(&mut t, 2, "return Err(\"`work_` is too short\");");
            line(&mut t, 1, "}");
            for (slice, len) in &self.regions {
                line(
                    &mut t,
                    1,
                    &format!("let ({slice}, work_) = work_.split_at_mut(({len}).max(0) as usize);"),
                );
            }
        }
        for s in &self.body {
            for l in s.lines() {
                line(&mut t, 1, l);
            }
        }
        line(&mut t, 1, &format!("for r_ in 0..{rows} {{"));
        line(&mut t, 2, &format!("for c_ in 0..{cols} {{"));
        line(&mut t, 3, &format!("out_[(r_ * {cols} + c_) as usize] = {entry};"));
        line(&mut t, 2, "}");
        line(&mut t, 1, "}");
        line(&mut t, 1, "Ok(())");
        line(&mut t, 0, "}");
        Some(t)
    }

    /// Compute, children first, every node that is not read entry by entry.
    fn prepare(&mut self, m: &M) -> Option<()> {
        match m {
            M::Sum { .. } | M::D(..) => return None,
            M::Scalar(_) | M::Name(_) => {}
            M::Add(ts) | M::Apply(_, ts) => ts.iter().try_for_each(|t| self.prepare(t))?,
            M::Neg(a) | M::Transpose(a) | M::Call(_, a) => self.prepare(a)?,
            M::Mul(a, b) | M::Div(a, b) | M::Pow(a, b) | M::Elementwise(_, a, b) => {
                self.prepare(a)?;
                self.prepare(b)?;
            }
        }
        let stored = match m {
            M::Scalar(e) => {
                let key = format!("{e}");
                match self.named.get(&key) {
                    Some(s) => s.clone(),
                    None => {
                        let s = self.scalar(e)?;
                        self.named.insert(key, s.clone());
                        s
                    }
                }
            }
            M::Name(n) if find_definition(self.ctx, n).is_some() => match self.named.get(n) {
                Some(s) => s.clone(),
                None => {
                    let s = self.defined(n)?;
                    self.named.insert(n.clone(), s.clone());
                    s
                }
            },
            M::Name(n) => {
                self.input(n)?;
                return Some(());
            }
            M::Mul(a, b) => {
                let (sa, sb) = (self.shape(a)?, self.shape(b)?);
                if sa.is_scalar() || sb.is_scalar() || sa.cols == Bound::Int(1) {
                    return Some(());
                }
                self.product(a, b, &sa, &sb)?
            }
            M::Apply(MFunc::Norm2 | MFunc::Sum, args) => {
                let [v] = args.as_slice() else { return None };
                let square = matches!(m, M::Apply(MFunc::Norm2, _));
                self.total(v, square)?
            }
            M::Apply(MFunc::Softmax, args) => {
                let [v] = args.as_slice() else { return None };
                self.softmax(v)?
            }
            _ => return Some(()),
        };
        self.stored.insert(m as *const M, stored);
        Some(())
    }

    /// A scalar leaf: a number, a size, a scalar input, or a private function of the
    /// function's inputs.
    fn scalar(&mut self, e: &Expr) -> Option<Stored> {
        let k = self.kernel;
        match e {
            Expr::Num(r) => return Some(Stored::Scalar(literal(r.to_f64()?))),
            Expr::Sym(s) if k.sizes.contains(s) => {
                return Some(Stored::Scalar(format!("({} as f64)", ident(s))))
            }
            Expr::Sym(s) if k.inputs.iter().any(|i| i.name == *s && i.arity() == 0) => {
                return Some(Stored::Scalar(ident(s)))
            }
            _ => {}
        }
        if !e.free_indices().is_empty() {
            return None;
        }
        let part = Kernel::compile(self.ctx, e, &[]).ok()?;
        let call = self.call(&part, e, &[], None)?;
        let var = self.fresh("s");
        self.body.push(format!("let {var}: f64 = {call}?;"));
        Some(Stored::Scalar(var))
    }

    /// A defined vector or matrix, computed into `work_` from its definition.
    fn defined(&mut self, n: &str) -> Option<Stored> {
        let (_, def) = find_definition(self.ctx, n)?;
        let kind = self.shapes.get(n)?;
        let Expr::Idx(_, ix) = &def.name else { return None };
        let axes: Vec<String> = ix
            .iter()
            .map(|i| match i {
                Index::Name(s) => Some(s.clone()),
                Index::Int(_) => None,
            })
            .collect::<Option<_>>()?;
        let part = Kernel::compile(self.ctx, &def.name, &axes).ok()?;
        if !self.output_is(&part, &kind.sizes()) {
            return None;
        }
        let (slice, cols) = self.region(&kind.shape())?;
        let call = self.call(&part, &def.name, &axes, Some(&slice))?;
        self.body.push(format!("{call}?;"));
        Some(Stored::Buffer { slice, cols })
    }

    /// An input vector or matrix, read directly: laid out as the component function lays
    /// it out (each position over 1..size).
    fn input(&mut self, n: &str) -> Option<()> {
        let kind = self.shapes.get(n)?;
        let input = self.kernel.inputs.iter().find(|i| i.name == n)?;
        let sizes = kind.sizes();
        if input.arity() != sizes.len() {
            return None;
        }
        let whole = |ranges: &Vec<(Lim, Lim)>, size: &Bound| {
            ranges.iter().all(|r| r.0 == Lim::Int(1) && self.lim_is(self.kernel, r.1, size))
        };
        if !input.shape.iter().zip(&sizes).all(|(ranges, size)| whole(ranges, size)) {
            return None;
        }
        self.read.insert(n.to_string());
        Some(())
    }

    /// A new region of `work_` for a value of `shape`: its slice and column count.
    fn region(&mut self, shape: &Shape) -> Option<(String, String)> {
        let (rows, cols) = (self.bound(&shape.rows)?, self.bound(&shape.cols)?);
        let slice = self.fresh("buf");
        self.regions.push((slice.clone(), format!("{rows} * {cols}")));
        Some((slice, cols))
    }

    /// A call of a private function computing `e` (at `axes`, into `out`), emitted once.
    fn call(
        &mut self,
        part: &Kernel,
        e: &Expr,
        axes: &[String],
        out: Option<&str>,
    ) -> Option<String> {
        let k = self.kernel;
        // Its parameters must be among the function's own.
        if !part.sizes.iter().all(|s| k.sizes.contains(s))
            || !part.inputs.iter().all(|i| k.inputs.iter().any(|j| j.name == i.name))
        {
            return None;
        }
        let part_name = self.fresh("part");
        let name = format!("{}_{part_name}", self.name);
        let summary = format!("`{e}` for `{}`, from its definition.", self.name);
        self.passes.extend(part.passes());
        self.parts.push_str(&Emitter::new(part, self.funcs).function(&name, &summary, axes, false));
        self.parts.push('\n');
        let mut args: Vec<String> =
            part.sizes.iter().map(|s| format!("{} as usize", ident(s))).collect();
        args.extend(part.inputs.iter().map(|i| ident(&i.name)));
        if part.emits_work() {
            let sizes: Vec<String> =
                part.sizes.iter().map(|s| format!("{} as usize", ident(s))).collect();
            let scratch = self.fresh("buf");
            self.regions
                .push((scratch.clone(), format!("{name}_work_len({}) as i64", sizes.join(", "))));
            args.push(scratch);
        }
        if let Some(out) = out {
            args.push(out.to_string());
        }
        Some(format!("{name}({})", args.join(", ")))
    }

    /// The product of two matrices, neither a scalar nor a column times a row.
    fn product(&mut self, a: &M, b: &M, sa: &Shape, sb: &Shape) -> Option<Stored> {
        let inner = self.bound(&sa.cols)?;
        let shape = Shape { rows: sa.rows.clone(), cols: sb.cols.clone() };
        self.passes.push(sized(&[&shape.rows, &shape.cols, &sa.cols]));
        if shape.is_scalar() {
            let var = self.fresh("s");
            let (x, y) = (self.entry(a, "0i64", "k_")?, self.entry(b, "k_", "0i64")?);
            self.body.push(format!(
                "let mut {var}: f64 = 0.0;\nfor k_ in 0..{inner} {{\n    {var} += ({x}) * ({y});\n}}"
            ));
            return Some(Stored::Scalar(var));
        }
        let (x, y) = (self.entry(a, "r_", "k_")?, self.entry(b, "k_", "c_")?);
        let sum = format!(
            "let mut acc_: f64 = 0.0;\nfor k_ in 0..{inner} {{\n    acc_ += ({x}) * ({y});\n}}"
        );
        let (rows, cols) = (self.bound(&shape.rows)?, self.bound(&shape.cols)?);
        let (slice, _) = self.region(&shape)?;
        let sum = sum.replace('\n', "\n        ");
        self.body.push(format!(
            "for r_ in 0..{rows} {{\n    for c_ in 0..{cols} {{\n        {sum}\n        {slice}[(r_ * {cols} + c_) as usize] = acc_;\n    }}\n}}"
        ));
        Some(Stored::Buffer { slice, cols })
    }

    /// `sum(v)`, or `norm2(v)` when `square`.
    fn total(&mut self, v: &M, square: bool) -> Option<Stored> {
        let s = self.shape(v)?;
        let (rows, cols) = (self.bound(&s.rows)?, self.bound(&s.cols)?);
        let x = self.entry(v, "r_", "c_")?;
        self.passes.push(sized(&[&s.rows, &s.cols]));
        let var = self.fresh("s");
        let term = if square {
            format!("let v_: f64 = {x};\n        {var} += v_ * v_;")
        } else {
            format!("{var} += {x};")
        };
        self.body.push(format!(
            "let mut {var}: f64 = 0.0;\nfor r_ in 0..{rows} {{\n    for c_ in 0..{cols} {{\n        {term}\n    }}\n}}"
        ));
        Some(Stored::Scalar(var))
    }

    /// `softmax(z)` with the max shift.
    fn softmax(&mut self, z: &M) -> Option<Stored> {
        let s = self.shape(z)?;
        let rows = self.bound(&s.rows)?;
        let x = self.entry(z, "r_", "0i64")?;
        let (slice, cols) = self.region(&s)?;
        let (top, total) = (self.fresh("s"), self.fresh("s"));
        // The max, the exponentials with their sum, and the scaling.
        self.passes.extend([sized(&[&s.rows]); 3]);
        self.body.push(format!(
            "let mut {top}: f64 = f64::NEG_INFINITY;\nfor r_ in 0..{rows} {{\n    {top} = {top}.max({x});\n}}\n\
             let mut {total}: f64 = 0.0;\nfor r_ in 0..{rows} {{\n    let e_: f64 = ({x} - {top}).exp();\n    {slice}[r_ as usize] = e_;\n    {total} += e_;\n}}\n\
             for r_ in 0..{rows} {{\n    {slice}[r_ as usize] /= {total};\n}}"
        ));
        Some(Stored::Buffer { slice, cols })
    }

    /// The entry `(r, c)` (zero-based `i64` expressions) of `m`, as an `f64` expression; a
    /// scalar is the same at every entry.
    fn entry(&mut self, m: &M, r: &str, c: &str) -> Option<String> {
        if let Some(s) = self.stored.get(&(m as *const M)) {
            return Some(match s {
                Stored::Scalar(v) => v.clone(),
                Stored::Buffer { slice, cols } => format!("{slice}[({r} * {cols} + {c}) as usize]"),
            });
        }
        Some(match m {
            M::Name(n) => {
                let (rows, cols) = match self.shapes.get(n)? {
                    Kind::Vector(_) => (r.to_string(), None),
                    Kind::Matrix(_, cols) => (r.to_string(), Some(self.bound(cols)?)),
                };
                match cols {
                    None => format!("{}[({rows}) as usize]", ident(n)),
                    Some(cols) => format!("{}[({rows} * {cols} + {c}) as usize]", ident(n)),
                }
            }
            M::Add(ts) => {
                let parts: Vec<String> = ts
                    .iter()
                    .map(|t| match t {
                        M::Neg(x) => self.at(x, r, c).map(|v| format!(" - ({v})")),
                        _ => self.at(t, r, c).map(|v| format!(" + ({v})")),
                    })
                    .collect::<Option<_>>()?;
                let joined = parts.concat();
                let joined = joined
                    .strip_prefix(" + ")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("0.0{joined}"));
                format!("({joined})")
            }
            M::Neg(x) => format!("-({})", self.at(x, r, c)?),
            M::Mul(a, b) => {
                let (sa, sb) = (self.shape(a)?, self.shape(b)?);
                if sa.is_scalar() || sb.is_scalar() {
                    format!("({}) * ({})", self.at(a, r, c)?, self.at(b, r, c)?)
                } else {
                    // A column times a row: no sum.
                    format!("({}) * ({})", self.entry(a, r, "0i64")?, self.entry(b, "0i64", c)?)
                }
            }
            M::Div(a, b) | M::Elementwise(Elementwise::Div, a, b) => {
                format!("({}) / ({})", self.at(a, r, c)?, self.at(b, r, c)?)
            }
            M::Elementwise(Elementwise::Mul, a, b) => {
                format!("({}) * ({})", self.at(a, r, c)?, self.at(b, r, c)?)
            }
            M::Pow(a, b) | M::Elementwise(Elementwise::Pow, a, b) => {
                let base = self.at(a, r, c)?;
                match &**b {
                    M::Scalar(Expr::Num(n)) if n.is_integer() => {
                        let n: i32 = n.to_f64().filter(|v| v.abs() < 1e9)? as i32;
                        format!("({base}).powi({n})")
                    }
                    _ => format!("({base}).powf({})", self.at(b, r, c)?),
                }
            }
            M::Transpose(a) => self.entry(a, c, r)?,
            M::Call(f, a) => {
                let x = self.at(a, r, c)?;
                match spec(*f).rust {
                    Rust::Method(method) => format!("({x}).{method}()"),
                    Rust::Helper { name, .. } => {
                        self.funcs.insert(*f);
                        format!("{name}({x})")
                    }
                }
            }
            M::Apply(MFunc::Outer, args) => {
                let [u, v] = args.as_slice() else { return None };
                format!("({}) * ({})", self.entry(u, r, "0i64")?, self.entry(v, c, "0i64")?)
            }
            M::Apply(MFunc::Diag, args) => {
                let [v] = args.as_slice() else { return None };
                format!("if {r} == {c} {{ {} }} else {{ 0.0 }}", self.entry(v, r, "0i64")?)
            }
            // Stored when prepared, or not computable here.
            M::Scalar(_) | M::Apply(..) | M::Sum { .. } | M::D(..) => return None,
        })
    }

    /// [`Planner::entry`], a scalar operand read at (0, 0).
    fn at(&mut self, x: &M, r: &str, c: &str) -> Option<String> {
        if self.shape(x)?.is_scalar() {
            self.entry(x, "0i64", "0i64")
        } else {
            self.entry(x, r, c)
        }
    }
}

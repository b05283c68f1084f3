//! Runs a compiled kernel: checks the arguments, lays out the inputs and the output,
//! and walks the blocks. Leaf loops run in chunks, one node at a time over the whole
//! chunk (contiguous inputs read in place, the root written straight to the output), so
//! the dispatch cost is paid per chunk; other loops run element by element.

use super::compile::{Item, Ix, Kernel, KernelError, Lim, NodeId, Op, Reduce, Slot, VarId, CHUNK};
use super::funcs::apply_ieee;
use crate::expr::Func;

fn argument_error(msg: impl Into<String>) -> KernelError {
    KernelError::Arguments(msg.into())
}

/// Working memory for [`Kernel::eval`], made once by [`Kernel::scratch`] and reused.
#[derive(Clone, Debug)]
pub struct Scratch {
    regs: Vec<f64>,
    vecs: Vec<Vec<f64>>,
    ivars: Vec<i64>,
    bounds: Vec<(i64, i64)>,
    /// Per input and position: (lowest index, extent, stride).
    layout: Vec<(i64, i64, i64)>,
    out_layout: Vec<(i64, i64, i64)>,
    /// The tables of hoisted nodes, one after another; grown to fit the largest sizes seen.
    tables: Vec<f64>,
    /// Per table: where it starts in `tables`, and the lowest index of its variable.
    table_at: Vec<(usize, i64)>,
    /// One chunk, where a hoisted node is computed before it is copied into its table.
    chunk: Vec<f64>,
}

/// An operand in vector mode: a chunk of values or one value for the whole chunk.
#[derive(Clone, Copy)]
enum Src<'a> {
    Vector(&'a [f64]),
    Scalar(f64),
}

impl Kernel {
    pub fn scratch(&self) -> Scratch {
        Scratch {
            regs: vec![0.0; self.ops.len()],
            vecs: vec![vec![0.0; CHUNK]; self.vslots],
            ivars: vec![0; self.vars.len()],
            bounds: vec![(0, 0); self.vars.len()],
            layout: vec![(0, 0, 0); self.inputs.len() * self.max_arity],
            out_layout: vec![(0, 0, 0); self.axes.len()],
            tables: Vec::new(),
            table_at: vec![(0, 0); self.tables.len()],
            chunk: if self.tables.is_empty() { Vec::new() } else { vec![0.0; CHUNK] },
        }
    }

    /// The output length for the given sizes.
    pub fn output_len(&self, sizes: &[i64]) -> Result<usize, KernelError> {
        let mut len: i64 = 1;
        for &v in &self.axes {
            let var = self.vars.get(v).ok_or_else(|| argument_error("no such output index"))?;
            let (lo, hi) = (lim_value(var.lo, sizes)?, lim_value(var.hi, sizes)?);
            len = len
                .checked_mul((hi - lo + 1).max(0))
                .ok_or_else(|| argument_error("the output is too large"))?;
        }
        usize::try_from(len).map_err(|_| argument_error("the output is too large"))
    }

    /// Evaluate into `out` (row-major over the output indices). `sizes` and `inputs` follow
    /// [`Kernel::sizes`] and [`Kernel::inputs`]; arrays are row-major over their index ranges.
    pub fn eval(
        &self,
        sizes: &[i64],
        inputs: &[&[f64]],
        out: &mut [f64],
        scratch: &mut Scratch,
    ) -> Result<(), KernelError> {
        self.prepare(sizes, inputs, out, scratch)?;
        Run { k: self, sizes, inputs, out, s: scratch }.block(0, None)
    }

    /// [`Kernel::eval`] with arguments by name, allocating the output; for tests and tools.
    pub fn eval_named(
        &self,
        sizes: &[(&str, i64)],
        inputs: &[(&str, &[f64])],
    ) -> Result<Vec<f64>, KernelError> {
        let sizes: Vec<i64> = self
            .sizes
            .iter()
            .map(|s| {
                sizes
                    .iter()
                    .find(|(n, _)| n == s)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| argument_error(format!("no size `{s}`")))
            })
            .collect::<Result<_, _>>()?;
        let inputs: Vec<&[f64]> = self
            .inputs
            .iter()
            .map(|i| {
                inputs
                    .iter()
                    .find(|(n, _)| *n == i.name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| argument_error(format!("no input `{}`", i.name)))
            })
            .collect::<Result<_, _>>()?;
        let mut out = vec![0.0; self.output_len(&sizes)?];
        self.eval(&sizes, &inputs, &mut out, &mut self.scratch())?;
        Ok(out)
    }

    /// Check the arguments and lay out the inputs and the output.
    fn prepare(
        &self,
        sizes: &[i64],
        inputs: &[&[f64]],
        out: &[f64],
        s: &mut Scratch,
    ) -> Result<(), KernelError> {
        if sizes.len() != self.sizes.len() || inputs.len() != self.inputs.len() {
            return Err(argument_error(format!(
                "expected {} sizes and {} inputs, got {} and {}",
                self.sizes.len(),
                self.inputs.len(),
                sizes.len(),
                inputs.len()
            )));
        }
        if s.regs.len() != self.ops.len()
            || s.vecs.len() != self.vslots
            || s.bounds.len() != self.vars.len()
            || s.table_at.len() != self.tables.len()
        {
            return Err(argument_error("the scratch space belongs to another kernel"));
        }
        for (slot, var) in s.bounds.iter_mut().zip(&self.vars) {
            *slot = (lim_value(var.lo, sizes)?, lim_value(var.hi, sizes)?);
        }
        for (k, (input, data)) in self.inputs.iter().zip(inputs).enumerate() {
            let dims = s
                .layout
                .get_mut(k * self.max_arity..(k + 1) * self.max_arity)
                .ok_or_else(|| argument_error("layout"))?;
            let len = lay_out(input.shape.iter().map(|ranges| extent(ranges, sizes)), dims)?;
            if data.len() as i64 != len {
                return Err(argument_error(format!(
                    "`{}` has {} values, expected {len}",
                    input.name,
                    data.len()
                )));
            }
        }
        let axes = self
            .axes
            .iter()
            .map(|&v| s.bounds.get(v).copied().ok_or_else(|| argument_error("output index")));
        let len = lay_out(axes, &mut s.out_layout)?;
        if out.len() as i64 != len {
            return Err(argument_error(format!(
                "the output has {} places, expected {len}",
                out.len()
            )));
        }
        let mut total = 0usize;
        for (at, table) in s.table_at.iter_mut().zip(&self.tables) {
            let (lo, hi) = s.bounds.get(table.var).copied().ok_or_else(missing)?;
            *at = (total, lo);
            let len = usize::try_from((i128::from(hi) - i128::from(lo) + 1).max(0))
                .map_err(|_| argument_error("an index range is too large"))?;
            total =
                total.checked_add(len).ok_or_else(|| argument_error("the tables are too large"))?;
        }
        // Only a call with larger sizes than any before allocates.
        if s.tables.len() < total {
            s.tables.resize(total, 0.0);
        }
        Ok(())
    }
}

fn lim_value(l: Lim, sizes: &[i64]) -> Result<i64, KernelError> {
    match l {
        Lim::Int(v) => Ok(v),
        Lim::Size(k, offset) => sizes
            .get(k)
            .and_then(|n| n.checked_add(offset))
            .ok_or_else(|| argument_error("missing size")),
    }
}

/// The union of an input position's ranges.
fn extent(ranges: &[(Lim, Lim)], sizes: &[i64]) -> Result<(i64, i64), KernelError> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for (l, h) in ranges {
        lo = lo.min(lim_value(*l, sizes)?);
        hi = hi.max(lim_value(*h, sizes)?);
    }
    Ok((lo, hi))
}

/// Row-major strides for the given ranges, written to `dims`; returns the total length.
fn lay_out(
    ranges: impl DoubleEndedIterator<Item = Result<(i64, i64), KernelError>>,
    dims: &mut [(i64, i64, i64)],
) -> Result<i64, KernelError> {
    let ranges: Vec<Result<(i64, i64), KernelError>> = ranges.collect();
    let mut stride: i64 = 1;
    for (k, r) in ranges.into_iter().enumerate().rev() {
        let (lo, hi) = r?;
        let len = (i128::from(hi) - i128::from(lo) + 1).max(0);
        let len = i64::try_from(len).map_err(|_| argument_error("an index range is too large"))?;
        if let Some(d) = dims.get_mut(k) {
            *d = (lo, len, stride);
        }
        stride = stride.checked_mul(len).ok_or_else(|| argument_error("an array is too large"))?;
    }
    Ok(stride)
}

/// One evaluation in progress.
struct Run<'r> {
    k: &'r Kernel,
    sizes: &'r [i64],
    inputs: &'r [&'r [f64]],
    out: &'r mut [f64],
    s: &'r mut Scratch,
}

fn missing() -> KernelError {
    argument_error("an index falls outside its input")
}

impl Run<'_> {
    fn reg(&self, id: NodeId) -> f64 {
        match self.k.slot.get(id) {
            Some(Slot::Table(t)) => {
                self.table_place(*t).and_then(|p| self.s.tables.get(p)).copied().unwrap_or(f64::NAN)
            }
            _ => self.s.regs.get(id).copied().unwrap_or(f64::NAN),
        }
    }

    /// Where table `t` holds the value for the current value of its variable (in a leaf
    /// loop over that variable: for the start of the current chunk).
    fn table_place(&self, t: usize) -> Option<usize> {
        self.table_place_at(t, self.k.tables.get(t)?.var)
    }

    /// Where table `t` holds the value for its variable equal to the current value of `var`.
    fn table_place_at(&self, t: usize, var: VarId) -> Option<usize> {
        let (at, lo) = self.s.table_at.get(t).copied()?;
        let v = self.s.ivars.get(var).copied()?;
        at.checked_add(usize::try_from(v - lo).ok()?)
    }

    /// Where the table `Kept(x, var)` reads holds the value for the current value of `var`.
    fn kept_place(&self, x: NodeId, var: VarId) -> Option<usize> {
        match self.k.slot.get(x) {
            Some(Slot::Table(t)) => self.table_place_at(*t, var),
            _ => None,
        }
    }

    fn ix(&self, ix: Ix) -> i64 {
        match ix {
            Ix::Int(v) => v,
            Ix::Var(v) => self.s.ivars.get(v).copied().unwrap_or(0),
        }
    }

    /// The flat offset of an input element, and how it moves as `var` advances by one.
    fn offset(
        &self,
        input: usize,
        ix: &[Ix],
        var: Option<VarId>,
    ) -> Result<(usize, i64), KernelError> {
        let dims = self.s.layout.get(input * self.k.max_arity..).ok_or_else(missing)?;
        let mut offset = 0i64;
        let mut step = 0i64;
        for (i, &(lo, len, stride)) in ix.iter().zip(dims) {
            let v = self.ix(*i);
            if v < lo || v >= lo + len {
                return Err(missing());
            }
            offset += (v - lo) * stride;
            if matches!((i, var), (Ix::Var(a), Some(b)) if *a == b) {
                step += stride;
            }
        }
        Ok((usize::try_from(offset).map_err(|_| missing())?, step))
    }

    fn block(&mut self, b: usize, reduction: Option<NodeId>) -> Result<(), KernelError> {
        let k = self.k;
        let block = k.blocks.get(b).ok_or_else(missing)?;
        let Some(v) = block.var else {
            for item in &block.items {
                self.item(*item)?;
            }
            return Ok(());
        };
        let (lo, hi) = self.s.bounds.get(v).copied().ok_or_else(missing)?;
        let (kind, body) = match reduction.and_then(|r| k.ops.get(r)) {
            Some(Op::Reduce(kind, _, body)) => (Some(*kind), *body),
            _ => (None, 0),
        };
        if block.leaf {
            let mut k0 = lo;
            while k0 <= hi {
                let len = (i128::from(hi) - i128::from(k0) + 1).min(CHUNK as i128) as usize;
                if let Some(iv) = self.s.ivars.get_mut(v) {
                    *iv = k0;
                }
                for item in &block.items {
                    match item {
                        Item::Node(id) => match k.slot.get(*id) {
                            Some(Slot::View) => {}
                            Some(Slot::Output) => self.output_node(*id, v, len)?,
                            Some(Slot::Table(t)) => self.table_node(*id, *t, v, len)?,
                            _ => self.vector_node(*id, v, len)?,
                        },
                        Item::Store if k.slot.get(k.root) != Some(&Slot::Output) => {
                            self.store(Some((v, len)))?
                        }
                        _ => {}
                    }
                }
                if let (Some(kind), Some(r)) = (kind, reduction) {
                    let total = match self.src(body, v, len)? {
                        Src::Vector(xs) => fold(kind, xs.iter().take(len).copied()),
                        Src::Scalar(x) if kind == Reduce::Sum => x * len as f64,
                        Src::Scalar(x) => x,
                    };
                    self.accumulate(kind, r, total);
                }
                k0 += len as i64;
            }
        } else {
            for value in lo..=hi {
                if let Some(iv) = self.s.ivars.get_mut(v) {
                    *iv = value;
                }
                for item in &block.items {
                    self.item(*item)?;
                }
                if let (Some(kind), Some(r)) = (kind, reduction) {
                    let x = self.reg(body);
                    self.accumulate(kind, r, x);
                }
            }
        }
        Ok(())
    }

    fn accumulate(&mut self, kind: Reduce, r: NodeId, x: f64) {
        if let Some(acc) = self.s.regs.get_mut(r) {
            *acc = match kind {
                Reduce::Sum => *acc + x,
                Reduce::Max => acc.max(x),
            };
        }
    }

    fn item(&mut self, item: Item) -> Result<(), KernelError> {
        match item {
            Item::Node(id) => {
                let x = self.scalar_node(id)?;
                self.set(id, x);
            }
            Item::Reduce(id) => {
                let Some(Op::Reduce(kind, var, _)) = self.k.ops.get(id) else {
                    return Err(missing());
                };
                if let Some(r) = self.s.regs.get_mut(id) {
                    *r = if *kind == Reduce::Sum { 0.0 } else { f64::NEG_INFINITY };
                }
                self.block(var + 1, Some(id))?;
                if matches!(self.k.slot.get(id), Some(Slot::Table(_))) {
                    let total = self.s.regs.get(id).copied().unwrap_or(f64::NAN);
                    self.set(id, total);
                }
            }
            Item::Output(v) => self.block(v + 1, None)?,
            Item::Table(b) => self.block(b, None)?,
            Item::Store => self.store(None)?,
        }
        Ok(())
    }

    /// Keep a node's value: in its table, or in its register.
    fn set(&mut self, id: NodeId, x: f64) {
        let place = match self.k.slot.get(id) {
            Some(Slot::Table(t)) => self.table_place(*t).and_then(|p| self.s.tables.get_mut(p)),
            _ => self.s.regs.get_mut(id),
        };
        if let Some(place) = place {
            *place = x;
        }
    }

    /// Compute a hoisted node for the current chunk of its variable into its table.
    fn table_node(
        &mut self,
        id: NodeId,
        t: usize,
        var: VarId,
        len: usize,
    ) -> Result<(), KernelError> {
        let mut chunk = std::mem::take(&mut self.s.chunk);
        let r = self.fill(id, var, len, &mut chunk);
        let stored = match (r, self.table_place(t)) {
            (Ok(()), Some(p)) => match (self.s.tables.get_mut(p..p + len), chunk.get(..len)) {
                (Some(target), Some(values)) => {
                    target.copy_from_slice(values);
                    Ok(())
                }
                _ => Err(missing()),
            },
            (Ok(()), None) => Err(missing()),
            (Err(e), _) => Err(e),
        };
        self.s.chunk = chunk;
        stored
    }

    fn scalar_node(&self, id: NodeId) -> Result<f64, KernelError> {
        let r = |a: &NodeId| self.reg(*a);
        Ok(match self.k.ops.get(id).ok_or_else(missing)? {
            Op::Const(bits) => f64::from_bits(*bits),
            Op::Scalar(p) => {
                self.inputs.get(*p).and_then(|x| x.first()).copied().ok_or_else(missing)?
            }
            Op::Size(k) => self.sizes.get(*k).copied().unwrap_or(0) as f64,
            Op::Load(p, ix) => {
                let (offset, _) = self.offset(*p, ix, None)?;
                self.inputs.get(*p).and_then(|x| x.get(offset)).copied().ok_or_else(missing)?
            }
            Op::Delta(a, b) => f64::from(u8::from(self.ix(*a) == self.ix(*b))),
            Op::Add(a, b) => r(a) + r(b),
            Op::Sub(a, b) => r(a) - r(b),
            Op::Mul(a, b) => r(a) * r(b),
            Op::Div(a, b) => r(a) / r(b),
            Op::Neg(a) => -r(a),
            Op::Powi(a, n) => r(a).powi(*n),
            Op::Pow(a, b) => r(a).powf(r(b)),
            Op::Call(f, a) => {
                if *f == Func::Exp {
                    count_exp(1);
                }
                apply_ieee(*f, r(a))
            }
            Op::Reduce(..) => r(&id),
            Op::Kept(x, v) => self
                .kept_place(*x, *v)
                .and_then(|p| self.s.tables.get(p))
                .copied()
                .ok_or_else(missing)?,
        })
    }

    /// A node's values for the current chunk of `var` (`len` values), or its one value.
    fn src(&self, id: NodeId, var: VarId, len: usize) -> Result<Src<'_>, KernelError> {
        match self.k.slot.get(id) {
            Some(Slot::Vector(s)) => Ok(Src::Vector(self.s.vecs.get(*s).ok_or_else(missing)?)),
            Some(Slot::Table(t)) if self.k.tables.get(*t).map(|tb| tb.var) == Some(var) => {
                let p = self.table_place(*t).ok_or_else(missing)?;
                let values = self.s.tables.get(p..p + len).ok_or_else(missing)?;
                Ok(Src::Vector(values))
            }
            Some(Slot::View) => match self.k.ops.get(id) {
                Some(Op::Load(p, ix)) => {
                    let (offset, _) = self.offset(*p, ix, Some(var))?;
                    let data = self.inputs.get(*p).and_then(|d| d.get(offset..offset + len));
                    Ok(Src::Vector(data.ok_or_else(missing)?))
                }
                Some(Op::Kept(x, _)) => {
                    let p = self.kept_place(*x, var).ok_or_else(missing)?;
                    Ok(Src::Vector(self.s.tables.get(p..p + len).ok_or_else(missing)?))
                }
                _ => Err(missing()),
            },
            _ => Ok(Src::Scalar(self.reg(id))),
        }
    }

    /// Compute a node for the `len` values of `var` from the current chunk start.
    fn vector_node(&mut self, id: NodeId, var: VarId, len: usize) -> Result<(), KernelError> {
        let Some(Slot::Vector(slot)) = self.k.slot.get(id).copied() else {
            return Err(missing());
        };
        let mut out = std::mem::take(self.s.vecs.get_mut(slot).ok_or_else(missing)?);
        let r = self.fill(id, var, len, &mut out);
        if let Some(v) = self.s.vecs.get_mut(slot) {
            *v = out;
        }
        r
    }

    /// Compute the root for the current chunk straight into its place in the output.
    fn output_node(&mut self, id: NodeId, var: VarId, len: usize) -> Result<(), KernelError> {
        let offset = self.output_offset()?;
        let out = std::mem::take(&mut self.out);
        let r = match out.get_mut(offset..offset + len) {
            Some(target) => self.fill(id, var, len, target),
            None => Err(missing()),
        };
        self.out = out;
        r
    }

    fn fill(&self, id: NodeId, var: VarId, len: usize, out: &mut [f64]) -> Result<(), KernelError> {
        let out = out.get_mut(..len).ok_or_else(missing)?;
        let k0 = self.s.ivars.get(var).copied().unwrap_or(0);
        match self.k.ops.get(id).ok_or_else(missing)? {
            Op::Load(p, ix) => {
                let (offset, step) = self.offset(*p, ix, Some(var))?;
                let data = self.inputs.get(*p).ok_or_else(missing)?;
                if step == 1 {
                    out.copy_from_slice(data.get(offset..offset + len).ok_or_else(missing)?);
                } else {
                    for (t, o) in out.iter_mut().enumerate() {
                        let at = offset as i64 + step * t as i64;
                        *o = usize::try_from(at)
                            .ok()
                            .and_then(|a| data.get(a))
                            .copied()
                            .ok_or_else(missing)?;
                    }
                }
            }
            Op::Delta(a, b) => {
                let at = |ix: &Ix, t: usize| match ix {
                    Ix::Var(v) if *v == var => k0 + t as i64,
                    other => self.ix(*other),
                };
                for (t, o) in out.iter_mut().enumerate() {
                    *o = f64::from(u8::from(at(a, t) == at(b, t)));
                }
            }
            Op::Add(a, b) => {
                binary(out, self.src(*a, var, len)?, self.src(*b, var, len)?, |x, y| x + y)
            }
            Op::Sub(a, b) => {
                binary(out, self.src(*a, var, len)?, self.src(*b, var, len)?, |x, y| x - y)
            }
            Op::Mul(a, b) => {
                binary(out, self.src(*a, var, len)?, self.src(*b, var, len)?, |x, y| x * y)
            }
            Op::Div(a, b) => match self.src(*b, var, len)? {
                // One division per chunk instead of one per element.
                Src::Scalar(y) => {
                    binary(out, self.src(*a, var, len)?, Src::Scalar(1.0 / y), |x, r| x * r)
                }
                b => binary(out, self.src(*a, var, len)?, b, |x, y| x / y),
            },
            Op::Pow(a, b) => {
                binary(out, self.src(*a, var, len)?, self.src(*b, var, len)?, f64::powf)
            }
            Op::Neg(a) => unary(out, self.src(*a, var, len)?, |x| -x),
            Op::Powi(a, n) => unary(out, self.src(*a, var, len)?, |x| x.powi(*n)),
            Op::Call(f, a) => {
                let a = self.src(*a, var, len)?;
                match f {
                    Func::Exp => {
                        count_exp(match a {
                            Src::Vector(_) => len,
                            Src::Scalar(_) => 1,
                        });
                        unary(out, a, f64::exp)
                    }
                    Func::Log => unary(out, a, f64::ln),
                    Func::Tanh => unary(out, a, f64::tanh),
                    other => unary(out, a, |x| apply_ieee(*other, x)),
                }
            }
            Op::Kept(x, v) if *v == var => {
                let p = self.kept_place(*x, var).ok_or_else(missing)?;
                out.copy_from_slice(self.s.tables.get(p..p + len).ok_or_else(missing)?);
            }
            // Nodes without loop dependence are never placed in a loop; fill them anyway.
            _ => {
                let x = self.scalar_node(id)?;
                out.fill(x);
            }
        }
        Ok(())
    }

    /// Where the current output indices (or the current chunk's start) land in the output.
    fn output_offset(&self) -> Result<usize, KernelError> {
        let mut offset = 0i64;
        for (&v, &(lo, _, stride)) in self.k.axes.iter().zip(&self.s.out_layout) {
            offset += (self.s.ivars.get(v).copied().unwrap_or(lo) - lo) * stride;
        }
        usize::try_from(offset).map_err(|_| missing())
    }

    /// Write the root's value, or a chunk of values along the innermost output index.
    fn store(&mut self, chunk: Option<(VarId, usize)>) -> Result<(), KernelError> {
        let offset = self.output_offset()?;
        let (var, len) = chunk.unwrap_or((0, 1));
        let out = std::mem::take(&mut self.out);
        let r = match (out.get_mut(offset..offset + len), self.src(self.k.root, var, len)) {
            (Some(target), Ok(Src::Vector(v))) => match v.get(..len) {
                Some(v) => {
                    target.copy_from_slice(v);
                    Ok(())
                }
                None => Err(missing()),
            },
            (Some(target), Ok(Src::Scalar(x))) => {
                target.fill(x);
                Ok(())
            }
            (_, Err(e)) => Err(e),
            (None, _) => Err(missing()),
        };
        self.out = out;
        r
    }
}

#[cfg(test)]
thread_local! {
    /// Exponentials computed on this thread, so tests can count the work a kernel does.
    pub(crate) static EXP_CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
fn count_exp(n: usize) {
    EXP_CALLS.with(|c| c.set(c.get() + n));
}

#[cfg(not(test))]
#[inline(always)]
fn count_exp(_: usize) {}

fn fold(kind: Reduce, xs: impl Iterator<Item = f64>) -> f64 {
    match kind {
        Reduce::Sum => xs.sum(),
        Reduce::Max => xs.fold(f64::NEG_INFINITY, f64::max),
    }
}

#[inline(always)]
fn binary(out: &mut [f64], a: Src, b: Src, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::Vector(a), Src::Vector(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Vector(a), Src::Scalar(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Vector(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Scalar(y)) => out.fill(f(x, y)),
    }
}

#[inline(always)]
fn unary(out: &mut [f64], a: Src, f: impl Fn(f64) -> f64) {
    match a {
        Src::Vector(a) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x);
            }
        }
        Src::Scalar(x) => out.fill(f(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Context;
    use crate::numeric::eval::eval_f64;
    use crate::numeric::fixtures::{names as axes, softmax_ce as seed, term as e};
    use crate::numeric::point::Point;
    use crate::numeric::reference;
    use crate::numeric::sample::Sampler;
    use crate::syntax::parse_file;

    /// The kernel's inputs taken from a sample point, row-major over their extents.
    fn inputs_from(kernel: &Kernel, sizes: &[i64], point: &Point) -> Vec<Vec<f64>> {
        kernel
            .inputs
            .iter()
            .map(|input| {
                let extents: Vec<(i64, i64)> =
                    input.shape.iter().map(|r| extent(r, sizes).unwrap()).collect();
                let mut values = Vec::new();
                let mut ix: Vec<i64> = extents.iter().map(|e| e.0).collect();
                if extents.iter().any(|(lo, hi)| lo > hi) {
                    return values;
                }
                loop {
                    values.push(point.value(&input.name, &ix).map_or(0.0, |v| v.float));
                    let mut p = ix.len();
                    loop {
                        if p == 0 {
                            return values;
                        }
                        p -= 1;
                        if ix[p] < extents[p].1 {
                            ix[p] += 1;
                            break;
                        }
                        ix[p] = extents[p].0;
                    }
                }
            })
            .collect()
    }

    /// Compile and compare with the evaluator at sampled points for n = 2..=6.
    fn agrees_with_evaluator(ctx: &Context, src: &str, out_axes: &[&str]) {
        let expr = e(src);
        let kernel = Kernel::compile(ctx, &expr, &axes(out_axes))
            .unwrap_or_else(|err| panic!("{src}: {err}"));
        let sampler = Sampler::new(ctx, &[&expr], 11).unwrap();
        for n in 2..=6 {
            let point = sampler.draw(Some(n), 2, 0).unwrap().unwrap();
            let sizes: Vec<i64> =
                kernel.sizes.iter().map(|s| point.range(s).unwrap_or(n)).collect();
            let data = inputs_from(&kernel, &sizes, &point);
            let slices: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
            let mut out = vec![0.0; kernel.output_len(&sizes).unwrap()];
            kernel.eval(&sizes, &slices, &mut out, &mut kernel.scratch()).unwrap();
            let mut q = point.clone();
            let extents: Vec<(i64, i64)> = kernel
                .axes
                .iter()
                .map(|&v| {
                    let var = &kernel.vars[v];
                    (lim_value(var.lo, &sizes).unwrap(), lim_value(var.hi, &sizes).unwrap())
                })
                .collect();
            let mut flat = 0;
            let mut ix: Vec<i64> = extents.iter().map(|e| e.0).collect();
            loop {
                for (name, v) in out_axes.iter().zip(&ix) {
                    q.set_index(name, *v);
                }
                let want = eval_f64(ctx, &expr, &q).unwrap();
                assert!(
                    (out[flat] - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "{src} at {ix:?}, n = {n}: {} vs {want}",
                    out[flat]
                );
                flat += 1;
                let mut p = ix.len();
                let done = loop {
                    if p == 0 {
                        break true;
                    }
                    p -= 1;
                    if ix[p] < extents[p].1 {
                        ix[p] += 1;
                        break false;
                    }
                    ix[p] = extents[p].0;
                };
                if done {
                    break;
                }
            }
            assert_eq!(flat, out.len());
        }
    }

    #[test]
    fn compiled_kernels_agree_with_the_evaluator() {
        let ctx = seed();
        agrees_with_evaluator(&ctx, "a_j - y_j", &["j"]);
        agrees_with_evaluator(&ctx, "a_i*(delta(i,j) - a_j)", &["i", "j"]);
        agrees_with_evaluator(&ctx, "l", &[]);
        agrees_with_evaluator(&ctx, "sum_i(y_i)*a_j - y_j/n + 2^(-3)", &["j"]);
        let layer = parse_file("index i, j, k in 1..n\nlet h_i = tanh(sum_k(W_{i,k} * x_k))\n")
            .unwrap()
            .context;
        agrees_with_evaluator(&layer, "(1 - h_i^2)*W_{i,j}", &["i", "j"]);
        agrees_with_evaluator(&layer, "sum_k(W_{k,j}*x_k)*delta(j, 2) + x_1", &["j"]);
        let regression = parse_file("index i in 1..n\nlet l = sum_i((w*x_i + b - t_i)^2) / 2\n")
            .unwrap()
            .context;
        agrees_with_evaluator(&regression, "sum_i((w*x_i + b - t_i)*x_i)", &[]);
        agrees_with_evaluator(&regression, "l", &[]);
        let scalars = Context::default();
        agrees_with_evaluator(
            &scalars,
            "sigmoid(x)*(1 - sigmoid(x)) + softplus(x)^x0 / sqrt(2)",
            &[],
        );
    }

    #[test]
    fn hoisted_tables_agree_with_the_evaluator() {
        let layer =
            parse_file("index i, j, k, p, q in 1..n\nlet h_i = tanh(sum_k(W_{i,k} * x_k))\n")
                .unwrap()
                .context;
        // h_p and x_q/(1 + h_q^2) do not depend on i: tables over p and q, filled once;
        // exp(W_{i,q}) does not depend on p: a table over q, filled once per i.
        let e3 = "h_p*exp(W_{i,q})*x_q/(1 + h_q^2) + delta(i,p)*sigmoid(x_p)";
        agrees_with_evaluator(&layer, e3, &["i", "p", "q"]);
        agrees_with_evaluator(&layer, e3, &["q", "i", "p"]);
        let kernel = Kernel::compile(&layer, &e(e3), &axes(&["i", "p", "q"])).unwrap();
        let hosts: Vec<(Option<VarId>, usize)> = kernel
            .blocks
            .iter()
            .flat_map(|b| {
                b.items.iter().filter_map(move |i| match i {
                    Item::Table(t) => Some((b.var, *t)),
                    _ => None,
                })
            })
            .collect();
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        assert_eq!(hosts.iter().filter(|(host, _)| host.is_none()).count(), 2);
        // A root that does not depend on the outer index is kept in a table and stored from it.
        agrees_with_evaluator(&seed(), "a_j*(1 - a_j)", &["i", "j"]);
        agrees_with_evaluator(&seed(), "sum_k(exp(z_k - z_j))", &["i", "j"]);
    }

    #[test]
    fn values_read_back_from_a_reduction_agree_with_the_evaluator() {
        let ctx = seed();
        agrees_with_evaluator(&ctx, "a_i*(v_i - sum_k(a_k*v_k))", &["i"]);
        agrees_with_evaluator(&ctx, "a_i*(v_i - sum_k(a_k*v_k))*a_j", &["j", "i"]);
        // A sum inside the output loop: its exponentials are kept for that j only, and
        // read back at j after the sum, or computed again where the read would come first.
        let layer = parse_file("index i, j, k in 1..n\nlet h_i = tanh(sum_k(W_{i,k} * x_k))\n")
            .unwrap()
            .context;
        agrees_with_evaluator(&layer, "exp(x_j)*sum_k(exp(x_k)*W_{j,k})", &["j"]);
        agrees_with_evaluator(&layer, "sum_k(exp(x_k)*W_{j,k})/exp(x_j) + h_j", &["j"]);
        agrees_with_evaluator(&layer, "h_i*h_j/sum_k(h_k*exp(x_k)) - exp(x_i)", &["i", "j"]);
        // Sums over different ranges never share a table.
        let ranges = parse_file("index i, k in 1..n\nindex p in 2..n\n").unwrap().context;
        agrees_with_evaluator(&ranges, "sum_k(exp(x_k))*exp(x_i) + sum_p(exp(x_p))", &["i"]);
    }

    /// Exponentials computed by one evaluation of the kernel.
    fn exps(kernel: &Kernel, n: i64, inputs: &[(&str, &[f64])]) -> usize {
        let before = EXP_CALLS.with(|c| c.get());
        kernel.eval_named(&[("n", n)], inputs).unwrap();
        EXP_CALLS.with(|c| c.get()) - before
    }

    #[test]
    fn the_softmax_jacobian_takes_linear_exponentials() {
        let ctx = seed();
        let jac = Kernel::compile(&ctx, &e("a_i*(delta(i,j) - a_j)"), &axes(&["i", "j"])).unwrap();
        for n in [10usize, 300, 1000] {
            let z: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
            // Each exponential once, in the shifted sum: a_i and a_j read it back.
            assert_eq!(exps(&jac, n as i64, &[("z", &z)]), n, "n = {n}");
        }
        let grad = Kernel::compile(&ctx, &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let z = vec![0.5; 100];
        assert_eq!(exps(&grad, 100, &[("z", &z), ("y", &z)]), 100);
        // The Jacobian-vector product: the dot product and the output read them back too.
        let jvp = Kernel::compile(&ctx, &e("a_i*(v_i - sum_k(a_k*v_k))"), &axes(&["i"])).unwrap();
        assert_eq!(exps(&jvp, 100, &[("z", &z), ("v", &z)]), 100);
    }

    #[test]
    fn stable_at_extreme_logits() {
        let ctx = seed();
        let n = 1000;
        let z: Vec<f64> = (0..n)
            .map(|k| if k % 2 == 0 { 1000.0 - k as f64 } else { -1000.0 + k as f64 })
            .collect();
        let y: Vec<f64> = (0..n).map(|_| 1.0 / n as f64).collect();
        let grad = Kernel::compile(&ctx, &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let got = grad.eval_named(&[("n", n as i64)], &[("z", &z), ("y", &y)]).unwrap();
        let mut want = vec![0.0; n];
        reference::softmax_cross_entropy_grad(&z, &y, &mut want);
        assert!(got.iter().all(|v| v.is_finite()));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        let loss = Kernel::compile(&ctx, &e("l"), &[]).unwrap();
        let got = loss.eval_named(&[("n", n as i64)], &[("z", &z), ("y", &y)]).unwrap();
        let want = reference::softmax_cross_entropy(&z, &y);
        assert!((got[0] - want).abs() <= 1e-12 * want.abs(), "{} vs {want}", got[0]);
        let small = [1000.0, -1000.0, 1000.0];
        let jac = Kernel::compile(&ctx, &e("a_i*(delta(i,j) - a_j)"), &axes(&["i", "j"])).unwrap();
        let got = jac.eval_named(&[("n", 3)], &[("z", &small)]).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let want = reference::softmax_jacobian(&small, i, j);
                assert!(
                    (got[3 * i + j] - want).abs() < 1e-15,
                    "({i},{j}): {} vs {want}",
                    got[3 * i + j]
                );
            }
        }
        let lse = Kernel::compile(&Context::default(), &e("log(sum_k(exp(z_k)))"), &[]).unwrap();
        let got = lse.eval_named(&[("n", 3)], &[("z", &small)]).unwrap();
        assert!((got[0] - reference::log_sum_exp(&small)).abs() < 1e-12);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let ctx = seed();
        let kernel = Kernel::compile(&ctx, &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let z = [0.0; 3];
        let mut out = [0.0; 3];
        let short = [0.0; 2];
        assert!(kernel.eval(&[3], &[&z, &short], &mut out, &mut kernel.scratch()).is_err());
        assert!(kernel.eval(&[3], &[&z], &mut out, &mut kernel.scratch()).is_err());
        assert!(kernel.eval(&[4], &[&z, &z], &mut out, &mut kernel.scratch()).is_err());
        assert!(kernel.eval(&[3], &[&z, &z], &mut out, &mut kernel.scratch()).is_ok());
        let other = Kernel::compile(&ctx, &e("l"), &[]).unwrap();
        assert!(kernel.eval(&[3], &[&z, &z], &mut out, &mut other.scratch()).is_err());
    }
}

//! Compiles a derived expression into a flat, allocation-free evaluator over slices.
//!
//! The expression, with definitions instantiated (once per distinct index tuple), becomes
//! a DAG of shared nodes. Each node is placed in the innermost loop among the indices it
//! depends on, so a sum that does not depend on the output index (`sum_k(exp(z_k))` inside
//! `a_j`) runs once per call, not once per j. Loops without inner loops run in chunks, one
//! node at a time over a whole chunk, so the interpreter's dispatch is paid per chunk, not
//! per element. Softmax-shaped terms get the max shift automatically:
//! `exp(e)/sum_k(exp(f_k))` becomes `exp(e - m)/sum_k(exp(f_k - m))` and
//! `log(sum_k(exp(f_k)))` becomes `m + log(sum_k(exp(f_k - m)))` with `m = max_k f_k`,
//! so logits of ±1000 neither overflow nor produce NaN.

use super::eval::{find_definition, EvalError};
use super::funcs::apply_ieee;
use super::sample::index_range;
use super::stack::guarded;
use crate::expr::{Bound, Context, Definition, Expr, Func, Index, Sum, MAX_DEPTH};
use num_traits::ToPrimitive;
use std::collections::{BTreeSet, HashMap};

/// Elements per chunk in vector mode: large enough to amortise dispatch, small enough for L1.
const CHUNK: usize = 256;
/// Most nodes in one kernel.
const MAX_NODES: usize = 200_000;
/// Deepest recursion while building, counting definitions entered.
const MAX_BUILD_DEPTH: usize = 2 * MAX_DEPTH;

pub(crate) type NodeId = usize;
pub(crate) type VarId = usize;

/// An index inside the kernel: a loop variable or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ix {
    Var(VarId),
    Int(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reduce {
    Sum,
    Max,
}

/// One node of the DAG; children are earlier nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    /// The bits of an f64 constant (so that the op can be hashed).
    Const(u64),
    /// A scalar input, by input position.
    Scalar(usize),
    /// The value of a size such as `n`, by size position.
    Size(usize),
    /// An indexed input at the given indices.
    Load(usize, Vec<Ix>),
    Delta(Ix, Ix),
    Add(NodeId, NodeId),
    Sub(NodeId, NodeId),
    Mul(NodeId, NodeId),
    Div(NodeId, NodeId),
    Neg(NodeId),
    Powi(NodeId, i32),
    Pow(NodeId, NodeId),
    Call(Func, NodeId),
    /// A reduction of the body over the loop variable.
    Reduce(Reduce, VarId, NodeId),
}

/// A loop bound: a constant or a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Lim {
    Int(i64),
    Size(usize),
}

/// A loop variable: an output index or the bound index of one reduction.
#[derive(Clone, Debug)]
pub(crate) struct LoopVar {
    pub name: String,
    pub lo: Lim,
    pub hi: Lim,
}

/// An input of a compiled kernel: a scalar (no positions) or an array, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelInput {
    pub name: String,
    /// For each index position, every range it is used with; the extent is their union.
    pub(crate) shape: Vec<Vec<(Lim, Lim)>>,
}

impl KernelInput {
    pub fn arity(&self) -> usize {
        self.shape.len()
    }
}

/// What a block does at each step, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Node(NodeId),
    /// Run the reduction's loop block and leave the result in the node's register.
    Reduce(NodeId),
    /// Run the loop block of the next output index.
    Output(VarId),
    /// Write the root's value to the output.
    Store,
}

/// Where a node's value lives while the kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// One value, in the node's register.
    Scalar,
    /// A chunk of values (the node is in a leaf loop), in this vector buffer.
    Vector(usize),
    /// A contiguous input read in a leaf loop: read in place, never copied.
    View,
    /// The root in the innermost output loop: computed straight into the output.
    Output,
}

/// The top level (block 0) or the body of the loop over one variable (block v + 1).
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    pub items: Vec<Item>,
    /// No inner loops: runs in chunks, its nodes hold a chunk of values each.
    pub leaf: bool,
}

/// Why a kernel could not be compiled or run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("cannot compile: {0}")]
    Compile(String),
    #[error("bad kernel arguments: {0}")]
    Arguments(String),
}

impl From<EvalError> for KernelError {
    fn from(e: EvalError) -> Self {
        KernelError::Compile(e.to_string())
    }
}

fn compile_error(msg: impl Into<String>) -> KernelError {
    KernelError::Compile(msg.into())
}

fn argument_error(msg: impl Into<String>) -> KernelError {
    KernelError::Arguments(msg.into())
}

/// A compiled expression: the values of the expression for every value of its output
/// indices, written row-major into an output slice.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub(crate) ops: Vec<Op>,
    pub(crate) vars: Vec<LoopVar>,
    pub(crate) inputs: Vec<KernelInput>,
    pub(crate) sizes: Vec<String>,
    pub(crate) axes: Vec<VarId>,
    pub(crate) root: NodeId,
    pub(crate) blocks: Vec<Block>,
    pub(crate) slot: Vec<Slot>,
    vslots: usize,
    max_arity: usize,
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
}

/// An operand in vector mode: a chunk of values or one value for the whole chunk.
#[derive(Clone, Copy)]
enum Src<'a> {
    Vector(&'a [f64]),
    Scalar(f64),
}

impl Kernel {
    /// Compile `expr` under `ctx` for the output indices `axes` (free indices of `expr`,
    /// in the order of the output's dimensions; each runs over its declared range).
    pub fn compile(ctx: &Context, expr: &Expr, axes: &[String]) -> Result<Kernel, KernelError> {
        guarded(ctx, &[expr], || Kernel::compile_here(ctx, expr, axes))
    }

    fn compile_here(ctx: &Context, expr: &Expr, axes: &[String]) -> Result<Kernel, KernelError> {
        let mut b = Builder::new(ctx, expr);
        let mut scope = Vec::new();
        let mut axis_vars = Vec::new();
        for name in axes {
            if scope.iter().any(|(n, _)| n == name) {
                return Err(compile_error(format!(
                    "the output index `{name}` is given twice"
                )));
            }
            let (lo, hi) = index_range(ctx, name);
            let v = b.new_var(name, &lo, &hi);
            axis_vars.push(v);
            scope.push((name.clone(), Ix::Var(v)));
        }
        if let Some(free) = expr.free_indices().iter().find(|i| !axes.contains(i)) {
            return Err(compile_error(format!(
                "the index `{free}` is free in the expression but not an output index"
            )));
        }
        let root = b.build(expr, &scope, 0)?;
        b.finish(root, axis_vars)
    }

    /// The sizes (such as `n`) to pass to [`Kernel::eval`], in order.
    pub fn sizes(&self) -> &[String] {
        &self.sizes
    }

    /// The inputs to pass to [`Kernel::eval`], in order; a scalar is a slice of length 1.
    pub fn inputs(&self) -> &[KernelInput] {
        &self.inputs
    }

    /// The names of the output indices, in the order of the output's dimensions.
    pub fn axes(&self) -> Vec<&str> {
        self.axes
            .iter()
            .filter_map(|&v| self.vars.get(v))
            .map(|v| v.name.as_str())
            .collect()
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            regs: vec![0.0; self.ops.len()],
            vecs: vec![vec![0.0; CHUNK]; self.vslots],
            ivars: vec![0; self.vars.len()],
            bounds: vec![(0, 0); self.vars.len()],
            layout: vec![(0, 0, 0); self.inputs.len() * self.max_arity],
            out_layout: vec![(0, 0, 0); self.axes.len()],
        }
    }

    /// The output length for the given sizes.
    pub fn output_len(&self, sizes: &[i64]) -> Result<usize, KernelError> {
        let mut len: i64 = 1;
        for &v in &self.axes {
            let var = self
                .vars
                .get(v)
                .ok_or_else(|| argument_error("no such output index"))?;
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
        Run {
            k: self,
            sizes,
            inputs,
            out,
            s: scratch,
        }
        .block(0, None)
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
        {
            return Err(argument_error(
                "the scratch space belongs to another kernel",
            ));
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
        let axes = self.axes.iter().map(|&v| {
            s.bounds
                .get(v)
                .copied()
                .ok_or_else(|| argument_error("output index"))
        });
        let len = lay_out(axes, &mut s.out_layout)?;
        if out.len() as i64 != len {
            return Err(argument_error(format!(
                "the output has {} places, expected {len}",
                out.len()
            )));
        }
        Ok(())
    }
}

fn lim_value(l: Lim, sizes: &[i64]) -> Result<i64, KernelError> {
    match l {
        Lim::Int(v) => Ok(v),
        Lim::Size(k) => sizes
            .get(k)
            .copied()
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
        stride = stride
            .checked_mul(len)
            .ok_or_else(|| argument_error("an array is too large"))?;
    }
    Ok(stride)
}

/// Builds the DAG: hash-consed nodes, memoised definition instances and reductions.
struct Builder<'c> {
    ctx: &'c Context,
    ops: Vec<Op>,
    deps: Vec<Vec<VarId>>,
    memo: HashMap<Op, NodeId>,
    /// Reductions by kind (0 sum, 1 max of the exponent, 2 shifted sum), the sum term
    /// (equal up to the bound index's name) and the bindings of its free indices.
    reductions: HashMap<(u8, Expr, Vec<Ix>), NodeId>,
    instances: HashMap<(usize, Vec<Ix>), NodeId>,
    vars: Vec<LoopVar>,
    /// Reduction node of each loop variable (none for output indices).
    var_reduction: Vec<Option<NodeId>>,
    inputs: Vec<KernelInput>,
    size_names: BTreeSet<String>,
    sizes: Vec<String>,
}

impl<'c> Builder<'c> {
    fn new(ctx: &'c Context, expr: &Expr) -> Builder<'c> {
        let mut size_names = BTreeSet::new();
        let mut note = |b: &Bound| {
            if let Bound::Sym(s) = b {
                size_names.insert(s.clone());
            }
        };
        for d in &ctx.indices {
            note(&d.lo);
            note(&d.hi);
        }
        for e in std::iter::once(expr).chain(ctx.definitions.iter().map(|d: &Definition| &d.body)) {
            e.any(&mut |t| {
                if let Expr::Sum(s) = t {
                    note(&s.lo);
                    note(&s.hi);
                }
                false
            });
        }
        // An undeclared output index runs over 1..n.
        size_names.insert("n".into());
        Builder {
            ctx,
            ops: Vec::new(),
            deps: Vec::new(),
            memo: HashMap::new(),
            reductions: HashMap::new(),
            instances: HashMap::new(),
            vars: Vec::new(),
            var_reduction: Vec::new(),
            inputs: Vec::new(),
            size_names,
            sizes: Vec::new(),
        }
    }

    fn size(&mut self, name: &str) -> usize {
        match self.sizes.iter().position(|s| s == name) {
            Some(k) => k,
            None => {
                self.sizes.push(name.to_string());
                self.sizes.len() - 1
            }
        }
    }

    fn lim(&mut self, b: &Bound) -> Lim {
        match b {
            Bound::Int(v) => Lim::Int(*v),
            Bound::Sym(s) => Lim::Size(self.size(s)),
        }
    }

    fn new_var(&mut self, name: &str, lo: &Bound, hi: &Bound) -> VarId {
        let (lo, hi) = (self.lim(lo), self.lim(hi));
        self.vars.push(LoopVar {
            name: name.to_string(),
            lo,
            hi,
        });
        self.var_reduction.push(None);
        self.vars.len() - 1
    }

    fn push(&mut self, op: Op) -> Result<NodeId, KernelError> {
        if let Some(&id) = self.memo.get(&op) {
            return Ok(id);
        }
        if self.ops.len() >= MAX_NODES {
            return Err(compile_error(format!(
                "the kernel would have more than {MAX_NODES} nodes"
            )));
        }
        let mut deps = BTreeSet::new();
        let mut uses = |ix: &Ix| {
            if let Ix::Var(v) = ix {
                deps.insert(*v);
            }
        };
        match &op {
            Op::Const(_) | Op::Scalar(_) | Op::Size(_) => {}
            Op::Load(_, ix) => ix.iter().for_each(&mut uses),
            Op::Delta(a, b) => {
                uses(a);
                uses(b);
            }
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Pow(a, b) => {
                deps.extend(self.deps_of(*a));
                deps.extend(self.deps_of(*b));
            }
            Op::Neg(a) | Op::Powi(a, _) | Op::Call(_, a) => deps.extend(self.deps_of(*a)),
            Op::Reduce(_, v, body) => {
                deps.extend(self.deps_of(*body));
                deps.remove(v);
            }
        }
        let id = self.ops.len();
        self.ops.push(op.clone());
        self.deps.push(deps.into_iter().collect());
        self.memo.insert(op, id);
        Ok(id)
    }

    fn deps_of(&self, id: NodeId) -> Vec<VarId> {
        self.deps.get(id).cloned().unwrap_or_default()
    }

    fn constant(&mut self, v: f64) -> Result<NodeId, KernelError> {
        self.push(Op::Const(v.to_bits()))
    }

    fn resolve(&self, ix: &Index, scope: &[(String, Ix)]) -> Result<Ix, KernelError> {
        match ix {
            Index::Int(v) => Ok(Ix::Int(*v)),
            Index::Name(n) => scope
                .iter()
                .rev()
                .find(|(b, _)| b == n)
                .map(|(_, ix)| *ix)
                .ok_or_else(|| compile_error(format!("the index `{n}` is not bound"))),
        }
    }

    fn input(&mut self, name: &str, ix: &[Ix]) -> Result<usize, KernelError> {
        let ranges: Vec<(Lim, Lim)> = ix
            .iter()
            .map(|i| match i {
                Ix::Int(v) => (Lim::Int(*v), Lim::Int(*v)),
                Ix::Var(v) => self
                    .vars
                    .get(*v)
                    .map(|var| (var.lo, var.hi))
                    .unwrap_or((Lim::Int(1), Lim::Int(0))),
            })
            .collect();
        let k = match self.inputs.iter().position(|i| i.name == name) {
            Some(k) => k,
            None => {
                self.inputs.push(KernelInput {
                    name: name.to_string(),
                    shape: vec![Vec::new(); ix.len()],
                });
                self.inputs.len() - 1
            }
        };
        let input = &mut self.inputs[k];
        if input.shape.len() != ix.len() {
            return Err(compile_error(format!(
                "`{name}` is used with {} and with {} indices",
                input.shape.len(),
                ix.len()
            )));
        }
        for (slot, r) in input.shape.iter_mut().zip(ranges) {
            if !slot.contains(&r) {
                slot.push(r);
            }
        }
        Ok(k)
    }

    fn build(
        &mut self,
        e: &Expr,
        scope: &[(String, Ix)],
        depth: usize,
    ) -> Result<NodeId, KernelError> {
        if depth > MAX_BUILD_DEPTH {
            return Err(compile_error(format!(
                "the expression nests more than {MAX_BUILD_DEPTH} levels"
            )));
        }
        let d = depth + 1;
        match e {
            Expr::Num(r) => self.constant(r.to_f64().unwrap_or(f64::NAN)),
            Expr::Sym(s) => {
                if let Some((k, def)) = find_definition(self.ctx, s) {
                    return self.instance(k, def, Vec::new(), d);
                }
                if self.size_names.contains(s) {
                    let k = self.size(s);
                    return self.push(Op::Size(k));
                }
                let k = self.input(s, &[])?;
                self.push(Op::Scalar(k))
            }
            Expr::Idx(name, ix) => {
                let ix = ix
                    .iter()
                    .map(|i| self.resolve(i, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some((k, def)) = find_definition(self.ctx, name) {
                    return self.instance(k, def, ix, d);
                }
                let k = self.input(name, &ix)?;
                self.push(Op::Load(k, ix))
            }
            Expr::Add(xs) => {
                let mut acc: Option<NodeId> = None;
                for x in xs {
                    acc = Some(match (acc, x.unneg()) {
                        (Some(a), Some(positive)) => {
                            let b = self.build(&positive, scope, d)?;
                            self.push(Op::Sub(a, b))?
                        }
                        (Some(a), None) => {
                            let b = self.build(x, scope, d)?;
                            self.push(Op::Add(a, b))?
                        }
                        (None, _) => self.build(x, scope, d)?,
                    });
                }
                acc.map_or_else(|| self.constant(0.0), Ok)
            }
            Expr::Mul(xs) => self.product(xs.iter().map(|x| (x, false)), scope, None, d),
            Expr::Div(a, b) => {
                if let Some(id) = self.softmax_quotient(a, b, scope, d)? {
                    return Ok(id);
                }
                let a = self.build(a, scope, d)?;
                let b = self.build(b, scope, d)?;
                self.push(Op::Div(a, b))
            }
            Expr::Neg(a) => {
                let a = self.build(a, scope, d)?;
                self.push(Op::Neg(a))
            }
            Expr::Pow(base, x) => {
                let b = self.build(base, scope, d)?;
                if let Expr::Num(r) = &**x {
                    if let (true, Some(n)) = (r.is_integer(), r.numer().to_i32()) {
                        return self.push(Op::Powi(b, n));
                    }
                }
                let x = self.build(x, scope, d)?;
                self.push(Op::Pow(b, x))
            }
            Expr::Call(Func::Log, a) => match self.stable_log(a, scope, d)? {
                Some(id) => Ok(id),
                None => {
                    let a = self.build(a, scope, d)?;
                    self.push(Op::Call(Func::Log, a))
                }
            },
            Expr::Call(f, a) => {
                let a = self.build(a, scope, d)?;
                self.push(Op::Call(*f, a))
            }
            Expr::Delta(a, b) => match (self.resolve(a, scope)?, self.resolve(b, scope)?) {
                (Ix::Int(x), Ix::Int(y)) => self.constant(if x == y { 1.0 } else { 0.0 }),
                (a, b) => self.push(Op::Delta(a, b)),
            },
            Expr::Sum(s) => self.reduction(0, s, scope, None, d),
            Expr::D(_, _) => Err(compile_error(
                "a derivative D(…) remains; compile the derived result",
            )),
        }
    }

    /// A definition's body at concrete kernel indices, built once per index tuple.
    fn instance(
        &mut self,
        k: usize,
        def: &Definition,
        args: Vec<Ix>,
        depth: usize,
    ) -> Result<NodeId, KernelError> {
        let key = (k, args);
        if let Some(&id) = self.instances.get(&key) {
            return Ok(id);
        }
        let scope = definition_scope(def, &key.1)?;
        let id = self.build(&def.body, &scope, depth)?;
        self.instances.insert(key, id);
        Ok(id)
    }

    /// A product of factors; the factor flagged `true` is `exp(e)` to be built as `exp(e - m)`.
    fn product<'e>(
        &mut self,
        factors: impl Iterator<Item = (&'e Expr, bool)>,
        scope: &[(String, Ix)],
        shift: Option<NodeId>,
        depth: usize,
    ) -> Result<NodeId, KernelError> {
        let mut acc: Option<NodeId> = None;
        for (f, shifted) in factors {
            let node = match (f, shifted, shift) {
                (Expr::Call(Func::Exp, arg), true, Some(m)) => {
                    let a = self.build(arg, scope, depth)?;
                    let s = self.push(Op::Sub(a, m))?;
                    self.push(Op::Call(Func::Exp, s))?
                }
                _ => self.build(f, scope, depth)?,
            };
            acc = Some(match acc {
                Some(a) => self.push(Op::Mul(a, node))?,
                None => node,
            });
        }
        acc.map_or_else(|| self.constant(1.0), Ok)
    }

    /// `… exp(e) … / sum_k(exp(f_k))` with both exponentials shifted by `m = max_k f_k`.
    fn softmax_quotient(
        &mut self,
        num: &Expr,
        den: &Expr,
        scope: &[(String, Ix)],
        depth: usize,
    ) -> Result<Option<NodeId>, KernelError> {
        let Some(sum) = exp_sum(den) else {
            return Ok(None);
        };
        let factors: Vec<&Expr> = match num {
            Expr::Mul(fs) => fs.iter().collect(),
            other => vec![other],
        };
        let Some(p) = factors
            .iter()
            .position(|f| matches!(f, Expr::Call(Func::Exp, _)))
        else {
            return Ok(None);
        };
        let (m, shifted) = self.shifted_sum(sum, scope, depth)?;
        let numerator = self.product(
            factors.into_iter().enumerate().map(|(q, f)| (f, q == p)),
            scope,
            Some(m),
            depth,
        )?;
        Ok(Some(self.push(Op::Div(numerator, shifted))?))
    }

    /// `log(sum_k(exp(f_k))) = m + log(sum_k(exp(f_k - m)))`, and the log of a softmax
    /// quotient `log(exp(e)/sum_k(exp(f_k))) = (e - m) - log(sum_k(exp(f_k - m)))`,
    /// looking through a definition such as `a_i`.
    fn stable_log(
        &mut self,
        arg: &Expr,
        scope: &[(String, Ix)],
        depth: usize,
    ) -> Result<Option<NodeId>, KernelError> {
        if depth > MAX_BUILD_DEPTH {
            return Err(compile_error(format!(
                "the expression nests more than {MAX_BUILD_DEPTH} levels"
            )));
        }
        if let Some(sum) = exp_sum(arg) {
            let (m, shifted) = self.shifted_sum(sum, scope, depth)?;
            let log = self.push(Op::Call(Func::Log, shifted))?;
            return Ok(Some(self.push(Op::Add(m, log))?));
        }
        match arg {
            Expr::Div(num, den) => {
                let (Expr::Call(Func::Exp, e), Some(sum)) = (&**num, exp_sum(den)) else {
                    return Ok(None);
                };
                let (m, shifted) = self.shifted_sum(sum, scope, depth)?;
                let e = self.build(e, scope, depth + 1)?;
                let centred = self.push(Op::Sub(e, m))?;
                let log = self.push(Op::Call(Func::Log, shifted))?;
                Ok(Some(self.push(Op::Sub(centred, log))?))
            }
            Expr::Sym(name) | Expr::Idx(name, _) => {
                let Some((_, def)) = find_definition(self.ctx, name) else {
                    return Ok(None);
                };
                let args = match arg {
                    Expr::Idx(_, ix) => ix
                        .iter()
                        .map(|i| self.resolve(i, scope))
                        .collect::<Result<Vec<_>, _>>()?,
                    _ => Vec::new(),
                };
                let inner = definition_scope(def, &args)?;
                self.stable_log(&def.body, &inner, depth + 1)
            }
            _ => Ok(None),
        }
    }

    /// The max `m = max_k f_k` and the shifted sum `sum_k(exp(f_k - m))` of `sum_k(exp(f_k))`.
    fn shifted_sum(
        &mut self,
        sum: &Sum,
        scope: &[(String, Ix)],
        depth: usize,
    ) -> Result<(NodeId, NodeId), KernelError> {
        let m = self.reduction(1, sum, scope, None, depth)?;
        let shifted = self.reduction(2, sum, scope, Some(m), depth)?;
        Ok((m, shifted))
    }

    /// A reduction over a fresh loop variable: kind 0 sums the body, 1 takes the max of the
    /// exponent of an `exp` body, 2 sums `exp(exponent - shift)`.
    fn reduction(
        &mut self,
        kind: u8,
        s: &Sum,
        scope: &[(String, Ix)],
        shift: Option<NodeId>,
        depth: usize,
    ) -> Result<NodeId, KernelError> {
        let term = Expr::Sum(s.clone());
        let free = term
            .free_indices()
            .iter()
            .map(|n| self.resolve(&Index::Name(n.clone()), scope))
            .collect::<Result<Vec<_>, _>>()?;
        let key = (kind, term, free);
        if let Some(&id) = self.reductions.get(&key) {
            return Ok(id);
        }
        let var = self.new_var(&s.index, &s.lo, &s.hi);
        let mut inner = scope.to_vec();
        inner.push((s.index.clone(), Ix::Var(var)));
        let exponent = match &*s.body {
            Expr::Call(Func::Exp, f) => Some(&**f),
            _ => None,
        };
        let (op, body) = match (kind, exponent, shift) {
            (1, Some(f), _) => (Reduce::Max, self.build(f, &inner, depth + 1)?),
            (2, Some(f), Some(m)) => {
                let f = self.build(f, &inner, depth + 1)?;
                let centred = self.push(Op::Sub(f, m))?;
                (Reduce::Sum, self.push(Op::Call(Func::Exp, centred))?)
            }
            _ => (Reduce::Sum, self.build(&s.body, &inner, depth + 1)?),
        };
        let id = self.push(Op::Reduce(op, var, body))?;
        if let Some(slot) = self.var_reduction.get_mut(var) {
            *slot = Some(id);
        }
        self.reductions.insert(key, id);
        Ok(id)
    }

    /// Place every node in the innermost loop it depends on, order the blocks, assign slots.
    fn finish(mut self, root: NodeId, axes: Vec<VarId>) -> Result<Kernel, KernelError> {
        let nvars = self.vars.len();
        // Block of a variable's loop is v + 1; its depth orders variables along a chain.
        let mut var_depth = vec![0usize; nvars];
        let block_depth = |b: usize, var_depth: &[usize]| {
            if b == 0 {
                0
            } else {
                var_depth.get(b - 1).copied().unwrap_or(0)
            }
        };
        let deepest = |deps: &[VarId], var_depth: &[usize]| {
            deps.iter()
                .copied()
                .max_by_key(|&v| (var_depth.get(v).copied().unwrap_or(0), v))
                .map_or(0, |v| v + 1)
        };
        for (t, &v) in axes.iter().enumerate() {
            if let Some(d) = var_depth.get_mut(v) {
                *d = t + 1;
            }
        }
        let mut parent = vec![0usize; nvars];
        for (t, &v) in axes.iter().enumerate() {
            if let (Some(p), true) = (parent.get_mut(v), t > 0) {
                *p = axes[t - 1] + 1;
            }
        }
        // Reduction variables are numbered after every variable their reduction depends on.
        for v in 0..nvars {
            if let Some(Some(r)) = self.var_reduction.get(v) {
                let b = deepest(&self.deps[*r], &var_depth);
                parent[v] = b;
                var_depth[v] = block_depth(b, &var_depth) + 1;
            }
        }
        let place: Vec<usize> = self.deps.iter().map(|d| deepest(d, &var_depth)).collect();
        let mut blocks = vec![Block::default(); nvars + 1];
        for (id, op) in self.ops.iter().enumerate() {
            let item = if matches!(op, Op::Reduce(..)) {
                Item::Reduce(id)
            } else {
                Item::Node(id)
            };
            blocks[place[id]].items.push(item);
        }
        let mut outer = 0;
        for &v in &axes {
            blocks[outer].items.push(Item::Output(v));
            outer = v + 1;
        }
        blocks[outer].items.push(Item::Store);
        for b in blocks.iter_mut() {
            b.leaf = !b
                .items
                .iter()
                .any(|i| matches!(i, Item::Reduce(_) | Item::Output(_)));
        }
        let mut vslots = 0;
        let slot = place
            .iter()
            .enumerate()
            .map(|(id, &b)| {
                if b == 0 || !blocks[b].leaf {
                    return Slot::Scalar;
                }
                let var = Ix::Var(b - 1);
                match &self.ops[id] {
                    // Contiguous when the loop variable is the last index and only there.
                    Op::Load(_, ix)
                        if ix.last() == Some(&var)
                            && ix.iter().filter(|i| **i == var).count() == 1 =>
                    {
                        Slot::View
                    }
                    _ if id == root => Slot::Output,
                    _ => {
                        vslots += 1;
                        Slot::Vector(vslots - 1)
                    }
                }
            })
            .collect();
        // Sizes and inputs in name order, whatever order they were met in.
        let size_order = sorted_positions(&self.sizes);
        let names: Vec<String> = self.inputs.iter().map(|i| i.name.clone()).collect();
        let input_order = sorted_positions(&names);
        let remap = |l: Lim| match l {
            Lim::Size(k) => Lim::Size(size_order[k]),
            other => other,
        };
        for op in self.ops.iter_mut() {
            match op {
                Op::Size(k) => *k = size_order[*k],
                Op::Scalar(k) | Op::Load(k, _) => *k = input_order[*k],
                _ => {}
            }
        }
        for var in self.vars.iter_mut() {
            var.lo = remap(var.lo);
            var.hi = remap(var.hi);
        }
        let mut inputs = self.inputs.clone();
        for (k, input) in self.inputs.into_iter().enumerate() {
            inputs[input_order[k]] = KernelInput {
                shape: input
                    .shape
                    .into_iter()
                    .map(|r| r.into_iter().map(|(l, h)| (remap(l), remap(h))).collect())
                    .collect(),
                ..input
            };
        }
        let mut sizes = self.sizes.clone();
        sizes.sort();
        let max_arity = inputs.iter().map(KernelInput::arity).max().unwrap_or(0);
        Ok(Kernel {
            ops: self.ops,
            vars: self.vars,
            inputs,
            sizes,
            axes,
            root,
            blocks,
            slot,
            vslots,
            max_arity,
        })
    }
}

/// For each name, its position in sorted order.
fn sorted_positions(names: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut position = vec![0; names.len()];
    for (p, &k) in order.iter().enumerate() {
        position[k] = p;
    }
    position
}

/// `sum_k(exp(f_k))`, if that is what `e` is.
fn exp_sum(e: &Expr) -> Option<&Sum> {
    match e {
        Expr::Sum(s) if matches!(&*s.body, Expr::Call(Func::Exp, _)) => Some(s),
        _ => None,
    }
}

/// A definition's index names bound to the given kernel indices.
fn definition_scope(def: &Definition, args: &[Ix]) -> Result<Vec<(String, Ix)>, KernelError> {
    let params: Vec<&Index> = match &def.name {
        Expr::Idx(_, ix) => ix.iter().collect(),
        _ => Vec::new(),
    };
    if params.len() != args.len() {
        return Err(compile_error(format!(
            "`{}` is used with {} indices, defined with {}",
            def.name,
            args.len(),
            params.len()
        )));
    }
    params
        .into_iter()
        .zip(args)
        .map(|(p, a)| match p {
            Index::Name(n) => Ok((n.clone(), *a)),
            Index::Int(_) => Err(compile_error(format!(
                "the definition of `{}` has a number as an index",
                def.name
            ))),
        })
        .collect()
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
        self.s.regs.get(id).copied().unwrap_or(f64::NAN)
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
        let dims = self
            .s
            .layout
            .get(input * self.k.max_arity..)
            .ok_or_else(missing)?;
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
        if b == 0 {
            for item in &block.items {
                self.item(*item)?;
            }
            return Ok(());
        }
        let v = b - 1;
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
                if let Some(r) = self.s.regs.get_mut(id) {
                    *r = x;
                }
            }
            Item::Reduce(id) => {
                let Some(Op::Reduce(kind, var, _)) = self.k.ops.get(id) else {
                    return Err(missing());
                };
                if let Some(r) = self.s.regs.get_mut(id) {
                    *r = if *kind == Reduce::Sum {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    };
                }
                self.block(var + 1, Some(id))?;
            }
            Item::Output(v) => self.block(v + 1, None)?,
            Item::Store => self.store(None)?,
        }
        Ok(())
    }

    fn scalar_node(&self, id: NodeId) -> Result<f64, KernelError> {
        let r = |a: &NodeId| self.reg(*a);
        Ok(match self.k.ops.get(id).ok_or_else(missing)? {
            Op::Const(bits) => f64::from_bits(*bits),
            Op::Scalar(p) => self
                .inputs
                .get(*p)
                .and_then(|x| x.first())
                .copied()
                .ok_or_else(missing)?,
            Op::Size(k) => self.sizes.get(*k).copied().unwrap_or(0) as f64,
            Op::Load(p, ix) => {
                let (offset, _) = self.offset(*p, ix, None)?;
                self.inputs
                    .get(*p)
                    .and_then(|x| x.get(offset))
                    .copied()
                    .ok_or_else(missing)?
            }
            Op::Delta(a, b) => f64::from(u8::from(self.ix(*a) == self.ix(*b))),
            Op::Add(a, b) => r(a) + r(b),
            Op::Sub(a, b) => r(a) - r(b),
            Op::Mul(a, b) => r(a) * r(b),
            Op::Div(a, b) => r(a) / r(b),
            Op::Neg(a) => -r(a),
            Op::Powi(a, n) => r(a).powi(*n),
            Op::Pow(a, b) => r(a).powf(r(b)),
            Op::Call(f, a) => apply_ieee(*f, r(a)),
            Op::Reduce(..) => r(&id),
        })
    }

    /// A node's values for the current chunk of `var` (`len` values), or its one value.
    fn src(&self, id: NodeId, var: VarId, len: usize) -> Result<Src<'_>, KernelError> {
        match self.k.slot.get(id) {
            Some(Slot::Vector(s)) => Ok(Src::Vector(self.s.vecs.get(*s).ok_or_else(missing)?)),
            Some(Slot::View) => {
                let Some(Op::Load(p, ix)) = self.k.ops.get(id) else {
                    return Err(missing());
                };
                let (offset, _) = self.offset(*p, ix, Some(var))?;
                let data = self
                    .inputs
                    .get(*p)
                    .and_then(|d| d.get(offset..offset + len));
                Ok(Src::Vector(data.ok_or_else(missing)?))
            }
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
            Op::Add(a, b) => binary(
                out,
                self.src(*a, var, len)?,
                self.src(*b, var, len)?,
                |x, y| x + y,
            ),
            Op::Sub(a, b) => binary(
                out,
                self.src(*a, var, len)?,
                self.src(*b, var, len)?,
                |x, y| x - y,
            ),
            Op::Mul(a, b) => binary(
                out,
                self.src(*a, var, len)?,
                self.src(*b, var, len)?,
                |x, y| x * y,
            ),
            Op::Div(a, b) => match self.src(*b, var, len)? {
                // One division per chunk instead of one per element.
                Src::Scalar(y) => binary(
                    out,
                    self.src(*a, var, len)?,
                    Src::Scalar(1.0 / y),
                    |x, r| x * r,
                ),
                b => binary(out, self.src(*a, var, len)?, b, |x, y| x / y),
            },
            Op::Pow(a, b) => binary(
                out,
                self.src(*a, var, len)?,
                self.src(*b, var, len)?,
                f64::powf,
            ),
            Op::Neg(a) => unary(out, self.src(*a, var, len)?, |x| -x),
            Op::Powi(a, n) => unary(out, self.src(*a, var, len)?, |x| x.powi(*n)),
            Op::Call(f, a) => {
                let a = self.src(*a, var, len)?;
                match f {
                    Func::Exp => unary(out, a, f64::exp),
                    Func::Log => unary(out, a, f64::ln),
                    Func::Tanh => unary(out, a, f64::tanh),
                    other => unary(out, a, |x| apply_ieee(*other, x)),
                }
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
        let r = match (
            out.get_mut(offset..offset + len),
            self.src(self.k.root, var, len),
        ) {
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
    use crate::numeric::eval::eval_f64;
    use crate::numeric::point::Point;
    use crate::numeric::reference;
    use crate::numeric::sample::Sampler;
    use crate::syntax::{parse_expr, parse_file};

    fn seed() -> Context {
        parse_file(crate::numeric::SOFTMAX_CE).unwrap().context
    }

    fn e(s: &str) -> Expr {
        parse_expr(s).unwrap_or_else(|d| panic!("{d}"))
    }

    fn axes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// The kernel's inputs taken from a sample point, row-major over their extents.
    fn inputs_from(kernel: &Kernel, sizes: &[i64], point: &Point) -> Vec<Vec<f64>> {
        kernel
            .inputs
            .iter()
            .map(|input| {
                let extents: Vec<(i64, i64)> = input
                    .shape
                    .iter()
                    .map(|r| extent(r, sizes).unwrap())
                    .collect();
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
            let sizes: Vec<i64> = kernel
                .sizes
                .iter()
                .map(|s| point.range(s).unwrap_or(n))
                .collect();
            let data = inputs_from(&kernel, &sizes, &point);
            let slices: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
            let mut out = vec![0.0; kernel.output_len(&sizes).unwrap()];
            kernel
                .eval(&sizes, &slices, &mut out, &mut kernel.scratch())
                .unwrap();
            let mut q = point.clone();
            let extents: Vec<(i64, i64)> = kernel
                .axes
                .iter()
                .map(|&v| {
                    let var = &kernel.vars[v];
                    (
                        lim_value(var.lo, &sizes).unwrap(),
                        lim_value(var.hi, &sizes).unwrap(),
                    )
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
    fn sums_that_do_not_depend_on_the_output_index_are_hoisted() {
        let kernel = Kernel::compile(&seed(), &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let output_block = &kernel.blocks[kernel.axes[0] + 1];
        assert!(output_block.leaf, "the per-j loop contains no inner loop");
        let top_reductions = kernel.blocks[0]
            .items
            .iter()
            .filter(|i| matches!(i, Item::Reduce(_)))
            .count();
        assert_eq!(
            top_reductions, 2,
            "the max and the shifted sum run once per call"
        );
        assert_eq!(kernel.sizes(), ["n"]);
        let names: Vec<&str> = kernel.inputs().iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["y", "z"]);
    }

    #[test]
    fn stable_at_extreme_logits() {
        let ctx = seed();
        let n = 1000;
        let z: Vec<f64> = (0..n)
            .map(|k| {
                if k % 2 == 0 {
                    1000.0 - k as f64
                } else {
                    -1000.0 + k as f64
                }
            })
            .collect();
        let y: Vec<f64> = (0..n).map(|_| 1.0 / n as f64).collect();
        let grad = Kernel::compile(&ctx, &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let got = grad
            .eval_named(&[("n", n as i64)], &[("z", &z), ("y", &y)])
            .unwrap();
        let mut want = vec![0.0; n];
        reference::softmax_cross_entropy_grad(&z, &y, &mut want);
        assert!(got.iter().all(|v| v.is_finite()));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        let loss = Kernel::compile(&ctx, &e("l"), &[]).unwrap();
        let got = loss
            .eval_named(&[("n", n as i64)], &[("z", &z), ("y", &y)])
            .unwrap();
        let want = reference::softmax_cross_entropy(&z, &y);
        assert!(
            (got[0] - want).abs() <= 1e-12 * want.abs(),
            "{} vs {want}",
            got[0]
        );
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
    fn bad_arguments_and_uncompilable_terms_are_errors() {
        let ctx = seed();
        let kernel = Kernel::compile(&ctx, &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let z = [0.0; 3];
        let mut out = [0.0; 3];
        let short = [0.0; 2];
        assert!(kernel
            .eval(&[3], &[&z, &short], &mut out, &mut kernel.scratch())
            .is_err());
        assert!(kernel
            .eval(&[3], &[&z], &mut out, &mut kernel.scratch())
            .is_err());
        assert!(kernel
            .eval(&[4], &[&z, &z], &mut out, &mut kernel.scratch())
            .is_err());
        assert!(kernel
            .eval(&[3], &[&z, &z], &mut out, &mut kernel.scratch())
            .is_ok());
        let other = Kernel::compile(&ctx, &e("l"), &[]).unwrap();
        assert!(kernel
            .eval(&[3], &[&z, &z], &mut out, &mut other.scratch())
            .is_err());
        assert!(Kernel::compile(&ctx, &e("a_j"), &[]).is_err());
        assert!(Kernel::compile(&ctx, &e("D(a_j, z_j)"), &axes(&["j"])).is_err());
        assert!(Kernel::compile(&ctx, &e("z_j + z"), &axes(&["j"])).is_err());
    }
}

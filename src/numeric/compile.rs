//! Compiles a derived expression into a flat, allocation-free evaluator over slices
//! (run by `run.rs`).
//!
//! The expression, with definitions instantiated (once per distinct index tuple), becomes
//! a DAG of shared nodes. Each node is placed in the innermost loop among the indices it
//! depends on, so a sum that does not depend on the output index (`sum_k(exp(z_k))` inside
//! `a_j`) runs once per call, not once per j. Softmax-shaped terms get the max shift:
//! `exp(e)/sum_k(exp(f_k))` becomes `exp(e - m)/sum_k(exp(f_k - m))` and
//! `log(sum_k(exp(f_k)))` becomes `m + log(sum_k(exp(f_k - m)))` with `m = max_k f_k`,
//! so logits of ±1000 neither overflow nor produce NaN.

use super::eval::{find_definition, EvalError};
use super::sample::index_range;
use super::stack::guarded;
use crate::expr::{Bound, Context, Definition, Expr, Func, Index, Sum, MAX_DEPTH};
use crate::terms::ExprExt;
use crate::terms::RatExt;
use num_traits::ToPrimitive;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Elements per chunk in vector mode: large enough to amortise dispatch, small enough for L1.
pub(crate) const CHUNK: usize = 256;
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
    /// The value the node had, in the loop of its reduction, when that loop's variable
    /// equalled this variable: read from the table the reduction filled (see `reuse`).
    Kept(NodeId, VarId),
}

/// A loop bound: a constant or a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Lim {
    Int(i64),
    /// The size of that position plus an offset (`n-1`).
    Size(usize, i64),
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
    /// Run a table block (by block number): fill its tables over the block's variable.
    Table(usize),
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
    /// Hoisted out of the loops of the output indices it does not depend on: kept in this
    /// table (see [`Table`]) for every value of its variable, and read from there.
    Table(usize),
}

/// The values of one hoisted node for every value of one loop variable: `a_j` in the
/// Jacobian `a_i*(delta(i,j) - a_j)` is computed for each j once, not once per (i, j).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub var: VarId,
    pub node: NodeId,
}

/// The top level (block 0), the body of the loop over one variable (block v + 1), or a
/// table block (after those): a loop over an output index that fills tables.
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    /// The loop variable; `None` for the top level.
    pub var: Option<VarId>,
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
    pub(crate) tables: Vec<Table>,
    /// A table the emitted function keeps in its output instead of `work_` (see
    /// [`Layout::table_in_output`]); the in-process kernel keeps every table in its scratch.
    pub(crate) table_in_output: Option<usize>,
    /// How many chunk buffers the leaf loops need.
    pub(crate) vslots: usize,
    /// Most index positions of any input (the stride of the input layout table).
    pub(crate) max_arity: usize,
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
                return Err(compile_error(format!("the output index `{name}` is given twice")));
            }
            let (lo, hi) = index_range(ctx, name);
            let v = b.new_var(name, &lo, &hi);
            axis_vars.push(v);
            scope.push((name.clone(), Ix::Var(v)));
            if ctx.fixed_labels().contains_key(name) {
                b.labels.push((name.clone(), Ix::Var(v)));
            }
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
        self.axes.iter().filter_map(|&v| self.vars.get(v)).map(|v| v.name.as_str()).collect()
    }

    /// Whether the emitted function needs scratch space: a table not kept in the output.
    pub(crate) fn emits_work(&self) -> bool {
        self.tables.len() > usize::from(self.table_in_output.is_some())
    }

    /// The passes a call makes: for each innermost loop, how many of the loops around it
    /// (itself included) run over a size (`n`, `m-1`), not a fixed range. What
    /// `emit_rust` compares to choose between the components and a matrix form.
    pub(crate) fn passes(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.passes_in(0, 0, &mut out);
        out
    }

    fn passes_in(&self, b: usize, degree: usize, out: &mut Vec<usize>) {
        let Some(block) = self.blocks.get(b) else { return };
        let mut inner = false;
        for item in &block.items {
            let (v, body) = match *item {
                Item::Reduce(id) => match self.ops.get(id) {
                    Some(Op::Reduce(_, v, _)) => (*v, v + 1),
                    _ => continue,
                },
                Item::Output(v) => (v, v + 1),
                Item::Table(t) => match self.blocks.get(t).and_then(|tb| tb.var) {
                    Some(v) => (v, t),
                    None => continue,
                },
                Item::Node(_) | Item::Store => continue,
            };
            inner = true;
            let sized = self.vars.get(v).is_some_and(|var| {
                matches!(var.lo, Lim::Size(..)) || matches!(var.hi, Lim::Size(..))
            });
            self.passes_in(body, degree + usize::from(sized), out);
        }
        if !inner && b != 0 {
            out.push(degree);
        }
    }
}

/// Whether passes `a` cost less than passes `b`: fewer at the highest degree where they
/// differ in number (a pass over n² entries outweighs any number over n).
pub(crate) fn fewer_passes(a: &[usize], b: &[usize]) -> bool {
    let top = a.iter().chain(b).copied().max().unwrap_or(0);
    for d in (0..=top).rev() {
        let (x, y) = (a.iter().filter(|&&p| p == d).count(), b.iter().filter(|&&p| p == d).count());
        if x != y {
            return x < y;
        }
    }
    false
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
    /// The key in `reductions` of each reduction node, to find its instance at other indices.
    reduction_keys: HashMap<NodeId, (u8, Expr, Vec<Ix>)>,
    vars: Vec<LoopVar>,
    /// Reduction node of each loop variable (none for output indices).
    var_reduction: Vec<Option<NodeId>>,
    inputs: Vec<KernelInput>,
    size_names: BTreeSet<String>,
    sizes: Vec<String>,
    /// Output indices that are fixed labels: definitions' bodies see them too.
    labels: Vec<(String, Ix)>,
}

impl<'c> Builder<'c> {
    fn new(ctx: &'c Context, expr: &Expr) -> Builder<'c> {
        let mut size_names = BTreeSet::new();
        let mut note = |b: &Bound| {
            if let Some(s) = b.size() {
                size_names.insert(s.to_string());
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
        Builder {
            ctx,
            ops: Vec::new(),
            deps: Vec::new(),
            memo: HashMap::new(),
            reductions: HashMap::new(),
            instances: HashMap::new(),
            reduction_keys: HashMap::new(),
            vars: Vec::new(),
            var_reduction: Vec::new(),
            inputs: Vec::new(),
            size_names,
            sizes: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// A definition's index names bound to `args`, and the fixed labels.
    fn definition_scope(
        &self,
        def: &Definition,
        args: &[Ix],
    ) -> Result<Vec<(String, Ix)>, KernelError> {
        let mut scope = definition_scope(def, args)?;
        scope.extend(self.labels.iter().cloned());
        Ok(scope)
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
            Bound::Sym(s, k) => Lim::Size(self.size(s), *k),
        }
    }

    fn new_var(&mut self, name: &str, lo: &Bound, hi: &Bound) -> VarId {
        // An undeclared output index runs over 1..n, which makes `n` a size.
        for b in [lo, hi] {
            if let Some(s) = b.size() {
                self.size_names.insert(s.to_string());
            }
        }
        let (lo, hi) = (self.lim(lo), self.lim(hi));
        self.vars.push(LoopVar { name: name.to_string(), lo, hi });
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
            // Made by `reuse` in place of a node, whose dependencies it keeps.
            Op::Kept(_, v) => {
                deps.insert(*v);
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
                let ix =
                    ix.iter().map(|i| self.resolve(i, scope)).collect::<Result<Vec<_>, _>>()?;
                if let Some((k, def)) = find_definition(self.ctx, name) {
                    return self.instance(k, def, ix, d);
                }
                let k = self.input(name, &ix)?;
                self.push(Op::Load(k, ix))
            }
            Expr::Add(xs) => {
                let mut acc: Option<NodeId> = None;
                for x in xs.iter() {
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
            Expr::D(_, _) => {
                Err(compile_error("a derivative D(…) remains; compile the derived result"))
            }
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
        let scope = self.definition_scope(def, &key.1)?;
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
        let Some(p) = factors.iter().position(|f| matches!(f, Expr::Call(Func::Exp, _))) else {
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
                    Expr::Idx(_, ix) => {
                        ix.iter().map(|i| self.resolve(i, scope)).collect::<Result<Vec<_>, _>>()?
                    }
                    _ => Vec::new(),
                };
                let inner = self.definition_scope(def, &args)?;
                self.stable_log(&def.body, &inner, depth + 1)
            }
            _ => Ok(None),
        }
    }

    /// The max `m = max_k f_k` and the shifted sum `sum_k(exp(f_k - m))` of `sum_k(exp(f_k))`.
    fn shifted_sum(
        &mut self,
        sum: &Arc<Sum>,
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
        s: &Arc<Sum>,
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
        self.reduction_keys.insert(id, key.clone());
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
        for (t, &v) in axes.iter().enumerate() {
            if let Some(d) = var_depth.get_mut(v) {
                *d = t + 1;
            }
        }
        // Reduction variables are numbered after every variable their reduction depends on.
        for v in 0..nvars {
            if let Some(Some(r)) = self.var_reduction.get(v) {
                let b = deepest(&self.deps[*r], &var_depth);
                var_depth[v] = block_depth(b, &var_depth) + 1;
            }
        }
        let place: Vec<usize> = self.deps.iter().map(|d| deepest(d, &var_depth)).collect();
        self.hoist_reciprocals(&place)?;
        let place: Vec<usize> = self.deps.iter().map(|d| deepest(d, &var_depth)).collect();
        let (live, layout) = self.reuse(root, &place, &var_depth, &axes);
        let (blocks, block_of, hoisted) = (&layout.blocks, &layout.block_of, &layout.hoisted);
        // A hoisted node used outside its own table block is kept in a table, and so is a
        // node a later loop reads back (`Kept`), in the loop of its reduction.
        let mut tables = Vec::new();
        let mut table_of = vec![None; self.ops.len()];
        for (id, op) in self.ops.iter().enumerate().filter(|(id, _)| live[*id]) {
            if let Op::Kept(x, _) = op {
                let var = blocks.get(block_of[*x]).and_then(|b| b.var);
                if let (Some(var), None) = (var, table_of[*x]) {
                    table_of[*x] = Some(tables.len());
                    tables.push(Table { var, node: *x });
                }
            }
            for child in children(op) {
                let Some(h) = hoisted.get(child).copied().flatten() else {
                    continue;
                };
                if block_of[id] != block_of[child] && table_of[child].is_none() {
                    table_of[child] = Some(tables.len());
                    tables.push(Table { var: h.1, node: child });
                }
            }
        }
        if let Some(Some(h)) = hoisted.get(root).copied() {
            if table_of[root].is_none() {
                table_of[root] = Some(tables.len());
                tables.push(Table { var: h.1, node: root });
            }
        }
        let table_in_output = layout.table_in_output(&self.ops, &self.vars, &tables, &axes, &live);
        let mut vslots = 0;
        let slot = (0..self.ops.len())
            .map(|id| {
                if let Some(t) = table_of[id] {
                    return Slot::Table(t);
                }
                let b = block_of[id];
                let Some(v) = blocks[b].var.filter(|_| blocks[b].leaf && live[id]) else {
                    return Slot::Scalar;
                };
                let var = Ix::Var(v);
                match &self.ops[id] {
                    // Contiguous when the loop variable is the last index and only there.
                    Op::Load(_, ix)
                        if ix.last() == Some(&var)
                            && ix.iter().filter(|i| **i == var).count() == 1 =>
                    {
                        Slot::View
                    }
                    _ if id == root => Slot::Output,
                    Op::Kept(_, w) if *w == v => Slot::View,
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
            Lim::Size(k, offset) => Lim::Size(size_order[k], offset),
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
            blocks: layout.blocks,
            ops: self.ops,
            vars: self.vars,
            inputs,
            sizes,
            axes,
            root,
            slot,
            tables,
            table_in_output,
            vslots,
            max_arity,
        })
    }
}

/// Where each live node runs: the blocks with their items in order, the block of each node,
/// and where each hoisted node went (see [`Builder::hoist`]).
struct Layout {
    blocks: Vec<Block>,
    block_of: Vec<usize>,
    hoisted: Vec<Option<(usize, VarId)>>,
}

impl Layout {
    /// For each block, the block and the item that run it (none for the top level).
    fn entries(&self, ops: &[Op]) -> Vec<Option<(usize, usize)>> {
        let mut entry = vec![None; self.blocks.len()];
        for (host, block) in self.blocks.iter().enumerate() {
            for (q, item) in block.items.iter().enumerate() {
                let inner = match *item {
                    Item::Reduce(id) => match ops.get(id) {
                        Some(Op::Reduce(_, v, _)) => v + 1,
                        _ => continue,
                    },
                    Item::Output(v) => v + 1,
                    Item::Table(t) => t,
                    Item::Node(_) | Item::Store => continue,
                };
                if let Some(e) = entry.get_mut(inner) {
                    *e = Some((host, q));
                }
            }
        }
        entry
    }

    /// Whether block `b` is block `outer` or runs inside it.
    fn inside(entry: &[Option<(usize, usize)>], b: usize, outer: usize) -> bool {
        let mut at = b;
        for _ in 0..=entry.len() {
            if at == outer {
                return true;
            }
            match entry.get(at).copied().flatten() {
                Some((parent, _)) => at = parent,
                None => return false,
            }
        }
        false
    }

    /// A table of values read back (`Kept`) that can live in a vector output instead of
    /// scratch space, as the tight hand loop keeps its exponentials: over the output's
    /// range, and read inside the output loop only at the index being written, before it
    /// is written (anywhere else only before the output loop starts).
    fn table_in_output(
        &self,
        ops: &[Op],
        vars: &[LoopVar],
        tables: &[Table],
        axes: &[VarId],
        live: &[bool],
    ) -> Option<usize> {
        let [j] = axes else { return None };
        let range = |v: VarId| vars.get(v).map(|var| (var.lo, var.hi));
        let entry = self.entries(ops);
        let output_block = j + 1;
        tables.iter().position(|table| {
            let readers: Vec<(usize, VarId)> = ops
                .iter()
                .enumerate()
                .filter(|(y, _)| live.get(*y) == Some(&true))
                .filter_map(|(y, op)| match op {
                    Op::Kept(x, w) if *x == table.node => Some((y, *w)),
                    _ => None,
                })
                .collect();
            !readers.is_empty()
                && range(table.var) == range(*j)
                && !Self::inside(&entry, self.block_of[table.node], output_block)
                && readers.iter().all(|&(y, w)| {
                    let b = self.block_of[y];
                    (b == output_block && w == *j) || !Self::inside(&entry, b, output_block)
                })
        })
    }

    /// Whether block `b` runs after the loop block `after` has finished, in the same pass of
    /// the loops around both: `b` lies under an item of the block that runs `after`, and a
    /// later item than the one that runs it.
    fn runs_after(&self, ops: &[Op], b: usize, after: usize) -> bool {
        let entry = self.entries(ops);
        let Some(Some((host, p))) = entry.get(after).copied() else {
            return false;
        };
        let mut at = b;
        for _ in 0..self.blocks.len() {
            match entry.get(at).copied().flatten() {
                Some((parent, q)) if parent == host => return q > p,
                Some((parent, _)) => at = parent,
                None => return false,
            }
        }
        false
    }
}

/// The loop a node runs in: that of the dependency nested deepest (block 0 for none).
fn deepest(deps: &[VarId], var_depth: &[usize]) -> usize {
    deps.iter()
        .copied()
        .max_by_key(|&v| (var_depth.get(v).copied().unwrap_or(0), v))
        .map_or(0, |v| v + 1)
}

impl Builder<'_> {
    /// `x / s` inside a loop that `s` does not depend on becomes `x * r` with `r = 1/s`
    /// computed once outside it: one division per call instead of one per element.
    fn hoist_reciprocals(&mut self, place: &[usize]) -> Result<(), KernelError> {
        for id in 0..self.ops.len() {
            let Op::Div(a, b) = self.ops[id] else { continue };
            let (Some(&at), Some(&pa), Some(&pb)) = (place.get(id), place.get(a), place.get(b))
            else {
                continue;
            };
            if at == 0 || pa != at || pb == at {
                continue;
            }
            let one = self.constant(1.0)?;
            let reciprocal = self.push(Op::Div(one, b))?;
            let product = Op::Mul(a, reciprocal);
            self.memo.entry(product.clone()).or_insert(id);
            self.ops[id] = product;
        }
        Ok(())
    }

    /// Values computed in a reduction's loop and needed again by a later loop over the same
    /// range are read back instead of computed again: a node `y` that is a node `x` of the
    /// loop over `k` with `k` renamed to `v` (`exp(z_j - m)` and the `exp(z_k - m)` of the
    /// shifted sum) becomes `Kept(x, v)`, and `x` is kept in a table over `k` as the loop
    /// computes it. Only work worth a table is read back (as in [`Builder::hoist`]), and
    /// only where the reduction's loop has finished before `y` runs; the others are
    /// computed as before. Returns the live nodes and their layout.
    fn reuse(
        &mut self,
        root: NodeId,
        place: &[usize],
        var_depth: &[usize],
        axes: &[VarId],
    ) -> (Vec<bool>, Layout) {
        let candidates = self.reuse_candidates(place);
        let original: HashMap<NodeId, Op> =
            candidates.iter().map(|&(y, _, _)| (y, self.ops[y].clone())).collect();
        let mut refused: BTreeSet<(NodeId, NodeId)> = BTreeSet::new();
        loop {
            for (&y, op) in &original {
                self.ops[y] = op.clone();
            }
            // Each node read back from the first source found for it; a source is computed,
            // never itself read back.
            let mut chosen: Vec<(NodeId, NodeId, VarId)> = Vec::new();
            let mut targets = BTreeSet::new();
            let mut sources = BTreeSet::new();
            for &(y, x, v) in &candidates {
                if refused.contains(&(y, x)) || targets.contains(&y) || sources.contains(&y) {
                    continue;
                }
                if targets.contains(&x) {
                    continue;
                }
                targets.insert(y);
                sources.insert(x);
                chosen.push((y, x, v));
            }
            for &(y, x, v) in &chosen {
                self.ops[y] = Op::Kept(x, v);
            }
            let live = self.live(root);
            let layout = self.layout(&live, var_depth, axes);
            let mut fine = true;
            for &(y, x, _) in &chosen {
                let after = layout.block_of.get(x).copied().unwrap_or(0);
                let at = layout.block_of.get(y).copied().unwrap_or(0);
                if live.get(y) == Some(&true) && !layout.runs_after(&self.ops, at, after) {
                    refused.insert((y, x));
                    fine = false;
                }
            }
            if fine {
                return (live, layout);
            }
        }
    }

    /// `(y, x, v)`: node `y` is node `x`, computed in the loop of a reduction over `k`,
    /// with `k` renamed to `v` (a variable over the same range).
    fn reuse_candidates(&self, place: &[usize]) -> Vec<(NodeId, NodeId, VarId)> {
        let mut out = Vec::new();
        for (k, reduction) in self.var_reduction.iter().enumerate() {
            if reduction.is_none() {
                continue;
            }
            let Some(range) = self.vars.get(k).map(|var| (var.lo, var.hi)) else { continue };
            let others: Vec<VarId> = (0..self.vars.len())
                .filter(|&v| v != k && self.vars.get(v).map(|var| (var.lo, var.hi)) == Some(range))
                .collect();
            for x in 0..self.ops.len() {
                if place.get(x) != Some(&(k + 1)) || !worth_a_table(&self.ops[x]) {
                    continue;
                }
                for &v in &others {
                    if self.deps[x].contains(&v) {
                        continue;
                    }
                    if let Some(y) = self.renamed(x, k, v, &mut HashMap::new()) {
                        if y != x {
                            out.push((y, x, v));
                        }
                    }
                }
            }
        }
        out
    }

    /// The node that is `id` with the loop variable `k` renamed to `v`, if the kernel has it.
    fn renamed(
        &self,
        id: NodeId,
        k: VarId,
        v: VarId,
        seen: &mut HashMap<NodeId, Option<NodeId>>,
    ) -> Option<NodeId> {
        if !self.deps.get(id)?.contains(&k) {
            return Some(id);
        }
        if let Some(&r) = seen.get(&id) {
            return r;
        }
        let ix = |i: &Ix| if *i == Ix::Var(k) { Ix::Var(v) } else { *i };
        let op = match self.ops.get(id)? {
            Op::Load(p, ixs) => Some(Op::Load(*p, ixs.iter().map(ix).collect())),
            Op::Delta(a, b) => Some(Op::Delta(ix(a), ix(b))),
            Op::Add(a, b) => self.renamed2(*a, *b, k, v, seen).map(|(a, b)| Op::Add(a, b)),
            Op::Sub(a, b) => self.renamed2(*a, *b, k, v, seen).map(|(a, b)| Op::Sub(a, b)),
            Op::Mul(a, b) => self.renamed2(*a, *b, k, v, seen).map(|(a, b)| Op::Mul(a, b)),
            Op::Div(a, b) => self.renamed2(*a, *b, k, v, seen).map(|(a, b)| Op::Div(a, b)),
            Op::Pow(a, b) => self.renamed2(*a, *b, k, v, seen).map(|(a, b)| Op::Pow(a, b)),
            Op::Neg(a) => self.renamed(*a, k, v, seen).map(Op::Neg),
            Op::Powi(a, n) => self.renamed(*a, k, v, seen).map(|a| Op::Powi(a, *n)),
            Op::Call(f, a) => self.renamed(*a, k, v, seen).map(|a| Op::Call(*f, a)),
            // A reduction inside, by its term and its free indices renamed.
            Op::Reduce(..) => {
                let (kind, term, free) = self.reduction_keys.get(&id)?;
                let free: Vec<Ix> = free.iter().map(ix).collect();
                let r = self.reductions.get(&(*kind, term.clone(), free)).copied();
                seen.insert(id, r);
                return r;
            }
            Op::Const(_) | Op::Scalar(_) | Op::Size(_) | Op::Kept(..) => None,
        };
        let r = op.and_then(|op| self.memo.get(&op).copied());
        seen.insert(id, r);
        r
    }

    fn renamed2(
        &self,
        a: NodeId,
        b: NodeId,
        k: VarId,
        v: VarId,
        seen: &mut HashMap<NodeId, Option<NodeId>>,
    ) -> Option<(NodeId, NodeId)> {
        Some((self.renamed(a, k, v, seen)?, self.renamed(b, k, v, seen)?))
    }

    /// The nodes, each after those it reads, in the order of their numbers wherever that
    /// allows (a reciprocal made after building comes before the nodes that now use it).
    fn order(&self) -> Vec<NodeId> {
        let n = self.ops.len();
        let mut waiting = vec![0usize; n];
        let mut users: Vec<Vec<NodeId>> = vec![Vec::new(); n];
        for (id, op) in self.ops.iter().enumerate() {
            for child in children(op) {
                if let Some(u) = users.get_mut(child) {
                    u.push(id);
                    waiting[id] += 1;
                }
            }
        }
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<NodeId>> =
            (0..n).filter(|&id| waiting[id] == 0).map(std::cmp::Reverse).collect();
        let mut out = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(id)) = ready.pop() {
            out.push(id);
            for &u in &users[id] {
                waiting[u] -= 1;
                if waiting[u] == 0 {
                    ready.push(std::cmp::Reverse(u));
                }
            }
        }
        out
    }

    /// The nodes the root needs, through the tables `Kept` nodes read.
    fn live(&self, root: NodeId) -> Vec<bool> {
        let mut live = vec![false; self.ops.len()];
        let mut todo = vec![root];
        while let Some(id) = todo.pop() {
            match live.get_mut(id) {
                Some(l) if !*l => *l = true,
                _ => continue,
            }
            match self.ops.get(id) {
                Some(Op::Kept(x, _)) => todo.push(*x),
                Some(op) => todo.extend(children(op)),
                None => {}
            }
        }
        live
    }

    /// Place every live node in its block (hoisted where [`Builder::hoist`] says), with
    /// table blocks, the output loops and the store.
    fn layout(&self, live: &[bool], var_depth: &[usize], axes: &[VarId]) -> Layout {
        let nvars = self.vars.len();
        let place: Vec<usize> = self.deps.iter().map(|d| deepest(d, var_depth)).collect();
        let hoisted = self.hoist(&place, axes, live);
        let mut blocks: Vec<Block> =
            (0..=nvars).map(|b| Block { var: b.checked_sub(1), ..Block::default() }).collect();
        // One table block per (variable, host block), in the order the hosts run them.
        let mut table_blocks: Vec<((usize, VarId), usize)> = Vec::new();
        for h in hoisted.iter().flatten() {
            if !table_blocks.iter().any(|(key, _)| key == h) {
                table_blocks.push((*h, blocks.len()));
                blocks.push(Block { var: Some(h.1), ..Block::default() });
            }
        }
        table_blocks.sort_by_key(|((host, v), _)| (*host, var_depth[*v], *v));
        let block_of: Vec<usize> = (0..self.ops.len())
            .map(|id| match hoisted[id] {
                Some(h) => {
                    table_blocks.iter().find(|(key, _)| *key == h).map_or(place[id], |(_, b)| *b)
                }
                None => place[id],
            })
            .collect();
        for id in self.order().into_iter().filter(|id| live[*id]) {
            let item = if matches!(self.ops[id], Op::Reduce(..)) {
                Item::Reduce(id)
            } else {
                Item::Node(id)
            };
            blocks[block_of[id]].items.push(item);
        }
        for ((host, _), b) in &table_blocks {
            blocks[*host].items.push(Item::Table(*b));
        }
        let mut outer = 0;
        for &v in axes {
            blocks[outer].items.push(Item::Output(v));
            outer = v + 1;
        }
        blocks[outer].items.push(Item::Store);
        for b in blocks.iter_mut() {
            b.leaf = b.var.is_some()
                && !b
                    .items
                    .iter()
                    .any(|i| matches!(i, Item::Reduce(_) | Item::Output(_) | Item::Table(_)));
        }
        Layout { blocks, block_of, hoisted }
    }

    /// Where each node is hoisted to, if anywhere: `(host block, variable)`. A node placed
    /// in the loop of output index v that does not depend on some output index outside v
    /// (`a_j` inside the loops over i and j) runs in a loop over v of its own, in the
    /// innermost loop of the output indices it does depend on (the host), and is kept in a
    /// table. Only work worth a table is hoisted: calls, divisions, powers and reductions,
    /// with what they are computed from in the same loop.
    fn hoist(&self, place: &[usize], axes: &[VarId], live: &[bool]) -> Vec<Option<(usize, VarId)>> {
        let position = |v: VarId| axes.iter().position(|&a| a == v);
        let candidate = |id: usize| -> Option<(usize, VarId)> {
            let v = place.get(id)?.checked_sub(1)?;
            let t = position(v)?;
            let deps = self.deps.get(id)?;
            // Depends on the output indices before position s only (besides v).
            let s = deps
                .iter()
                .filter(|&&d| d != v)
                .map(|&d| position(d).map(|p| p + 1))
                .try_fold(0, |acc, p| p.map(|p| acc.max(p)))?;
            (s < t).then(|| (if s == 0 { 0 } else { axes[s - 1] + 1 }, v))
        };
        let mut hoisted = vec![None; self.ops.len()];
        let mut wanted = vec![false; self.ops.len()];
        for id in (0..self.ops.len()).rev() {
            if !(worth_a_table(&self.ops[id]) || wanted[id]) || !live[id] {
                continue;
            }
            // What a hoisted reduction's body reads in the loop it leaves must leave with it.
            let in_reduction =
                place.get(id).and_then(|b| b.checked_sub(1)).is_some_and(|v| position(v).is_none());
            let h = candidate(id);
            hoisted[id] = h;
            if h.is_some() || (wanted[id] && in_reduction) {
                for child in children(&self.ops[id]) {
                    if let Some(w) = wanted.get_mut(child) {
                        *w = true;
                    }
                }
            }
        }
        hoisted
    }
}

/// Work worth keeping in a table rather than computing again: calls, divisions, powers
/// and reductions.
fn worth_a_table(op: &Op) -> bool {
    matches!(op, Op::Call(..) | Op::Div(..) | Op::Pow(..) | Op::Reduce(..))
}

/// The nodes an op reads (a reduction reads its body).
pub(crate) fn children(op: &Op) -> Vec<NodeId> {
    match op {
        Op::Const(_) | Op::Scalar(_) | Op::Size(_) | Op::Load(..) | Op::Delta(..) => Vec::new(),
        Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Pow(a, b) => {
            vec![*a, *b]
        }
        Op::Neg(a) | Op::Powi(a, _) | Op::Call(_, a) => vec![*a],
        Op::Reduce(_, _, body) => vec![*body],
        // Read from a table filled earlier: nothing computed in the reader's loop.
        Op::Kept(..) => Vec::new(),
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
fn exp_sum(e: &Expr) -> Option<&Arc<Sum>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::fixtures::{names as axes, softmax_ce as seed, term as e};

    #[test]
    fn sums_that_do_not_depend_on_the_output_index_are_hoisted() {
        let kernel = Kernel::compile(&seed(), &e("a_j - y_j"), &axes(&["j"])).unwrap();
        let output_block = &kernel.blocks[kernel.axes[0] + 1];
        assert!(output_block.leaf, "the per-j loop contains no inner loop");
        let top_reductions =
            kernel.blocks[0].items.iter().filter(|i| matches!(i, Item::Reduce(_))).count();
        assert_eq!(top_reductions, 2, "the max and the shifted sum run once per call");
        assert_eq!(kernel.sizes(), ["n"]);
        let names: Vec<&str> = kernel.inputs().iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["y", "z"]);
    }

    #[test]
    fn uncompilable_terms_are_errors() {
        let ctx = seed();
        assert!(Kernel::compile(&ctx, &e("a_j"), &[]).is_err());
        assert!(Kernel::compile(&ctx, &e("D(a_j, z_j)"), &axes(&["j"])).is_err());
        assert!(Kernel::compile(&ctx, &e("z_j + z"), &axes(&["j"])).is_err());
        assert!(Kernel::compile(&ctx, &e("z_j"), &axes(&["j", "j"])).is_err());
    }

    #[test]
    fn n_is_a_size_only_where_it_bounds_an_index() {
        let scalar = Kernel::compile(&Context::default(), &e("x^n"), &[]).unwrap();
        assert!(scalar.sizes().is_empty());
        assert_eq!(scalar.inputs().len(), 2);
        let vector = Kernel::compile(&Context::default(), &e("z_q/n"), &axes(&["q"])).unwrap();
        assert_eq!(vector.sizes(), ["n"]);
        let got = vector.eval_named(&[("n", 2)], &[("z", &[1.0, 3.0])]).unwrap();
        assert_eq!(got, [0.5, 1.5]);
    }
}

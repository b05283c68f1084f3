//! A sample point: values of symbols and indexed components, concrete values of
//! free indices, and concrete sizes for range symbols such as `n`.

use crate::expr::Rat;
use crate::terms::RatExt;
use num_rational::BigRational;
use num_traits::Zero;
use std::cmp::Ordering;
use std::fmt::Write;
use std::sync::OnceLock;

/// A concrete variable: a symbol (`x`, no indices) or one component (`z` at `[3]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variable {
    pub name: String,
    pub indices: Vec<i64>,
}

impl Variable {
    pub fn scalar(name: &str) -> Variable {
        Variable { name: name.to_string(), indices: Vec::new() }
    }

    pub fn component(name: &str, indices: &[i64]) -> Variable {
        Variable { name: name.to_string(), indices: indices.to_vec() }
    }
}

impl std::fmt::Display for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        match self.indices.as_slice() {
            [] => Ok(()),
            [i] => write!(f, "_{i}"),
            ix => {
                let parts: Vec<String> = ix.iter().map(i64::to_string).collect();
                write!(f, "_{{{}}}", parts.join(","))
            }
        }
    }
}

/// A value both as a float and exactly; they agree up to rounding.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub float: f64,
    /// Set at once for exact values; for a float, its binary value, made when first asked
    /// for (most points are only ever evaluated in floating point).
    exact: OnceLock<Rat>,
}

impl Value {
    pub fn from_exact(exact: Rat) -> Value {
        let float = exact.to_f64().unwrap_or(f64::NAN);
        Value { float, exact: OnceLock::from(exact) }
    }

    /// A float value; its exact form is the float's own binary value.
    pub fn from_float(float: f64) -> Value {
        Value { float, exact: OnceLock::new() }
    }

    pub fn exact(&self) -> &Rat {
        self.exact.get_or_init(|| {
            BigRational::from_float(self.float).map(Rat::from_big).unwrap_or_else(Rat::zero)
        })
    }
}

/// Keys ordered as `Ord` orders them, compared with a borrowed form without calling
/// `memcmp`: names are short, and a byte loop is far cheaper than the call.
trait SortKey<Q: ?Sized> {
    fn cmp_with(&self, q: &Q) -> Ordering;
}

impl SortKey<str> for String {
    fn cmp_with(&self, q: &str) -> Ordering {
        // Lexicographic by bytes, as `str`'s own order.
        self.bytes().cmp(q.bytes())
    }
}

impl SortKey<[i64]> for Vec<i64> {
    fn cmp_with(&self, q: &[i64]) -> Ordering {
        self.as_slice().cmp(q)
    }
}

/// A map kept as a vector sorted by key: a point binds few names and components, which
/// evaluation looks up constantly, and a binary search over a vector is much cheaper than
/// a search of a `BTreeMap`, with the same order when iterated.
#[derive(Clone, Debug, PartialEq)]
struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K, V> SortedMap<K, V> {
    fn position<Q: ?Sized>(&self, q: &Q) -> Result<usize, usize>
    where
        K: SortKey<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.cmp_with(q))
    }

    fn get<Q: ?Sized>(&self, q: &Q) -> Option<&V>
    where
        K: SortKey<Q>,
    {
        self.position(q).ok().map(|at| &self.entries[at].1)
    }

    /// The value for `q`, first inserting `(key(), make())` when there is none.
    fn get_or_insert<Q: ?Sized>(
        &mut self,
        q: &Q,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> &mut V
    where
        K: SortKey<Q>,
    {
        let at = match self.position(q) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key(), make()));
                at
            }
        };
        &mut self.entries[at].1
    }

    /// Insert or replace; `key` is made only when it is new.
    fn insert<Q: ?Sized>(&mut self, q: &Q, key: impl FnOnce() -> K, value: V)
    where
        K: SortKey<Q>,
    {
        match self.position(q) {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => self.entries.insert(at, (key(), value)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// Everything an evaluation needs besides the context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    ranges: SortedMap<String, i64>,
    indices: SortedMap<String, i64>,
    values: SortedMap<String, SortedMap<Vec<i64>, Value>>,
    /// Some value was solved for in floating point (a hypothesis such as
    /// `sum_i(w_i^2) = 1`): exact arithmetic would see its rounding as a difference.
    inexact: bool,
}

impl Point {
    pub fn new() -> Point {
        Point::default()
    }

    /// Bind a range symbol such as `n` to a concrete size.
    pub fn set_range(&mut self, name: &str, size: i64) {
        self.ranges.insert(name, || name.to_string(), size);
    }

    pub fn range(&self, name: &str) -> Option<i64> {
        self.ranges.get(name).copied()
    }

    /// Bind a free index such as `j` to a concrete integer.
    pub fn set_index(&mut self, name: &str, value: i64) {
        self.indices.insert(name, || name.to_string(), value);
    }

    pub fn index(&self, name: &str) -> Option<i64> {
        self.indices.get(name).copied()
    }

    pub fn set(&mut self, var: &Variable, value: f64) {
        self.set_value(var, Value::from_float(value));
    }

    pub fn set_exact(&mut self, var: &Variable, value: Rat) {
        self.set_value(var, Value::from_exact(value));
    }

    pub fn set_value(&mut self, var: &Variable, value: Value) {
        self.set_component_value(&var.name, &var.indices, value);
    }

    /// [`Point::set_value`] for the component `name` at `indices`.
    pub fn set_component_value(&mut self, name: &str, indices: &[i64], value: Value) {
        self.values.get_or_insert(name, || name.to_string(), SortedMap::default).insert(
            indices,
            || indices.to_vec(),
            value,
        );
    }

    pub fn set_scalar(&mut self, name: &str, value: f64) {
        self.set(&Variable::scalar(name), value);
    }

    pub fn set_component(&mut self, name: &str, indices: &[i64], value: f64) {
        self.set(&Variable::component(name, indices), value);
    }

    /// Marks the point as holding a value solved for in floating point.
    pub fn mark_inexact(&mut self) {
        self.inexact = true;
    }

    /// Whether terms must be compared in floating point here, never exactly.
    pub fn is_inexact(&self) -> bool {
        self.inexact
    }

    /// The components bound for `name`, in index order.
    pub fn components(&self, name: &str) -> Vec<(Vec<i64>, Value)> {
        self.values
            .get(name)
            .map(|c| c.iter().map(|(ix, v)| (ix.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub fn value(&self, name: &str, indices: &[i64]) -> Option<&Value> {
        self.values.get(name)?.get(indices)
    }

    pub fn get(&self, var: &Variable) -> Option<f64> {
        self.value(&var.name, &var.indices).map(|v| v.float)
    }

    /// The components `name_lo, …, name_hi` of a vector, if all are bound.
    pub fn vector(&self, name: &str, lo: i64, hi: i64) -> Option<Vec<f64>> {
        (lo..=hi).map(|k| self.value(name, &[k]).map(|v| v.float)).collect()
    }

    /// A one-line description for error messages, in a fixed order.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, size) in self.ranges.iter() {
            parts.push(format!("{name} = {size}"));
        }
        for (name, value) in self.indices.iter() {
            parts.push(format!("{name} = {value}"));
        }
        for (name, components) in self.values.iter() {
            let mut text = String::new();
            for (k, (ix, value)) in components.iter().enumerate() {
                if k > 0 {
                    text.push_str(", ");
                }
                let var = Variable { name: name.clone(), indices: ix.clone() };
                let _ = write!(text, "{var} = {}", value.float);
            }
            parts.push(text);
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_in_a_fixed_order() {
        let mut p = Point::new();
        p.set_component("z", &[2], 0.5);
        p.set_component("z", &[1], -1.0);
        p.set_scalar("x", 2.0);
        p.set_range("n", 2);
        p.set_index("j", 1);
        assert_eq!(p.describe(), "n = 2; j = 1; x = 2; z_1 = -1, z_2 = 0.5");
        assert_eq!(p.vector("z", 1, 2), Some(vec![-1.0, 0.5]));
        assert_eq!(p.vector("z", 1, 3), None);
        let w = Variable::component("W", &[1, 2]);
        assert_eq!(w.to_string(), "W_{1,2}");
    }
}

//! A sample point: values of symbols and indexed components, concrete values of
//! free indices, and concrete sizes for range symbols such as `n`.

use crate::expr::Rat;
use num_traits::Zero;
use std::collections::BTreeMap;
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
        Variable {
            name: name.to_string(),
            indices: Vec::new(),
        }
    }

    pub fn component(name: &str, indices: &[i64]) -> Variable {
        Variable {
            name: name.to_string(),
            indices: indices.to_vec(),
        }
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
        let float = super::number::rat_to_f64(&exact).unwrap_or(f64::NAN);
        Value {
            float,
            exact: OnceLock::from(exact),
        }
    }

    /// A float value; its exact form is the float's own binary value.
    pub fn from_float(float: f64) -> Value {
        Value {
            float,
            exact: OnceLock::new(),
        }
    }

    pub fn exact(&self) -> &Rat {
        self.exact
            .get_or_init(|| Rat::from_float(self.float).unwrap_or_else(Rat::zero))
    }
}

/// Everything an evaluation needs besides the context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    ranges: BTreeMap<String, i64>,
    indices: BTreeMap<String, i64>,
    values: BTreeMap<String, BTreeMap<Vec<i64>, Value>>,
}

impl Point {
    pub fn new() -> Point {
        Point::default()
    }

    /// Bind a range symbol such as `n` to a concrete size.
    pub fn set_range(&mut self, name: &str, size: i64) {
        self.ranges.insert(name.to_string(), size);
    }

    pub fn range(&self, name: &str) -> Option<i64> {
        self.ranges.get(name).copied()
    }

    /// Bind a free index such as `j` to a concrete integer.
    pub fn set_index(&mut self, name: &str, value: i64) {
        self.indices.insert(name.to_string(), value);
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
        self.values
            .entry(var.name.clone())
            .or_default()
            .insert(var.indices.clone(), value);
    }

    pub fn set_scalar(&mut self, name: &str, value: f64) {
        self.set(&Variable::scalar(name), value);
    }

    pub fn set_component(&mut self, name: &str, indices: &[i64], value: f64) {
        self.set(&Variable::component(name, indices), value);
    }

    pub fn value(&self, name: &str, indices: &[i64]) -> Option<&Value> {
        self.values.get(name)?.get(indices)
    }

    pub fn get(&self, var: &Variable) -> Option<f64> {
        self.value(&var.name, &var.indices).map(|v| v.float)
    }

    /// The components `name_lo, …, name_hi` of a vector, if all are bound.
    pub fn vector(&self, name: &str, lo: i64, hi: i64) -> Option<Vec<f64>> {
        (lo..=hi)
            .map(|k| self.value(name, &[k]).map(|v| v.float))
            .collect()
    }

    /// A one-line description for error messages, in a fixed order.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, size) in &self.ranges {
            parts.push(format!("{name} = {size}"));
        }
        for (name, value) in &self.indices {
            parts.push(format!("{name} = {value}"));
        }
        for (name, components) in &self.values {
            let mut text = String::new();
            for (k, (ix, value)) in components.iter().enumerate() {
                if k > 0 {
                    text.push_str(", ");
                }
                let var = Variable {
                    name: name.clone(),
                    indices: ix.clone(),
                };
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

//! Forward-mode dual numbers `v + d·ε` (ε² = 0): the value of a term and its derivative
//! with respect to one seeded variable, in one pass.

/// A value and its derivative with respect to the seeded variable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual {
    pub value: f64,
    pub derivative: f64,
}

impl Dual {
    pub fn constant(value: f64) -> Dual {
        Dual { value, derivative: 0.0 }
    }

    /// The seeded variable itself: derivative one.
    pub fn variable(value: f64) -> Dual {
        Dual { value, derivative: 1.0 }
    }
}

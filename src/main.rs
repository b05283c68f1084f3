//! The `deriv` command; all behaviour lives in [`deriv::cli`].

fn main() {
    std::process::exit(deriv::cli::main());
}

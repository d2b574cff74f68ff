//! `hostbench`: see `scripts/bench`.
fn main() {}

//! roster: declarative user provisioning. Load the desired users from YAML, compare
//! them with the recorded state, plan, and create what is missing through vendor
//! drivers, recording every outcome.
//!
//! The pipeline is `desired::load` -> `state::Store::load` -> (`refresh`: the
//! vendors' lists merged in) -> `plan::diff` ->
//! `plan::render` -> `apply::execute`; each step is usable without the CLI.

pub mod apply;
pub mod desired;
pub mod model;
pub mod ops;
pub mod plan;
pub mod refresh;
pub mod secret;
pub mod state;
pub mod vendors;

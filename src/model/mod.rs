//! The shared vocabulary, at the bottom of the dependency order: who a user is
//! (the identity of an email, look-alikes), a person's details and password
//! choice, `${VAR}` templates and the environment they are read from, how
//! blocks merge, content fingerprints and numbers. It depends on nothing in
//! roster but `secret`; every other module may use it.

mod budget;
pub mod de;
mod env;
mod fingerprint;
mod identity;
mod merge;
mod numbers;
mod person;
mod suggest;

pub use budget::SharedBudget;
pub use env::{process_env, Env, Template};
pub use fingerprint::{fingerprint, hex};
pub use identity::{
    check_identity, escaped, folds_into_ascii, identity, is_identity, lookalike, may_imitate,
    skeleton,
};
pub use merge::Merge;
pub use numbers::{check_percent, group};
pub use person::{Password, Profile};
pub use suggest::did_you_mean;

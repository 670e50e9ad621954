//! Test support for roster, used by its integration tests, examples and
//! benchmark.
//!
//! A stateful mock of the vendors' APIs, at their real paths under one prefix per
//! kind (`/acton/api/1/user`, ...). It keeps the users it created, answers
//! duplicates as the vendor would, checks credentials, and remembers every request
//! so tests can ask what the vendor received. `cargo run --example mock_vendors`
//! serves the same thing for demos.
//!
//! Every answer is written in one go and TCP_NODELAY is set, so timings measure
//! roster, not Nagle's algorithm.
//!
//! [`pg`] starts a throwaway PostgreSQL server for the tests of the database
//! state; [`leaks`] finds a secret hidden in what roster wrote.

mod activeplatform;
mod acton;
mod config;
mod docusign;
mod faults;
mod formsonfire;
pub mod leaks;
pub mod pg;
mod scim;
mod server;
mod state;
mod wire;

pub use config::{Config, Fault};
pub use server::{serve, Server};
pub use state::{Data, Mock, Received};

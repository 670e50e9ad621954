//! Integration tests: the real `roster` binary in a temp dir, against the mock
//! vendor server over 127.0.0.1. One binary, one module per feature.

#[path = "../support/mod.rs"]
mod support;

mod apply;
mod bad_input;
mod crash;
mod gitops;
mod input_caps;
mod journal;
mod limits;
mod loader_fuzz;
mod lock;
mod plan;
mod redaction;
mod scim_interop;
mod validate;
mod vendors;

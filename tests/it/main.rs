//! Integration tests: the real `roster` binary in a temp dir, against the mock
//! vendor server over 127.0.0.1. One binary, one module per feature.

#[path = "../support/mod.rs"]
mod support;

mod adoption;
mod apply;
mod async_store;
mod attack;
mod attack2;
mod backend_contract;
mod bad_input;
mod commands;
mod crash;
mod gitops;
mod hostile_http;
mod hostile_lists;
mod input_caps;
mod journal;
mod limits;
mod list_bounds;
mod loader_fuzz;
mod lock;
mod lock_wait;
mod mass_gone;
mod mock_crate;
mod output;
mod pinned;
mod pipeline;
mod plan;
mod postgres;
mod readme;
mod redaction;
mod refresh;
mod review;
mod safety;
mod scim_interop;
mod second_read;
mod state_errors;
mod trust_output;
mod validate;
mod vendor_context;
mod vendor_fidelity;
mod vendors;

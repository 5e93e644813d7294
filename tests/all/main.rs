//! Integration tests: one binary (one link of the heavy dependency tree).

mod support;

mod check;
mod cli;
mod config_errors;
mod documents;
mod drift;
mod git;
mod github;
mod publish;
mod server;
mod snapshot;
mod train;

//! Integration tests: one binary (one link of the heavy dependency tree).

mod support;

mod backtest;
mod check;
mod cli;
mod config_errors;
mod documents;
mod drift;
mod git;
mod github;
mod publish;
mod snapshot;
mod train;

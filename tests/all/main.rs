//! Integration tests: one binary (one link of the heavy dependency tree).

mod support;

mod action;
mod action_golden;
mod backtest;
mod check;
mod cli;
mod config_errors;
mod documents;
mod drift;
mod faults;
mod git;
mod github;
mod init;
mod promote;
mod publish;
mod server;
mod snapshot;
mod train;

//! retrain: continuous training of ML models as a pull-request workflow.
//!
//! The pipeline is `config -> snapshot -> checks -> decision -> candidate ->
//! evaluation -> proposal -> publish` (see DESIGN.md). Each stage is a module;
//! [`pipeline`] wires them together. Nothing in the library prints: commands return
//! typed results that the binary renders as text or JSON.

// Errors carry file, position, key and hint for the user; they travel on cold paths
// only, so their size does not matter and boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod action;
pub mod backtest;
pub mod checks;
pub mod cli;
pub mod command;
pub mod config;
pub mod data;
pub mod decision;
pub mod error;
pub mod evaluate;
pub mod forge;
pub mod init;
pub mod outcome;
pub mod pipeline;
pub mod predict;
pub mod progress;
pub mod proposal;
pub mod registry;
pub mod report;
pub mod reproducible;
pub mod server;
pub mod snapshot;
pub mod train;

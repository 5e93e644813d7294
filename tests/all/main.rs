//! Integration tests: one binary (one link of the heavy dependency tree).

mod support;

mod action;
mod action_golden;
mod azure;
mod backtest;
mod boosting;
mod check;
mod cli;
mod config_errors;
mod contract;
mod detectors;
mod documents;
mod drift;
mod estimate;
mod faults;
mod fuzz;
mod git;
mod github;
mod hostile_data;
mod https;
mod init;
mod layers;
mod onnx;
mod prediction;
mod promote;
mod publish;
mod serve_abuse;
mod server;
mod shadow;
mod snapshot;
mod sources;
mod train;

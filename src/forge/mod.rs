//! Side effects on git and GitHub. Everything before this module is a function of its
//! inputs; this is where branches are pushed and pull requests opened.

pub mod app;
pub mod bot;
pub mod git;
pub mod github;
pub mod promote;
pub mod proposal;
pub mod publish;

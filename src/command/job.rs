//! The webhook bot's jobs in a child process (`retrain job`, hidden): a [`Request`] as
//! JSON on stdin, a [`Reply`] as JSON on stdout. Nothing is read from stderr or from
//! files the child leaves behind.
//!
//! Why a process and not a call: a training job holds the data and the model in memory
//! (hundreds of MB for a million rows), and the allocator does not give all of it back;
//! a job that panics or is killed by the OOM killer takes only itself down, not the
//! queue; the guard against a data file truncated under a memory map
//! ([`crate::data::guard_truncated_files`]) ends the process on SIGBUS, which must not
//! be the server; and each job gets its own installation token in its environment.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{execute, Context, ErrorReply, Format, Request, Response};
use crate::error::{exit, Error};

/// What `retrain job` writes on stdout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Done {
        /// The command's `--output json`.
        output: Value,
        /// For `run`: the reply to post for each model (what `COMMENT.md` holds).
        #[serde(default)]
        comments: Vec<String>,
    },
    Failed(ErrorReply),
}

/// Runs the request read from stdin and writes the reply; the exit code is the
/// command's.
pub fn serve_stdio() -> i32 {
    let mut input = String::new();
    let reply = match std::io::stdin().read_to_string(&mut input) {
        Err(e) => failed(&Error::Io {
            context: "reading the request from stdin".into(),
            source: e,
        }),
        Ok(_) => match serde_json::from_str::<Request>(&input) {
            Err(e) => failed(&Error::Usage(format!(
                "the request on stdin is not a retrain request: {e}"
            ))),
            Ok(req) => run(&req),
        },
    };
    let code = match &reply {
        Reply::Done { .. } => exit::OK,
        Reply::Failed(e) => e.exit_code,
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{}",
        serde_json::to_string(&reply).expect("a reply serialises")
    );
    code
}

fn failed(e: &Error) -> Reply {
    Reply::Failed(ErrorReply::from(e))
}

/// Carries out the request (never under a runner: the child is not a workflow step).
pub fn run(req: &Request) -> Reply {
    let env = |name: &str| std::env::var(name).ok();
    let cx = Context {
        runner: None,
        env: &env,
        comments: true,
    };
    let mut response = match execute(req, &cx) {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let comments = match &mut response {
        Response::Run { comments, .. } => std::mem::take(comments),
        _ => Vec::new(),
    };
    let text = response.render(Format::Json);
    match serde_json::from_str(&text) {
        Ok(output) => Reply::Done { output, comments },
        Err(e) => failed(&Error::Usage(format!(
            "`retrain {}` printed no JSON: {e}",
            req.command.name()
        ))),
    }
}

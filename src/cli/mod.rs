//! The `certpin` command-line tool. Every answer it gives comes from the
//! library's own code paths (`Pin`, `Policy`, `verify`), so that what the
//! tool says about a certificate or a policy is what an application linked
//! against certpin will do.
//!
//! Built only with the `cli` feature: the C library never carries clap or rustls.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod certificate;
mod check;
mod clock;
mod fetch;
mod input;
mod inspect;
mod lint;
mod pin;
mod policy_file;
mod report;
mod rule;
mod update;

/// Exit status: success (`PIN_OK`, a clean policy).
pub const EXIT_OK: u8 = 0;
/// Exit status: the chain is rejected (`check`), the policy has warnings
/// (`lint`), or the suggested rule does not accept the fetched chain (`fetch --rule`).
pub const EXIT_REJECTED: u8 = 1;
/// Exit status: the policy cannot be loaded (for `update check`: the update
/// would not be applied).
pub const EXIT_POLICY: u8 = 2;
/// Exit status: an input file cannot be read or holds no certificate or key,
/// or an output file cannot be written.
pub const EXIT_INPUT: u8 = 3;
/// Exit status: `fetch` could not complete a TLS handshake (name resolution,
/// refused connection, time-out, TLS failure).
pub const EXIT_NETWORK: u8 = 4;
/// Exit status: bad usage (unknown option, missing argument, malformed value).
pub const EXIT_USAGE: u8 = 64;

const EXIT_CODES: &str = "\
Exit status:
  0   success: PIN_OK, a clean policy, a completed command
  1   the chain is rejected (check); the policy has warnings (lint);
      the suggested rule does not accept the fetched chain (fetch --rule)
  2   the policy cannot be loaded (PIN_ERR_POLICY_*); update check: the
      update would not be applied (PIN_ERR_UPDATE_*, PIN_ERR_POLICY_*)
  3   an input file cannot be read or holds no certificate or key;
      an output file cannot be written
  4   fetch: no TLS handshake (unresolved name, refused, time-out, TLS error)
  64  bad usage";

#[derive(Parser)]
#[command(
    name = "certpin",
    version,
    about = "Compute, inspect and test TLS certificate and public-key pins with certpin's own verifier",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Pin(pin::PinArgs),
    Inspect(inspect::InspectArgs),
    Check(check::CheckArgs),
    Fetch(fetch::FetchArgs),
    Lint(lint::LintArgs),
    Update(update::UpdateArgs),
}

/// What a subcommand prints: the text for stdout, notes for stderr, and the
/// exit status.
#[derive(Default)]
pub(crate) struct Output {
    pub out: String,
    pub err: String,
    pub code: u8,
}

/// A subcommand that could not do its job: one line for stderr and the exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(EXIT_INPUT, message)
    }
}

/// Runs the tool with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os()))
}

/// Runs the tool with `args` (the first one is the program name), writes to
/// stdout and stderr, and returns the exit status.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own status for usage errors is 2, which is ours for a policy error.
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let result = match cli.command {
        Command::Pin(args) => pin::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Fetch(args) => fetch::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Update(args) => update::run(&args),
    };
    match result {
        Ok(output) => {
            // A closed pipe (`certpin inspect x | head`) is not worth a panic.
            let _ = std::io::stdout().lock().write_all(output.out.as_bytes());
            let _ = std::io::stderr().lock().write_all(output.err.as_bytes());
            output.code
        }
        Err(failure) => {
            let _ = writeln!(std::io::stderr().lock(), "certpin: {}", failure.message);
            failure.code
        }
    }
}

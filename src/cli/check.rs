//! `certpin check`: one call of `certpin::verify`, exactly as an application
//! makes it, with the answer printed in full.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use super::{clock, input, policy_file, Failure, Output, EXIT_OK, EXIT_REJECTED};
use crate::host::Host;
use crate::result::flags;
use crate::PinResult;

/// Verify a chain for a host under a policy, as the library does, and print the verdict.
#[derive(Args)]
#[command(after_help = "\
CHAIN is PEM (CERTIFICATE blocks, leaf first) or concatenated DER, as the
server sent it. POLICY is a JSON policy, or a PEM file used as the quick
policy (every host, trust exactly these certificates).

Prints the result name and code, the PIN_FLAG_* flags, and the message
pin_last_error() would give. Exit status 0 on PIN_OK (also when only a
report-only rule objected: see the REPORT_ONLY flag), 1 on a rejected chain,
2 when the policy cannot be loaded, 64 for a malformed host or time.

Example:
  certpin check --policy pins.json --host api.example.com chain.pem
  certpin check --policy pins.json --host api.example.com --at 2030-01-01T00:00:00Z --report chain.der")]
pub(crate) struct CheckArgs {
    /// The policy file (JSON, or PEM for the quick policy).
    #[arg(long, value_name = "POLICY")]
    policy: PathBuf,
    /// The host the application connected to (ASCII; IPv6 without brackets).
    #[arg(long, value_name = "HOST")]
    host: String,
    /// Verify at this time instead of now (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// The server's port, as the application would pass it (used in reports).
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    port: u16,
    /// Also print the RFC 7469 violation report a rule would send.
    #[arg(long)]
    report: bool,
    /// The served chain (PEM or DER).
    #[arg(value_name = "CHAIN")]
    chain: PathBuf,
}

pub(crate) fn run(args: &CheckArgs) -> Result<Output, Failure> {
    let at = args
        .at
        .as_deref()
        .map(clock::parse_at)
        .transpose()
        .map_err(Failure::usage)?;
    Host::parse(&args.host)
        .map_err(|e| Failure::usage(format!("--host: {}: {e}", PinResult::PIN_ERR_INVALID_ARGUMENT)))?;
    let policy = policy_file::load(&args.policy).map_err(|e| policy_file::failure(&args.policy, &e))?;
    let chain = input::read_chain(&args.chain)?;

    let verdict = crate::verify(&policy, &chain, &args.host, at);
    let mut output = Output::default();
    let _ = writeln!(output.out, "result: {} ({})", verdict.result, verdict.result as u32);
    let _ = writeln!(output.out, "flags:  {}", flag_names(verdict.flags));
    if !verdict.detail.is_empty() {
        let _ = writeln!(output.out, "{}", verdict.message());
    }
    if args.report {
        super::report::append(&mut output, &verdict, args.port);
    }
    output.code = if verdict.ok() { EXIT_OK } else { EXIT_REJECTED };
    Ok(output)
}

/// `VOUCHED|NAME_VERIFIED (3)`, or `none (0)`.
pub(crate) fn flag_names(bits: u32) -> String {
    const NAMES: [(u32, &str); 5] = [
        (flags::VOUCHED, "VOUCHED"),
        (flags::NAME_VERIFIED, "NAME_VERIFIED"),
        (flags::UNLISTED, "UNLISTED"),
        (flags::REPORT_ONLY, "REPORT_ONLY"),
        (flags::CACHED, "CACHED"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        format!("none ({bits})")
    } else {
        format!("{} ({bits})", names.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_named() {
        assert_eq!(flag_names(0), "none (0)");
        assert_eq!(flag_names(3), "VOUCHED|NAME_VERIFIED (3)");
        assert_eq!(flag_names(8), "REPORT_ONLY (8)");
    }
}

//! `certpin inspect FILE`: every certificate of a file described, with its pin.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use super::input::{self, Item};
use super::{certificate, clock, Failure, Output};

/// Describe each certificate: subject, issuer, validity, names, key, CA flag, pin.
#[derive(Args)]
#[command(after_help = "\
FILE is PEM or DER, as for `certpin pin`.

Example:
  certpin inspect chain.pem
  certpin inspect --at 2030-01-01T00:00:00Z server.der")]
pub(crate) struct InspectArgs {
    /// Certificate, chain or public-key file (PEM or DER).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Judge validity at this time instead of now (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

pub(crate) fn run(args: &InspectArgs) -> Result<Output, Failure> {
    let now = clock::at_or_now(args.at.as_deref()).map_err(Failure::usage)?;
    let items = input::read_items(&args.file)?;
    let mut output = Output::default();
    describe_items(&mut output.out, &items, now);
    Ok(output)
}

/// Appends the description of every item, numbered.
pub(crate) fn describe_items(out: &mut String, items: &[Item], now: i64) {
    let total = items.len();
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        match item {
            Item::Certificate(der) => {
                let _ = writeln!(out, "Certificate {} of {total}", n + 1);
                certificate::describe(out, der, now);
            }
            Item::PublicKey(der) => {
                let _ = writeln!(out, "Public key {} of {total}", n + 1);
                certificate::describe_public_key(out, der);
            }
        }
    }
}

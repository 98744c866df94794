//! `certpin pin FILE...`: the SPKI pin of every certificate and public key,
//! in the three spellings a policy accepts.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use super::input::{self, Item};
use super::{certificate, Failure, Output, EXIT_INPUT};
use crate::pin::Pin;

/// Print the SPKI pin of each certificate or public key, in the three spellings.
#[derive(Args)]
#[command(after_help = "\
Each FILE is PEM (CERTIFICATE and PUBLIC KEY blocks, in any mix) or DER (one
certificate, a concatenated chain, or a bare SubjectPublicKeyInfo).

The pin is the base64 SHA-256 of the key's SubjectPublicKeyInfo, the same as
  openssl x509 -pubkey -noout -in cert.pem | openssl pkey -pubin -outform der \\
    | openssl dgst -sha256 -binary | base64

Example:
  certpin pin server.pem backup-key.pub.pem")]
pub(crate) struct PinArgs {
    /// Certificate, chain or public-key files (PEM or DER).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: &PinArgs) -> Result<Output, Failure> {
    let mut output = Output::default();
    for path in &args.files {
        let items = match input::read_items(path) {
            Ok(items) => items,
            Err(failure) => {
                // Go on with the other files; the status says something was wrong.
                let _ = writeln!(output.err, "certpin: {}", failure.message);
                output.code = EXIT_INPUT;
                continue;
            }
        };
        let several = items.len() > 1;
        for (n, item) in items.iter().enumerate() {
            let label = if several {
                format!("{} #{}", path.display(), n + 1)
            } else {
                path.display().to_string()
            };
            let (what, pin) = match item {
                Item::Certificate(der) => {
                    let cert = input::certificate(der).expect("parsed when read");
                    (certificate::subject(der), Pin::of_spki_der(cert.public_key().raw))
                }
                Item::PublicKey(der) => {
                    let spki = input::public_key(der).expect("parsed when read");
                    (
                        format!("public key, {}", certificate::key(&spki)),
                        Pin::of_spki_der(der),
                    )
                }
            };
            let b64 = pin.base64();
            let _ = writeln!(output.out, "{label}: {what}");
            let _ = writeln!(output.out, "  sha256/{b64}\n  sha256//{b64}\n  pin-sha256=\"{b64}\"");
        }
    }
    Ok(output)
}

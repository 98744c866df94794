//! `certpin update keygen | sign | check`: the signed policy updates of
//! `certpin::update`, made and checked with the library's own code, so that
//! `check` says exactly what `pin_policy_load_update` will say.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pki_types::pem::{PemObject, SectionKind};
use time::format_description::well_known::Rfc3339;

use super::{clock, input, Failure, Output, EXIT_OK, EXIT_POLICY};
use crate::update::{self, SigningKey, TrustedKey, MAX_UPDATE_BYTES};
use crate::{Policy, UnlistedHosts};

/// Sign policy updates offline and check them as applications will.
#[derive(Args)]
#[command(after_help = "\
A signed update replaces an application's built-in policy while it is valid:
signed by a key the application trusts, a sequence above the last one it
accepted, not expired. Keep the private key offline; ship its public key
(ed25519/...) in the application.

Example:
  certpin update keygen --out update-key.pem
  certpin update sign --key update-key.pem --sequence 2 --expires 2027-03-31 pins.json > update.json
  certpin update check --trusted-key ed25519/... --min-sequence 1 update.json")]
pub(crate) struct UpdateArgs {
    #[command(subcommand)]
    command: UpdateCommand,
}

#[derive(Subcommand)]
enum UpdateCommand {
    Keygen(KeygenArgs),
    Sign(SignArgs),
    Check(CheckArgs),
}

/// Make an Ed25519 key for signing updates; print its public key.
#[derive(Args)]
#[command(after_help = "\
Writes the private key as PKCS#8 PEM with mode 0600, never over an existing
file unless --force (then through a new file renamed over the old one).
Prints the public key, ed25519/<base64>, for the applications to trust.

Exit status: 0 written, 3 the file exists or cannot be written.

Example:
  certpin update keygen --out /media/offline/update-key.pem")]
struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long, value_name = "KEY")]
    out: PathBuf,
    /// Replace an existing KEY.
    #[arg(long)]
    force: bool,
}

/// Sign a policy as an update and write the update to stdout.
#[derive(Args)]
#[command(after_help = "\
POLICY is a JSON policy whose anchors are inline PEM text: an update carries
everything it trusts, so an anchor given as a file is refused. The policy
must load, as the library loads it, or nothing is signed.

--expires DATE is YYYY-MM-DD (valid through the end of that UTC day) or an
RFC 3339 instant; applications drop the update then and return to their
built-in policy. Sign a fresh update well before.

Exit status: 0 signed, 2 the policy does not load, 3 a key or the policy
cannot be read, 64 bad usage (sequence 0, an expiry already past).

Example:
  certpin update sign --key update-key.pem --sequence 7 --expires 2027-03-31 pins.json > update.json
  certpin update sign --key old.pem --key new.pem --sequence 8 --expires 2027-06-30T12:00:00Z pins.json > update.json")]
struct SignArgs {
    /// The private key (PKCS#8, PEM or DER); repeat to sign with several (key rotation).
    #[arg(long, value_name = "KEY", required = true)]
    key: Vec<PathBuf>,
    /// The update's sequence: above that of every update signed before.
    #[arg(long, value_name = "N")]
    sequence: u64,
    /// When the update expires (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    expires: String,
    /// Judge "already past" at this time instead of now (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// The policy to sign (JSON, inline anchors).
    #[arg(value_name = "POLICY")]
    policy: PathBuf,
}

/// Check an update as pin_policy_load_update does; print the verdict and the policy.
#[derive(Args)]
#[command(after_help = "\
Exit status: 0 the update would be applied, 2 it would not (the reason is
printed: PIN_ERR_UPDATE_SIGNATURE, _ROLLBACK, _EXPIRED or PIN_ERR_POLICY_*),
3 the file cannot be read, 64 bad usage (a malformed key or time).

Example:
  certpin update check --trusted-key ed25519/... --min-sequence 6 update.json")]
struct CheckArgs {
    /// A public key trusted to sign updates (ed25519/...); repeat for several.
    #[arg(long = "trusted-key", value_name = "K", required = true)]
    trusted_keys: Vec<String>,
    /// The sequence already accepted: the update's must be above it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_sequence: u64,
    /// Judge expiry at this time instead of now (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// The update file.
    #[arg(value_name = "UPDATE")]
    update: PathBuf,
}

pub(crate) fn run(args: &UpdateArgs) -> Result<Output, Failure> {
    match &args.command {
        UpdateCommand::Keygen(a) => keygen(a),
        UpdateCommand::Sign(a) => sign(a),
        UpdateCommand::Check(a) => check(a),
    }
}

fn keygen(args: &KeygenArgs) -> Result<Output, Failure> {
    let der = SigningKey::generate_pkcs8().map_err(Failure::input)?;
    let key = SigningKey::from_pkcs8(&der).map_err(Failure::input)?;
    let pem = pem("PRIVATE KEY", &der);
    write_private(&args.out, pem.as_bytes(), args.force)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;
    Ok(Output {
        out: format!("{}\n", key.public_key()),
        err: format!(
            "certpin: wrote the private key to {} (mode 0600): keep it offline; applications trust the public key above\n",
            args.out.display()
        ),
        code: EXIT_OK,
    })
}

fn sign(args: &SignArgs) -> Result<Output, Failure> {
    if args.sequence == 0 {
        return Err(Failure::usage("--sequence 0: sequences start at 1"));
    }
    let now = clock::at_or_now(args.at.as_deref()).map_err(Failure::usage)?;
    let (expires_text, expires) = parse_expires(&args.expires).map_err(Failure::usage)?;
    if expires <= now {
        return Err(Failure::usage(format!(
            "--expires {}: {expires_text} is already past; an update must expire in the future",
            args.expires
        )));
    }
    let keys = args
        .key
        .iter()
        .map(|path| read_signing_key(path))
        .collect::<Result<Vec<_>, _>>()?;
    let policy_json = input::read_bytes(&args.policy)?;
    let payload = update::payload(args.sequence, &expires_text, &policy_json)
        .map_err(|e| Failure::new(EXIT_POLICY, format!("{}: {e}", args.policy.display())))?;
    let file = update::sign(&payload, &keys.iter().collect::<Vec<_>>());
    // What is written is what an application will load.
    let trusted: Vec<TrustedKey> = keys.iter().map(SigningKey::public_key).collect();
    let policy = Policy::from_update(&file, &trusted, args.sequence - 1, Some(now))
        .map_err(|e| Failure::new(EXIT_POLICY, format!("the signed update does not load: {e}")))?;
    let mut err = format!(
        "certpin: signed sequence {}, expires {expires_text} ({}), {}, by {}\n",
        args.sequence,
        in_days(expires - now),
        plural(policy.rules().len(), "rule"),
        trusted.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    if expires - now > 400 * clock::DAY {
        err.push_str(
            "certpin: note: the update is valid for over a year; a shorter expiry returns the field to the built-in policy sooner if signing stops\n",
        );
    }
    Ok(Output {
        out: String::from_utf8(file).expect("an update is ASCII"),
        err,
        code: EXIT_OK,
    })
}

fn check(args: &CheckArgs) -> Result<Output, Failure> {
    let now = clock::at_or_now(args.at.as_deref()).map_err(Failure::usage)?;
    let trusted = args
        .trusted_keys
        .iter()
        .map(|k| TrustedKey::parse(k).map_err(|e| Failure::usage(format!("--trusted-key: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = read_update(&args.update)?;
    let policy = Policy::from_update(&bytes, &trusted, args.min_sequence, Some(now))
        .map_err(|e| Failure::new(EXIT_POLICY, format!("{}: {e}", args.update.display())))?;
    let info = policy.update().expect("a policy from an update knows it");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "update:    OK (PIN_OK): {} would be applied",
        args.update.display()
    );
    let _ = writeln!(
        out,
        "sequence:  {} (above --min-sequence {})",
        info.sequence, args.min_sequence
    );
    let _ = writeln!(
        out,
        "expires:   {} ({})",
        info.expires_text,
        in_days(info.expires - now)
    );
    for key in &info.signed_by {
        let _ = writeln!(out, "signed by: {key}");
    }
    summary(&mut out, &policy);
    Ok(Output {
        out,
        err: String::new(),
        code: EXIT_OK,
    })
}

/// The policy in a few lines: its settings, then a line per rule.
fn summary(out: &mut String, policy: &Policy) {
    let unlisted = match policy.unlisted_hosts() {
        UnlistedHosts::Reject => "reject",
        UnlistedHosts::Allow => "allow",
    };
    let _ = writeln!(
        out,
        "policy:    {}, unlisted_hosts \"{unlisted}\", cache_size {}",
        plural(policy.rules().len(), "rule"),
        policy.cache_size()
    );
    for rule in policy.rules() {
        let hosts: Vec<String> = rule.patterns().iter().map(ToString::to_string).collect();
        let mut parts = vec![plural(rule.anchors().len(), "anchor")];
        if rule.system_roots() {
            parts.push("system roots".into());
        }
        parts.push(plural(rule.pins().len(), "pin"));
        if let Some(expire) = rule.pins_expire() {
            parts.push(format!("pins_expire {}", expire.text));
        }
        if let Some(profile) = rule.profile() {
            parts.push(format!("profile {}", profile.name()));
        }
        if !rule.verify_hostname() {
            parts.push("verify_hostname false".into());
        }
        if rule.report_only() {
            parts.push("report-only".into());
        }
        if let Some(uri) = rule.report_uri() {
            parts.push(format!("reports to {uri}"));
        }
        let _ = writeln!(
            out,
            "  rule {} ({}): {}",
            rule.index(),
            hosts.join(", "),
            parts.join(", ")
        );
    }
}

/// `--expires`: `YYYY-MM-DD` (valid through the end of that UTC day, so
/// expired from the next midnight) or an RFC 3339 instant. Returns the
/// instant as the payload writes it, and as Unix seconds.
fn parse_expires(text: &str) -> Result<(String, i64), String> {
    use time::macros::format_description;
    if let Ok(date) = time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
        let end = date
            .next_day()
            .ok_or_else(|| format!("--expires {text}: no later day to expire at"))?
            .midnight()
            .assume_utc();
        let formatted = end.format(&Rfc3339).map_err(|e| format!("--expires {text}: {e}"))?;
        return Ok((formatted, end.unix_timestamp()));
    }
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => Ok((text.to_string(), t.unix_timestamp())),
        Err(_) => Err(format!(
            "--expires {text:?}: expected a date YYYY-MM-DD or an RFC 3339 instant (2027-03-31T12:00:00Z)"
        )),
    }
}

/// A private key file as keygen writes it (PEM), or PKCS#8 DER.
fn read_signing_key(path: &Path) -> Result<SigningKey, Failure> {
    let bytes = input::read_bytes(path)?;
    let der = if input::is_pem(&bytes) {
        let mut found = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
            match section {
                Ok((SectionKind::PrivateKey, der)) => {
                    found = Some(der);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Failure::input(format!(
                        "{}: a PEM block cannot be decoded ({e:?})",
                        path.display()
                    )))
                }
            }
        }
        found.ok_or_else(|| Failure::input(format!("{}: holds no PRIVATE KEY block", path.display())))?
    } else {
        bytes
    };
    SigningKey::from_pkcs8(&der).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// The update file, bounded a byte above what the loader accepts, so that
/// the loader itself says it is too large.
fn read_update(path: &Path) -> Result<Vec<u8>, Failure> {
    let file = File::open(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_UPDATE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// Writes a secret to `path`, readable by its owner only, never over an
/// existing file unless `force`; then through a fresh file renamed over it,
/// so that the old file's mode is never inherited and a failed write leaves
/// the old key whole.
fn write_private(path: &Path, contents: &[u8], force: bool) -> std::io::Result<()> {
    if !force {
        return match create_private(path) {
            Ok(file) => fill(file, path, contents),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(std::io::Error::new(
                e.kind(),
                "exists; a key file is never overwritten (pass --force to replace it)",
            )),
            Err(e) => Err(e),
        };
    }
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".new-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    fill(create_private(&temp)?, &temp, contents)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes and syncs a file just created; removes it when that fails.
fn fill(mut file: File, path: &Path, contents: &[u8]) -> std::io::Result<()> {
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .inspect_err(|_| {
            let _ = std::fs::remove_file(path);
        })
}

/// PEM text: `label`, base64 in lines of 64.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    let _ = writeln!(text, "-----END {label}-----");
    text
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `in 30 days`, or `past` for a moment gone.
fn in_days(seconds: i64) -> String {
    if seconds <= 0 {
        "past".into()
    } else {
        format!("in {}", clock::days(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_and_instants() {
        assert_eq!(
            parse_expires("2027-03-31"),
            Ok(("2027-04-01T00:00:00Z".to_string(), 1_806_537_600))
        );
        assert_eq!(
            parse_expires("2027-03-31T12:00:00+02:00").map(|(_, t)| t),
            Ok(1_806_487_200)
        );
        assert!(parse_expires("9999-12-31").is_err());
        assert!(parse_expires("31.03.2027").is_err());
    }

    #[test]
    fn private_keys_are_pem() {
        let text = pem("PRIVATE KEY", &[0u8; 61]);
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\nAAAA"), "{text}");
        assert!(text.ends_with("=\n-----END PRIVATE KEY-----\n"), "{text}");
        assert_eq!(in_days(0), "past");
        assert_eq!(in_days(clock::DAY), "in 1 day");
    }
}

//! `certpin lint POLICY`: loads a policy with the library's loader (its
//! errors are the loader's), then points out what loads but is likely to
//! hurt: no backup pin, expiring pins and anchors, gaps in wildcard
//! coverage, reports that pinning itself could block.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{clock, policy_file, Failure, Output, EXIT_OK, EXIT_POLICY, EXIT_REJECTED};
use crate::host::{Host, HostPattern};
use crate::{Policy, Rule, UnlistedHosts};

/// How close an expiry must be to be worth a warning.
const SOON: i64 = 30 * clock::DAY;

/// Validate a policy and warn about risky settings.
#[derive(Args)]
#[command(after_help = "\
Errors are the library's own (the policy does not load). Warnings: a rule with
a single pin (no backup key), pins_expire passed or within 30 days, an anchor
expired or expiring within 30 days, a CA anchor that may sign no server chain
(keyUsage without keyCertSign, EKU without serverAuth, unknown critical
extension), \"*.x\" while no rule covers x itself,
unlisted_hosts \"allow\", a report_uri whose host a pinned rule covers (its
reports could be blocked), verify_hostname false. Notes (exit status 0):
report_only rules.

Exit status: 0 clean (notes allowed), 1 warnings, 2 errors.

Example:
  certpin lint pins.json
  certpin lint --json --at 2030-01-01T00:00:00Z pins.json")]
pub(crate) struct LintArgs {
    /// The policy file (JSON, or PEM for the quick policy).
    #[arg(value_name = "POLICY")]
    policy: PathBuf,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    /// Judge expiry at this time instead of now (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
        }
    }
}

struct Finding {
    severity: Severity,
    check: &'static str,
    rule: Option<usize>,
    message: String,
}

pub(crate) fn run(args: &LintArgs) -> Result<Output, Failure> {
    let now = clock::at_or_now(args.at.as_deref()).map_err(Failure::usage)?;
    let findings = match policy_file::load(&args.policy) {
        Ok(policy) => findings(&policy, now),
        Err(e) if args.json => vec![Finding {
            severity: Severity::Error,
            check: e.result.name(),
            rule: None,
            message: e.detail,
        }],
        Err(e) => return Err(policy_file::failure(&args.policy, &e)),
    };
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, notes) = (count(Severity::Error), count(Severity::Warning), count(Severity::Note));
    let mut output = Output {
        code: if errors > 0 {
            EXIT_POLICY
        } else if warnings > 0 {
            EXIT_REJECTED
        } else {
            EXIT_OK
        },
        ..Output::default()
    };
    if args.json {
        let list: Vec<_> = findings
            .iter()
            .map(|f| json!({"severity": f.severity.word(), "check": f.check, "rule": f.rule, "message": f.message}))
            .collect();
        let doc = json!({
            "policy": args.policy.display().to_string(),
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
            "findings": list,
        });
        output.out = serde_json::to_string_pretty(&doc).expect("JSON values serialise") + "\n";
        return Ok(output);
    }
    for f in &findings {
        let _ = writeln!(output.out, "{}: [{}] {}", f.severity.word(), f.check, f.message);
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        output.out,
        "{}: {}, {}",
        args.policy.display(),
        plural(warnings, "warning"),
        plural(notes, "note")
    );
    Ok(output)
}

fn findings(policy: &Policy, now: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    if policy.unlisted_hosts() == UnlistedHosts::Allow {
        found.push(Finding {
            severity: Severity::Warning,
            check: "unlisted-allowed",
            rule: None,
            message: "\"unlisted_hosts\" is \"allow\": hosts no rule covers get PIN_OK without any check by certpin"
                .into(),
        });
    }
    for rule in policy.rules() {
        let mut add = |severity, check, message: String| {
            found.push(Finding {
                severity,
                check,
                rule: Some(rule.index()),
                message: format!("{}: {message}", rule.label()),
            })
        };
        if rule.pins().len() == 1 {
            add(
                Severity::Warning,
                "single-pin",
                format!(
                    "only one pin ({}): add a backup pin (a spare key kept offline, or another CA), or losing \
                     that key locks every client out",
                    rule.pins()[0]
                ),
            );
        }
        if let Some(expire) = rule.pins_expire() {
            if now > expire.last_enforced {
                add(
                    Severity::Warning,
                    "pins-expired",
                    format!(
                        "\"pins_expire\" {} has passed ({} ago): the pins are no longer enforced",
                        expire.text,
                        clock::days(now - expire.last_enforced)
                    ),
                );
            } else if expire.last_enforced - now <= SOON {
                add(
                    Severity::Warning,
                    "pins-expire-soon",
                    format!(
                        "\"pins_expire\" {} is within {}: after it the pins are no longer enforced",
                        expire.text,
                        clock::days(expire.last_enforced - now)
                    ),
                );
            }
        }
        for anchor in rule.anchors() {
            if let Some(why) = anchor.constraints.issuer_problem() {
                add(
                    Severity::Warning,
                    "anchor-cannot-issue",
                    format!(
                        "anchor {} ({}) {why}: certpin trusts no chain under it",
                        super::certificate::subject(anchor.der.as_ref()),
                        anchor.pin
                    ),
                );
            }
            let Ok(cert) = super::input::certificate(anchor.der.as_ref()) else {
                continue;
            };
            let not_after = cert.validity().not_after.timestamp();
            let who = format!(
                "anchor {} ({})",
                super::certificate::subject(anchor.der.as_ref()),
                anchor.pin
            );
            if now > not_after {
                add(
                    Severity::Warning,
                    "anchor-expired",
                    format!(
                        "{who} expired {} ago, at {}",
                        clock::days(now - not_after),
                        crate::describe::utc(not_after)
                    ),
                );
            } else if not_after - now <= SOON {
                add(
                    Severity::Warning,
                    "anchor-expires-soon",
                    format!(
                        "{who} expires in {}, at {}",
                        clock::days(not_after - now),
                        crate::describe::utc(not_after)
                    ),
                );
            }
        }
        for pattern in rule.patterns() {
            if let HostPattern::OneLabel(parent) = pattern {
                if Host::parse(parent).is_ok_and(|h| policy.rule_for(&h).is_none()) {
                    add(
                        Severity::Warning,
                        "parent-uncovered",
                        format!(
                            "\"{pattern}\" covers one label below {parent} but not {parent} itself, and no rule \
                             covers {parent}: add it (or \"**.{parent}\") if the application connects to it"
                        ),
                    );
                }
            }
        }
        if let Some(uri) = rule.report_uri() {
            if let Some(blocker) = report_blocker(policy, uri, now) {
                add(
                    Severity::Warning,
                    "report-uri-pinned",
                    format!(
                        "\"report_uri\" {uri} is on a host that {} pins: when those pins fail, the reports \
                         could be blocked too; send reports to a host outside pinned rules",
                        blocker.label()
                    ),
                );
            }
        }
        if !rule.verify_hostname() {
            add(
                Severity::Warning,
                "hostname-unverified",
                "\"verify_hostname\" is false: any certificate the anchors vouch for is accepted for these hosts"
                    .into(),
            );
        }
        if rule.report_only() {
            add(
                Severity::Note,
                "report-only",
                "\"report_only\" is true: violations are reported, not enforced".into(),
            );
        }
    }
    found
}

/// The enforcing, pinned rule that covers the host of `uri`, if any.
fn report_blocker<'p>(policy: &'p Policy, uri: &str, now: i64) -> Option<&'p Rule> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.split(':').next()?,
    };
    let rule = policy.rule_for(&Host::parse(host).ok()?)?;
    (rule.pins_enforced_at(now) && !rule.report_only()).then_some(rule)
}

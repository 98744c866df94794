//! `check --report`: the RFC 7469 violation report the library would hand to
//! the application's report callback, built by `certpin::report`.

use std::fmt::Write;

use super::Output;
use crate::report::Report;
use crate::Verdict;

/// Appends the report of the verdict's violation, and where it would go.
pub(crate) fn append(output: &mut Output, verdict: &Verdict<'_>, port: u16) {
    let Some(report) = Report::for_verdict(verdict, port) else {
        let _ = writeln!(output.out, "report: none (no rule rejected the chain)");
        return;
    };
    let destination = verdict.violation.as_ref().and_then(|v| v.rule.report_uri());
    match destination {
        Some(uri) => {
            let _ = writeln!(output.out, "report to {uri}:");
        }
        None => {
            let _ = writeln!(output.out, "report (not sent: the rule has no \"report_uri\"):");
        }
    }
    let _ = writeln!(output.out, "{}", report.to_json());
}

//! The words of a rejection: every served certificate as
//! `sha256/<pin>: <subject>`, the pins the rule expected, and what to change,
//! so that a developer can fix the policy from the message alone.

use std::fmt::Write;

use crate::describe::{describe, subject};
use crate::host::Host;
use crate::outcome::Rejection;
use crate::policy::Rule;

/// The message of `r`, a rejection by `rule` of the chain `served` for `host`.
pub(crate) fn rejection(rule: &Rule, host: &Host, served: &[&[u8]], r: &Rejection, now: i64) -> String {
    let mut m = String::new();
    let _ = write!(m, "{} for {host} under {}", r.reason, rule.label());
    m.push_str("\n  Peer certificate chain:");
    for der in served {
        let _ = write!(m, "\n    {}", describe(der));
    }
    if let Some((pin, der)) = &r.unsent_anchor {
        let _ = write!(
            m,
            "\n  Anchor of the validated path (not sent by the server):\n    {pin}: {}",
            subject(der)
        );
    }
    if rule.pins.is_empty() {
        m.push_str("\n  Pinned keys: none (this rule trusts its anchors alone)");
    } else {
        let _ = write!(m, "\n  Pinned keys for {host}:");
        for pin in &rule.pins {
            let _ = write!(m, "\n    {pin}");
        }
        if !rule.pins_enforced_at(now) {
            if let Some(e) = &rule.pins_expire {
                let _ = write!(m, "\n  (not enforced: \"pins_expire\" {} has passed)", e.text);
            }
        }
    }
    if let Some(hint) = &r.hint {
        let _ = write!(m, "\n  To fix: {hint}");
    }
    m
}

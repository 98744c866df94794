//! The rule `fetch --rule` suggests for a host, from the chain it served.
//!
//! The trust source and the pins are found by the library itself: a probe
//! rule with a pin that matches no key makes `verify` answer
//! `PIN_ERR_PIN_MISMATCH` with the path it validated, and the pins are taken
//! from that path (leaf and intermediates), never from what the server merely
//! sent. The finished rule is loaded and run against the chain before it is shown.

use crate::host::Host;
use crate::pin::Pin;
use crate::report::pem;
use crate::{verify, PinResult, Policy};

/// A suggested policy and what the person must know about it.
pub(crate) struct Suggestion {
    /// A complete policy (version 1, one rule), pretty-printed JSON.
    pub json: String,
    /// Lines for stderr: how the rule was made, what is still missing.
    pub notes: Vec<String>,
    /// Whether the policy accepts the fetched chain (`PIN_OK`, vouched).
    pub accepted: bool,
}

/// How a rule trusts its chain.
enum Trust {
    SystemRoots,
    Anchor(Vec<u8>),
}

/// Suggests a one-rule policy for `host` that accepts `chain` (DER
/// certificates as served, leaf first) at `now`.
pub(crate) fn suggest(host: &Host, chain: &[Vec<u8>], now: i64) -> Suggestion {
    let served: Vec<u8> = chain.concat();
    let host_text = host.to_string();
    let top = chain.last().cloned().unwrap_or_default();
    let mut notes = Vec::new();

    let system = validated_path(&host_text, &Trust::SystemRoots, &served, now);
    let (trust, path) = match system {
        Some(path) => (Trust::SystemRoots, Some(path)),
        None => {
            let anchor = Trust::Anchor(top.clone());
            let path = validated_path(&host_text, &anchor, &served, now);
            notes.push(format!(
                "note: the chain does not lead to a root of the system trust store, so the rule anchors the \
                 last certificate the server sent ({}); compare its pin with one obtained from the server's \
                 operator before relying on it",
                crate::describe::describe(&top)
            ));
            (anchor, path)
        }
    };
    let pins = pins_of(path.as_deref().unwrap_or(&chain[..1.min(chain.len())]), chain);
    let json = policy_json(&host_text, &trust, &pins);
    notes.push(format!(
        "note: add a backup pin before relying on this rule: the pin of a spare key kept offline \
         (certpin pin spare-key.pem) or of another CA you could move to; with only the {} key{} in use \
         pinned, replacing {} locks every client out",
        pins.len(),
        if pins.len() == 1 { "" } else { "s" },
        if pins.len() == 1 { "it" } else { "them" }
    ));
    let accepted = match Policy::from_json(json.as_bytes()) {
        Ok(policy) => {
            let verdict = verify(&policy, &served, &host_text, Some(now));
            if !verdict.ok() {
                notes.push(format!(
                    "warning: this rule does not accept the fetched chain: {}",
                    verdict.message()
                ));
            }
            verdict.ok()
        }
        Err(e) => {
            notes.push(format!("warning: the suggested policy does not load: {e}"));
            false
        }
    };
    Suggestion { json, notes, accepted }
}

/// The pins of the certificates on `path` that the server sent: the leaf and
/// its intermediates. A self-signed root is left out (it is the trust
/// source, and the system store's roots change under the rule), unless the
/// leaf is itself the self-signed certificate.
fn pins_of(path: &[Vec<u8>], served: &[Vec<u8>]) -> Vec<Pin> {
    let mut pins = Vec::new();
    for (n, der) in path.iter().enumerate() {
        let self_signed = super::input::certificate(der).is_ok_and(|c| c.subject().as_raw() == c.issuer().as_raw());
        if !served.contains(der) || (n > 0 && self_signed) {
            continue;
        }
        if let Some(pin) = crate::describe::spki_pin(der) {
            if !pins.contains(&pin) {
                pins.push(pin);
            }
        }
    }
    pins
}

/// The path `verify` validates for `chain` under a rule with this trust and
/// a pin that matches no key; `None` when there is no valid path.
fn validated_path(host: &str, trust: &Trust, chain: &[u8], now: i64) -> Option<Vec<Vec<u8>>> {
    let no_key = Pin::of_spki_der(b"");
    let policy = Policy::from_json(policy_json(host, trust, &[no_key]).as_bytes()).ok()?;
    let verdict = verify(&policy, chain, host, Some(now));
    match verdict.violation {
        Some(v) if v.result == PinResult::PIN_ERR_PIN_MISMATCH && !v.validated.is_empty() => Some(v.validated),
        _ => None,
    }
}

fn policy_json(host: &str, trust: &Trust, pins: &[Pin]) -> String {
    let quoted = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let trust = match trust {
        Trust::SystemRoots => "\"system_roots\": true".to_string(),
        Trust::Anchor(der) => format!("\"anchors\": [{}]", quoted(&pem(der))),
    };
    let pins: Vec<String> = pins
        .iter()
        .map(|p| format!("        {}", quoted(&p.to_string())))
        .collect();
    format!(
        "{{\n  \"version\": 1,\n  \"rules\": [\n    {{\n      \"hosts\": [{}],\n      {trust},\n      \"pins\": [\n{}\n      ]\n    }}\n  ]\n}}\n",
        quoted(host),
        pins.join(",\n")
    )
}

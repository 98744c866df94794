//! Signed policy updates: a policy signed offline with an Ed25519 key whose
//! public half the application ships, so that pins can be rotated without a
//! release.
//!
//! An update is JSON:
//! `{"certpin_update": 1, "payload": "<base64>", "signatures": [{"key": "ed25519/<base64>", "sig": "<base64>"}]}`.
//! The payload's bytes are signed exactly as they are (no canonical JSON) and
//! are themselves JSON: `{"sequence": N, "expires": "<RFC 3339>", "policy": {…}}`.
//!
//! Loading one must never weaken pinning by accident: every signature in the
//! file must verify and one of them must be by a trusted key, the payload is
//! read only once a signature vouches for it, the sequence must be above the
//! one the caller already has (no replay of an older update), the update must
//! not have expired, its anchors are inline (the signature covers nothing
//! else), and an unknown key anywhere is an error, as in every certpin file.

use data_encoding::BASE64;
use ring::signature::{UnparsedPublicKey, ED25519};
use time::format_description::well_known::Rfc3339;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::policy::{an_object, array_items, given, json_error, kind, shown, PolicyError};
pub use crate::update_keys::{SigningKey, TrustedKey, UpdateInfo, KEY_PREFIX};
use crate::{PinResult, Policy};

/// Largest update file accepted. Its payload, base64 in the file, is then
/// under 24 MiB: policies of ten thousand rules with inline anchors fit.
pub const MAX_UPDATE_BYTES: usize = 32 << 20;
/// Most signatures one update may carry (two keys overlap during a key
/// rotation; sixteen leaves room and bounds the work of a hostile file).
pub const MAX_SIGNATURES: usize = 16;
/// Most trusted keys one load may be given.
pub const MAX_TRUSTED_KEYS: usize = 64;
/// Largest policy text [`payload`] embeds: what stays of [`MAX_UPDATE_BYTES`]
/// once it is base64 and the envelope and signatures are around it.
pub const MAX_PAYLOAD_POLICY_BYTES: usize = MAX_UPDATE_BYTES / 4 * 3 - 4096;
impl Policy {
    /// Loads a signed policy update (see [the module](self)): accepted only
    /// when a key of `trusted_keys` signed it, its sequence is above
    /// `min_sequence` and it has not expired at `unix_time` (`None`: now).
    /// The policy's [`Policy::update`] then gives the sequence and expiry.
    ///
    /// Errors: `PIN_ERR_UPDATE_SIGNATURE`, `PIN_ERR_UPDATE_ROLLBACK`,
    /// `PIN_ERR_UPDATE_EXPIRED`, and `PIN_ERR_POLICY_*` for an update or a
    /// policy inside it that is malformed.
    pub fn from_update(
        update: &[u8],
        trusted_keys: &[TrustedKey],
        min_sequence: u64,
        unix_time: Option<i64>,
    ) -> Result<Self, PolicyError> {
        load(update, trusted_keys, min_sequence, unix_time)
    }
}

/// The payload of an update: `{"sequence": …, "expires": …, "policy": …}`
/// with `policy_json`'s text as it is (surrounding white space dropped).
///
/// Checked as a loader checks it: `sequence` at least 1, `expires` an RFC
/// 3339 instant, and a policy that loads with its anchors inline (an anchor
/// given as a file is `PIN_ERR_POLICY_INVALID` naming it). Whether it has
/// expired is not checked here.
pub fn payload(sequence: u64, expires: &str, policy_json: &[u8]) -> Result<Vec<u8>, PolicyError> {
    if policy_json.len() > MAX_PAYLOAD_POLICY_BYTES {
        return Err(PolicyError::syntax(format!(
            "the policy is {} bytes; an update holds at most {MAX_PAYLOAD_POLICY_BYTES}",
            policy_json.len()
        )));
    }
    let text = std::str::from_utf8(policy_json)
        .map_err(|e| PolicyError::syntax(format!("the policy is not UTF-8 text ({e})")))?;
    // One JSON value and nothing else, or the text would not embed as one.
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| json_error(&e, "the policy", None, text.as_bytes(), text.as_bytes()))?;
    let expires = serde_json::to_string(expires).expect("a string serialises");
    let bytes = format!(
        "{{\"sequence\": {sequence}, \"expires\": {expires}, \"policy\": {}}}",
        text.trim()
    )
    .into_bytes();
    let parsed = Payload::parse(&bytes)?;
    parsed.into_policy(Vec::new())?;
    Ok(bytes)
}

/// The update file for `payload`, signed by each of `keys` (an update signed
/// by no key is refused by every loader).
pub fn sign(payload: &[u8], keys: &[&SigningKey]) -> Vec<u8> {
    let signatures: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{{\"key\": \"{}\", \"sig\": \"{}\"}}",
                k.public_key(),
                BASE64.encode(k.sign(payload).as_ref())
            )
        })
        .collect();
    format!(
        "{{\n  \"certpin_update\": 1,\n  \"payload\": \"{}\",\n  \"signatures\": [\n    {}\n  ]\n}}\n",
        BASE64.encode(payload),
        signatures.join(",\n    ")
    )
    .into_bytes()
}

/// `Policy::from_update`.
pub(crate) fn load(
    update: &[u8],
    trusted_keys: &[TrustedKey],
    min_sequence: u64,
    unix_time: Option<i64>,
) -> Result<Policy, PolicyError> {
    if trusted_keys.is_empty() {
        return Err(PolicyError::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            "no trusted key given: nothing could vouch for an update",
        ));
    }
    if trusted_keys.len() > MAX_TRUSTED_KEYS {
        return Err(PolicyError::new(
            PinResult::PIN_ERR_INVALID_ARGUMENT,
            format!("{} trusted keys given; at most {MAX_TRUSTED_KEYS}", trusted_keys.len()),
        ));
    }
    let now = match unix_time {
        Some(t) if t < 0 => {
            return Err(PolicyError::new(
                PinResult::PIN_ERR_INVALID_ARGUMENT,
                format!("time {t} is before 1970"),
            ))
        }
        Some(t) => t,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let envelope = Envelope::parse(update)?;
    let signed_by = envelope.verify(trusted_keys)?;
    // Only now, with a trusted signature over them, are the payload's bytes read.
    let payload = Payload::parse(&envelope.payload)?;
    if payload.sequence <= min_sequence {
        let how = if payload.sequence == min_sequence {
            "the same sequence as the update already accepted"
        } else {
            "an older update than the one already accepted"
        };
        return Err(PolicyError::new(
            PinResult::PIN_ERR_UPDATE_ROLLBACK,
            format!(
                "sequence {} is not above min_sequence {min_sequence}: {how} (a replayed update is never applied)",
                payload.sequence
            ),
        ));
    }
    if now >= payload.expires {
        return Err(PolicyError::new(
            PinResult::PIN_ERR_UPDATE_EXPIRED,
            format!(
                "the update (sequence {}) expired at {}; it is {} now: keep the built-in policy or the last good one, and publish a fresh update",
                payload.sequence,
                payload.expires_text,
                instant(now)
            ),
        ));
    }
    payload.into_policy(signed_by)
}

/// The outer object of an update file, its base64 decoded.
struct Envelope {
    payload: Vec<u8>,
    signatures: Vec<(TrustedKey, Vec<u8>)>,
}

impl Envelope {
    fn parse(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.is_empty() {
            return Err(PolicyError::syntax("the update is empty (0 bytes)".into()));
        }
        if bytes.len() > MAX_UPDATE_BYTES {
            return Err(PolicyError::syntax(format!(
                "the update is {} bytes; at most {MAX_UPDATE_BYTES}",
                bytes.len()
            )));
        }
        let top: EnvelopeDocument<'_> = match serde_json::from_slice(bytes) {
            Ok(top) => top,
            Err(e) => {
                // The version first: a plain policy given as an update is told
                // as such, not as an object with unknown keys.
                if e.classify() == serde_json::error::Category::Data {
                    if let Ok(VersionOnly { certpin_update }) = serde_json::from_slice(bytes) {
                        check_version(certpin_update.as_ref())?;
                    }
                }
                return Err(json_error(&e, "the update", Some("the update"), bytes, bytes));
            }
        };
        an_object(bytes, "the update")?;
        check_version(top.certpin_update.as_ref())?;
        let payload = match &top.payload {
            Some(Value::String(s)) => BASE64.decode(s.as_bytes()).map_err(|e| {
                PolicyError::invalid(format!(
                    "the update: \"payload\" is not base64 (standard alphabet, padded): {e}"
                ))
            })?,
            Some(v) => {
                return Err(PolicyError::invalid(format!(
                    "the update: \"payload\" is {}; expected a base64 string",
                    kind(v)
                )))
            }
            None => return Err(PolicyError::invalid("the update: \"payload\" is missing".into())),
        };
        let items = match top.signatures {
            Some(raw) => array_items(raw, "the update: \"signatures\"")?,
            None => {
                return Err(PolicyError::new(
                    PinResult::PIN_ERR_UPDATE_SIGNATURE,
                    "the update: \"signatures\" is missing: the update is not signed",
                ))
            }
        };
        if items.is_empty() {
            return Err(PolicyError::new(
                PinResult::PIN_ERR_UPDATE_SIGNATURE,
                "the update: \"signatures\" is empty: the update is not signed",
            ));
        }
        if items.len() > MAX_SIGNATURES {
            return Err(PolicyError::invalid(format!(
                "the update: \"signatures\" holds {} signatures; at most {MAX_SIGNATURES}",
                items.len()
            )));
        }
        let mut signatures: Vec<(TrustedKey, Vec<u8>)> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let context = format!("the update: \"signatures\"[{i}]");
            an_object(item.get().as_bytes(), &context)?;
            let m: SignatureDocument = serde_json::from_str(item.get())
                .map_err(|e| json_error(&e, "the update", Some(&context), bytes, item.get().as_bytes()))?;
            let key = match &m.key {
                Some(Value::String(s)) => {
                    TrustedKey::parse(s).map_err(|e| PolicyError::invalid(format!("{context}: \"key\": {e}")))?
                }
                Some(v) => {
                    return Err(PolicyError::invalid(format!(
                        "{context}: \"key\" is {}; expected a string",
                        shown(v)
                    )))
                }
                None => return Err(PolicyError::invalid(format!("{context}: \"key\" is missing"))),
            };
            let sig = match &m.sig {
                Some(Value::String(s)) => BASE64
                    .decode(s.as_bytes())
                    .map_err(|e| PolicyError::invalid(format!("{context}: \"sig\" is not base64: {e}")))?,
                Some(v) => {
                    return Err(PolicyError::invalid(format!(
                        "{context}: \"sig\" is {}; expected a string",
                        shown(v)
                    )))
                }
                None => return Err(PolicyError::invalid(format!("{context}: \"sig\" is missing"))),
            };
            if sig.len() != 64 {
                return Err(PolicyError::invalid(format!(
                    "{context}: \"sig\" is {} bytes; an Ed25519 signature is 64",
                    sig.len()
                )));
            }
            if let Some(j) = signatures.iter().position(|(k, _)| *k == key) {
                return Err(PolicyError::invalid(format!(
                    "{context}: key {key} already signed in \"signatures\"[{j}]"
                )));
            }
            signatures.push((key, sig));
        }
        Ok(Self { payload, signatures })
    }

    /// The trusted keys that signed, once every signature in the file has
    /// verified: one that does not is a changed payload or a corrupt file,
    /// whoever's key it names.
    fn verify(&self, trusted_keys: &[TrustedKey]) -> Result<Vec<TrustedKey>, PolicyError> {
        for (i, (key, sig)) in self.signatures.iter().enumerate() {
            if UnparsedPublicKey::new(&ED25519, key.as_bytes())
                .verify(&self.payload, sig)
                .is_err()
            {
                let whose = if trusted_keys.contains(key) {
                    "a trusted key"
                } else {
                    "a key that is not trusted"
                };
                return Err(PolicyError::new(
                    PinResult::PIN_ERR_UPDATE_SIGNATURE,
                    format!(
                        "the update: \"signatures\"[{i}] (by {key}, {whose}) does not verify: the payload or the signature was changed"
                    ),
                ));
            }
        }
        let signed_by: Vec<TrustedKey> = self
            .signatures
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| trusted_keys.contains(k))
            .collect();
        if signed_by.is_empty() {
            let list = |keys: &mut dyn Iterator<Item = &TrustedKey>| {
                keys.map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            return Err(PolicyError::new(
                PinResult::PIN_ERR_UPDATE_SIGNATURE,
                format!(
                    "the update is signed by {}, none of which is trusted (trusted: {})",
                    list(&mut self.signatures.iter().map(|(k, _)| k)),
                    list(&mut trusted_keys.iter())
                ),
            ));
        }
        Ok(signed_by)
    }
}

/// The update file, as [`crate::policy`] reads a policy: unknown and
/// repeated keys refused here, values checked by name afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an update object")]
struct EnvelopeDocument<'a> {
    #[serde(default, deserialize_with = "given")]
    certpin_update: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    payload: Option<Value>,
    #[serde(default, deserialize_with = "given", borrow)]
    signatures: Option<&'a RawValue>,
}

/// Only the version of an update file.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default, deserialize_with = "given")]
    certpin_update: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a signature object")]
struct SignatureDocument {
    #[serde(default, deserialize_with = "given")]
    key: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    sig: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a payload object")]
struct PayloadDocument<'a> {
    #[serde(default, deserialize_with = "given")]
    sequence: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    expires: Option<Value>,
    #[serde(default, deserialize_with = "given", borrow)]
    policy: Option<&'a RawValue>,
}

fn check_version(version: Option<&Value>) -> Result<(), PolicyError> {
    match version {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(()),
        Some(v) => Err(PolicyError::invalid(format!(
            "the update: \"certpin_update\" is {}; this certpin reads version 1",
            shown(v)
        ))),
        None => Err(PolicyError::invalid(
            "the update: \"certpin_update\": 1 is missing (a plain policy is not an update: sign it with `certpin update sign`)"
                .into(),
        )),
    }
}

/// A payload, parsed; its policy still as text.
struct Payload<'a> {
    bytes: &'a [u8],
    sequence: u64,
    expires: i64,
    expires_text: String,
    policy: &'a RawValue,
}

impl<'a> Payload<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, PolicyError> {
        let context = "the update's payload";
        let m: PayloadDocument<'a> =
            serde_json::from_slice(bytes).map_err(|e| json_error(&e, context, Some(context), bytes, bytes))?;
        an_object(bytes, context)?;
        let sequence = match &m.sequence {
            Some(Value::Number(n)) => match n.as_u64() {
                Some(s) if s >= 1 => s,
                _ => {
                    return Err(PolicyError::invalid(format!(
                        "{context}: \"sequence\" is {n}; expected a whole number from 1 to {}",
                        u64::MAX
                    )))
                }
            },
            Some(v) => {
                return Err(PolicyError::invalid(format!(
                    "{context}: \"sequence\" is {}; expected a number",
                    kind(v)
                )))
            }
            None => return Err(PolicyError::invalid(format!("{context}: \"sequence\" is missing"))),
        };
        let (expires, expires_text) = match &m.expires {
            Some(Value::String(s)) => match time::OffsetDateTime::parse(s, &Rfc3339) {
                Ok(t) => (t.unix_timestamp(), s.clone()),
                Err(_) => {
                    return Err(PolicyError::invalid(format!(
                        "{context}: \"expires\" is {s:?}; expected an RFC 3339 instant such as 2027-01-31T00:00:00Z"
                    )))
                }
            },
            Some(v) => {
                return Err(PolicyError::invalid(format!(
                    "{context}: \"expires\" is {}; expected an RFC 3339 instant string",
                    shown(v)
                )))
            }
            None => return Err(PolicyError::invalid(format!("{context}: \"expires\" is missing"))),
        };
        let Some(policy) = m.policy else {
            return Err(PolicyError::invalid(format!("{context}: \"policy\" is missing")));
        };
        Ok(Self {
            bytes,
            sequence,
            expires,
            expires_text,
            policy,
        })
    }

    fn into_policy(self, signed_by: Vec<TrustedKey>) -> Result<Policy, PolicyError> {
        let info = UpdateInfo {
            sequence: self.sequence,
            expires: self.expires,
            expires_text: self.expires_text,
            signed_by,
        };
        Policy::from_update_document(self.bytes, self.policy, info).map_err(|e| PolicyError {
            detail: format!("the update's policy: {}", e.detail),
            ..e
        })
    }
}

/// `unix_time` as RFC 3339, for messages.
fn instant(unix_time: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_time)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("Unix time {unix_time}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_and_parse() {
        let key = TrustedKey::from_bytes([7; 32]);
        let text = key.to_string();
        assert!(text.starts_with("ed25519/") && text.len() == 8 + 44, "{text}");
        assert_eq!(TrustedKey::parse(&text), Ok(key));
        assert_eq!(text.parse::<TrustedKey>(), Ok(key));
        for bad in [
            "",
            "ed25519/",
            "ED25519/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            "ed25519/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
            "ed25519/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==",
            "sha256/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            " ed25519/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ] {
            assert!(TrustedKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_signing_key_never_prints_its_secret() {
        let der = SigningKey::generate_pkcs8().unwrap();
        let key = SigningKey::from_pkcs8(&der).unwrap();
        assert_eq!(format!("{key:?}"), format!("SigningKey(public {})", key.public_key()));
        assert!(SigningKey::from_pkcs8(&der[..der.len() - 1]).is_err());
    }

    #[test]
    fn instants_for_messages() {
        assert_eq!(instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(instant(i64::MAX), format!("Unix time {}", i64::MAX));
    }
}

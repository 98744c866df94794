//! Loading a policy: JSON version 1 (from a file or from bytes) and the quick
//! PEM policy. Everything the format forbids is an error naming the rule, the
//! key and the value: a typo must never silently switch pinning off.
//!
//! A loaded [`Policy`] is immutable (but for its verification and signature
//! caches) and can be shared across threads.

use std::collections::HashMap;
use std::path::Path;

use pki_types::pem::PemObject;
use pki_types::{CertificateDer, TrustAnchor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::cache::Cache;
use crate::host::{HostIndex, HostPattern};
use crate::pin::Pin;
use crate::profile::Profile;
use crate::roots::{self, Anchor};
use crate::signature_cache::SignatureCache;
use crate::update_keys::UpdateInfo;
use crate::PinResult;

/// Default number of accepted verifications a policy remembers.
pub const DEFAULT_CACHE_SIZE: usize = 1024;
/// Largest `cache_size` accepted.
pub const MAX_CACHE_SIZE: usize = 1 << 20;
/// Default number of verified signatures on CA certificates a policy
/// remembers: far more issuing CAs than one application meets, at most
/// about 180 KiB with RSA-2048 keys (BENCHMARKS.md).
pub const DEFAULT_SIGNATURE_CACHE_SIZE: usize = 256;
/// Largest `signature_cache_size` accepted.
pub const MAX_SIGNATURE_CACHE_SIZE: usize = 1 << 16;
/// Largest policy text accepted (JSON or PEM).
pub const MAX_POLICY_BYTES: usize = 64 << 20;

/// Why a policy (or a signed policy update) could not be loaded:
/// `PIN_ERR_POLICY_IO`, `PIN_ERR_POLICY_SYNTAX` or `PIN_ERR_POLICY_INVALID`;
/// for an update also `PIN_ERR_UPDATE_SIGNATURE`, `PIN_ERR_UPDATE_ROLLBACK`
/// or `PIN_ERR_UPDATE_EXPIRED`, and `PIN_ERR_INVALID_ARGUMENT`.
pub type PolicyError = crate::Error;

impl PolicyError {
    pub(crate) fn io(detail: String) -> Self {
        Self::new(PinResult::PIN_ERR_POLICY_IO, detail)
    }
    pub(crate) fn syntax(detail: String) -> Self {
        Self::new(PinResult::PIN_ERR_POLICY_SYNTAX, detail)
    }
    pub(crate) fn invalid(detail: String) -> Self {
        Self::new(PinResult::PIN_ERR_POLICY_INVALID, detail)
    }
}

/// What happens to a host that no rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnlistedHosts {
    /// `PIN_ERR_HOST_NOT_COVERED` (the default: fail closed).
    Reject,
    /// `PIN_OK` with `PIN_FLAG_UNLISTED`; the application's own TLS checks stand.
    Allow,
}

/// The moment after which a rule's pins are no longer enforced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinsExpire {
    /// As written in the policy.
    pub text: String,
    /// The last second (Unix time) at which the pins are enforced.
    pub last_enforced: i64,
}

/// One rule of a policy: which hosts, which anchors, which pins.
#[derive(Debug)]
pub struct Rule {
    pub(crate) index: usize,
    pub(crate) patterns: Vec<HostPattern>,
    pub(crate) anchors: Vec<Anchor>,
    pub(crate) trust_anchors: Vec<TrustAnchor<'static>>,
    pub(crate) system_roots: bool,
    pub(crate) pins: Vec<Pin>,
    pub(crate) pins_expire: Option<PinsExpire>,
    pub(crate) verify_hostname: bool,
    pub(crate) report_only: bool,
    pub(crate) report_uri: Option<String>,
    /// `None`: decided by the anchor of each validated path.
    pub(crate) profile: Option<Profile>,
}

impl Rule {
    /// The rule's position in the policy's `rules` array.
    pub fn index(&self) -> usize {
        self.index
    }
    /// The host patterns, as parsed.
    pub fn patterns(&self) -> &[HostPattern] {
        &self.patterns
    }
    /// The rule's own anchors (the system store not included).
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }
    /// Whether the system store is trusted too.
    pub fn system_roots(&self) -> bool {
        self.system_roots
    }
    /// The pins; empty means trust alone decides.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }
    /// When the pins stop being enforced, if ever.
    pub fn pins_expire(&self) -> Option<&PinsExpire> {
        self.pins_expire.as_ref()
    }
    /// Whether the pins are enforced at `unix_time`.
    pub fn pins_enforced_at(&self, unix_time: i64) -> bool {
        !self.pins.is_empty() && self.pins_expire.as_ref().is_none_or(|e| unix_time <= e.last_enforced)
    }
    /// The last second at which expiring pins are enforced; `None` when the
    /// pins never expire or there are none (nothing changes with time).
    pub(crate) fn pins_last_enforced(&self) -> Option<i64> {
        self.pins_expire
            .as_ref()
            .filter(|_| !self.pins.is_empty())
            .map(|e| e.last_enforced)
    }
    /// Whether the host name is checked against the leaf.
    pub fn verify_hostname(&self) -> bool {
        self.verify_hostname
    }
    /// Whether violations are only reported, not enforced.
    pub fn report_only(&self) -> bool {
        self.report_only
    }
    /// Where violation reports go, if anywhere.
    pub fn report_uri(&self) -> Option<&str> {
        self.report_uri.as_deref()
    }
    /// The profile set in the rule; `None` when the anchor of each validated
    /// path decides (`"web"` for a system root, `"private"` for the rule's own).
    pub fn profile(&self) -> Option<Profile> {
        self.profile
    }
    /// `rule 0 (api.example.com)`, for messages.
    pub fn label(&self) -> String {
        match self.patterns.first() {
            Some(p) => format!("rule {} ({p})", self.index),
            None => format!("rule {}", self.index),
        }
    }
}

/// A loaded policy.
#[derive(Debug)]
pub struct Policy {
    pub(crate) rules: Vec<Rule>,
    pub(crate) index: HostIndex,
    pub(crate) unlisted_hosts: UnlistedHosts,
    pub(crate) cache: Cache,
    /// The signed update it came from, if it did.
    pub(crate) update: Option<UpdateInfo>,
    pub(crate) signatures: SignatureCache,
}

impl Policy {
    /// Loads a JSON policy file; relative anchor paths are taken from the
    /// file's folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let text = read_bounded(path).map_err(|e| PolicyError::io(format!("policy file {}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_json_in(&text, &mut AnchorFiles::Folder(&base))
    }

    /// Loads a JSON policy from bytes. It has no folder, so an anchor file
    /// must be named by an absolute path: a relative one is
    /// `PIN_ERR_POLICY_INVALID` (the working directory is no trust decision;
    /// whoever starts the program chooses it).
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        Self::from_json_in(json, &mut AnchorFiles::AbsoluteOnly)
    }

    /// Loads a JSON policy from bytes whose anchor files `read` provides:
    /// it gets each non-inline `anchors` entry as written and returns the
    /// file's bytes, or why it could not (`PIN_ERR_POLICY_IO`). For policies
    /// that live where the file system is not, such as Qt resources.
    pub fn from_json_with_reader(
        json: &[u8],
        read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Self, PolicyError> {
        Self::from_json_in(json, &mut AnchorFiles::Reader(read))
    }

    /// The quick policy: every host, trust exactly the certificates in this
    /// PEM text and nothing else, no pins, host names checked.
    pub fn from_pem(pem: &[u8]) -> Result<Self, PolicyError> {
        if pem.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::syntax(format!(
                "the PEM text is {} bytes; at most {MAX_POLICY_BYTES}",
                pem.len()
            )));
        }
        let anchors = pem_anchors(pem).map_err(|e| match e {
            PemProblem::NoCertificate => PolicyError::syntax("the PEM text holds no CERTIFICATE block".into()),
            PemProblem::Bad(why) => PolicyError::syntax(format!("the PEM text: {why}")),
        })?;
        let rule = Rule {
            index: 0,
            patterns: vec![HostPattern::Everything],
            trust_anchors: anchors.iter().map(|a| a.trust_anchor.clone()).collect(),
            anchors,
            system_roots: false,
            pins: Vec::new(),
            pins_expire: None,
            verify_hostname: true,
            report_only: false,
            report_uri: None,
            profile: None,
        };
        let mut index = HostIndex::default();
        index
            .insert(&HostPattern::Everything, 0)
            .expect("an empty index has no duplicate");
        Ok(Self {
            rules: vec![rule],
            index,
            unlisted_hosts: UnlistedHosts::Reject,
            cache: Cache::new(DEFAULT_CACHE_SIZE),
            update: None,
            signatures: SignatureCache::new(DEFAULT_SIGNATURE_CACHE_SIZE),
        })
    }

    /// The signed update this policy was loaded from: its sequence, expiry
    /// and signer. `None` for a policy loaded any other way.
    pub fn update(&self) -> Option<&UpdateInfo> {
        self.update.as_ref()
    }

    fn from_json_in(json: &[u8], files: &mut AnchorFiles<'_>) -> Result<Self, PolicyError> {
        if json.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::syntax(format!(
                "the policy is {} bytes; at most {MAX_POLICY_BYTES}",
                json.len()
            )));
        }
        Self::from_document(json, json, Some("the policy"), files)
    }

    /// The policy of a signed update: `policy` is its text inside the
    /// payload `payload`; anchors inline only.
    pub(crate) fn from_update_document(
        payload: &[u8],
        policy: &RawValue,
        update: UpdateInfo,
    ) -> Result<Self, PolicyError> {
        let mut policy = Self::from_document(payload, policy.get().as_bytes(), None, &mut AnchorFiles::InlineOnly)?;
        policy.update = Some(update);
        Ok(policy)
    }

    /// `text` is the policy, a part of `whole` (for line and column);
    /// `context` names it in messages, if the caller does not.
    fn from_document(
        whole: &[u8],
        text: &[u8],
        context: Option<&str>,
        files: &mut AnchorFiles<'_>,
    ) -> Result<Self, PolicyError> {
        if !std::ptr::eq(whole, text) {
            // A part of a document (a signed update's policy): valid JSON.
            an_object(text, "the policy")?;
        }
        let top: PolicyDocument<'_> =
            serde_json::from_slice(text).map_err(|e| json_error(&e, "the policy", context, whole, text))?;
        an_object(text, "the policy")?;
        match &top.version {
            Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
            Some(v) => {
                return Err(PolicyError::invalid(format!(
                    "\"version\" is {}; this certpin reads version 1",
                    shown(v)
                )))
            }
            None => return Err(PolicyError::invalid("\"version\": 1 is missing".into())),
        }
        let unlisted_hosts = match &top.unlisted_hosts {
            None => UnlistedHosts::Reject,
            Some(Value::String(s)) if s == "reject" => UnlistedHosts::Reject,
            Some(Value::String(s)) if s == "allow" => UnlistedHosts::Allow,
            Some(v) => {
                return Err(PolicyError::invalid(format!(
                    "\"unlisted_hosts\" is {}; expected \"reject\" or \"allow\"",
                    shown(v)
                )))
            }
        };
        let cache_size = size(
            top.cache_size.as_ref(),
            "cache_size",
            DEFAULT_CACHE_SIZE,
            MAX_CACHE_SIZE,
        )?;
        let signature_cache_size = size(
            top.signature_cache_size.as_ref(),
            "signature_cache_size",
            DEFAULT_SIGNATURE_CACHE_SIZE,
            MAX_SIGNATURE_CACHE_SIZE,
        )?;
        let rules_json = match top.rules {
            Some(rules) => array_items(rules, "\"rules\"")?,
            None => return Err(PolicyError::invalid("\"rules\" is missing".into())),
        };
        if rules_json.is_empty() {
            return Err(PolicyError::invalid("\"rules\" is empty".into()));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(rules_json.len());
        let mut index = HostIndex::default();
        let mut loaded = HashMap::new();
        for (i, rule_json) in rules_json.iter().enumerate() {
            let rule = parse_rule(i, whole, rule_json, files, &mut loaded)?;
            for pattern in &rule.patterns {
                if let Err(prev) = index.insert(pattern, i) {
                    let what = if prev == i {
                        "twice in this rule".to_string()
                    } else {
                        format!("already in {}", rules[prev].label())
                    };
                    return Err(PolicyError::invalid(format!(
                        "{}: \"hosts\": pattern \"{pattern}\" is {what}",
                        rule.label()
                    )));
                }
            }
            rules.push(rule);
        }
        Ok(Self {
            rules,
            index,
            unlisted_hosts,
            cache: Cache::new(cache_size),
            update: None,
            signatures: SignatureCache::new(signature_cache_size),
        })
    }

    /// The rules, in policy order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What happens to hosts no rule covers.
    pub fn unlisted_hosts(&self) -> UnlistedHosts {
        self.unlisted_hosts
    }

    /// How many accepted verifications this policy remembers (0: no cache).
    pub fn cache_size(&self) -> usize {
        self.cache.capacity()
    }

    /// How many accepted verifications the cache holds now.
    pub fn cached_verifications(&self) -> usize {
        self.cache.len()
    }

    /// How many verified signatures on CA certificates this policy remembers
    /// (0: none).
    pub fn signature_cache_size(&self) -> usize {
        self.signatures.capacity()
    }

    /// How many verified signatures the signature cache holds now.
    pub fn remembered_signatures(&self) -> usize {
        self.signatures.len()
    }

    /// The rule that covers `host`, if any.
    pub fn rule_for(&self, host: &crate::host::Host) -> Option<&Rule> {
        self.index.lookup(host).map(|i| &self.rules[i])
    }
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = Vec::new();
    file.take(MAX_POLICY_BYTES as u64 + 1).read_to_end(&mut text)?;
    Ok(text)
}

/// The policy document. Unknown and repeated keys are refused here, with
/// their line and column; the values are checked afterwards, by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a policy object")]
struct PolicyDocument<'a> {
    #[serde(default, deserialize_with = "given")]
    version: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    unlisted_hosts: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    cache_size: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    signature_cache_size: Option<Value>,
    #[serde(default, deserialize_with = "given", borrow)]
    rules: Option<&'a RawValue>,
}

/// One rule, as [`PolicyDocument`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a rule object")]
struct RuleDocument {
    #[serde(default, deserialize_with = "given")]
    hosts: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    anchors: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    system_roots: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    pins: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    pins_expire: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    verify_hostname: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    report_only: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    report_uri: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    profile: Option<Value>,
}

/// Only a rule's first host, to name the rule in the message of a rule that
/// does not read.
#[derive(Deserialize)]
struct FirstHost {
    #[serde(default)]
    hosts: Option<Vec<Value>>,
}

/// A member as given, `null` included: a plain `Option` reads `null` as
/// absent, and a wrong value must be refused by its name instead.
pub(crate) fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A serde_json error as a policy error: text that is not JSON is
/// `PIN_ERR_POLICY_SYNTAX`, JSON of the wrong shape (an unknown, repeated or
/// missing key, an object where none belongs) `PIN_ERR_POLICY_INVALID`.
/// `what` names the document, `context` the object the error is in (none:
/// the caller names it); `part` is the text that was read, a part of `whole`, so that
/// line and column count in `whole`.
pub(crate) fn json_error(
    e: &serde_json::Error,
    what: &str,
    context: Option<&str>,
    whole: &[u8],
    part: &[u8],
) -> PolicyError {
    let text = e.to_string();
    let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    // serde speaks of a struct's fields in backquotes; certpin's messages
    // speak of JSON keys, quoted as JSON.
    let message = match ["unknown field", "duplicate field", "missing field"]
        .iter()
        .find(|p| message.starts_with(**p))
    {
        Some(p) => format!("{} key{}", &p[..p.len() - 6], &message[p.len()..]).replace('`', "\""),
        None => message.to_string(),
    };
    let (line, column) = position(whole, part, e.line(), e.column());
    match (e.classify(), context) {
        (serde_json::error::Category::Data, Some(context)) => {
            PolicyError::invalid(format!("{context}: {message} (line {line}, column {column})"))
        }
        (serde_json::error::Category::Data, None) => {
            PolicyError::invalid(format!("{message} (line {line}, column {column})"))
        }
        _ => PolicyError::syntax(format!(
            "{what} is not valid JSON: {message} at line {line} column {column}"
        )),
    }
}

/// Refuses `text` (one JSON value) unless it is an object: serde also reads a
/// struct from an array, by position, and certpin's objects are objects.
pub(crate) fn an_object(text: &[u8], context: &str) -> Result<(), PolicyError> {
    match text_kind(text) {
        "an object" => Ok(()),
        kind => Err(PolicyError::invalid(format!("{context} is {kind}; expected an object"))),
    }
}

/// The JSON type of `text`, one valid JSON value, from its first byte, for
/// messages ([`kind`] for a parsed value).
fn text_kind(text: &[u8]) -> &'static str {
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(_) => "a number",
    }
}

/// Line and column in `whole` of (`line`, `column`) in `part`, a slice of it.
fn position(whole: &[u8], part: &[u8], line: usize, column: usize) -> (usize, usize) {
    let offset = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    let Some(before) = whole.get(..offset) else {
        return (line, column);
    };
    let lines_before = before.iter().filter(|b| **b == b'\n').count();
    let column_before = offset - before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if line <= 1 {
        (lines_before + 1, column_before + column)
    } else {
        (lines_before + line, column)
    }
}

/// The items of a JSON array (`what` names it), each still as its text.
pub(crate) fn array_items<'a>(raw: &'a RawValue, what: &str) -> Result<Vec<&'a RawValue>, PolicyError> {
    let kind = text_kind(raw.get().as_bytes());
    if kind == "an array" {
        return serde_json::from_str(raw.get()).map_err(|e| PolicyError::invalid(format!("{what}: {e}")));
    }
    Err(PolicyError::invalid(format!("{what} is {kind}; expected an array")))
}

/// A JSON value as a message shows it: scalars as written, strings quoted,
/// arrays and objects abbreviated.
pub(crate) fn shown(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "[...]".into(),
        Value::Object(_) => "{...}".into(),
    }
}

/// The JSON type's name, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn boolean(value: Option<&Value>, context: &str, key: &str, default: bool) -> Result<bool, PolicyError> {
    match value {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(PolicyError::invalid(format!(
            "{context}: \"{key}\" is {}; expected true or false",
            shown(v)
        ))),
    }
}

/// A top-level size: a whole number from 0 to `max`.
fn size(value: Option<&Value>, key: &str, default: usize, max: usize) -> Result<usize, PolicyError> {
    match value {
        None => Ok(default),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v <= max as u64 => Ok(v as usize),
            _ => Err(PolicyError::invalid(format!(
                "\"{key}\" is {n}; expected a whole number from 0 to {max}"
            ))),
        },
        Some(v) => Err(PolicyError::invalid(format!(
            "\"{key}\" is {}; expected a number",
            kind(v)
        ))),
    }
}

fn strings<'v>(value: Option<&'v Value>, context: &str, key: &str) -> Result<Option<Vec<&'v str>>, PolicyError> {
    let items = match value {
        None => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(v) => {
            return Err(PolicyError::invalid(format!(
                "{context}: \"{key}\" is {}; expected an array of strings",
                kind(v)
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.as_str()),
            v => Err(PolicyError::invalid(format!(
                "{context}: \"{key}\"[{i}] is {}; expected a string",
                shown(v)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `loaded`: the anchors of every `anchors` entry read so far, by its text.
fn parse_rule(
    i: usize,
    whole: &[u8],
    text: &RawValue,
    files: &mut AnchorFiles<'_>,
    loaded: &mut HashMap<String, Vec<Anchor>>,
) -> Result<Rule, PolicyError> {
    // The first host names the rule in every message.
    let label = |first: Option<&Value>| match first {
        Some(Value::String(h)) => format!("rule {i} ({h})"),
        _ => format!("rule {i}"),
    };
    an_object(text.get().as_bytes(), &label(None))?;
    let m: RuleDocument = match serde_json::from_str(text.get()) {
        Ok(m) => m,
        Err(e) => {
            let first: Option<FirstHost> = serde_json::from_str(text.get()).ok();
            let context = label(first.as_ref().and_then(|f| f.hosts.as_ref()?.first()));
            return Err(json_error(
                &e,
                "the policy",
                Some(&context),
                whole,
                text.get().as_bytes(),
            ));
        }
    };
    let context = label(match &m.hosts {
        Some(Value::Array(hosts)) => hosts.first(),
        _ => None,
    });
    let context = context.as_str();
    let err = |key: &str, what: String| PolicyError::invalid(format!("{context}: \"{key}\": {what}"));

    let hosts = strings(m.hosts.as_ref(), context, "hosts")?.ok_or_else(|| err("hosts", "missing".into()))?;
    if hosts.is_empty() {
        return Err(err(
            "hosts",
            "empty; a rule must cover at least one host pattern".into(),
        ));
    }
    let patterns = hosts
        .iter()
        .map(|h| HostPattern::parse(h).map_err(|e| err("hosts", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;

    let mut anchors = Vec::new();
    for (j, entry) in strings(m.anchors.as_ref(), context, "anchors")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        // Large policies name one company root in thousands of rules: decoding
        // it once instead of in every rule halves the load time of such a policy.
        if !loaded.contains_key(entry) {
            let fresh = load_anchor_entry(entry, files).map_err(|e| match e {
                AnchorProblem::Io(why) => PolicyError::io(format!("{context}: \"anchors\"[{j}]: {why}")),
                AnchorProblem::Invalid(why) => err("anchors", format!("[{j}]: {why}")),
            })?;
            loaded.insert(entry.to_string(), fresh);
        }
        anchors.extend(loaded[entry].iter().cloned());
    }
    let system_roots = boolean(m.system_roots.as_ref(), context, "system_roots", false)?;
    if anchors.is_empty() && !system_roots {
        return Err(err(
            "anchors",
            "no trust source: give \"anchors\" or set \"system_roots\": true".into(),
        ));
    }
    let mut trust_anchors: Vec<TrustAnchor<'static>> = anchors.iter().map(|a| a.trust_anchor.clone()).collect();
    if system_roots {
        let system = roots::system().map_err(|e| PolicyError::io(format!("{context}: \"system_roots\": {e}")))?;
        trust_anchors.extend(system.iter().map(|a| a.trust_anchor.clone()));
    }

    let mut pins = Vec::new();
    for (j, text) in strings(m.pins.as_ref(), context, "pins")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let pin = Pin::parse(text).map_err(|e| err("pins", format!("[{j}]: {e}")))?;
        if !pins.contains(&pin) {
            pins.push(pin);
        }
    }
    let pins_expire = match &m.pins_expire {
        None => None,
        Some(Value::String(s)) => Some(PinsExpire {
            last_enforced: parse_expiry(s).ok_or_else(|| {
                err(
                    "pins_expire",
                    format!("{s:?} is neither a date YYYY-MM-DD nor an RFC 3339 instant"),
                )
            })?,
            text: s.clone(),
        }),
        Some(v) => return Err(err("pins_expire", format!("{}; expected a date string", shown(v)))),
    };
    if pins_expire.is_some() && pins.is_empty() {
        return Err(err("pins_expire", "given, but the rule has no \"pins\"".into()));
    }
    let report_uri = match &m.report_uri {
        None => None,
        Some(Value::String(s))
            if (s.starts_with("https://") || s.starts_with("http://"))
                && !s.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            Some(s.clone())
        }
        Some(v) => {
            return Err(err(
                "report_uri",
                format!("{}; expected an http:// or https:// URI", shown(v)),
            ))
        }
    };
    let profile = match &m.profile {
        None => None,
        Some(Value::String(s)) if s == "private" => Some(Profile::Private),
        Some(Value::String(s)) if s == "web" => Some(Profile::Web),
        Some(v) => return Err(err("profile", format!("{}; expected \"private\" or \"web\"", shown(v)))),
    };
    Ok(Rule {
        index: i,
        patterns,
        anchors,
        trust_anchors,
        system_roots,
        pins,
        pins_expire,
        verify_hostname: boolean(m.verify_hostname.as_ref(), context, "verify_hostname", true)?,
        report_only: boolean(m.report_only.as_ref(), context, "report_only", false)?,
        report_uri,
        profile,
    })
}

enum AnchorProblem {
    Io(String),
    Invalid(String),
}

enum PemProblem {
    NoCertificate,
    Bad(String),
}

/// Where the anchor files a policy names are read from.
enum AnchorFiles<'a> {
    /// The file system, relative paths from this folder (a policy file's).
    Folder(&'a Path),
    /// The file system, absolute paths only (a policy from memory).
    AbsoluteOnly,
    /// The application's reader, every path as written.
    Reader(&'a mut dyn FnMut(&str) -> Result<Vec<u8>, String>),
    /// None at all: a signed update carries its anchors inline, so that what
    /// was signed is all that is trusted.
    InlineOnly,
}

impl AnchorFiles<'_> {
    /// The bytes of the anchor file `entry` and how to name it in messages.
    fn read(&mut self, entry: &str) -> Result<(Vec<u8>, String), AnchorProblem> {
        let from_disk = |path: &Path| {
            read_bounded(path)
                .map(|text| (text, format!("file {}", path.display())))
                .map_err(|e| AnchorProblem::Io(format!("file {}: {e}", path.display())))
        };
        match self {
            Self::Folder(base) => from_disk(&base.join(entry)),
            Self::AbsoluteOnly if Path::new(entry).is_absolute() => from_disk(Path::new(entry)),
            Self::AbsoluteOnly => Err(AnchorProblem::Invalid(format!(
                "file \"{entry}\" is a relative path, and a policy loaded from memory has no folder to \
                 take it from (the working directory is not a trust decision): give the PEM inline, an \
                 absolute path, or load the policy from its file"
            ))),
            Self::Reader(read) => {
                let text = read(entry).map_err(|why| AnchorProblem::Io(format!("file \"{entry}\": {why}")))?;
                if text.len() > MAX_POLICY_BYTES {
                    return Err(AnchorProblem::Io(format!(
                        "file \"{entry}\" is {} bytes; at most {MAX_POLICY_BYTES}",
                        text.len()
                    )));
                }
                Ok((text, format!("file \"{entry}\"")))
            }
            Self::InlineOnly => Err(AnchorProblem::Invalid(format!(
                "file \"{entry}\": the anchors of a signed update are inline PEM text, never files \
                 (the signature covers only what the update holds): paste the certificate's PEM into the policy"
            ))),
        }
    }
}

fn load_anchor_entry(entry: &str, files: &mut AnchorFiles<'_>) -> Result<Vec<Anchor>, AnchorProblem> {
    let (pem, origin) = if entry.contains("-----BEGIN") {
        (entry.as_bytes().to_vec(), "inline PEM".to_string())
    } else {
        files.read(entry)?
    };
    pem_anchors(&pem).map_err(|e| match e {
        PemProblem::NoCertificate => AnchorProblem::Invalid(format!("{origin} holds no PEM CERTIFICATE block")),
        PemProblem::Bad(why) => AnchorProblem::Invalid(format!("{origin}: {why}")),
    })
}

fn pem_anchors(pem: &[u8]) -> Result<Vec<Anchor>, PemProblem> {
    let mut anchors = Vec::new();
    for (n, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = item.map_err(|e| PemProblem::Bad(format!("certificate {}: not valid PEM ({e:?})", n + 1)))?;
        let anchor = Anchor::from_der(der)
            .map_err(|e| PemProblem::Bad(format!("certificate {} is not a usable X.509 certificate ({e})", n + 1)))?;
        anchors.push(anchor);
    }
    if anchors.is_empty() {
        return Err(PemProblem::NoCertificate);
    }
    Ok(anchors)
}

/// `YYYY-MM-DD` (the pins hold through the end of that UTC day) or an RFC 3339
/// instant; returns the last second at which the pins are enforced.
fn parse_expiry(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    if let Ok(date) = time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
        // Not `next_day() - 1s`: 9999-12-31 has no next day in `time`.
        return Some(date.midnight().assume_utc().unix_timestamp() + 86_399);
    }
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates() {
        assert_eq!(parse_expiry("1970-01-01"), Some(86399));
        assert_eq!(parse_expiry("1970-01-02T00:00:00Z"), Some(86400));
        assert_eq!(parse_expiry("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_expiry("9999-12-31"), parse_expiry("9999-12-31T23:59:59Z"));
        assert!(parse_expiry("9999-12-31").is_some());
        for bad in ["2027-13-01", "2027-02-30", "27-01-01", "2027/01/01", "tomorrow", ""] {
            assert_eq!(parse_expiry(bad), None, "{bad}");
        }
    }
}

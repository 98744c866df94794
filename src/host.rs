//! Host names and host patterns, and the index that picks the most specific
//! rule for a host in time independent of the number of rules.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// Longest DNS name certpin accepts, without a trailing dot (RFC 1035).
pub const MAX_HOST_LEN: usize = 253;

/// A host the application connected to, normalised: lower-case ASCII without
/// a trailing dot, or a parsed IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name (IDNA A-labels for international names).
    Dns(String),
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
}

/// Why a host is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// The empty string.
    Empty,
    /// Not ASCII: an IDNA U-label, where the A-label belongs.
    NotAscii(String),
    /// An IPv6 address in brackets, as URLs write it.
    Bracketed(String),
    /// A DNS name longer than [`MAX_HOST_LEN`] (its length).
    TooLong(usize),
    /// Neither a DNS name nor an IP address.
    NotAName(String),
    /// A zone id (`%…`) on something that is not an IPv6 address.
    ZoneNotIpv6(String),
    /// An IPv6 address with a zone id that is not one.
    BadZone {
        /// The host as given.
        host: String,
        /// The zone id.
        zone: String,
    },
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the host is empty"),
            Self::NotAscii(h) => write!(
                f,
                "host {h:?} is not ASCII: pass the IDNA A-label (QUrl::host(QUrl::FullyEncoded))"
            ),
            Self::Bracketed(h) => write!(f, "host {h:?}: pass an IPv6 address without brackets"),
            Self::TooLong(n) => write!(f, "host is {n} characters long; a DNS name has at most {MAX_HOST_LEN}"),
            Self::NotAName(h) => write!(f, "host {h:?} is not a valid DNS name or IP address"),
            Self::ZoneNotIpv6(h) => write!(f, "host {h:?}: only an IPv6 address may carry a zone id (\"%\")"),
            Self::BadZone { host, zone } => write!(f, "host {host:?}: the IPv6 zone id {zone:?} is not valid"),
        }
    }
}

impl std::error::Error for HostError {}

/// Why a host pattern is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// A `*` anywhere but as the whole first label or the whole pattern.
    MisplacedWildcard(String),
    /// A pattern without wildcard that is not a valid host.
    Host {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it as a host.
        error: HostError,
    },
    /// A wildcard over an IP address.
    WildcardOverIp(String),
    /// A wildcard over something that is not a DNS name.
    WildcardOverNonName(String),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MisplacedWildcard(p) => write!(
                f,
                "pattern {p:?}: a wildcard is allowed only as a whole first label (\"*.\" or \"**.\") or as \"*\" alone"
            ),
            Self::Host { pattern, error } => write!(f, "pattern {pattern:?}: {error}"),
            Self::WildcardOverIp(p) => write!(f, "pattern {p:?}: a wildcard cannot cover an IP address"),
            Self::WildcardOverNonName(p) => write!(f, "pattern {p:?}: what follows the wildcard must be a DNS name"),
        }
    }
}

impl std::error::Error for PatternError {}

impl Host {
    /// Validates and normalises a host as applications pass it: ASCII, one
    /// optional trailing dot ignored, case ignored; IPv6 without brackets.
    /// An IPv4-mapped IPv6 address in any spelling is the IPv4 address; an
    /// IPv6 zone id (`%eth0`, `%25eth0`) is dropped.
    pub fn parse(text: &str) -> Result<Self, HostError> {
        if text.is_empty() {
            return Err(HostError::Empty);
        }
        if !text.is_ascii() {
            return Err(HostError::NotAscii(text.into()));
        }
        if let Some(ip) = parse_ip(text)? {
            return Ok(Self::Ip(ip));
        }
        if text.starts_with('[') {
            return Err(HostError::Bracketed(text.into()));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        if name.len() > MAX_HOST_LEN {
            return Err(HostError::TooLong(name.len()));
        }
        if pki_types::DnsName::try_from(name).is_err() || name.split('.').any(|l| l.is_empty() || l.len() > 63) {
            return Err(HostError::NotAName(text.into()));
        }
        Ok(Self::Dns(name.to_ascii_lowercase()))
    }

    /// The host as webpki's name check wants it.
    pub fn server_name(&self) -> pki_types::ServerName<'_> {
        match self {
            Self::Dns(name) => pki_types::ServerName::try_from(name.as_str()).expect("validated in Host::parse"),
            Self::Ip(ip) => pki_types::ServerName::IpAddress((*ip).into()),
        }
    }
}

/// An IP literal as applications write it, in its canonical form: an
/// IPv4-mapped IPv6 address in any spelling (`::ffff:10.0.0.1`,
/// `::ffff:a00:1`, `0:0:0:0:0:ffff:10.0.0.1`) is the IPv4 address itself, so
/// that no spelling escapes the rule for that address. An IPv6 zone id
/// (`fe80::1%eth0`, or `%25eth0` as `QUrl` writes it) names the local
/// interface, not the peer: it is checked and dropped. `Ok(None)`: not an IP
/// literal.
fn parse_ip(text: &str) -> Result<Option<IpAddr>, HostError> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Some(ip.to_canonical()));
    }
    let Some((address, zone)) = text.split_once('%') else {
        return Ok(None);
    };
    let Ok(ip) = address.parse::<std::net::Ipv6Addr>() else {
        return Err(HostError::ZoneNotIpv6(text.into()));
    };
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if zone.is_empty() || !zone.chars().all(unreserved) {
        return Err(HostError::BadZone {
            host: text.into(),
            zone: zone.into(),
        });
    }
    Ok(Some(IpAddr::V6(ip).to_canonical()))
}

/// The IP addresses of a certificate's subjectAltName, in canonical form (an
/// IPv4-mapped IPv6 address as IPv4). Empty when it has none or does not parse.
pub(crate) fn san_ip_addresses(cert_der: &[u8]) -> Vec<IpAddr> {
    use x509_parser::prelude::*;
    let Ok((_, cert)) = X509Certificate::from_der(cert_der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?)),
                16 => Some(IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_canonical()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A host pattern of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// `example.com` or an IP literal: that host only.
    Exact(Host),
    /// `*.example.com`: exactly one more label.
    OneLabel(String),
    /// `**.example.com`: the domain itself and any depth below it.
    AnyDepth(String),
    /// `*`: every host.
    Everything,
}

impl HostPattern {
    /// Parses a pattern; the errors say what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text == "*" {
            return Ok(Self::Everything);
        }
        let (ctor, rest): (fn(String) -> Self, &str) = if let Some(rest) = text.strip_prefix("**.") {
            (Self::AnyDepth, rest)
        } else if let Some(rest) = text.strip_prefix("*.") {
            (Self::OneLabel, rest)
        } else {
            if text.contains('*') {
                return Err(PatternError::MisplacedWildcard(text.into()));
            }
            return Host::parse(text).map(Self::Exact).map_err(|e| PatternError::Host {
                pattern: text.into(),
                error: e,
            });
        };
        match Host::parse(rest) {
            Ok(Host::Dns(suffix)) if !rest.contains('*') => Ok(ctor(suffix)),
            Ok(Host::Ip(_)) => Err(PatternError::WildcardOverIp(text.into())),
            _ => Err(PatternError::WildcardOverNonName(text.into())),
        }
    }

    /// Whether this pattern covers `host`.
    pub fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (Self::Everything, _) => true,
            (Self::Exact(h), host) => h == host,
            (Self::OneLabel(suffix), Host::Dns(name)) => name.split_once('.').is_some_and(|(_, rest)| rest == suffix),
            (Self::AnyDepth(suffix), Host::Dns(name)) => {
                name == suffix
                    || (name.len() > suffix.len()
                        && name.ends_with(suffix.as_str())
                        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.')
            }
            _ => false,
        }
    }

    /// Whether a host under this pattern may lie below the pattern's domain
    /// (the `include-subdomains` of a violation report).
    pub fn includes_subdomains(&self) -> bool {
        !matches!(self, Self::Exact(_))
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(h) => write!(f, "{h}"),
            Self::OneLabel(s) => write!(f, "*.{s}"),
            Self::AnyDepth(s) => write!(f, "**.{s}"),
            Self::Everything => f.write_str("*"),
        }
    }
}

/// Maps hosts to rule indices with the precedence of the policy format:
/// exact, then the longest fixed suffix, `*.` before `**.` at equal suffix,
/// `*` last. A lookup costs one hash probe per label of the host.
#[derive(Debug, Default)]
pub struct HostIndex {
    exact: HashMap<Host, usize>,
    one_label: HashMap<String, usize>,
    any_depth: HashMap<String, usize>,
    everything: Option<usize>,
}

impl HostIndex {
    /// Adds `pattern` for rule `rule`. Returns the rule that already has this
    /// pattern, if any (and then changes nothing).
    pub fn insert(&mut self, pattern: &HostPattern, rule: usize) -> Result<(), usize> {
        fn claim<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K, rule: usize) -> Result<(), usize> {
            match map.get(&key) {
                Some(prev) => Err(*prev),
                None => {
                    map.insert(key, rule);
                    Ok(())
                }
            }
        }
        match pattern {
            HostPattern::Exact(h) => claim(&mut self.exact, h.clone(), rule),
            HostPattern::OneLabel(s) => claim(&mut self.one_label, s.clone(), rule),
            HostPattern::AnyDepth(s) => claim(&mut self.any_depth, s.clone(), rule),
            HostPattern::Everything => match self.everything {
                Some(prev) => Err(prev),
                None => {
                    self.everything = Some(rule);
                    Ok(())
                }
            },
        }
    }

    /// The rule for `host`, if any.
    pub fn lookup(&self, host: &Host) -> Option<usize> {
        if let Some(rule) = self.exact.get(host) {
            return Some(*rule);
        }
        if let Host::Dns(name) = host {
            if let Some(rule) = self.any_depth.get(name.as_str()) {
                return Some(*rule);
            }
            let mut rest = name.as_str();
            let mut first = true;
            while let Some((_, suffix)) = rest.split_once('.') {
                if first {
                    if let Some(rule) = self.one_label.get(suffix) {
                        return Some(*rule);
                    }
                    first = false;
                }
                if let Some(rule) = self.any_depth.get(suffix) {
                    return Some(*rule);
                }
                rest = suffix;
            }
        }
        self.everything
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(patterns: &[&str]) -> HostIndex {
        let mut idx = HostIndex::default();
        for (i, p) in patterns.iter().enumerate() {
            idx.insert(&HostPattern::parse(p).unwrap(), i).unwrap();
        }
        idx
    }

    fn find(idx: &HostIndex, host: &str) -> Option<usize> {
        idx.lookup(&Host::parse(host).unwrap())
    }

    #[test]
    fn precedence() {
        let idx = index(&[
            "api.example.com",
            "*.example.com",
            "**.example.com",
            "**.a.example.com",
            "*",
        ]);
        assert_eq!(find(&idx, "api.example.com"), Some(0));
        assert_eq!(find(&idx, "API.Example.COM."), Some(0));
        assert_eq!(find(&idx, "www.example.com"), Some(1));
        assert_eq!(find(&idx, "example.com"), Some(2));
        assert_eq!(find(&idx, "x.y.example.com"), Some(2));
        assert_eq!(find(&idx, "a.example.com"), Some(3));
        assert_eq!(find(&idx, "b.a.example.com"), Some(3));
        assert_eq!(find(&idx, "other.org"), Some(4));
        assert_eq!(find(&idx, "127.0.0.1"), Some(4));
    }

    #[test]
    fn one_label_is_exactly_one() {
        let idx = index(&["*.example.com"]);
        assert_eq!(find(&idx, "example.com"), None);
        assert_eq!(find(&idx, "a.b.example.com"), None);
        assert_eq!(find(&idx, "notexample.com"), None);
    }

    #[test]
    fn ip_literals_only_exact_or_everything() {
        let idx = index(&["2001:DB8::1", "10.0.0.1"]);
        assert_eq!(find(&idx, "2001:db8:0::1"), Some(0));
        assert_eq!(find(&idx, "10.0.0.1"), Some(1));
        assert_eq!(find(&idx, "10.0.0.2"), None);
        assert!(HostPattern::parse("*.0.0.1").is_err());
    }

    #[test]
    fn ipv4_mapped_and_zoned_addresses_are_canonical() {
        let idx = index(&["10.0.0.1", "fe80::1", "*"]);
        for spelling in [
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "::FFFF:10.0.0.1",
            "::ffff:a00:1",
            "0:0:0:0:0:ffff:10.0.0.1",
            "0000:0000:0000:0000:0000:ffff:0a00:0001",
        ] {
            assert_eq!(Host::parse(spelling), Host::parse("10.0.0.1"), "{spelling}");
            assert_eq!(find(&idx, spelling), Some(0), "{spelling}");
        }
        for zoned in ["fe80::1%eth0", "fe80::1%25eth0", "FE80::1%25en0", "fe80::1%1"] {
            assert_eq!(find(&idx, zoned), Some(1), "{zoned}");
        }
        // IPv4-compatible (::a.b.c.d) is not IPv4-mapped: it stays IPv6.
        assert_ne!(Host::parse("::10.0.0.1"), Host::parse("10.0.0.1"));
        assert_eq!(HostPattern::parse("::ffff:10.0.0.1"), HostPattern::parse("10.0.0.1"));
        for bad in [
            "fe80::1%",
            "10.0.0.1%eth0",
            "fe80::1%eth 0",
            "fe80::1%eth0%1",
            "host%eth0",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bad_patterns_and_hosts() {
        for p in [
            "",
            "a.*.com",
            "*example.com",
            "***.x.com",
            "*.",
            "**.",
            "ex ample.com",
            "*.*.com",
            "[::1]",
            "é.com",
        ] {
            assert!(HostPattern::parse(p).is_err(), "{p:?} accepted");
        }
        assert!(Host::parse(&"a".repeat(300)).is_err());
        assert!(Host::parse("a..b").is_err());
    }

    #[test]
    fn duplicates_are_reported() {
        let mut idx = HostIndex::default();
        idx.insert(&HostPattern::parse("a.com").unwrap(), 0).unwrap();
        assert_eq!(idx.insert(&HostPattern::parse("A.com.").unwrap(), 1), Err(0));
    }
}

//! Chains that public sites actually served (tests/data/realworld, see its
//! README for sources and licences) pass under the `"web"` profile: with
//! their root as the rule's anchor and `"profile": "web"`, and with the roots
//! as a faked system store (SSL_CERT_FILE), where `"web"` is the default.
//! Each is verified at a fixed time inside every certificate's validity.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use certpin::{flags, verify, PinResult, Policy};
use pki_types::pem::PemObject;
use pki_types::CertificateDer;

/// A served chain, the root it leads to, a host it is valid for, and a time.
struct Served {
    chain: &'static str,
    root: &'static str,
    host: &'static str,
    at: &'static str,
}

const SERVED: &[Served] = &[
    Served {
        chain: "valid.rootca1.demo.amazontrust.com",
        root: "amazon-root-ca-1",
        host: "valid.rootca1.demo.amazontrust.com",
        at: "2025-03-15T00:00:00Z",
    },
    Served {
        chain: "valid.rootca2.demo.amazontrust.com",
        root: "amazon-root-ca-2",
        host: "good.sca2a.amazontrust.com",
        at: "2025-03-15T00:00:00Z",
    },
    Served {
        chain: "valid.rootca3.demo.amazontrust.com",
        root: "amazon-root-ca-3",
        host: "valid.rootca3.demo.amazontrust.com",
        at: "2025-03-15T00:00:00Z",
    },
    Served {
        chain: "valid.rootca4.demo.amazontrust.com",
        root: "amazon-root-ca-4",
        host: "valid.rootca4.demo.amazontrust.com",
        at: "2025-03-15T00:00:00Z",
    },
    Served {
        chain: "cloudflare-dns.com",
        root: "digicert-global-root-ca",
        host: "cloudflare-dns.com",
        at: "2022-09-18T00:00:00Z",
    },
    Served {
        chain: "cloudflare-dns.com",
        root: "digicert-global-root-ca",
        host: "1.1.1.1",
        at: "2022-09-18T00:00:00Z",
    },
    Served {
        chain: "aws.amazon.com",
        root: "amazon-root-ca-1",
        host: "aws.amazon.com",
        at: "2026-03-15T00:00:00Z",
    },
    // The same served chain, through Amazon Root CA 1 cross-signed by
    // Starfield Services Root G2, to that root.
    Served {
        chain: "aws.amazon.com",
        root: "starfield-services-root-g2",
        host: "aws.amazon.com",
        at: "2026-03-15T00:00:00Z",
    },
    Served {
        chain: "1password.com",
        root: "amazon-root-ca-1",
        host: "my.1password.com",
        at: "2025-01-15T00:00:00Z",
    },
    Served {
        chain: "agilebits.com",
        root: "starfield-services-root-g2",
        host: "agilebits.com",
        at: "2025-01-15T00:00:00Z",
    },
    Served {
        chain: "letsencrypt.org-2026",
        root: "isrg-root-x1",
        host: "letsencrypt.org",
        at: "2026-03-15T00:00:00Z",
    },
    Served {
        chain: "letsencrypt.org-2025",
        root: "isrg-root-x1",
        host: "letsencrypt.org",
        at: "2025-05-01T00:00:00Z",
    },
    Served {
        chain: "lencr.org-2024",
        root: "isrg-root-x2",
        host: "lencr.org",
        at: "2024-09-15T00:00:00Z",
    },
    // Through ISRG Root X2 cross-signed by ISRG Root X1.
    Served {
        chain: "lencr.org-2024",
        root: "isrg-root-x1",
        host: "lencr.org",
        at: "2024-09-15T00:00:00Z",
    },
    Served {
        chain: "lencr.org-2023",
        root: "isrg-root-x1",
        host: "lencr.org",
        at: "2023-11-01T00:00:00Z",
    },
];

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/realworld")
}

fn pem_file(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn der_chain(name: &str) -> Vec<u8> {
    let path = data().join(format!("{name}.pem"));
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem_file(&path).as_bytes())
        .map(|c| c.unwrap().to_vec())
        .collect();
    assert!(!certs.is_empty(), "{}", path.display());
    certs.concat()
}

fn root_pem(name: &str) -> String {
    pem_file(&data().join("roots").join(format!("{name}.pem")))
}

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// Points the system store at every root of the data, once per process and
/// before the store is first loaded.
fn system_store() {
    static STORE: OnceLock<()> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("certpin-realworld-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut all = String::new();
        for entry in std::fs::read_dir(data().join("roots")).unwrap() {
            all.push_str(&pem_file(&entry.unwrap().path()));
        }
        let store = dir.join("store.pem");
        std::fs::write(&store, all).unwrap();
        std::env::set_var("SSL_CERT_FILE", &store);
        std::env::set_var("SSL_CERT_DIR", dir.join("none"));
    });
}

#[track_caller]
fn assert_vouched(policy: &Policy, s: &Served, how: &str) {
    let v = verify(policy, &der_chain(s.chain), s.host, Some(unix(s.at)));
    assert_eq!(
        (v.result, v.flags & !flags::CACHED),
        (PinResult::PIN_OK, flags::VOUCHED | flags::NAME_VERIFIED),
        "{} for {} ({how}): {}",
        s.chain,
        s.host,
        v.message()
    );
}

#[test]
fn served_chains_pass_under_web_with_their_root_as_anchor() {
    for s in SERVED {
        for profile in ["web", "private"] {
            let json = serde_json::json!({
                "version": 1,
                "rules": [{"hosts": [s.host], "anchors": [root_pem(s.root)], "profile": profile}],
            });
            let policy = Policy::from_json(json.to_string().as_bytes()).unwrap();
            assert_vouched(&policy, s, profile);
        }
    }
}

#[test]
fn served_chains_pass_under_the_system_store_default() {
    system_store();
    for s in SERVED {
        let json = serde_json::json!({
            "version": 1,
            "rules": [{"hosts": [s.host], "system_roots": true}],
        });
        let policy = Policy::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(policy.rules()[0].profile(), None);
        assert_vouched(&policy, s, "system store, default profile");
    }
}

/// The fixed times matter: each chain is refused once its leaf has expired.
#[test]
fn served_chains_expire() {
    for s in SERVED {
        let json = serde_json::json!({
            "version": 1,
            "rules": [{"hosts": [s.host], "anchors": [root_pem(s.root)], "profile": "web"}],
        });
        let policy = Policy::from_json(json.to_string().as_bytes()).unwrap();
        let later = unix(s.at) + 3 * 365 * 86_400;
        let v = verify(&policy, &der_chain(s.chain), s.host, Some(later));
        assert_eq!(v.result, PinResult::PIN_ERR_EXPIRED, "{}: {}", s.chain, v.message());
    }
}

/// A company's own PKI, as served by one of its pre-production servers: it
/// passes under the default for the rule's own anchors.
#[test]
fn a_real_private_pki_passes_under_the_default() {
    let json = serde_json::json!({
        "version": 1,
        "rules": [{"hosts": ["irelease-dev.sanofi.com"], "anchors": [root_pem("sanofi-root-ca")]}],
    });
    let policy = Policy::from_json(json.to_string().as_bytes()).unwrap();
    let s = Served {
        chain: "irelease-uat.sanofi.com",
        root: "sanofi-root-ca",
        host: "irelease-dev.sanofi.com",
        at: "2025-05-06T00:00:00Z",
    };
    assert_vouched(&policy, &s, "default");
}

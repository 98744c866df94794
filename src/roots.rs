//! Trust anchors: the ones a policy names, and the operating system's store,
//! loaded once per process.
//!
//! On Linux the system store honours `SSL_CERT_FILE` and `SSL_CERT_DIR`.

use std::sync::OnceLock;

use pki_types::CertificateDer;
use webpki::anchor_from_trusted_cert;

use crate::pin::Pin;

/// A trust anchor with what verification and messages need about it.
#[derive(Clone, Debug)]
pub struct Anchor {
    /// The anchor's certificate, exactly as given.
    pub der: CertificateDer<'static>,
    /// webpki's view of it.
    pub trust_anchor: pki_types::TrustAnchor<'static>,
    /// The pin of its public key.
    pub pin: Pin,
    /// What its certificate says about the paths it may end.
    pub(crate) constraints: crate::anchor_constraints::Constraints,
}

impl Anchor {
    /// Makes an anchor from a DER certificate; the error says why webpki
    /// cannot use it.
    pub fn from_der(der: CertificateDer<'static>) -> Result<Self, webpki::Error> {
        let trust_anchor = anchor_from_trusted_cert(&der)?.to_owned();
        let pin = Pin::of_spki_contents(&trust_anchor.subject_public_key_info);
        let constraints = crate::anchor_constraints::Constraints::of(&der);
        Ok(Self {
            der,
            trust_anchor,
            pin,
            constraints,
        })
    }
}

/// The system store: its anchors, or why it could not be loaded.
static SYSTEM: OnceLock<Result<Vec<Anchor>, String>> = OnceLock::new();

/// The operating system's trust anchors, loaded on first use and kept for the
/// life of the process. Certificates webpki cannot use are skipped; an empty
/// or unreadable store is an error, so that a rule relying on it fails closed.
pub fn system() -> Result<&'static [Anchor], &'static str> {
    SYSTEM
        .get_or_init(load_system)
        .as_ref()
        .map(Vec::as_slice)
        .map_err(String::as_str)
}

fn load_system() -> Result<Vec<Anchor>, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let anchors: Vec<Anchor> = loaded
        .certs
        .into_iter()
        .filter_map(|der| Anchor::from_der(der).ok())
        .collect();
    if anchors.is_empty() {
        let why = loaded
            .errors
            .first()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no certificates found".into());
        return Err(format!("the system trust store could not be loaded: {why}"));
    }
    Ok(anchors)
}

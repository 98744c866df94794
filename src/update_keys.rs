//! The Ed25519 keys of signed policy updates (the public key an application
//! trusts, the private key that signs offline) and what a policy loaded from
//! an accepted update records about it.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE64;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// How a public key is written: `ed25519/` and the base64 of its 32 bytes.
pub const KEY_PREFIX: &str = "ed25519/";

/// An Ed25519 public key trusted to sign policy updates, written
/// `ed25519/<base64 of the 32-byte key>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrustedKey([u8; 32]);

impl TrustedKey {
    /// The key with these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses `ed25519/<base64>` (standard base64 with padding, 32 bytes).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(b64) = text.strip_prefix(KEY_PREFIX) else {
            return Err(format!(
                "{text:?} is not a public key: expected \"{KEY_PREFIX}\" and the base64 of 32 bytes"
            ));
        };
        let bytes = BASE64
            .decode(b64.as_bytes())
            .map_err(|e| format!("{text:?}: the key is not base64 ({e})"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{text:?}: the key is {} bytes; an Ed25519 key is 32", b.len()))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", BASE64.encode(&self.0))
    }
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedKey({self})")
    }
}

impl FromStr for TrustedKey {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

/// What a policy loaded from a signed update knows about that update
/// ([`Policy::update`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateInfo {
    /// The update's sequence: store it, and pass it as `min_sequence` next
    /// time, so that no older update is ever accepted again.
    pub sequence: u64,
    /// The instant (Unix seconds) from which the update is expired. An
    /// application must stop using the policy then and fall back to its
    /// built-in one: this is the update's dead-man switch.
    pub expires: i64,
    /// `expires` as the payload wrote it (RFC 3339).
    pub expires_text: String,
    /// The trusted keys whose signatures verified, in file order.
    pub signed_by: Vec<TrustedKey>,
}

/// An Ed25519 private key that signs policy updates. Keep it offline; only
/// its public half ([`SigningKey::public_key`]) goes into applications.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    /// A new key from the operating system's random generator, as PKCS#8 v2
    /// DER (private and public key). Store it, then load it with
    /// [`SigningKey::from_pkcs8`].
    pub fn generate_pkcs8() -> Result<Vec<u8>, String> {
        Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| "the system's random generator failed".to_string())
    }

    /// Loads a PKCS#8 Ed25519 private key, v2 (as [`SigningKey::generate_pkcs8`]
    /// makes it; the public key inside must match) or v1 (as
    /// `openssl genpkey -algorithm ed25519` makes it), DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(|pair| Self { pair })
            .map_err(|e| format!("not a PKCS#8 Ed25519 private key ({e})"))
    }

    /// The Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> ring::signature::Signature {
        self.pair.sign(message)
    }

    /// The public key, as applications trust it.
    pub fn public_key(&self) -> TrustedKey {
        let bytes: [u8; 32] = self
            .pair
            .public_key()
            .as_ref()
            .try_into()
            .expect("an Ed25519 public key is 32 bytes");
        TrustedKey(bytes)
    }
}

impl fmt::Debug for SigningKey {
    // Never the private key, not even in a debug print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

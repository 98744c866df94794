//! certpin: TLS certificate and public-key pinning for Qt/C++ applications.
//!
//! An application hands certpin the chain a server presented and the host it
//! connected to; certpin builds and validates a path itself, against the
//! anchors the policy allows and nothing else, checks the pins against that
//! validated path, and answers proceed or reject with a reason.
//!
//! ```no_run
//! let policy = certpin::Policy::from_file("pins.json")?;
//! # let der_chain: Vec<u8> = Vec::new();
//! let verdict = certpin::verify(&policy, &der_chain, "api.example.com", None);
//! if !verdict.ok() {
//!     eprintln!("{}", verdict.message());
//! }
//! # Ok::<(), certpin::PolicyError>(())
//! ```
//!
//! The C ABI lives in `ffi`, the only module with `unsafe` code.

#![deny(unsafe_code)]
#![warn(missing_docs)]

// The pipeline, each module using only those above it: a served chain is
// split, the host's rule found, the leaf's key checked, then the leaf is
// either a pinned certificate (anchored_leaf) or gets a validated path
// (path: webpki, anchor constraints, profile, pins), then the host name;
// verify puts it together into a verdict and remembers acceptances (cache).
mod anchor_constraints;
mod anchored_leaf;
mod cache;
pub mod chain;
#[cfg(feature = "cli")]
pub mod cli;
pub mod describe;
mod error;
mod explain;
pub mod ffi;
pub mod host;
mod key_strength;
mod outcome;
mod path;
pub mod pin;
pub mod policy;
mod profile;
pub mod report;
pub mod result;
pub mod roots;
mod signature_algorithms;
mod signature_cache;
pub mod update;
mod update_keys;
mod verify;

pub use error::Error;
pub use host::{Host, HostError, HostPattern, PatternError};
pub use pin::Pin;
pub use policy::{Policy, PolicyError, Rule, UnlistedHosts};
pub use profile::Profile;
pub use result::{flags, PinResult};
pub use update::{SigningKey, TrustedKey, UpdateInfo};
pub use verify::{host_flags, verify, Verdict, Violation};

//! Loading the policy a command names, through the library's own loaders:
//! a JSON policy file, or a PEM file as the quick policy
//! (`pin_policy_load_pem`: every host, trust exactly these certificates).

use std::path::Path;

use super::{input, Failure, EXIT_POLICY};
use crate::{Policy, PolicyError};

/// Loads `path` as the C API would: `Policy::from_file` for JSON,
/// `Policy::from_pem` for a file of PEM certificates.
pub(crate) fn load(path: &Path) -> Result<Policy, PolicyError> {
    let Ok(bytes) = input::read_bytes(path) else {
        // Let the loader word a missing or unreadable file, with its code.
        return Policy::from_file(path);
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') && input::is_pem(&bytes) {
        Policy::from_pem(&bytes)
    } else {
        Policy::from_file(path)
    }
}

/// The failure of a command whose policy does not load: exit status 2.
pub(crate) fn failure(path: &Path, e: &PolicyError) -> Failure {
    Failure::new(EXIT_POLICY, format!("{}: {e}", path.display()))
}

//! Regenerates `include/certpin.h` from `src/ffi` with cbindgen.
//!
//! The result codes are one list, the `result_codes!` invocation in
//! `src/result.rs`; cbindgen does not expand macros, so this script hands it
//! the enum that list defines, written out.
//!
//! The header is committed, and `make header-check` fails when it differs from
//! what this script generates, so a change to the C API is always reviewed as
//! a change to the header. The file is written only when its text changes, so
//! builds do not touch it needlessly. Where the header cannot be generated
//! (docs.rs, a packaged crate without the sources) the build goes on with a
//! warning: the header is for C users, the Rust library does not need it.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    limbo_suite();
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    if env::var_os("DOCS_RS").is_some() {
        return;
    }
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if let Err(why) = generate(Path::new(&root)) {
        println!("cargo:warning=include/certpin.h was not regenerated: {why}");
    }
}

/// tests/limbo.rs runs the x509-limbo suite from `../shared/limbo/limbo.json`
/// (test data that is not the project's). Where it is absent and `CI` is not
/// set, the test is built as ignored, so that cargo reports it skipped, with
/// the reason, instead of passed; under CI it runs and fails.
fn limbo_suite() {
    println!("cargo::rustc-check-cfg=cfg(limbo_suite_absent)");
    println!("cargo:rerun-if-env-changed=CI");
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let suite = Path::new(&root).join("../shared/limbo/limbo.json");
    println!("cargo:rerun-if-changed={}", suite.display());
    if !suite.exists() && env::var_os("CI").is_none() {
        println!("cargo:rustc-cfg=limbo_suite_absent");
        println!(
            "cargo:warning=x509-limbo is absent ({}): tests/limbo.rs is skipped",
            suite.display()
        );
    }
}

fn generate(root: &Path) -> Result<(), String> {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).map_err(|e| e.to_string())?;
    config.after_includes = Some(version_macros()?);
    let codes = env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    let codes = Path::new(&codes).join("pin_result.rs");
    fs::write(&codes, result_enum(&root.join("src/result.rs"))?).map_err(|e| format!("{}: {e}", codes.display()))?;
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/lib.rs"))
        .with_src(&codes)
        .generate()
        .map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    let text = String::from_utf8(text).map_err(|e| e.to_string())?;
    let path = root.join("include/certpin.h");
    if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    fs::create_dir_all(root.join("include")).map_err(|e| e.to_string())?;
    fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `CERTPIN_VERSION_*`, from the crate version: the header says which library
/// version it declares, and `CERTPIN_VERSION_NUMBER` compares in `#if`.
fn version_macros() -> Result<String, String> {
    let part = |name: &str| -> Result<u32, String> {
        let text = env::var(name).map_err(|e| format!("{name}: {e}"))?;
        let value: u32 = text.parse().map_err(|e| format!("{name}={text}: {e}"))?;
        Ok(value)
    };
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR")?,
        part("CARGO_PKG_VERSION_MINOR")?,
        part("CARGO_PKG_VERSION_PATCH")?,
    );
    if minor > 99 || patch > 99 {
        return Err(format!(
            "version {major}.{minor}.{patch} does not fit CERTPIN_VERSION_NUMBER (minor and patch must be below 100)"
        ));
    }
    let number = major * 10000 + minor * 100 + patch;
    Ok(format!(
        "\n/** The version of certpin this header declares; pin_version() gives the library's at run time. */\n\
         #define CERTPIN_VERSION_STRING \"{major}.{minor}.{patch}\"\n\
         #define CERTPIN_VERSION_MAJOR {major}\n\
         #define CERTPIN_VERSION_MINOR {minor}\n\
         #define CERTPIN_VERSION_PATCH {patch}\n\
         /** MAJOR * 10000 + MINOR * 100 + PATCH, for `#if CERTPIN_VERSION_NUMBER >= ...`. */\n\
         #define CERTPIN_VERSION_NUMBER {number}"
    ))
}

/// The `PinResult` enum that `result_codes!` in `src/result.rs` defines,
/// written out for cbindgen.
fn result_enum(path: &Path) -> Result<String, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let start = text
        .find("\nresult_codes! {\n")
        .ok_or("src/result.rs has no `result_codes! {` invocation")?;
    let body = &text[start + "\nresult_codes! {\n".len()..];
    let body = &body[..body
        .find("\n}\n")
        .ok_or("the `result_codes!` invocation is not closed")?];
    // The invocation's body is the enum's definition, doc comments included.
    Ok(format!("#[repr(C)]\n{body}\n"))
}

//! The `certpin` command: see `certpin --help`.

fn main() -> std::process::ExitCode {
    certpin::cli::main()
}

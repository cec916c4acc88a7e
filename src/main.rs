//! The `layso` binary: a thin shell over `layso::cli`.

fn main() -> std::process::ExitCode {
    layso::cli::main()
}

//! The `q-implant` command: the library's command line (`q_implant::cli`),
//! which the Python module's `q-implant` entry point runs too.

fn main() -> std::process::ExitCode {
    q_implant::cli::main(std::env::args_os().collect())
}

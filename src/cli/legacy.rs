//! The existing C++ tool's form, `q-implant MODEL QPARAM OUTPUT`, as
//! `apply MODEL QPARAM -o OUTPUT --force` (that tool replaced OUTPUT; the
//! inputs stay protected), with the options every command takes (`-q`,
//! `-v`, `--color`) anywhere. Only when MODEL is an existing file, so that
//! a mistyped subcommand gets clap's suggestion instead.

use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use super::args::Cli;

/// The arguments, rewritten to `apply` when they are the legacy form.
pub fn rewrite(args: Vec<OsString>) -> Vec<OsString> {
    // The parser's own subcommands (and `help`), so a new one is never
    // mistaken for a model file; asked only when the form may apply.
    let is_subcommand =
        |name: &str| name == "help" || Cli::command().find_subcommand(name).is_some();
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        let text = a.to_string_lossy();
        match text.as_ref() {
            "-q" | "--quiet" | "-v" | "--verbose" => options.push(a.clone()),
            "--color" => {
                options.push(a.clone());
                options.extend(rest.next().cloned());
            }
            t if t.starts_with("--color=") => options.push(a.clone()),
            // Any other option: not the legacy form.
            t if t.starts_with('-') => return args,
            _ => positional.push(a.clone()),
        }
    }
    let legacy = positional.len() == 3
        && Path::new(&positional[0]).is_file()
        && !is_subcommand(&positional[0].to_string_lossy());
    if !legacy {
        return args;
    }
    let mut out = vec![
        args[0].clone(),
        "apply".into(),
        positional[0].clone(),
        positional[1].clone(),
        "-o".into(),
        positional[2].clone(),
        "--force".into(),
    ];
    out.extend(options);
    out
}

/// When the first argument looks like a path but is no subcommand, what
/// the user probably meant: the legacy form, with a wrong count or a
/// missing file. `None` when it does not look like a path.
pub fn note_for(first: Option<&Path>) -> Option<String> {
    let first = first.filter(|p| p.extension().is_some() || p.components().count() > 1)?;
    Some(if first.is_file() {
        "\nnote: the form `q-implant MODEL QPARAM OUTPUT` takes exactly three paths (and only -q, -v and --color besides)".to_string()
    } else {
        format!(
            "\nnote: there is no file `{}` either; the form `q-implant MODEL QPARAM OUTPUT` needs an existing MODEL",
            first.display()
        )
    })
}

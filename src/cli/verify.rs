//! `verify` as the command line runs it: the subject and the samples from
//! the arguments, the library's verification, the report printed or
//! written where -o says.

use std::io::Write;
use std::path::Path;

use crate::commands::verify::{Subject, VerifyError, VerifyRequest};
use crate::commands::{self, Status};
use crate::files::{self, AtomicFile};
use crate::report::{self, apply as said, Format, Paint, Sources, Style, View};
use crate::verify::inputs::Source;
use crate::verify::report::Shortfall;
use crate::verify::{html, human};

use super::args::{VerifyArgs, VerifyFormat};
use super::ui::{emit, emit_stderr, say, Ui};

pub fn verify(ui: &Ui, style: &Style, args: VerifyArgs) -> miette::Result<Status> {
    let settings;
    let subject = match (&args.qparam, &args.reference) {
        (Some(qparam), None) => {
            settings = args.analysis.overrides().resolve(&args.model, qparam)?;
            ui.config(&settings);
            Subject::Planned {
                model: &args.model,
                qparam,
                settings: &settings,
            }
        }
        (None, Some(reference)) => Subject::Quantized {
            model: &args.model,
            reference,
        },
        _ => miette::bail!(
            code = "args::verify",
            help = "`verify MODEL QPARAM` or `verify QUANTIZED --reference FLOAT`",
            "give either a qparam set or --reference, not both"
        ),
    };
    if let Some(out) = &args.output {
        let inputs = [
            Some(args.model.as_path()),
            args.qparam.as_deref(),
            args.reference.as_deref(),
        ];
        files::refuse_inputs(out, inputs.into_iter().flatten())?;
        if out.exists() && !args.force {
            miette::bail!(
                code = "verify::output_exists",
                help = "pass --force to replace it, or choose another path",
                "the output `{}` exists",
                out.display()
            );
        }
    }
    let request = VerifyRequest {
        subject,
        inputs: if args.input.is_empty() {
            Source::Random {
                samples: args.samples as usize,
                seed: args.seed,
            }
        } else {
            Source::Files(args.input.clone())
        },
        max_memory: args.max_memory,
        save_outputs: args.save_outputs.as_deref().map(|d| (d, args.force)),
        keep_outputs: false,
    };
    let outcome = commands::verify(&request, ui);
    ui.finish();
    let outcome = match outcome {
        Err(VerifyError::Refused { analysis, refusal }) => {
            // Why there is no model to verify, on stderr: stdout is the
            // report's.
            if let Some(qparam) = &args.qparam {
                let sources = Sources {
                    model: &args.model,
                    qparam,
                };
                let filter = Default::default();
                let view = View::new(&analysis.0, &filter);
                emit_stderr(&report::render(&view, &sources, Format::Human, style));
                for line in said::refusal_lines(&refusal, &filter, Path::new("the quantized model"))
                {
                    say(line);
                }
            }
            return Err(VerifyError::Refused { analysis, refusal }.into());
        }
        other => other?,
    };
    let title = match &args.reference {
        Some(reference) => format!("{} against {}", args.model.display(), reference.display()),
        None => format!(
            "{} with {}",
            args.model.display(),
            args.qparam.as_deref().unwrap_or(Path::new("")).display()
        ),
    };
    let text = match args.format {
        VerifyFormat::Human => human::render(&outcome.report, Paint(style.color), args.all),
        VerifyFormat::Json => outcome.report.to_json(),
        VerifyFormat::Html => html::render(&outcome.report, &title),
    };
    match &args.output {
        Some(out) => {
            write_whole(out, &text, args.force)?;
            ui.status(&format!("wrote {}", out.display()));
        }
        None => emit(&text),
    }
    if let Some(dir) = &outcome.saved {
        ui.status(&format!(
            "saved the outputs of {} samples to {}",
            outcome.report.samples,
            dir.display()
        ));
    }
    let status = outcome.status(args.fail_under);
    if let (Status::Findings, Some(db)) = (status, args.fail_under) {
        for (o, why) in outcome.report.outputs_under(db) {
            let verdict = match why {
                Shortfall::Below(_) => "below",
                _ => "fails",
            };
            say(format_args!(
                "{verdict} --fail-under {db} dB: `{}` {}",
                o.name,
                why.explain()
            ));
        }
    }
    Ok(status)
}

/// Writes `text` to `path` whole or not at all.
fn write_whole(path: &Path, text: &str, force: bool) -> miette::Result<()> {
    let err = |source: std::io::Error| {
        miette::miette!(
            code = "verify::write",
            help = "choose a path in a directory you can write",
            "cannot write `{}`: {source}",
            path.display()
        )
    };
    let file = AtomicFile::create(path).map_err(err)?;
    file.as_file().write_all(text.as_bytes()).map_err(err)?;
    file.sync().map_err(err)?;
    file.commit(force).map_err(err)
}

//! Each command as the command line runs it: settings from the arguments
//! and the configuration, the library's command, then what it returned,
//! printed.

use std::process::ExitCode;

use crate::commands::{self, CheckRequest, Outcome, RulesQuery, Status};
use crate::report::{self, apply as said, Format, Sources, Style, View};
use clap::CommandFactory;

use super::args::{
    ApplyArgs, ApplyFormat, CheckArgs, Cli, Command, DiffArgs, ExtractArgs, InspectFormat,
    RecordFormat,
};
use super::ui::{self, emit, Ui};

pub fn run(cli: Cli) -> miette::Result<ExitCode> {
    let ui = Ui::new(cli.quiet, cli.verbose);
    let mut style = cli.color.stdout_style();
    style.quiet = ui.quiet;
    let status = match cli.command {
        Command::Check(args) => check(&ui, &style, args)?,
        Command::Apply(args) => apply(&ui, &style, args)?,
        Command::Verify(args) => super::verify::verify(&ui, &style, args)?,
        Command::Rules {
            code,
            markdown,
            targets_markdown,
        } => {
            let query = match (&code, markdown, targets_markdown) {
                (_, _, true) => RulesQuery::TargetsMarkdown,
                (_, true, false) => RulesQuery::Markdown,
                (Some(code), false, false) => RulesQuery::Explain(code),
                (None, false, false) => RulesQuery::Listing,
            };
            emit(&commands::rules(query)?);
            Status::Success
        }
        Command::Inspect { model, format } => {
            let report = commands::inspect(&model, &ui);
            ui.finish();
            let report = report?;
            match format {
                InspectFormat::Table => emit(&report.to_table()),
                InspectFormat::Json => emit(&(report.to_json() + "\n")),
            }
            Status::Success
        }
        Command::Extract(args) => extract(&ui, args)?,
        Command::Diff(args) => diff(&ui, &style, args)?,
        Command::Completions { shell } => {
            emit(&completions(shell));
            Status::Success
        }
        Command::Rewrite {
            model,
            output,
            layout,
            force,
        } => {
            let written = commands::rewrite(&model, &output, layout.into(), force, &ui);
            ui.finish();
            let written = written?;
            ui.status(&format!(
                "wrote {} ({} bytes, {} layout)",
                output.display(),
                written.bytes,
                written.layout_name()
            ));
            Status::Success
        }
    };
    Ok(ExitCode::from(status.code()))
}

fn check(ui: &Ui, style: &Style, args: CheckArgs) -> miette::Result<Status> {
    let format: Format = args.format.into();
    if args.statistics && !matches!(format, Format::Human | Format::Concise | Format::Full) {
        miette::bail!(
            code = "args::statistics",
            help = "use --statistics with the human formats; the JSON summary counts errors and warnings",
            "--statistics is for people; it cannot be combined with a --format for tools"
        );
    }
    let settings = args
        .analysis
        .overrides()
        .resolve(&args.model, &args.qparam)?;
    ui.config(&settings);
    let request = CheckRequest {
        model: &args.model,
        qparam: &args.qparam,
        settings: &settings,
        fix: args.fix.then_some(args.fix_output.as_deref()),
        preview: args.diff,
        run: args.run.request(),
    };
    let outcome = commands::check(&request, ui);
    ui.finish();
    let outcome = outcome?;
    if let Some(preview) = outcome.fix.as_ref().and_then(|f| f.preview.as_ref()) {
        return Ok(show_preview(ui, outcome.fix.as_ref(), preview));
    }
    if let Some(fix) = &outcome.fix {
        for f in &fix.fixed {
            ui.status(&format!("fixed `{}`: {}", f.key, f.what));
        }
        for f in &fix.left {
            ui.status(&format!("left as is `{}`: {}", f.key, f.what));
        }
        show_calibration(ui, fix.calibration.as_ref());
        match &fix.written {
            None => ui.status("nothing to fix"),
            Some(written) => {
                if let Some(backup) = &written.backup {
                    ui.status(&format!("the original is kept as {}", backup.display()));
                }
                ui.status(&format!(
                    "wrote {}; the findings below are for it",
                    written.path.display()
                ));
            }
        }
    }
    ui.verbose("reporting");
    let sources = Sources {
        model: &args.model,
        qparam: &outcome.reported,
    };
    let view = View::new(&outcome.analysis, &settings.filter);
    emit(&if args.statistics {
        report::render_statistics(&view, &sources, style)
    } else {
        report::render(&view, &sources, format, style)
    });
    Ok(outcome.status(&settings, args.deny.is_some()))
}

/// What `--calibrate` did: a line, and its warnings.
fn show_calibration(ui: &Ui, calibration: Option<&crate::fix::Calibration>) {
    let Some(c) = calibration else { return };
    ui.status(&format!(
        "calibrated {} tensors from {} {}samples ({})",
        c.calibrated,
        c.samples,
        if c.random { "random " } else { "" },
        c.method.describe()
    ));
    for w in &c.warnings {
        ui.status(&format!("warning: {w}"));
    }
}

/// `check --fix --diff`: the diff and the new files on stdout, what would
/// be fixed on stderr; 1 when anything would change.
fn show_preview(
    ui: &Ui,
    fix: Option<&commands::FixOutcome>,
    preview: &commands::FixPreview,
) -> Status {
    for f in fix.iter().flat_map(|f| &f.fixed) {
        ui.status(&format!("would fix `{}`: {}", f.key, f.what));
    }
    for f in fix.iter().flat_map(|f| &f.left) {
        ui.status(&format!("would leave as is `{}`: {}", f.key, f.what));
    }
    show_calibration(ui, fix.and_then(|f| f.calibration.as_ref()));
    let mut out = preview.diff.clone();
    for f in &preview.new_files {
        out += &format!(
            "new file {} ({}, shape {:?}, {} bytes)\n",
            f.path.display(),
            f.dtype,
            f.shape,
            f.bytes
        );
    }
    emit(&out);
    if preview.is_empty() {
        ui.status("nothing to fix; nothing was written");
        Status::Success
    } else {
        ui.status("nothing was written (--diff)");
        Status::Findings
    }
}

fn apply(ui: &Ui, style: &Style, args: ApplyArgs) -> miette::Result<Status> {
    let settings = args
        .analysis
        .overrides()
        .resolve(&args.model, &args.qparam)?;
    ui.config(&settings);
    let request = commands::ApplyRequest {
        model: &args.model,
        qparam: &args.qparam,
        output: &args.output,
        settings: &settings,
        layout: args.layout.into(),
        force: args.force,
        dry_run: args.dry_run,
        deny_warnings: args.deny.is_some(),
    };
    let outcome = commands::apply(&request, ui);
    ui.finish();
    let sources = Sources {
        model: &args.model,
        qparam: &args.qparam,
    };
    let people = match args.format {
        ApplyFormat::Human => Some(Format::Human),
        ApplyFormat::Concise => Some(Format::Concise),
        ApplyFormat::Full => Some(Format::Full),
        ApplyFormat::Json => None,
    };
    let show = |a: &crate::analysis::Analysis, ended: said::Ended<'_>| {
        let view = View::new(a, &settings.filter);
        match people {
            Some(format) if !view.shown.is_empty() || view.hidden > 0 => {
                emit(&report::render(&view, &sources, format, style));
            }
            Some(_) => {}
            None => emit(&said::record(
                &view,
                &args.model,
                &args.qparam,
                &args.output,
                &ended,
            )),
        }
    };
    Ok(match outcome? {
        Outcome::Refused { analysis, refusal } => {
            show(&analysis, said::Ended::Refused(&refusal));
            for line in said::refusal_lines(&refusal, &settings.filter, &args.output) {
                ui::say(line);
            }
            Status::Findings
        }
        Outcome::DryRun {
            analysis,
            changes,
            inserted,
        } => {
            show(
                &analysis,
                said::Ended::DryRun {
                    changes: &changes,
                    inserted: &inserted,
                },
            );
            if people.is_some() {
                emit(&said::dry_run_table(&changes, &inserted));
            }
            ui.status(&format!(
                "dry run: nothing was written to {}",
                args.output.display()
            ));
            Status::Success
        }
        Outcome::Written {
            analysis,
            changes,
            inserted,
            written,
        } => {
            show(
                &analysis,
                said::Ended::Written {
                    changes: &changes,
                    inserted: &inserted,
                    written: &written,
                },
            );
            let float_ops = &analysis.plan.float_ops;
            for line in said::written_lines(&changes, &inserted, float_ops, &written, &args.output)
            {
                ui.status(&line);
            }
            Status::Success
        }
    })
}

fn extract(ui: &Ui, args: ExtractArgs) -> miette::Result<Status> {
    let keys_from = match (&args.keys_from, &args.float_model) {
        (Some(qparam), Some(float_model)) => Some(commands::KeysFrom {
            qparam,
            float_model,
        }),
        _ => None,
    };
    let request = commands::ExtractRequest {
        model: &args.model,
        output: &args.output,
        force: args.force,
        keys_from,
    };
    let outcome = commands::extract(&request, ui);
    ui.finish();
    let outcome = outcome?;
    let summary = report::extract::Summary {
        model: &args.model,
        dir: &args.output,
        extracted: &outcome.extracted,
        written: outcome.written,
        renamed: outcome.renamed,
        unresolved: &outcome.unresolved,
        keys_from: args.keys_from.as_deref(),
    };
    match args.format {
        RecordFormat::Human => {
            for line in report::extract::lines(&summary) {
                ui.status(&line);
            }
        }
        RecordFormat::Json => emit(&report::extract::json(&summary)),
    }
    Ok(Status::Success)
}

fn diff(ui: &Ui, style: &Style, args: DiffArgs) -> miette::Result<Status> {
    if args.stat && args.format == RecordFormat::Json {
        miette::bail!(
            code = "args::stat",
            help = "the JSON document lists every difference; count them there",
            "--stat is for people; it cannot be combined with --format json"
        );
    }
    let request = commands::DiffRequest {
        a: &args.a,
        b: &args.b,
        tolerance: crate::diff::Tolerance { rtol: args.rtol },
        load: crate::qparam::LoadOptions {
            allow_outside_paths: args.allow_outside_paths,
            ..Default::default()
        },
    };
    let outcome = commands::diff(&request, ui);
    ui.finish();
    let outcome = outcome?;
    emit(&match (args.format, args.stat) {
        (RecordFormat::Json, _) => report::diff::json(&outcome),
        (RecordFormat::Human, true) => report::diff::stat(&outcome, style),
        (RecordFormat::Human, false) => report::diff::human(&outcome, style),
    });
    Ok(outcome.status())
}

/// A completion script for `shell`, from the parser itself.
fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "q-implant", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    if shell == clap_complete::Shell::Bash {
        // The generator spells the subcommands' case labels from the
        // hyphenated name differently from the state it sets
        // (`q__subcmd__implant__subcmd__check` against
        // `q__implant__subcmd__check`), so nothing after a subcommand would
        // complete; one spelling for both.
        return script.replace("q__subcmd__implant__", "q__implant__");
    }
    script
}

//! Text for the document: table cells, numbers as the measuring script
//! writes them, Markdown tables.

use crate::analysis::rules::target::onert::matrix::Cell;
use crate::analysis::rules::target::support::{Does, Evidence, Fact, Inputs, Operand};
use crate::diagnostic::Rule;
use crate::model::fb::BuiltinOperator as Op;
use crate::qparam::QDType;

pub(super) const NO_RULE: &str = "—";

/// The types a row holds for.
pub(super) fn types_text(on: Option<&[QDType]>) -> String {
    match on {
        None => "every type".into(),
        Some(types) => and_list(&types.iter().map(|t| t.name()).collect::<Vec<_>>()),
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub(super) fn does_text(d: Does) -> String {
    match d {
        Does::RunsRight => "runs right".into(),
        Does::NoKernel { stage, says } => {
            format!("no kernel: rejected at {} (`{says}`)", stage.name())
        }
        Does::RefusesType => "refuses the model: the API refuses its inputs and outputs, the validator its conversions, the kernels its tensors".into(),
        Does::IgnoresPerChannel(operand) => format!(
            "reads channel 0's parameters for every channel of {}",
            match operand {
                Operand::Weight => "its weight",
                Operand::Constant => "a constant operand",
                Operand::Input => "its input",
            }
        ),
        Does::CopiesBytes => {
            "with output parameters other than its input's: copies the bytes".into()
        }
        Does::RefusesRequantizing {
            stage,
            says,
            inputs,
        } => format!(
            "with output parameters other than {}: rejected at {} (`{says}`)",
            match inputs {
                Inputs::Value => "its input's",
                Inputs::Every => "every input's",
            },
            stage.name()
        ),
        Does::ComputesWrong(how) => format!("computes wrong: {}", md(how)),
        Does::RefusesWeightZeroPoint { stage, says } => format!(
            "weights with a zero point other than 0 rejected at {} (`{says}`)",
            stage.name()
        ),
        Does::ReadsWeightsAsInputType => {
            "reads weights of another type than its input as the input's type".into()
        }
        Does::Unsupported { stage, says } => format!(
            "cannot run it in any precision, float included: fails at {} (`{says}`)",
            stage.name()
        ),
    }
}

pub(super) fn evidence_text(f: &Fact) -> String {
    match f.evidence {
        Evidence::Cells(_) | Evidence::MatrixRow => f
            .cells()
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", "),
        Evidence::Outside(run) => md(run),
        Evidence::Assumed(why) => format!("*{}*", md(why)),
    }
}

/// The builtin operator a cell names.
pub(super) fn builtin(name: &str) -> Option<Op> {
    Op::ENUM_VALUES
        .iter()
        .copied()
        .find(|op| op.variant_name() == Some(name))
}

pub(super) fn rule_text(rules: &[&Rule]) -> String {
    if rules.is_empty() {
        return NO_RULE.into();
    }
    rules
        .iter()
        .map(|r| {
            format!(
                "[{}](rules.md#{}) {}",
                r.code,
                r.code.to_lowercase(),
                r.name
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cell as the matrix tables show it.
pub(super) fn cell_text(cell: Option<&Cell>, with_reason: bool) -> String {
    let Some(c) = cell else {
        return "·".into();
    };
    let stage = c.stage.as_deref().unwrap_or_default();
    match c.verdict.as_str() {
        "ok" => format!("ok ({})", g_opt(c.max_steps)),
        "wrong" => match c.max_steps {
            None => format!(
                "wrong ({})",
                c.output_mismatch.as_deref().unwrap_or_default()
            ),
            Some(max) => {
                let mut text = format!("**wrong ({} steps)**", g(max));
                if with_reason && !c.matches.is_empty() {
                    text.push_str(&format!(": output is {}", c.matches.join("; ")));
                }
                text
            }
        },
        v @ ("crash" | "timeout") => format!("**{v}** ({stage})"),
        _ if with_reason => format!("rejected at {stage}: {}", md(&c.reason())),
        _ => format!("rejected at {stage}"),
    }
}

/// Text for a table cell: pipes escaped, on one line.
pub(super) fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub(super) fn table(header: &[&str], rows: Vec<Vec<String>>) -> Vec<String> {
    let mut out = vec![
        format!("| {} |", header.join(" | ")),
        format!("|{}|", vec!["---"; header.len()].join("|")),
    ];
    out.extend(rows.into_iter().map(|r| format!("| {} |", r.join(" | "))));
    out
}

/// The smallest and largest of `values`, if any.
pub(super) fn span(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().reduce(f64::min)?;
    let hi = values.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

pub(super) fn g_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "None".into(), g)
}

/// A number as Python's `format(v, "g")` writes it: six significant
/// digits, no trailing zeros.
pub(super) fn g(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let exp = v.abs().log10().floor() as i32;
    let strip = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (-4..6).contains(&exp) {
        let decimals = (5 - exp).max(0) as usize;
        strip(format!("{v:.decimals$}"))
    } else {
        let text = format!("{v:.5e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            strip(mantissa.to_string()),
            exponent.abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_python_writes_them() {
        for (v, text) in [
            (0.0, "0"),
            (35.0, "35"),
            (14.3125, "14.3125"),
            (58.7, "58.7"),
            (0.087, "0.087"),
            (41.951, "41.951"),
            (1e-5, "1e-05"),
            (1234567.0, "1.23457e+06"),
        ] {
            assert_eq!(g(v), text);
        }
    }

    #[test]
    fn cells_name_their_operators() {
        assert_eq!(builtin("CONV_2D"), Some(Op::CONV_2D));
        assert_eq!(builtin("NOT_AN_OPERATOR"), None);
    }
}

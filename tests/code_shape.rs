//! The shape of the code: no function in `src/` longer than
//! [`MAX_FUNCTION_LINES`] (the generated FlatBuffers bindings aside), and a
//! thin `main.rs`.
//!
//! A function is measured from the line of its `fn` to the line of its
//! closing brace. The scanner reads Rust as text: it blanks out comments,
//! strings (raw strings too, whose braces do not count) and character
//! literals, then matches braces.

use std::path::{Path, PathBuf};

/// Longer functions do more than one thing: split them by the decisions
/// they make.
const MAX_FUNCTION_LINES: usize = 120;

/// `main.rs` parses arguments and prints what the library returns; more
/// than this and it is doing the library's work.
const MAX_MAIN_LINES: usize = 200;

/// Generated from `schema/circle.fbs`, not written by hand.
const GENERATED: &str = "src/model/circle_generated.rs";

/// A function found in a file: its name, the line of its `fn` and its
/// length in lines (1-based, inclusive of both ends).
#[derive(Debug, PartialEq)]
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// `text` with every comment, string and character literal replaced by
/// spaces (newlines kept, so lines still count), leaving the code's own
/// braces and keywords.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Blanks chars[from..to] into `out`, keeping newlines.
    let blank = |out: &mut String, from: usize, to: usize| {
        for &c in &chars[from..to.min(chars.len())] {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let ident_before = i > 0 && is_ident(chars[i - 1]);
        // `b'x'`: a byte literal, its `b` standing alone.
        let byte_prefix = i > 0 && chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2]));
        if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let end = block_comment_end(&chars, i);
            blank(&mut out, i, end);
            i = end;
        } else if let Some(end) = raw_string_end(&chars, i) {
            blank(&mut out, i, end);
            i = end;
        } else if c == '"' {
            let end = quoted_end(&chars, i, '"');
            blank(&mut out, i, end);
            i = end;
        } else if c == '\'' && (!ident_before || byte_prefix) {
            match char_literal_end(&chars, i) {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                // A lifetime or a loop label.
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of a (nested) block comment starting at `start`.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// The end of a string or character literal quoted by `quote` at `start`,
/// backslash escapes skipped.
fn quoted_end(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The end of a raw string (`r"…"`, `r#"…"#`, `br##"…"##`) starting at
/// `start`, if one starts there. `r#name` is a raw identifier, not a string.
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start;
    if chars[i] == 'b' {
        i += 1;
    }
    if chars.get(i) != Some(&'r') || (start > 0 && is_ident(chars[start - 1])) {
        return None;
    }
    i += 1;
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    i += hashes;
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(chars.len())
}

/// The end of a character literal (`'x'`, `'\n'`, `'\u{7f}'`, `'{'`)
/// starting at `start`; `None` for a lifetime (`'a`, `'static`) or label.
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    match chars.get(start + 1)? {
        '\\' => Some(quoted_end(chars, start, '\'')),
        _ if chars.get(start + 2) == Some(&'\'') => Some(start + 3),
        _ => None,
    }
}

/// Every function with a body in `text`, nested ones included.
fn functions(text: &str) -> Vec<Function> {
    let code: Vec<char> = code_only(text).chars().collect();
    let mut lines = Vec::with_capacity(code.len());
    let mut line = 1;
    for &c in &code {
        lines.push(line);
        if c == '\n' {
            line += 1;
        }
    }
    let line_at = |i: usize| lines[i];
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 < code.len() {
        let keyword = code[i] == 'f'
            && code[i + 1] == 'n'
            && (i == 0 || !(is_ident(code[i - 1]) || code[i - 1] == '#'))
            && code[i + 2].is_whitespace();
        if !keyword {
            i += 1;
            continue;
        }
        let mut name_start = i
            + 2
            + code[i + 2..]
                .iter()
                .take_while(|c| c.is_whitespace())
                .count();
        if code[name_start..].starts_with(&['r', '#']) {
            name_start += 2;
        }
        let name: String = code[name_start..]
            .iter()
            .take_while(|&&c| is_ident(c))
            .collect();
        // `fn(u8) -> u8` is a type, `fn $name` a macro's pattern.
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            i += 2;
            continue;
        }
        if let Some((open, close)) = body(&code, name_start + name.len()) {
            found.push(Function {
                name,
                line: line_at(i),
                lines: line_at(close) - line_at(i) + 1,
            });
            // Nested functions are measured too: go on inside the body.
            i = open + 1;
        } else {
            i = name_start;
        }
    }
    found
}

/// The opening and closing brace of the body of a function whose signature
/// starts at `from`, or `None` when it has none (`fn f();` in a trait).
/// Braces inside the signature's parentheses or brackets do not start it.
fn body(code: &[char], from: usize) -> Option<(usize, usize)> {
    let mut depth = 0i32;
    let mut i = from;
    let open = loop {
        match *code.get(i)? {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ';' if depth == 0 => return None,
            '{' if depth == 0 => break i,
            _ => {}
        }
        i += 1;
    };
    let mut braces = 0;
    for (j, &c) in code.iter().enumerate().skip(open) {
        match c {
            '{' => braces += 1,
            '}' => {
                braces -= 1;
                if braces == 0 {
                    return Some((open, j));
                }
            }
            _ => {}
        }
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The binary's entry point, wiring over the library's `cli` module.
const MAIN: &str = "src/main.rs";

/// The functions of `files` (relative to the crate root) over the limit,
/// one line each.
fn too_long(files: &[PathBuf]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for relative in files {
        let text = std::fs::read_to_string(root.join(relative))
            .unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
        for f in functions(&text) {
            if f.lines > MAX_FUNCTION_LINES {
                long.push(format!(
                    "{}:{} `{}` is {} lines",
                    relative.display(),
                    f.line,
                    f.name,
                    f.lines
                ));
            }
        }
    }
    long
}

#[test]
fn no_function_in_src_is_longer_than_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let files: Vec<PathBuf> = files
        .iter()
        .map(|p| p.strip_prefix(root).expect("under the root").to_path_buf())
        .filter(|p| p != Path::new(GENERATED))
        .collect();
    assert!(files.len() > 10, "no sources found under src/");
    let long = too_long(&files);
    assert!(
        long.is_empty(),
        "functions longer than {MAX_FUNCTION_LINES} lines (split them by the decisions they make):\n{}",
        long.join("\n")
    );
}

/// The commands live in the library; main.rs only hands the arguments to
/// its command line.
#[test]
fn main_rs_stays_thin() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MAIN);
    let lines = std::fs::read_to_string(path)
        .expect("src/main.rs")
        .lines()
        .count();
    assert!(
        lines <= MAX_MAIN_LINES,
        "src/main.rs is {lines} lines; at most {MAX_MAIN_LINES}: move the work into the library"
    );
}

#[cfg(test)]
mod scanner {
    use super::{code_only, functions, Function};

    fn shape(text: &str) -> Vec<(String, usize, usize)> {
        functions(text)
            .into_iter()
            .map(|Function { name, line, lines }| (name, line, lines))
            .collect()
    }

    fn f(name: &str, line: usize, lines: usize) -> (String, usize, usize) {
        (name.to_string(), line, lines)
    }

    #[test]
    fn measures_from_the_fn_line_to_the_closing_brace() {
        let text = "fn a() {\n    let x = 1;\n}\n\npub(crate) fn b(x: u8) -> u8 { x }\n";
        assert_eq!(shape(text), [f("a", 1, 3), f("b", 5, 1)]);
    }

    #[test]
    fn a_signature_over_several_lines_counts_from_its_fn() {
        let text = "/// Doc.\n#[inline]\npub fn long(\n    a: u8,\n    b: [u8; 4],\n) -> Option<u8>\nwhere\n    u8: Copy,\n{\n    None\n}\n";
        assert_eq!(shape(text), [f("long", 3, 9)]);
    }

    #[test]
    fn braces_in_strings_and_raw_strings_do_not_count() {
        let text = concat!(
            "fn s() {\n",
            "    let a = \"}\\\"}\";\n",
            "    let b = r#\"## What }\n}\"} \"#;\n",
            "    let c = br##\"\"#}\"##;\n",
            "    let d = r\"}\";\n",
            "}\n",
            "fn after() {}\n"
        );
        assert_eq!(shape(text), [f("s", 1, 7), f("after", 8, 1)]);
    }

    #[test]
    fn character_literals_and_lifetimes_are_told_apart() {
        let text = "fn c<'a>(x: &'a str) -> char {\n    let _ = ['{', '\\'', '\\u{7d}', '}'];\n    'outer: loop { break 'outer; }\n    '}'\n}\n";
        assert_eq!(shape(text), [f("c", 1, 5)]);
    }

    #[test]
    fn comments_are_skipped_nested_ones_too() {
        let text = "// fn not_this() {\nfn real() {\n    /* } /* { */ } fn nor_this() {} */\n    // }\n}\n";
        assert_eq!(shape(text), [f("real", 2, 4)]);
    }

    #[test]
    fn nested_functions_and_blocks() {
        let text = "fn outer() {\n    if true { { } }\n    fn inner() {\n        match 1 { _ => {} }\n    }\n}\n";
        assert_eq!(shape(text), [f("outer", 1, 6), f("inner", 3, 3)]);
    }

    #[test]
    fn declarations_fn_types_and_raw_identifiers_are_not_functions() {
        let text = "trait T {\n    fn declared(&self) -> [u8; 2];\n    fn given(&self) {}\n}\ntype F = fn(u8) -> u8;\nfn r#match() { let r#fn = 1; }\n";
        assert_eq!(shape(text), [f("given", 3, 1), f("match", 6, 1)]);
    }

    #[test]
    fn blanking_keeps_lines_and_code() {
        let text = "let s = \"a\nb\"; // c\nlet t = 'x'; let u = b'{';";
        assert_eq!(
            code_only(text),
            "let s =   \n  ;     \nlet t =    ; let u = b   ;"
        );
    }
}

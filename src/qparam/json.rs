//! A JSON reader that keeps where every key and value stands in the file,
//! and keeps every key of an object, duplicates included. serde_json would
//! keep only the last duplicate and forget positions; diagnostics need both.

pub use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text, as written (so `1.0` and `1` stay distinguishable).
    Number(String),
    String(String),
    Array(Vec<Spanned<Json>>),
    Object(Vec<Member>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: Spanned<String>,
    pub value: Spanned<Json>,
}

impl Json {
    /// What kind of value this is, in JSON's words, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Where and why the text is not JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub at: usize,
}

pub fn parse(text: &str) -> Result<Spanned<Json>, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("unexpected text after the end of the JSON value"));
    }
    Ok(v)
}

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            message: message.into(),
            at: self.i.min(self.s.len()),
        }
    }

    /// The error for a character no value starts with, named as the
    /// character it is (not its first byte).
    fn unexpected(&self) -> SyntaxError {
        let rest = &self.s[self.i..];
        let valid = match std::str::from_utf8(rest) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        match valid.chars().next() {
            Some('\u{feff}') => self.err(
                "the file starts with a byte-order mark (U+FEFF), which JSON does not allow: save it as UTF-8 without one",
            ),
            Some(c) => self.err(format!("expected a value, found `{}`", c.escape_debug())),
            None => self.err(format!("expected a value, found the byte 0x{:02x}", rest[0])),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Spanned<Json>, SyntaxError> {
        let start = self.i;
        let value = match self.peek() {
            None => return Err(self.err("the file ends where a value was expected")),
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Json::String(self.string()?),
            Some(b't') => self.word("true", Json::Bool(true))?,
            Some(b'f') => self.word("false", Json::Bool(false))?,
            Some(b'n') => self.word("null", Json::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.unexpected()),
        };
        Ok(Spanned {
            value,
            span: start..self.i,
        })
    }

    fn nested(
        &mut self,
        f: fn(&mut Self) -> Result<Json, SyntaxError>,
    ) -> Result<Json, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("values are nested too deeply"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn word(&mut self, word: &str, value: Json) -> Result<Json, SyntaxError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.err("expected a value (strings need double quotes)"))
        }
    }

    fn number(&mut self) -> Result<Json, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > from
        };
        let int_start = self.i;
        if !digits(self) {
            return Err(self.err("a number needs digits"));
        }
        if self.s[int_start] == b'0' && self.i - int_start > 1 {
            self.i = int_start;
            return Err(self.err("a number may not start with a 0 followed by digits"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("a decimal point needs digits after it"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("an exponent needs digits"));
            }
        }
        Ok(Json::Number(
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
        ))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("the string is not closed (missing `\"`)")),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map_err(|_| self.err("the string is not valid UTF-8"));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self
                        .peek()
                        .ok_or_else(|| self.err("the string ends inside an escape"))?;
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            return Err(
                                self.err(format!("`\\{}` is not a JSON escape", char::from(c)))
                            )
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(c) if c < 0x20 => {
                    return Err(self.err("a control character inside a string must be escaped"))
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("`\\u` needs four hex digits"))?;
        let v = std::str::from_utf8(h)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("`\\u` needs four hex digits"))?;
        self.i += 4;
        Ok(v)
    }

    /// A `\uXXXX` escape, or a surrogate pair of two. A lone surrogate
    /// (which Python's `json.dump` writes for one) becomes U+FFFD, and an
    /// escape after it that is not its low half is read on its own.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            let at = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.i = at;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn array(&mut self) -> Result<Json, SyntaxError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.err("expected `,` or `]` in the array")),
            }
        }
    }

    fn object(&mut self) -> Result<Json, SyntaxError> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(if self.peek() == Some(b'}') {
                    "a trailing comma is not allowed before `}`"
                } else {
                    "expected a key in double quotes"
                }));
            }
            let start = self.i;
            let key = self.string()?;
            let key = Spanned {
                value: key,
                span: start..self.i,
            };
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected `:` after the key"));
            }
            self.i += 1;
            self.ws();
            let value = self.value()?;
            members.push(Member { key, value });
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.err("expected `,` or `}` after the value")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_and_spans() {
        let text = r#"{"a": 1, "a": [true, null]}"#;
        let Json::Object(m) = parse(text).unwrap().value else {
            panic!()
        };
        assert_eq!(m.len(), 2);
        assert_eq!(&text[m[1].key.span.clone()], "\"a\"");
        assert_eq!(&text[m[1].value.span.clone()], "[true, null]");
    }

    #[test]
    fn reports_where_syntax_breaks() {
        let e = parse("{\"a\": 1,}").unwrap_err();
        assert_eq!(e.at, 8);
        assert!(e.message.contains("trailing comma"));
        assert!(parse("[1 2]").is_err());
        assert!(parse("\"abc").is_err());
        assert!(parse("01x").is_err());
    }

    #[test]
    fn numbers_with_leading_zeros_are_refused() {
        for text in ["01", "[1, 000]", "-00.5", "{\"a\": 007}"] {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains("start with a 0"), "{text}: {e:?}");
        }
        for text in ["0", "-0", "0.5", "0e3", "10", "100.001"] {
            assert!(parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn surrogates_pair_up_or_stand_alone() {
        let string = |text: &str| match parse(text).unwrap().value {
            Json::String(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(string(r#""\ud83d\ude00""#), "\u{1F600}");
        assert_eq!(string(r#""\ud83dx""#), "\u{FFFD}x");
        assert_eq!(string(r#""\ud83d\u0041""#), "\u{FFFD}A");
        assert_eq!(string(r#""\ude00""#), "\u{FFFD}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).unwrap_err().message.contains("nested"));
    }

    #[test]
    fn agrees_with_serde_json_on_values() {
        let text = r#"{"k\u00e9y": {"n": -1.5e3, "s": "a\"b\\c\n", "l": [1, {}, []]}}"#;
        let ours = parse(text).unwrap();
        fn to_serde(j: &Json) -> serde_json::Value {
            match j {
                Json::Null => serde_json::Value::Null,
                Json::Bool(b) => (*b).into(),
                Json::Number(n) => serde_json::from_str(n).unwrap(),
                Json::String(s) => s.clone().into(),
                Json::Array(a) => a.iter().map(|v| to_serde(&v.value)).collect(),
                Json::Object(m) => m
                    .iter()
                    .map(|m| (m.key.value.clone(), to_serde(&m.value.value)))
                    .collect(),
            }
        }
        assert_eq!(
            to_serde(&ours.value),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }
}

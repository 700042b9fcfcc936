//! Finds the line of a field in JSON text, so that errors found after parsing (a duplicate id, a
//! link to a missing node) can point at a line as parse errors do; and indents compact JSON.
//!
//! A small scanner that tracks the path of each value it passes; it reads valid JSON (the text
//! has already parsed) and gives up quietly on anything else. Depth is bounded.

const MAX_DEPTH: usize = 128;

struct Scan<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    target: &'a str,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let start = self.i;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'\\' => self.i += 2,
                b'"' => {
                    let raw = std::str::from_utf8(&self.s[start..self.i])
                        .ok()?
                        .to_string();
                    self.i += 1;
                    return Some(raw);
                }
                _ => self.i += 1,
            }
        }
        None
    }

    /// Scans one value at `path`; returns `Some(line)` when the target is found inside it.
    fn value(&mut self, path: &str, depth: usize) -> Result<Option<usize>, ()> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        self.ws();
        let here = self.line;
        if path == self.target {
            return Ok(Some(here));
        }
        match self.s.get(self.i).ok_or(())? {
            b'{' => {
                self.i += 1;
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(None);
                    }
                    let key_line = self.line;
                    let key = self.string().ok_or(())?;
                    let sub = if path.is_empty() {
                        key
                    } else {
                        format!("{path}.{key}")
                    };
                    if sub == self.target {
                        return Ok(Some(key_line));
                    }
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(());
                    }
                    self.i += 1;
                    if let Some(l) = self.value(&sub, depth + 1)? {
                        return Ok(Some(l));
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(None);
                        }
                        _ => return Err(()),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut k = 0;
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(None);
                    }
                    if let Some(l) = self.value(&format!("{path}[{k}]"), depth + 1)? {
                        return Ok(Some(l));
                    }
                    k += 1;
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(None);
                        }
                        _ => return Err(()),
                    }
                }
            }
            b'"' => {
                self.string().ok_or(())?;
                Ok(None)
            }
            _ => {
                while let Some(&c) = self.s.get(self.i) {
                    if matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace() {
                        break;
                    }
                    self.i += 1;
                }
                Ok(None)
            }
        }
    }
}

/// The 1-based line where the field at `path` (`nodes[1].model.timeout_ms`) starts, or where
/// its nearest existing parent starts when the field itself is absent.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let mut p = path;
    loop {
        let mut scan = Scan {
            s: text.as_bytes(),
            i: 0,
            line: 1,
            target: p,
        };
        if let Ok(Some(l)) = scan.value("", 0) {
            return Some(l);
        }
        let cut = p.rfind(['.', '['])?;
        p = &p[..cut];
    }
}

/// `compact` (serde_json's compact text: no white space outside strings) indented as
/// `serde_json::to_string_pretty` writes it, byte for byte.
///
/// Why not `to_string_pretty`: it would compile a second writer of every scenario type, beside
/// the compact one that share links and the sweep worker's messages use, and the page downloads
/// every copy (about 13 KB of wasm). Indenting the compact text needs no type at all.
pub fn indent(compact: &str) -> String {
    const STEP: &str = "  ";
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(STEP);
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                // An empty object or list stays on its line: `{}`, `[]`.
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// `x` as a JSON value, made by writing it as compact text and reading that back.
///
/// Why not `serde_json::to_value`: it would compile a third writer of every type it is given
/// (models' settings, interventions, trace events), beside the compact one the page carries
/// for share links and the sweep worker. Exact all the same: floats are read back bit for bit
/// (`float_roundtrip`), and both ways give a map sorted by key. Used for cold paths (a setting
/// changed by hand, an export), where reading the text back costs a few microseconds.
pub fn value_of<T: serde::Serialize + ?Sized>(x: &T) -> serde_json::Value {
    let text = serde_json::to_string(x).expect("written to a string, so no I/O error");
    serde_json::from_str(&text).expect("serde_json reads what it wrote")
}

#[cfg(test)]
mod tests {
    use super::{indent, line_of};

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn value_of_is_to_value() {
        let s = crate::scenario::Scenario::parse(include_str!(
            "../../../tests/scenarios/raft-chaos.json"
        ))
        .unwrap();
        assert_eq!(super::value_of(&s), serde_json::to_value(&s).unwrap());
        for x in [0.1, 1.0 / 3.0, 15.0, 1e300, -0.0, 5e-324] {
            assert_eq!(super::value_of(&x), serde_json::to_value(x).unwrap(), "{x}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn indents_as_serde_json_pretty_does() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, {"d": "x,y:{z}[\\\"]"}, [], [2.5, null]],
            "e": {"f": {"g": true}}, "h": "", "é": "ü\u{1F600}\n"
        });
        let compact = serde_json::to_string(&v).unwrap();
        assert_eq!(indent(&compact), serde_json::to_string_pretty(&v).unwrap());
        assert_eq!(indent("[]"), "[]");
        assert_eq!(indent("3"), "3");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn finds_nested_fields() {
        let text = "{\n  \"a\": 1,\n  \"nodes\": [\n    {\"id\": \"x\"},\n    {\n      \"id\": \"y\",\n      \"m\": {\"t\": 3}\n    }\n  ]\n}";
        assert_eq!(line_of(text, "a"), Some(2));
        assert_eq!(line_of(text, "nodes[1].id"), Some(6));
        assert_eq!(line_of(text, "nodes[1].m.t"), Some(7));
        assert_eq!(line_of(text, "nodes[1].missing"), Some(5));
        assert_eq!(line_of(text, "nodes[0]"), Some(4));
    }
}

//! Limits checked on the raw text of a config file before the YAML parser sees it: the
//! bot parses the `retrain.yaml` of every repository that pushes, and the parser
//! spends time quadratic in the nesting of flow collections (`[[[[…`) before it hits its
//! recursion limit. Owns only these limits; the parse and the validation are elsewhere.

use std::path::Path;

use super::ConfigError;

/// Deeper than any real config (the deepest key path of the schema is 5 levels).
pub const MAX_DEPTH: usize = 64;
/// Far above any real config; a file this large is not a config.
pub const MAX_BYTES: usize = 1 << 20;

/// Fails on text larger than [`MAX_BYTES`] or with flow collections (`[`, `{`) nested
/// deeper than [`MAX_DEPTH`], at the line and column where the limit is crossed.
pub fn check(file: &Path, text: &str) -> Result<(), ConfigError> {
    let error = |line, column, message: String, hint: &str| ConfigError {
        file: file.to_path_buf(),
        line,
        column,
        key: None,
        message,
        hint: Some(hint.to_string()),
    };
    if text.len() > MAX_BYTES {
        return Err(error(
            None,
            None,
            format!(
                "the file is {} bytes; a config is at most {MAX_BYTES}",
                text.len()
            ),
            "is this the right file? retrain.yaml holds settings, not data",
        ));
    }
    let mut depth = 0usize;
    for (i, raw_line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut prev = None::<char>; // the previous non-space character on the line
        let mut chars = raw_line.char_indices().peekable();
        while let Some((col, c)) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                    continue;
                }
                Some(q) if c == q => quote = None,
                Some(_) => continue,
                None => match c {
                    '#' if prev.is_none() || raw_line[..col].ends_with([' ', '\t']) => break,
                    '"' | '\'' if opens_value(prev) => quote = Some(c),
                    '[' | '{' if depth > 0 || opens_value(prev) => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(error(
                                Some(i + 1),
                                Some(raw_line[..col].chars().count() + 1),
                                format!("collections nested deeper than {MAX_DEPTH} levels"),
                                "a config needs a few levels of nesting; write deep values as a string or a file",
                            ));
                        }
                    }
                    ']' | '}' if depth > 0 => depth -= 1,
                    _ => {}
                },
            }
            if !c.is_whitespace() {
                prev = Some(c);
            }
        }
    }
    Ok(())
}

/// Whether a `[`, `{` or quote after `prev` starts a value (rather than sitting inside
/// a plain scalar such as `foo[1]`).
fn opens_value(prev: Option<char>) -> bool {
    matches!(prev, None | Some(':' | '-' | ',' | '[' | '{' | '?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> Option<(usize, usize)> {
        check(Path::new("r.yaml"), text)
            .err()
            .map(|e| (e.line.unwrap(), e.column.unwrap()))
    }

    #[test]
    fn real_configs_pass() {
        for ok in [
            "a: [1, [2, {b: [3]}]]\n",
            "a: foo[1]\nb: '[[[[[['\nc: \"{{{{\\\"{{{{\"\n",
            "# [[[[[[[[\nd: x # [[[[[\n",
        ] {
            assert_eq!(depth_error(ok), None, "{ok}");
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_where_it_crosses_the_limit() {
        let text = format!("version: 1\nx: {}", "[".repeat(200_000));
        assert_eq!(depth_error(&text), Some((2, 4 + MAX_DEPTH)));
        let text = format!("x:\n  - {}", "{a: ".repeat(100));
        assert_eq!(depth_error(&text).map(|p| p.0), Some(2));
    }
}

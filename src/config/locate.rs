//! Finds the line and column of a key path (`models[1].training.algorithm`) in YAML
//! text, so errors found after parsing (cross-key checks) still point into the file.
//!
//! It understands block mappings and sequences and keys inside one-line flow mappings,
//! which is how `retrain.yaml` files are written; when it cannot find a key it answers
//! with the nearest parent it found.

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// `models[1].data.path` as text.
pub fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// 1-based (line, column) of the last segment of `path` that could be found.
// Lines are addressed by index: the closures and the ranges share them.
#[allow(clippy::needless_range_loop)]
pub fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let lines: Vec<Line> = text
        .lines()
        .map(|l| Line {
            indent: l.len() - l.trim_start().len(),
            text: l,
        })
        .collect();
    let meaningful = |i: usize| {
        let t = lines[i].text.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    // The block being searched: lines [start, end) whose indent is > parent_indent.
    let (mut start, mut end) = (0usize, lines.len());
    let mut parent_indent: isize = -1;
    let mut found: Option<(usize, usize)> = None;
    // When the previous key's value is inline (flow), later keys are searched on that line.
    let mut inline_from: Option<(usize, usize)> = None;
    for seg in path {
        if let Some((line, col)) = inline_from {
            if let Seg::Key(k) = seg {
                let rest = &lines[line].text[col..];
                if let Some(pos) = find_flow_key(rest, k) {
                    found = Some((line + 1, col + pos + 1));
                    inline_from = Some((line, col + pos + k.len()));
                    continue;
                }
            }
            return found;
        }
        match seg {
            Seg::Key(k) => {
                let mut hit = None;
                // Only the block's own keys (at the column of its first key), not keys
                // of the mappings nested in it.
                let mut own: Option<usize> = None;
                for i in start..end {
                    if !meaningful(i) || (lines[i].indent as isize) <= parent_indent && i != start {
                        if meaningful(i) && (lines[i].indent as isize) <= parent_indent {
                            break;
                        }
                        continue;
                    }
                    let (offset, body) = strip_dashes(lines[i].text);
                    if *own.get_or_insert(offset) != offset {
                        continue;
                    }
                    if body.starts_with(&format!("{k}:")) || body.starts_with(&format!("\"{k}\":"))
                    {
                        hit = Some((i, offset));
                        break;
                    }
                }
                let Some((i, col)) = hit else { return found };
                found = Some((i + 1, col + 1));
                let after = lines[i].text[col + k.len() + 1..].trim();
                if after.starts_with('{') || after.starts_with('[') {
                    inline_from = Some((i, col + k.len() + 1));
                    continue;
                }
                parent_indent = col as isize;
                start = i + 1;
                end = block_end(&lines, start, parent_indent, &meaningful);
            }
            Seg::Index(n) => {
                let mut seen = 0usize;
                let mut item = None;
                let mut dash_indent = None;
                for i in start..end {
                    if !meaningful(i) {
                        continue;
                    }
                    let t = lines[i].text.trim_start();
                    if t.starts_with("- ") || t == "-" {
                        let ind = lines[i].indent;
                        if dash_indent.is_none() {
                            dash_indent = Some(ind);
                        }
                        if Some(ind) == dash_indent {
                            if seen == *n {
                                item = Some((i, ind));
                                break;
                            }
                            seen += 1;
                        }
                    }
                }
                let Some((i, ind)) = item else { return found };
                found = Some((i + 1, ind + 3));
                // The item's own keys start on its line after "- ".
                parent_indent = ind as isize;
                start = i;
                end = block_end(&lines, i + 1, ind as isize, &|j| {
                    meaningful(j)
                        && !(lines[j].indent == ind && lines[j].text.trim_start().starts_with('-'))
                })
                .min(next_dash(&lines, i + 1, ind, &meaningful).unwrap_or(lines.len()));
            }
        }
    }
    found
}

fn strip_dashes(line: &str) -> (usize, &str) {
    let mut offset = line.len() - line.trim_start().len();
    let mut body = line.trim_start();
    while let Some(rest) = body.strip_prefix("- ") {
        let trimmed = rest.trim_start();
        offset += body.len() - trimmed.len();
        body = trimmed;
    }
    (offset, body)
}

fn find_flow_key(text: &str, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(key) {
        let at = from + pos;
        let before_ok = at == 0 || matches!(bytes[at - 1], b'{' | b',' | b' ' | b'[');
        let after = &text[at + key.len()..];
        if before_ok && after.trim_start().starts_with(':') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

fn block_end(
    lines: &[Line],
    from: usize,
    parent_indent: isize,
    inside: &dyn Fn(usize) -> bool,
) -> usize {
    for (i, line) in lines.iter().enumerate().skip(from) {
        let t = line.text.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if (line.indent as isize) <= parent_indent || !inside(i) {
            return i;
        }
    }
    lines.len()
}

fn next_dash(
    lines: &[Line],
    from: usize,
    indent: usize,
    meaningful: &dyn Fn(usize) -> bool,
) -> Option<usize> {
    (from..lines.len()).find(|&i| {
        meaningful(i)
            && lines[i].indent <= indent
            && (lines[i].indent < indent || lines[i].text.trim_start().starts_with('-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(parts: &[&str]) -> Vec<Seg> {
        parts
            .iter()
            .map(|s| match s.parse::<usize>() {
                Ok(i) => Seg::Index(i),
                Err(_) => Seg::Key(s.to_string()),
            })
            .collect()
    }

    const TEXT: &str = "version: 1\nmodels:\n  - name: a\n    target: y\n    data:\n      path: a.csv\n  # comment\n  - name: b\n    target: z\n    training: { algorithm: decision_tree, params: {} }\n    data:\n      path: b.csv\n";

    #[test]
    fn finds_keys_in_blocks_and_sequences() {
        assert_eq!(locate(TEXT, &p(&["version"])), Some((1, 1)));
        assert_eq!(locate(TEXT, &p(&["models", "0", "name"])), Some((3, 5)));
        assert_eq!(
            locate(TEXT, &p(&["models", "0", "data", "path"])),
            Some((6, 7))
        );
        assert_eq!(locate(TEXT, &p(&["models", "1", "target"])), Some((9, 5)));
        assert_eq!(
            locate(TEXT, &p(&["models", "1", "data", "path"])),
            Some((12, 7))
        );
    }

    #[test]
    fn finds_keys_in_flow_mappings() {
        assert_eq!(
            locate(TEXT, &p(&["models", "1", "training", "algorithm"])),
            Some((10, 17))
        );
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        assert_eq!(locate(TEXT, &p(&["models", "1", "nothing"])), Some((8, 5)));
        assert_eq!(
            display(&p(&["models", "1", "data", "path"])),
            "models[1].data.path"
        );
    }
}

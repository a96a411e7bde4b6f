//! Splits a Markdown document into its YAML front matter and body, keeping line numbers.
//!
//! Done by hand rather than through a front-matter crate so that every failure can name the
//! line it happens on, and so a YAML error's position maps back onto the file.

/// A document split at its `---` fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML between the fences.
    pub yaml: &'a str,
    /// 1-based file line of the first YAML line.
    pub yaml_line: usize,
    /// Everything after the closing fence.
    pub body: &'a str,
    /// 1-based file line where the body starts.
    pub body_line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The file holds nothing but white space.
    Empty,
    /// The first line is not `---`.
    Missing { first_line: String },
    /// `---` opens the front matter but no `---` (or `...`) closes it.
    Unterminated,
}

/// Splits `text` (already decoded, BOM removed). The front matter must open on line 1.
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    if text.trim().is_empty() {
        return Err(SplitError::Empty);
    }
    let mut lines = LineIter { text, pos: 0 };
    let (first, _) = lines.next().unwrap_or(("", 0));
    if first.trim_end() != "---" {
        let shown: String = first.chars().take(60).collect();
        return Err(SplitError::Missing { first_line: shown });
    }
    let yaml_start = lines.pos;
    let mut line_no = 1;
    while let Some((line, start)) = lines.next() {
        line_no += 1;
        let fence = line.trim_end();
        if fence == "---" || fence == "..." {
            return Ok(Split {
                yaml: &text[yaml_start..start],
                yaml_line: 2,
                body: &text[lines.pos..],
                body_line: line_no + 1,
            });
        }
    }
    Err(SplitError::Unterminated)
}

/// Whether `text` is front matter whose opening `---` line was left out: line 1 is a
/// `key: value` field and a later line is the closing `---`.
pub fn lacks_opening_fence(text: &str) -> bool {
    let mut lines = LineIter { text, pos: 0 };
    let Some((first, _)) = lines.next() else {
        return false;
    };
    looks_like_field(first) && lines.any(|(line, _)| line.trim_end() == "---")
}

/// Whether `text`, which has no front matter block, still looks like a doc meant to have one:
/// its first line that is not blank is `---`, it is front matter missing its opening `---`
/// (see [`lacks_opening_fence`]), or one of its first lines is an `id:` or `milestone:` key.
/// A checklist that opens with `# ISSUE: …` does not.
pub fn looks_like_a_doc(text: &str) -> bool {
    let mut lines = LineIter { text, pos: 0 }
        .map(|(line, _)| line.trim_end())
        .filter(|line| !line.is_empty());
    if lines.next() == Some("---") || lacks_opening_fence(text) {
        return true;
    }
    LineIter { text, pos: 0 }
        .take(DOC_KEY_LINES)
        .any(|(line, _)| {
            line.split_once(':')
                .is_some_and(|(key, _)| matches!(key.trim_end(), "id" | "milestone"))
        })
}

/// How many first lines [`looks_like_a_doc`] searches for an `id:` or `milestone:` key.
const DOC_KEY_LINES: usize = 20;

/// `key:` at column 0, the key a plain YAML word.
fn looks_like_field(line: &str) -> bool {
    let Some((key, _)) = line.split_once(':') else {
        return false;
    };
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Lines without their terminator, with each line's start offset.
struct LineIter<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(nl) => (&rest[..nl], nl + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        Some((line.strip_suffix('\r').unwrap_or(line), start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_line_numbers() {
        let doc = "---\nid: A\ntitle: t\n---\n# Body\ntext\n";
        let s = split(doc).unwrap();
        assert_eq!(s.yaml, "id: A\ntitle: t\n");
        assert_eq!(s.yaml_line, 2);
        assert_eq!(s.body, "# Body\ntext\n");
        assert_eq!(s.body_line, 5);
    }

    #[test]
    fn crlf_and_dot_fence() {
        let s = split("---\r\nid: A\r\n...\r\nbody").unwrap();
        assert_eq!(s.yaml, "id: A\r\n");
        assert_eq!(s.body, "body");
    }

    #[test]
    fn failures() {
        assert_eq!(split(""), Err(SplitError::Empty));
        assert_eq!(split(" \n\n"), Err(SplitError::Empty));
        assert_eq!(split("---\nid: A\n"), Err(SplitError::Unterminated));
        assert_eq!(
            split("# Title\n---\n"),
            Err(SplitError::Missing {
                first_line: "# Title".into()
            })
        );
        assert!(split("---\n---\n").is_ok());
    }

    #[test]
    fn what_looks_like_a_doc() {
        let table = [
            ("# ISSUE: tidy the parser\n\n- [ ] step one\n---\n", false),
            ("notes\n", false),
            ("", false),
            ("\n\n---\nid: A\n---\n", true),
            ("id: A\ntitle: t\n---\n", true),
            ("# A heading\n\nid: A-1\n", true),
            ("# Plan\nmilestone: M1\n", true),
            ("# Plan\n- id: not a key at column 0\n", false),
        ];
        for (text, want) in table {
            assert_eq!(looks_like_a_doc(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_missing_opening_fence_is_recognised() {
        assert!(lacks_opening_fence("id: A\ntitle: t\n---\nbody\n"));
        assert!(!lacks_opening_fence("# Title\n---\n"));
        assert!(!lacks_opening_fence("id: A\ntitle: t\n"));
        assert!(!lacks_opening_fence("see: this\n"));
    }
}

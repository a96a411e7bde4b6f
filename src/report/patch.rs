//! A unified diff (`diff -u`, what `git apply` reads) of a line-by-line edit: how `orch docs
//! fix` shows what it changed.

use crate::model::patch::Op;

/// The unified diff of `ops` (3 lines of context), as `diff -u` and `git apply` read it.
pub fn unified_diff(path: &std::path::Path, ops: &[Op]) -> String {
    use std::fmt::Write;
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Keep(_)))
        .map(|(i, _)| i)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    // Hunks: runs of ops within CONTEXT of a change, merged when they touch.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &c in &changed {
        let start = c.saturating_sub(CONTEXT);
        let end = (c + CONTEXT + 1).min(ops.len());
        match hunks.last_mut() {
            Some((_, e)) if start <= *e => *e = end,
            _ => hunks.push((start, end)),
        }
    }
    let shown = path.display();
    let mut out = format!("--- a/{shown}\n+++ b/{shown}\n");
    let (mut old_line, mut new_line) = (1usize, 1usize);
    let mut pos = 0;
    for (start, end) in hunks {
        for op in &ops[pos..start] {
            match op {
                Op::Keep(_) => {
                    old_line += 1;
                    new_line += 1;
                }
                Op::Remove(_) => old_line += 1,
                Op::Add(_) => new_line += 1,
            }
        }
        let part = &ops[start..end];
        let olds = part.iter().filter(|o| !matches!(o, Op::Add(_))).count();
        let news = part.iter().filter(|o| !matches!(o, Op::Remove(_))).count();
        let at = |line: usize, n: usize| if n == 0 { line - 1 } else { line };
        let _ = writeln!(
            out,
            "@@ -{},{olds} +{},{news} @@",
            at(old_line, olds),
            at(new_line, news)
        );
        for op in part {
            let (mark, line) = match op {
                Op::Keep(t) => {
                    old_line += 1;
                    new_line += 1;
                    (' ', t)
                }
                Op::Remove(t) => {
                    old_line += 1;
                    ('-', t)
                }
                Op::Add(t) => {
                    new_line += 1;
                    ('+', t)
                }
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        pos = end;
    }
    out
}

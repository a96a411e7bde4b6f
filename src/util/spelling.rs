//! Near misses: the known word a mistyped one most likely meant (`did you mean `jobs`?`),
//! for every input orch reads (plan files, orch.toml).

/// The known word closest to `word` by edit distance, when it is close enough to be a typo.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let best = known
        .iter()
        .map(|k| (edit_distance(&word.to_lowercase(), &k.to_lowercase()), *k))
        .min()?;
    let limit = (word.chars().count().max(best.1.chars().count()) / 2).max(2);
    (best.0 <= limit).then_some(best.1)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_key_by_edit_distance() {
        let known = ["dependencies", "description", "title", "timebox"];
        assert_eq!(closest("dependncies", &known), Some("dependencies"));
        assert_eq!(closest("titel", &known), Some("title"));
        assert_eq!(closest("zzzzzzzzzzz", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! Natural ordering of issue ids, so `X-2` sorts before `X-10`.

use std::cmp::Ordering;

/// Compares two strings chunk by chunk: runs of ASCII digits compare by numeric value
/// (without overflow, whatever their length), everything else byte-wise. Ties (e.g. `X-02`
/// vs `X-2`) fall back to the plain byte order so the result is a total order.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(cx), Some(cy)) => {
                if cx.is_ascii_digit() && cy.is_ascii_digit() {
                    let (dx, rx) = split_digits(x);
                    let (dy, ry) = split_digits(y);
                    let ord = compare_numbers(dx, dy);
                    if ord != Ordering::Equal {
                        return ord;
                    }
                    (x, y) = (rx, ry);
                } else {
                    let ord = cx.cmp(cy);
                    if ord != Ordering::Equal {
                        return ord;
                    }
                    (x, y) = (&x[1..], &y[1..]);
                }
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn digits_compare_by_value() {
        let cases = [
            ("X-2", "X-10", Less),
            ("X-10", "X-2", Greater),
            ("X-10", "X-10", Equal),
            ("A-1", "B-0", Less),
            ("X-02", "X-2", Less),
            ("X-2", "X-2a", Less),
            (
                "X-99999999999999999999999",
                "X-100000000000000000000000",
                Less,
            ),
            ("LEDGER-9", "LEDGER-10", Less),
            ("a", "A", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn sorting_is_natural() {
        let mut ids = vec!["X-10", "X-1", "Y-2", "X-2", "X-100", "X-20"];
        ids.sort_by(|a, b| compare(a, b));
        assert_eq!(ids, ["X-1", "X-2", "X-10", "X-20", "X-100", "Y-2"]);
    }
}

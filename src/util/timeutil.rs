//! Timestamps without a date-time dependency: RFC 3339 UTC and run ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now as `2026-11-22T04:05:06Z`.
pub fn now_rfc3339() -> String {
    let (date, time) = civil(now_secs());
    format!("{date}T{time}Z")
}

/// A run id: `20261122-040506-<pid>`.
pub fn run_id() -> String {
    let (date, time) = civil(now_secs());
    format!(
        "{}-{}-{}",
        date.replace('-', ""),
        time.replace(':', ""),
        std::process::id()
    )
}

/// A duration as people write it in plans and orch.toml: `90s`, `45m`, `2h`, `1h30m` (units
/// `h`, `m`, `s`, each at most once, largest first). `None` when it is not one.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (mut total, mut number, mut last_rank) = (0u64, String::new(), usize::MAX);
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, secs) = match c {
            'h' => (2, 3_600),
            'm' => (1, 60),
            's' => (0, 1),
            _ => return None,
        };
        if number.is_empty() || rank >= last_rank {
            return None;
        }
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(secs)?)?;
        number.clear();
        last_rank = rank;
    }
    (number.is_empty() && total > 0).then(|| std::time::Duration::from_secs(total))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// (`YYYY-MM-DD`, `HH:MM:SS`) for seconds since the epoch (Howard Hinnant's days→civil).
fn civil(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(0), ("1970-01-01".into(), "00:00:00".into()));
        assert_eq!(
            super::civil(1_795_320_306),
            ("2026-11-22".into(), "04:05:06".into())
        );
        assert_eq!(
            super::civil(951_782_400),
            ("2000-02-29".into(), "00:00:00".into())
        );
    }
}

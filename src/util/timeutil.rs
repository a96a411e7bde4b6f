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

/// A duration as people write it in plans and orch.toml: `90s`, `45m`, `2h`, `1h30m`,
/// `500ms` (units `h`, `m`, `s`, `ms`, each at most once, largest first). `None` when it is
/// not one.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let (mut total_ms, mut number, mut last_rank) = (0u64, String::new(), usize::MAX);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, ms) = match c {
            'h' => (3, 3_600_000),
            'm' if chars.next_if_eq(&'s').is_some() => (0, 1),
            'm' => (2, 60_000),
            's' => (1, 1_000),
            _ => return None,
        };
        if number.is_empty() || rank >= last_rank {
            return None;
        }
        total_ms = total_ms.checked_add(number.parse::<u64>().ok()?.checked_mul(ms)?)?;
        number.clear();
        last_rank = rank;
    }
    (number.is_empty() && total_ms > 0).then(|| std::time::Duration::from_millis(total_ms))
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` timestamp (as [`now_rfc3339`] writes).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Howard Hinnant's civil→days.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// Seconds from the timestamp `since` to now (0 for one in the future).
pub fn seconds_since(since: &str) -> Option<u64> {
    Some(now_secs().saturating_sub(parse_rfc3339(since)?))
}

/// A span of seconds as people read it: `45s`, `3m05s`, `2h07m`.
pub fn human_secs(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
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
    fn timestamps_read_back_as_written() {
        for secs in [
            0,
            86_399,
            951_782_400,
            1_700_000_000,
            1_796_000_000,
            4_102_444_800,
        ] {
            let (date, time) = super::civil(secs);
            assert_eq!(super::parse_rfc3339(&format!("{date}T{time}Z")), Some(secs));
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-01-01 00:00:00",
            "2026-01-01T00:00Z",
            "",
        ] {
            assert_eq!(super::parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(super::human_secs(59), "59s");
        assert_eq!(super::human_secs(185), "3m05s");
        assert_eq!(super::human_secs(7620), "2h07m");
    }

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

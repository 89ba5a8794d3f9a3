//! Time buckets for `--by`: `year(ts)`, `month(ts)`, `week(ts)`, `day(ts)`,
//! `hour(ts)`, `minute(ts)`, `second(ts)`.
//!
//! A bucket's key is ISO 8601 text that sorts as it reads (so the byte order
//! of text keys is time order): `2026`, `2026-11`, `2026-W48`, `2026-11-30`,
//! `2026-11-30T02`, `2026-11-30T02:24`, `2026-11-30T02:24:41`. Its output
//! column is `FUNC_COLUMN` (`day_ts`).
//!
//! # Values
//!
//! - ISO 8601 / RFC 3339 dates and date-times: `YYYY-MM-DD`, then
//!   optionally `T` (or `t`, or a space) and `HH`, `HH:MM` or `HH:MM:SS`,
//!   a fraction of a second after `.` or `,` (any number of digits), and an
//!   offset: `Z` (`z`), `±HH:MM`, `±HHMM` or `±HH`. A date alone is its
//!   midnight. Blanks around the value are ignored, as around numbers.
//! - an integer: Unix epoch seconds. An integer column holds them, but so
//!   does any integer field of a text column: a field's meaning must not
//!   depend on the type its batch happened to get.
//!
//! A float is not epoch seconds, not even a whole one: over a CSV
//! `1700000000.0` is an error (epoch seconds are an integer field), and
//! every input kind answers as its CSV would. So a Parquet or Arrow float (`DOUBLE`,
//! `FLOAT`) or decimal with a fraction digit (scale > 0, read as a float)
//! is refused whatever its value, and a store's float column is epoch
//! seconds only on the rows its CSV wrote as integers (`rows::Spelling`).
//! A decimal of scale ≤ 0 is an integer, here as everywhere in rayproc,
//! and so epoch seconds. [`TimeUnit::bucket_row`] reads an integral float
//! without text as epoch seconds for those store rows; `rows` refuses every
//! other such float before it gets there.
//!
//! A value with an offset is converted to UTC before it is bucketed (which
//! may move it to another day, month or year: `2027-01-01T00:30+01:00` is in
//! `2026`); one without an offset is bucketed as written (local time stays
//! local). Fractions of a second are dropped (every value is at or after
//! year 0, so this is rounding down).
//!
//! The calendar is the proleptic Gregorian one, checked in full: months
//! 01–12, the days of each month, February 29 in leap years only (2000 is
//! one, 1900 is not), hours 00–23, minutes and seconds 00–59. Second 60 is
//! a leap second, accepted only at 23:59 UTC as RFC 3339 says; it keeps its
//! own `second` key (`23:59:60`, which sorts after `23:59:59`) and falls in
//! its minute, hour and day. Keys are kept within the years 0000–9999, so
//! that they have four-digit years and sort as text; a value outside (after
//! its offset, or as epoch seconds) is an error, as is anything else that
//! is not one of the forms above.
//!
//! `week` is the ISO week: weeks start on Monday and week 1 is the one with
//! the year's first Thursday, so the week-year may differ from the calendar
//! year near January 1 (`2025-12-29` is in `2026-W01`, `2021-01-03` in
//! `2020-W53`).
//!
//! # Speed
//!
//! A value is read at fixed positions, with no allocation and no search;
//! without an offset the key is copied from the checked fields, and only
//! `week` and offsets do day arithmetic (Howard Hinnant's
//! `days_from_civil`/`civil_from_days`, written out here and shared
//! with `source::arrow`, which prints Arrow dates with them).

use std::fmt;

use crate::error::Error;
use crate::number::{is_wide_int_field, parse_int, trim_blanks};
use crate::spec::ColumnRef;
use crate::value::{Column, Data};

/// The unit of a time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    Year,
    Month,
    /// The ISO week (Monday to Sunday, numbered in its ISO week-year).
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

/// Days from 1970-01-01 to 0000-01-01 and to 9999-12-31.
const MIN_DAYS: i64 = -719_528;
const MAX_DAYS: i64 = 2_932_896;

impl TimeUnit {
    pub const ALL: [TimeUnit; 7] = [
        TimeUnit::Year,
        TimeUnit::Month,
        TimeUnit::Week,
        TimeUnit::Day,
        TimeUnit::Hour,
        TimeUnit::Minute,
        TimeUnit::Second,
    ];

    /// The function's name: `year`, ..., `second`.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Year => "year",
            TimeUnit::Month => "month",
            TimeUnit::Week => "week",
            TimeUnit::Day => "day",
            TimeUnit::Hour => "hour",
            TimeUnit::Minute => "minute",
            TimeUnit::Second => "second",
        }
    }

    /// The unit called `name`, in any case.
    pub fn from_name(name: &str) -> Option<TimeUnit> {
        TimeUnit::ALL
            .into_iter()
            .find(|u| u.name().eq_ignore_ascii_case(name))
    }

    /// The output column of the bucket of `column` (its label): `day_ts`.
    pub fn output_name(self, column: &str) -> String {
        format!("{}_{column}", self.name())
    }

    /// Reads a `--by` term `FUNC(COLUMN)` (`hour(ts)`, `Day( "unit ts" )`):
    /// the unit and the column reference as written, trimmed, for
    /// [`crate::spec::parse_column`] (so `"a,b"` and `k#2` work as in any
    /// `--by`). `None` when the term is not one: it then names a column. A
    /// term in double quotes is always a column (`"hour(ts)"`).
    pub fn parse_by_term(term: &str) -> Option<(TimeUnit, &str)> {
        let term = term.trim();
        let (func, rest) = term.split_once('(')?;
        let unit = TimeUnit::from_name(func.trim_end())?;
        let column = rest.strip_suffix(')')?.trim();
        Some((unit, column))
    }

    /// [`TimeUnit::parse_by_term`] with the column reference parsed:
    /// `None` when `term` is not a time bucket, an error when its column
    /// reference is malformed.
    pub fn parse_by(term: &str) -> Option<Result<(TimeUnit, ColumnRef), Error>> {
        let (unit, column) = TimeUnit::parse_by_term(term)?;
        Some(crate::spec::parse_column(column, "--by").map(|c| (unit, c)))
    }

    /// Appends the key of the bucket holding `value` (a date, a date-time
    /// or integer epoch seconds; see the module docs) to `out`. On error
    /// `out` is unchanged.
    #[inline]
    pub fn bucket(self, value: &[u8], out: &mut Vec<u8>) -> Result<(), TimeError> {
        let v = trim_blanks(value);
        if v.len() >= 10 && v[4] == b'-' {
            return self.bucket_time(v, out);
        }
        match parse_int(v) {
            Some(secs) => self.bucket_epoch(secs, out),
            // an integer all the same, and so epoch seconds, just too many
            // of them for 64 bits (far outside the years 0000 to 9999):
            // called "not ... integer epoch seconds", it read as a typo
            None if is_wide_int_field(v) => Err(TimeError::OutOfRange),
            None => Err(TimeError::Malformed),
        }
    }

    /// Appends the key of the bucket holding Unix epoch second `secs`.
    pub fn bucket_epoch(self, secs: i64, out: &mut Vec<u8>) -> Result<(), TimeError> {
        let days = secs.div_euclid(86_400);
        if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
            return Err(TimeError::OutOfRange);
        }
        let s = secs.rem_euclid(86_400) as u32;
        let (y, mo, d) = civil_from_days(days);
        self.write(
            Civil {
                y: y as u32,
                mo,
                d,
                h: s / 3600,
                mi: s / 60 % 60,
                s: s % 60,
            },
            Some(days),
            out,
        )
    }

    /// Appends the key of row `row` of `col`, which must not be null: an
    /// integer batch holds epoch seconds, a text batch any accepted text;
    /// a float batch is read from its source text. Where there is none, an
    /// integral value is epoch seconds: the caller passes only the rows a
    /// store's CSV wrote as integers (a typed source's own floats are
    /// refused before, see the module docs).
    pub fn bucket_row(
        self,
        col: &Column<'_>,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TimeError> {
        match (col.data, col.raw) {
            (Data::Int(v), _) => self.bucket_epoch(v[row], out),
            (Data::Text(t), _) | (Data::Float(_), Some(t)) => self.bucket(t[row], out),
            (Data::Float(v), None) => {
                let f = v[row];
                // 2^63 is exact as a double; every integral f below it fits
                if f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0 {
                    self.bucket_epoch(f as i64, out)
                } else if f.fract() == 0.0 {
                    // an integer (the caller says), beyond 64 bits
                    Err(TimeError::OutOfRange)
                } else {
                    Err(TimeError::Malformed)
                }
            }
            (Data::Rows, _) => Err(TimeError::Malformed),
        }
    }

    /// The key of `value` when it is written exactly `YYYY-MM-DDTHH:MM:SS`
    /// (or with a space or `t`), a valid time with no offset, and `L` is
    /// this unit's key length (not `week`): then the key is the value's
    /// own first `L` bytes, separator written `T`. `None` for every other
    /// value, which [`TimeUnit::bucket`] then reads (with the same result
    /// for this form; a test checks). The common form of logs and exports,
    /// read with no call and no branch per field: a third of `--by
    /// 'day(ts)'`'s time went to the general reader.
    #[inline(always)]
    pub fn bucket_plain<const L: usize>(self, value: &[u8]) -> Option<[u8; L]> {
        let v: &[u8; 19] = value.try_into().ok()?;
        let d = |i: usize| v[i].wrapping_sub(b'0') as u32;
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
        let all_digits = digits.iter().fold(true, |ok, &i| ok & (d(i) < 10));
        let seps = (v[4] == b'-') & (v[7] == b'-') & (v[13] == b':') & (v[16] == b':');
        if !(all_digits & seps & matches!(v[10], b'T' | b't' | b' ')) || self == TimeUnit::Week {
            return None;
        }
        let (mo, day) = (d(5) * 10 + d(6), d(8) * 10 + d(9));
        let (h, mi, sec) = (d(11) * 10 + d(12), d(14) * 10 + d(15), d(17) * 10 + d(18));
        let short = match mo {
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let day_ok = day >= 1
            && (day <= short || {
                let y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
                day <= days_in_month(y, mo)
            });
        if !((1..=12).contains(&mo) & day_ok & (h <= 23) & (mi <= 59) & (sec <= 59)) {
            return None;
        }
        let mut key = [0u8; L];
        key.copy_from_slice(&v[..L]);
        if L > 10 {
            key[10] = b'T';
        }
        Some(key)
    }

    /// `v` is trimmed, at least 10 bytes, with `-` at 4.
    #[inline]
    fn bucket_time(self, v: &[u8], out: &mut Vec<u8>) -> Result<(), TimeError> {
        let (mut c, offset) = parse_time(v)?;
        let mut days = None;
        if offset != 0 || c.s == 60 {
            // to UTC: whole minutes, the second stays as it is
            let minutes = (c.h * 60 + c.mi) as i64 - offset as i64;
            let shift = minutes.div_euclid(1440);
            let minutes = minutes.rem_euclid(1440) as u32;
            (c.h, c.mi) = (minutes / 60, minutes % 60);
            if shift != 0 {
                let d = days_from_civil(c.y as i64, c.mo, c.d) + shift;
                if !(MIN_DAYS..=MAX_DAYS).contains(&d) {
                    return Err(TimeError::OutOfRange);
                }
                let (y, mo, day) = civil_from_days(d);
                (c.y, c.mo, c.d) = (y as u32, mo, day);
                days = Some(d);
            }
            if c.s == 60 && (c.h, c.mi) != (23, 59) {
                return Err(TimeError::Second(60));
            }
        }
        self.write(c, days, out)
    }

    /// Writes the key of civil time `c` (`days`: its day number, if known).
    #[inline]
    fn write(self, c: Civil, days: Option<i64>, out: &mut Vec<u8>) -> Result<(), TimeError> {
        let mut key = [0u8; 19];
        put4(&mut key, 0, c.y);
        let len = match self {
            TimeUnit::Year => 4,
            TimeUnit::Week => {
                let days = days.unwrap_or_else(|| days_from_civil(c.y as i64, c.mo, c.d));
                let (year, week) = iso_week(days, c.y as i64)?;
                put4(&mut key, 0, year);
                key[4..6].copy_from_slice(b"-W");
                put2(&mut key, 6, week);
                8
            }
            _ => {
                key[4] = b'-';
                put2(&mut key, 5, c.mo);
                key[7] = b'-';
                put2(&mut key, 8, c.d);
                key[10] = b'T';
                put2(&mut key, 11, c.h);
                key[13] = b':';
                put2(&mut key, 14, c.mi);
                key[16] = b':';
                put2(&mut key, 17, c.s);
                match self {
                    TimeUnit::Month => 7,
                    TimeUnit::Day => 10,
                    TimeUnit::Hour => 13,
                    TimeUnit::Minute => 16,
                    _ => 19,
                }
            }
        };
        out.extend_from_slice(&key[..len]);
        Ok(())
    }
}

/// A civil date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    y: u32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
}

#[inline(always)]
fn put2(key: &mut [u8; 19], at: usize, v: u32) {
    key[at] = b'0' + (v / 10) as u8;
    key[at + 1] = b'0' + (v % 10) as u8;
}

#[inline(always)]
fn put4(key: &mut [u8; 19], at: usize, v: u32) {
    put2(key, at, v / 100);
    put2(key, at + 2, v % 100);
}

/// Two ASCII digits at `at` (`None` if either is not one or is missing).
#[inline(always)]
fn d2(v: &[u8], at: usize) -> Option<u32> {
    let a = v.get(at)?.wrapping_sub(b'0');
    let b = v.get(at + 1)?.wrapping_sub(b'0');
    (a < 10 && b < 10).then_some(a as u32 * 10 + b as u32)
}

/// Reads a date or date-time (trimmed, at least 10 bytes, `-` at 4) into
/// its civil fields and its offset in minutes east of UTC.
#[inline]
fn parse_time(v: &[u8]) -> Result<(Civil, i32), TimeError> {
    use TimeError::Malformed;
    let y = d2(v, 0).ok_or(Malformed)? * 100 + d2(v, 2).ok_or(Malformed)?;
    if v[7] != b'-' {
        return Err(Malformed);
    }
    let mo = d2(v, 5).ok_or(Malformed)?;
    let d = d2(v, 8).ok_or(Malformed)?;
    let mut c = Civil {
        y,
        mo,
        d,
        h: 0,
        mi: 0,
        s: 0,
    };
    let mut offset = 0;
    if v.len() > 10 {
        if !matches!(v[10], b'T' | b't' | b' ') {
            return Err(Malformed);
        }
        c.h = d2(v, 11).ok_or(Malformed)?;
        let mut at = 13;
        if v.get(at) == Some(&b':') {
            c.mi = d2(v, at + 1).ok_or(Malformed)?;
            at += 3;
            if v.get(at) == Some(&b':') {
                c.s = d2(v, at + 1).ok_or(Malformed)?;
                at += 3;
                if matches!(v.get(at), Some(b'.' | b',')) {
                    let digits = v[at + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    if digits == 0 {
                        return Err(Malformed);
                    }
                    at += 1 + digits;
                }
            }
        }
        match v.get(at) {
            None => {}
            Some(b'Z' | b'z') => at += 1,
            Some(&sign @ (b'+' | b'-')) => {
                let oh = d2(v, at + 1).ok_or(Malformed)?;
                at += 3;
                let om = match v.get(at) {
                    None => 0,
                    Some(b':') => {
                        at += 3;
                        d2(v, at - 2).ok_or(Malformed)?
                    }
                    Some(_) => {
                        at += 2;
                        d2(v, at - 2).ok_or(Malformed)?
                    }
                };
                if oh > 23 || om > 59 {
                    return Err(TimeError::Offset {
                        negative: sign == b'-',
                        hours: oh,
                        minutes: om,
                    });
                }
                let minutes = (oh * 60 + om) as i32;
                offset = if sign == b'-' { -minutes } else { minutes };
            }
            Some(_) => return Err(Malformed),
        }
        if at != v.len() {
            return Err(Malformed);
        }
    }
    // the calendar, checked field by field in reading order
    if !(1..=12).contains(&c.mo) {
        return Err(TimeError::Month(c.mo));
    }
    if c.d == 0 || c.d > days_in_month(c.y, c.mo) {
        return Err(TimeError::Day {
            year: c.y,
            month: c.mo,
            day: c.d,
        });
    }
    if c.h > 23 {
        return Err(TimeError::Hour(c.h));
    }
    if c.mi > 59 {
        return Err(TimeError::Minute(c.mi));
    }
    if c.s > 60 {
        return Err(TimeError::Second(c.s));
    }
    Ok((c, offset))
}

fn is_leap(y: u32) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian; Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = ((m + 9) % 12) as i64; // March is 0
    let doy = (153 * mp + 2) / 5 + d as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date `z` days after 1970-01-01 (Howard Hinnant's `civil_from_days`);
/// also how `source::arrow` prints Arrow dates and timestamps.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The ISO week-year and week of day number `days`, in calendar year
/// `year`.
fn iso_week(days: i64, year: i64) -> Result<(u32, u32), TimeError> {
    // 1970-01-01 was a Thursday: Monday is 1, Sunday 7
    let weekday = (days + 3).rem_euclid(7) + 1;
    // a week belongs to the year of its Thursday, at most 3 days away
    let thursday = days - weekday + 4;
    let jan1 = days_from_civil(year, 1, 1);
    let (year, start) = if thursday < jan1 {
        (year - 1, days_from_civil(year - 1, 1, 1))
    } else {
        let next = days_from_civil(year + 1, 1, 1);
        if thursday >= next {
            (year + 1, next)
        } else {
            (year, jan1)
        }
    };
    if !(0..=9999).contains(&year) {
        return Err(TimeError::WeekYear(year));
    }
    Ok((year as u32, ((thursday - start) / 7 + 1) as u32))
}

/// Why a value has no time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// Not an accepted form at all.
    Malformed,
    Month(u32),
    /// A day its month does not have.
    Day {
        year: u32,
        month: u32,
        day: u32,
    },
    Hour(u32),
    Minute(u32),
    /// Above 60, or 60 other than at 23:59 UTC.
    Second(u32),
    Offset {
        negative: bool,
        hours: u32,
        minutes: u32,
    },
    /// Before 0000-01-01 or after 9999-12-31 (UTC).
    OutOfRange,
    /// Within those years, but in an ISO week-year outside them (the
    /// first days of 0000 are in week-year -1, the last of 9999 in 10000).
    WeekYear(i64),
}

impl TimeError {
    /// The message for the value `value` of the `--by` term `term`
    /// (`hour(ts)`); the caller adds `FILE:LINE: column 'ts': `.
    pub fn message(&self, term: &str, value: &[u8]) -> String {
        format!(
            "{} needs a date-time or epoch seconds, found {}: {self}",
            crate::error::show_name(term),
            crate::error::show_value(value)
        )
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeError::Malformed => f.write_str(
                "not an ISO 8601 date or date-time (2026-11-30, 2026-11-30T02:24:41Z, \
                 2026-11-30 02:24:41.5+01:00) nor integer epoch seconds",
            ),
            TimeError::Month(m) => write!(f, "there is no month {m:02}"),
            TimeError::Day { year, month, day } => {
                write!(f, "{year:04}-{month:02}-{day:02} does not exist")?;
                if month == 2 && day == 29 {
                    write!(f, " ({year:04} is not a leap year)")?;
                }
                Ok(())
            }
            TimeError::Hour(h) => write!(f, "hour {h:02} is out of range (00 to 23)"),
            TimeError::Minute(m) => write!(f, "minute {m:02} is out of range (00 to 59)"),
            TimeError::Second(s) => write!(
                f,
                "second {s:02} is out of range (00 to 59, or 60 for a leap second at 23:59 UTC)"
            ),
            TimeError::Offset {
                negative,
                hours,
                minutes,
            } => write!(
                f,
                "the offset {}{hours:02}:{minutes:02} is out of range (at most 23:59)",
                if negative { '-' } else { '+' }
            ),
            TimeError::OutOfRange => {
                f.write_str("the time is outside the years 0000 to 9999 (in UTC)")
            }
            TimeError::WeekYear(year) => write!(
                f,
                "its ISO week belongs to the year {year}, outside the years 0000 to 9999"
            ),
        }
    }
}

impl std::error::Error for TimeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use TimeUnit::*;

    fn key(unit: TimeUnit, value: &str) -> String {
        let mut out = b"prefix:".to_vec();
        unit.bucket(value.as_bytes(), &mut out)
            .unwrap_or_else(|e| panic!("{}({value}): {e}", unit.name()));
        String::from_utf8(out[7..].to_vec()).unwrap()
    }

    fn error(unit: TimeUnit, value: &str) -> TimeError {
        let mut out = b"x".to_vec();
        let e = unit.bucket(value.as_bytes(), &mut out).expect_err(value);
        assert_eq!(out, b"x", "nothing appended on error");
        e
    }

    fn epoch(unit: TimeUnit, secs: i64) -> Result<String, TimeError> {
        let mut out = Vec::new();
        unit.bucket_epoch(secs, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// `bucket_plain` agrees with `bucket` on every value it accepts, and
    /// accepts the valid plain ones: random fields near and past the
    /// limits, random separators.
    #[test]
    fn the_plain_form_reads_like_the_general_reader() {
        fn plain<const L: usize>(unit: TimeUnit, v: &[u8]) -> Option<Vec<u8>> {
            unit.bucket_plain::<L>(v).map(|k| k.to_vec())
        }
        let mut state = 11u64;
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut r = || crate::testing::xorshift(&mut state);
            let field = |r: u64, max: u64| format!("{:02}", r % (max + 2));
            let year = [1900, 2000, 2023, 2024, 2100, 9999, 0][(r() % 7) as usize];
            let sep = [" ", "T", "t", "x", "TT"][(r() % 5) as usize];
            let mut v = format!(
                "{year:04}-{}-{}{sep}{}:{}:{}",
                field(r(), 12),
                field(r(), 30),
                field(r(), 23),
                field(r(), 59),
                field(r(), 59)
            )
            .into_bytes();
            if r() % 16 == 0 {
                let i = (r() % v.len() as u64) as usize;
                v[i] = b"0-:9a "[(r() % 6) as usize];
            }
            for unit in TimeUnit::ALL {
                let got = match unit {
                    Year => plain::<4>(unit, &v),
                    Month => plain::<7>(unit, &v),
                    Week => plain::<8>(unit, &v),
                    Day => plain::<10>(unit, &v),
                    Hour => plain::<13>(unit, &v),
                    Minute => plain::<16>(unit, &v),
                    Second => plain::<19>(unit, &v),
                };
                let mut want = Vec::new();
                let ok = unit.bucket(&v, &mut want).is_ok();
                // (`None` where the general reader accepts: week, the leap
                // second, or another form, as `11-08:05`, an offset)
                if let Some(key) = got {
                    assert!(ok, "{unit:?} {}", String::from_utf8_lossy(&v));
                    assert_eq!(key, want, "{}", String::from_utf8_lossy(&v));
                    accepted += 1;
                }
            }
        }
        assert!(accepted > 100_000, "{accepted}");
        assert_eq!(
            Day.bucket_plain::<10>(b"2024-02-29 23:59:59"),
            Some(*b"2024-02-29")
        );
        assert_eq!(Day.bucket_plain::<10>(b"2023-02-29 23:59:59"), None);
        assert_eq!(
            Hour.bucket_plain::<13>(b"2024-02-29 23:59:59"),
            Some(*b"2024-02-29T23")
        );
    }

    #[test]
    fn every_unit() {
        let v = "2026-11-30T02:24:41";
        let want = [
            (Year, "2026"),
            (Month, "2026-11"),
            (Week, "2026-W49"),
            (Day, "2026-11-30"),
            (Hour, "2026-11-30T02"),
            (Minute, "2026-11-30T02:24"),
            (Second, "2026-11-30T02:24:41"),
        ];
        for (unit, k) in want {
            assert_eq!(key(unit, v), k, "{}", unit.name());
        }
    }

    /// Hand-checked: (value, unit, key).
    const TABLE: &[(&str, TimeUnit, &str)] = &[
        // the forms
        ("2026-11-30", Second, "2026-11-30T00:00:00"),
        ("2026-11-30 02:24:41", Second, "2026-11-30T02:24:41"),
        ("2026-11-30t02:24:41z", Second, "2026-11-30T02:24:41"),
        ("2026-11-30T02", Minute, "2026-11-30T02:00"),
        ("2026-11-30T02:24", Second, "2026-11-30T02:24:00"),
        ("  2026-11-30T02:24:41Z\t", Second, "2026-11-30T02:24:41"),
        // fractions are dropped
        (
            "2026-11-30T02:24:41.999999999Z",
            Second,
            "2026-11-30T02:24:41",
        ),
        ("2026-11-30T02:24:41,5", Second, "2026-11-30T02:24:41"),
        ("2026-11-30T23:59:59.9", Day, "2026-11-30"),
        // offsets: to UTC
        ("2026-11-30T02:24:41+01:00", Second, "2026-11-30T01:24:41"),
        ("2026-11-30T02:24:41+0130", Second, "2026-11-30T00:54:41"),
        ("2026-11-30T02:24:41-05", Second, "2026-11-30T07:24:41"),
        ("2026-11-30T02:24:41-00:00", Second, "2026-11-30T02:24:41"),
        ("2026-11-30T02-05", Hour, "2026-11-30T07"),
        // ... crossing midnight
        ("2026-11-30T00:30:00+01:00", Day, "2026-11-29"),
        ("2026-11-29T23:30:00-01:00", Day, "2026-11-30"),
        ("2026-11-30T12:00:00+23:59", Minute, "2026-11-29T12:01"),
        // ... a month end
        ("2026-11-30T23:30:00-01:00", Day, "2026-12-01"),
        ("2026-11-30T23:30:00-01:00", Month, "2026-12"),
        ("2026-12-01T00:00:00+00:01", Month, "2026-11"),
        // ... a year end
        ("2027-01-01T00:30:00+01:00", Year, "2026"),
        ("2027-01-01T00:30:00+01:00", Second, "2026-12-31T23:30:00"),
        ("2026-12-31T23:59:59-00:01", Year, "2027"),
        ("2026-12-31T23:59:59-00:01", Second, "2027-01-01T00:00:59"),
        ("2026-12-31", Day, "2026-12-31"),
        // ... onto and past leap days
        ("2024-03-01T00:15+0100", Day, "2024-02-29"),
        ("2023-03-01T00:15+01", Day, "2023-02-28"),
        ("2024-02-29T23:00-02:00", Day, "2024-03-01"),
        ("2000-02-29T12:00", Day, "2000-02-29"),
        ("2000-03-01T00:00+01:00", Day, "2000-02-29"),
        ("1900-03-01T00:00+01:00", Day, "1900-02-28"),
        // ISO weeks across year ends
        ("2020-12-31", Week, "2020-W53"),
        ("2021-01-01", Week, "2020-W53"),
        ("2021-01-03", Week, "2020-W53"),
        ("2021-01-04", Week, "2021-W01"),
        ("2025-12-28", Week, "2025-W52"),
        ("2025-12-29", Week, "2026-W01"),
        ("2026-01-01", Week, "2026-W01"),
        ("2026-11-30", Week, "2026-W49"),
        ("2026-12-27", Week, "2026-W52"),
        ("2026-12-28", Week, "2026-W53"),
        ("2026-12-31", Week, "2026-W53"),
        ("2027-01-01", Week, "2026-W53"),
        ("2027-01-03", Week, "2026-W53"),
        ("2027-01-04", Week, "2027-W01"),
        ("2024-12-30", Week, "2025-W01"),
        ("2004-12-31", Week, "2004-W53"),
        ("2005-01-02", Week, "2004-W53"),
        ("2008-12-29", Week, "2009-W01"),
        ("2010-01-03", Week, "2009-W53"),
        // a Sunday evening west of UTC is Monday in UTC, the next week
        ("2021-01-03T23:00-02:00", Week, "2021-W01"),
        // leap seconds, at 23:59 UTC
        ("2016-12-31T23:59:60Z", Second, "2016-12-31T23:59:60"),
        ("2016-12-31T23:59:60.5Z", Minute, "2016-12-31T23:59"),
        ("2017-01-01T00:59:60+01:00", Second, "2016-12-31T23:59:60"),
        ("2016-12-31T23:59:60", Day, "2016-12-31"),
        // the ends of the range
        ("0000-01-01", Day, "0000-01-01"),
        ("0000-01-03", Week, "0000-W01"),
        ("9999-12-31T23:59:59", Second, "9999-12-31T23:59:59"),
        ("9999-12-31", Week, "9999-W52"),
        ("0001-01-01T00:00:00+00:00", Year, "0001"),
        // integers are epoch seconds, in text too
        ("1700000000", Second, "2023-11-14T22:13:20"),
        (" -1 ", Second, "1969-12-31T23:59:59"),
        ("0", Week, "1970-W01"),
        ("+86400", Day, "1970-01-02"),
        ("2026", Second, "1970-01-01T00:33:46"),
    ];

    #[test]
    fn hand_checked_table() {
        for &(value, unit, want) in TABLE {
            assert_eq!(key(unit, value), want, "{}({value})", unit.name());
        }
    }

    #[test]
    fn epoch_seconds() {
        assert_eq!(epoch(Second, 0).unwrap(), "1970-01-01T00:00:00");
        assert_eq!(epoch(Second, -1).unwrap(), "1969-12-31T23:59:59");
        assert_eq!(epoch(Day, -86_400).unwrap(), "1969-12-31");
        assert_eq!(epoch(Day, -86_401).unwrap(), "1969-12-30");
        assert_eq!(epoch(Second, 951_782_400).unwrap(), "2000-02-29T00:00:00");
        assert_eq!(epoch(Second, 1_700_000_000).unwrap(), "2023-11-14T22:13:20");
        assert_eq!(epoch(Week, 1_609_632_000).unwrap(), "2020-W53"); // 2021-01-03
        assert_eq!(epoch(Week, 1_609_718_400).unwrap(), "2021-W01"); // 2021-01-04
        assert_eq!(epoch(Second, 4_102_444_800).unwrap(), "2100-01-01T00:00:00");
        assert_eq!(
            epoch(Second, 253_402_300_799).unwrap(),
            "9999-12-31T23:59:59"
        );
        assert_eq!(
            epoch(Second, -62_167_219_200).unwrap(),
            "0000-01-01T00:00:00"
        );
        assert_eq!(epoch(Hour, -62_135_596_800).unwrap(), "0001-01-01T00");
        for secs in [253_402_300_800, -62_167_219_201, i64::MAX, i64::MIN] {
            assert_eq!(epoch(Second, secs), Err(TimeError::OutOfRange), "{secs}");
        }
        // an integer too wide for 64 bits is epoch seconds out of range,
        // as i64::MAX is, not "not ... integer epoch seconds"
        for wide in [
            "12345678901234567890123",
            "9223372036854775808",
            " -9223372036854775809\t",
            "+99999999999999999999999999999999999999",
        ] {
            let mut out = Vec::new();
            let e = Second.bucket(wide.as_bytes(), &mut out);
            assert_eq!(e, Err(TimeError::OutOfRange), "{wide:?}");
        }
        for not_int in ["1e30", "12345678901234567890123.0", "-0", "0x10"] {
            let e = Second.bucket(not_int.as_bytes(), &mut Vec::new());
            assert_eq!(e, Err(TimeError::Malformed), "{not_int:?}");
        }
        // the week of 0000-01-01 (a Saturday) is in week-year -1
        assert_eq!(epoch(Week, -62_167_219_200), Err(TimeError::WeekYear(-1)));
        assert_eq!(
            TimeError::WeekYear(-1).to_string(),
            "its ISO week belongs to the year -1, outside the years 0000 to 9999"
        );
    }

    #[test]
    fn calendar_arithmetic_round_trips() {
        let mut days = days_from_civil(0, 1, 1);
        assert_eq!(days, MIN_DAYS);
        assert_eq!(days_from_civil(9999, 12, 31), MAX_DAYS);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for y in 0..=9999u32 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y as i64, m, d), days);
                    assert_eq!(civil_from_days(days), (y as i64, m, d));
                    days += 1;
                }
            }
        }
        assert_eq!(days, MAX_DAYS + 1);
        assert!(is_leap(2000) && is_leap(2024) && !is_leap(1900) && !is_leap(2023));
    }

    #[test]
    fn iso_weeks_follow_thursdays() {
        // every ISO week has 7 days Monday to Sunday, numbered 1, 2, ...
        // within its year, and its Thursday is in that calendar year
        let week = |days| iso_week(days, civil_from_days(days).0).unwrap();
        let mut prev = week(days_from_civil(1999, 12, 27)); // a Monday
        assert_eq!(prev, (1999, 52));
        for days in days_from_civil(1999, 12, 28)..days_from_civil(2101, 1, 1) {
            let w = week(days);
            let monday = (days + 3).rem_euclid(7) == 0;
            if monday {
                assert!(
                    w == (prev.0, prev.1 + 1) || (w == (prev.0 + 1, 1) && prev.1 >= 52),
                    "{w:?} after {prev:?}"
                );
            } else {
                assert_eq!(w, prev);
            }
            prev = w;
        }
    }

    #[test]
    fn rejections() {
        use TimeError::*;
        let cases: &[(&str, TimeError)] = &[
            ("2026-13-01", Month(13)),
            ("2026-00-10", Month(0)),
            (
                "2026-11-31",
                Day {
                    year: 2026,
                    month: 11,
                    day: 31,
                },
            ),
            (
                "2026-11-00",
                Day {
                    year: 2026,
                    month: 11,
                    day: 0,
                },
            ),
            (
                "2026-02-30",
                Day {
                    year: 2026,
                    month: 2,
                    day: 30,
                },
            ),
            (
                "2023-02-29",
                Day {
                    year: 2023,
                    month: 2,
                    day: 29,
                },
            ),
            (
                "1900-02-29",
                Day {
                    year: 1900,
                    month: 2,
                    day: 29,
                },
            ),
            (
                "2100-02-29T00:00Z",
                Day {
                    year: 2100,
                    month: 2,
                    day: 29,
                },
            ),
            (
                "2026-01-32",
                Day {
                    year: 2026,
                    month: 1,
                    day: 32,
                },
            ),
            ("2026-11-30T24:00:00", Hour(24)),
            ("2026-11-30T99", Hour(99)),
            ("2026-11-30T23:60", Minute(60)),
            ("2026-11-30T23:59:61", Second(61)),
            ("2026-11-30T12:00:60", Second(60)),
            ("2026-11-30T23:59:60+01:00", Second(60)),
            (
                "2026-11-30T02:24:41+24:00",
                Offset {
                    negative: false,
                    hours: 24,
                    minutes: 0,
                },
            ),
            (
                "2026-11-30T02:24:41-01:60",
                Offset {
                    negative: true,
                    hours: 1,
                    minutes: 60,
                },
            ),
            ("9999-12-31T23:00:00-01:00", OutOfRange),
            ("0000-01-01T00:30:00+01:00", OutOfRange),
            ("", Malformed),
            ("   ", Malformed),
            ("garbage", Malformed),
            ("not a date at all", Malformed),
            ("2026/11/30", Malformed),
            ("2026-11/30", Malformed),
            ("26-11-30", Malformed),
            ("2026-1-30", Malformed),
            ("2026-11-3", Malformed),
            ("+2026-11-30", Malformed),
            ("20261-11-30", Malformed),
            ("2026-11-30T", Malformed),
            ("2026-11-30X02:00", Malformed),
            ("2026-11-30T2:24", Malformed),
            ("2026-11-30T02:4", Malformed),
            ("2026-11-30T02:24:4", Malformed),
            ("2026-11-30T02:24:41.", Malformed),
            ("2026-11-30T02:24.5", Malformed),
            ("2026-11-30T02:24:41ZZ", Malformed),
            ("2026-11-30T02:24:41 Z", Malformed),
            ("2026-11-30T02:24:41+1", Malformed),
            ("2026-11-30T02:24:41+01:", Malformed),
            ("2026-11-30T02:24:41+01:0", Malformed),
            ("2026-11-30T02:24:41+010", Malformed),
            ("2026-11-30T02:24:41+01:00:00", Malformed),
            ("2026-11-30T02:24:41UTC", Malformed),
            ("2026-11-30T02:24:41+", Malformed),
            ("1.5", Malformed),
            ("1e9", Malformed),
            ("1700000000.5", Malformed),
            // an integer, too wide for 64 bits: epoch seconds out of range
            ("99999999999999999999", OutOfRange),
            ("2026-11-30\n", Malformed),
            ("２０２６-11-30", Malformed),
        ];
        for &(value, want) in cases {
            for unit in TimeUnit::ALL {
                assert_eq!(error(unit, value), want, "{}({value:?})", unit.name());
            }
        }
        let mut out = Vec::new();
        assert_eq!(
            TimeUnit::Second.bucket(b"2026-11-30\xff", &mut out),
            Err(Malformed)
        );
        assert_eq!(
            TimeUnit::Second.bucket(b"\xff\xfe", &mut out),
            Err(Malformed)
        );
    }

    #[test]
    fn messages() {
        let e = error(Hour, "2026-13-01");
        assert_eq!(
            e.message("hour(ts)", b"2026-13-01"),
            "hour(ts) needs a date-time or epoch seconds, found \"2026-13-01\": there is no month 13"
        );
        assert_eq!(
            error(Day, "2023-02-29").to_string(),
            "2023-02-29 does not exist (2023 is not a leap year)"
        );
        assert_eq!(
            error(Day, "2026-04-31").to_string(),
            "2026-04-31 does not exist"
        );
        assert_eq!(
            error(Day, "2026-11-30T02:24:41-01:60").to_string(),
            "the offset -01:60 is out of range (at most 23:59)"
        );
        assert!(error(Day, "x").to_string().contains("ISO 8601"));
        assert!(error(Day, "9999-12-31T23:00-01:00")
            .to_string()
            .contains("0000 to 9999"));
    }

    #[test]
    fn by_terms() {
        assert_eq!(TimeUnit::parse_by_term("hour(ts)"), Some((Hour, "ts")));
        assert_eq!(TimeUnit::parse_by_term(" DAY( ts ) "), Some((Day, "ts")));
        assert_eq!(TimeUnit::parse_by_term("week (ts)"), Some((Week, "ts")));
        assert_eq!(
            TimeUnit::parse_by_term(r#"minute("unit, ts")"#),
            Some((Minute, r#""unit, ts""#))
        );
        assert_eq!(
            TimeUnit::parse_by_term("second(k#2)"),
            Some((Second, "k#2"))
        );
        assert_eq!(
            TimeUnit::parse_by_term("month(f(x))"),
            Some((Month, "f(x)"))
        );
        for term in [
            "ts",
            "hour(ts",
            "hour)ts(",
            r#""hour(ts)""#,
            "decade(ts)",
            "hour(ts)x",
            "(ts)",
        ] {
            assert_eq!(TimeUnit::parse_by_term(term), None, "{term}");
        }
        for unit in TimeUnit::ALL {
            let term = format!("{}(ts)", unit.name());
            assert_eq!(TimeUnit::parse_by_term(&term), Some((unit, "ts")));
            assert_eq!(TimeUnit::from_name(&unit.name().to_uppercase()), Some(unit));
        }
        assert_eq!(Day.output_name("ts"), "day_ts");
        assert_eq!(Week.output_name("k#2"), "week_k#2");
        let (unit, col) = TimeUnit::parse_by(r#"year("a ""b""")"#).unwrap().unwrap();
        assert_eq!((unit, col.name.as_str()), (Year, "a \"b\""));
        let (_, col) = TimeUnit::parse_by("year(k#2)").unwrap().unwrap();
        assert_eq!((col.name.as_str(), col.occurrence), ("k", Some(2)));
        assert!(TimeUnit::parse_by("year()").unwrap().is_err());
        assert!(TimeUnit::parse_by(r#"year("a)"#).unwrap().is_err());
        assert!(TimeUnit::parse_by("ts").is_none());
    }

    #[test]
    fn rows_of_every_batch_type() {
        let raw: Vec<&[u8]> = vec![b"1700000000", b"2026-11-30T02:24:41Z", b"0"];
        let text = Column {
            len: 3,
            data: Data::Text(&raw),
            valid: None,
            raw: Some(&raw),
        };
        let ints = [1_700_000_000i64, 86_400];
        let int = Column {
            len: 2,
            data: Data::Int(&ints),
            valid: None,
            raw: None,
        };
        let floats = [1_700_000_000.0, 0.5, f64::NAN];
        let float = Column {
            len: 3,
            data: Data::Float(&floats),
            valid: None,
            raw: None,
        };
        let float_raw: Vec<&[u8]> = vec![b"1700000000", b"0.5", b"nan"];
        let float_csv = Column {
            raw: Some(&float_raw),
            ..float
        };
        let row = |c: &Column<'_>, r: usize| {
            let mut out = Vec::new();
            Day.bucket_row(c, r, &mut out)
                .map(|()| String::from_utf8(out).unwrap())
        };
        assert_eq!(row(&text, 0).unwrap(), "2023-11-14");
        assert_eq!(row(&text, 1).unwrap(), "2026-11-30");
        assert_eq!(row(&text, 2).unwrap(), "1970-01-01");
        assert_eq!(row(&int, 0).unwrap(), "2023-11-14");
        assert_eq!(row(&int, 1).unwrap(), "1970-01-02");
        assert_eq!(row(&float, 0).unwrap(), "2023-11-14");
        assert_eq!(row(&float, 1), Err(TimeError::Malformed));
        assert_eq!(row(&float, 2), Err(TimeError::Malformed));
        assert_eq!(row(&float_csv, 0).unwrap(), "2023-11-14");
        assert_eq!(row(&float_csv, 1), Err(TimeError::Malformed));
    }

    #[test]
    fn keys_sort_as_time() {
        // byte order of the keys is time order, for every unit
        let mut state = 0x1234_5678_9abc_def1_u64;
        let mut secs: Vec<i64> = (0..5000)
            .map(|_| {
                let r = crate::testing::xorshift(&mut state);
                -62_167_219_200 + (r % 315_537_897_600) as i64
            })
            .collect();
        secs.sort_unstable();
        for unit in TimeUnit::ALL {
            let keys: Vec<Vec<u8>> = secs
                .iter()
                .filter_map(|&s| {
                    let mut out = Vec::new();
                    unit.bucket_epoch(s, &mut out).ok().map(|()| out)
                })
                .collect();
            assert!(keys.len() >= 4990);
            assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{}", unit.name());
        }
    }

    #[test]
    fn text_agrees_with_epoch_seconds() {
        // a date-time written out in UTC, and at an offset, buckets as its
        // epoch second does
        let mut state = 0x0dd_ba11_u64;
        for _ in 0..20_000 {
            let r = crate::testing::xorshift(&mut state);
            let secs = (r % 253_402_300_800) as i64;
            let days = secs.div_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            let s = secs.rem_euclid(86_400);
            let utc = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                s / 3600,
                s / 60 % 60,
                s % 60
            );
            // the same instant at +HH:MM (local = utc + offset)
            let off = (r >> 40) as i64 % (24 * 60);
            let local = secs + off * 60;
            let (ly, lm, ld) = civil_from_days(local.div_euclid(86_400));
            let ls = local.rem_euclid(86_400);
            let shifted = format!(
                "{ly:04}-{lm:02}-{ld:02} {:02}:{:02}:{:02}.25+{:02}{:02}",
                ls / 3600,
                ls / 60 % 60,
                ls % 60,
                off / 60,
                off % 60
            );
            for unit in TimeUnit::ALL {
                let want = epoch(unit, secs);
                let mut out = Vec::new();
                let got = unit.bucket(utc.as_bytes(), &mut out).map(|()| out.clone());
                assert_eq!(got.map(|o| String::from_utf8(o).unwrap()), want, "{utc}");
                if ly <= 9999 {
                    let mut out = Vec::new();
                    let got = unit.bucket(shifted.as_bytes(), &mut out).map(|()| out);
                    assert_eq!(
                        got.map(|o| String::from_utf8(o).unwrap()),
                        want,
                        "{shifted}"
                    );
                }
            }
        }
    }

    /// Not a test of correctness: `cargo test --release --lib timebucket --
    /// --ignored --nocapture` prints the time per value.
    #[test]
    #[ignore]
    fn speed() {
        // the values back to back, as in a mapped input
        let mut text = Vec::new();
        let mut ends = Vec::new();
        for i in 0..1_000_000i64 {
            let s = 1_700_000_000 + i * 37;
            let (y, m, d) = civil_from_days(s.div_euclid(86_400));
            let t = s.rem_euclid(86_400);
            let v = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.123Z",
                t / 3600,
                t / 60 % 60,
                t % 60
            );
            text.extend_from_slice(v.as_bytes());
            ends.push(text.len());
        }
        for unit in [Hour, Day, Week] {
            let mut out = Vec::with_capacity(32);
            let start = std::time::Instant::now();
            let mut total = 0;
            let mut from = 0;
            for &end in &ends {
                out.clear();
                unit.bucket(&text[from..end], &mut out).unwrap();
                total += out.len();
                from = end;
            }
            let ns = start.elapsed().as_nanos() as f64 / ends.len() as f64;
            println!("{}: {ns:.1} ns per value ({total})", unit.name());
        }
    }
}

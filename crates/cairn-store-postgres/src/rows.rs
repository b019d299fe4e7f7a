//! Reading and writing column values: PostgreSQL has no unsigned integers, so
//! counts travel as BIGINT and are checked on the way in and out; times cairn
//! creates are integer microseconds, event times exact RFC 3339 text.

use cairn_core::{Error, Timestamp};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::fail::{R, unreadable};

pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> R<T> {
    Ok(row.try_get(index)?)
}

/// A non-negative BIGINT column as `u64`.
pub(crate) fn get_u64(row: &Row, index: usize) -> R<u64> {
    let value: i64 = row.try_get(index)?;
    u64::try_from(value).map_err(|_| unreadable(format!("negative count {value}")))
}

pub(crate) fn get_opt_u64(row: &Row, index: usize) -> R<Option<u64>> {
    let value: Option<i64> = row.try_get(index)?;
    value
        .map(|v| u64::try_from(v).map_err(|_| unreadable(format!("negative count {v}"))))
        .transpose()
}

/// A count for a BIGINT column; beyond `i64::MAX` is refused as bad input.
pub(crate) fn big(value: u64, what: &str) -> R<i64> {
    i64::try_from(value)
        .map_err(|_| Error::invalid(format!("{what} {value} is too large to store")).into())
}

/// `limit` 0 means no limit (`LIMIT NULL` in PostgreSQL).
pub(crate) fn limit(limit: u32) -> Option<i64> {
    (limit != 0).then_some(i64::from(limit))
}

/// Now, truncated to the microsecond so it survives a round trip through an integer.
pub(crate) fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

pub(crate) fn micros(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> R<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| unreadable(format!("time {us}: {e}")))
}

/// An event's time as the server reads its RFC 3339 text (`ts::timestamptz`),
/// in microseconds since the epoch: the `at_us` column that search orders by
/// (migration 10 fills it with that cast). A finer fraction of a second is
/// rounded as the server's parser does: the fraction read as a double, times a
/// million, to the nearest integer, ties to even. Times before the year 1, which
/// the server cannot read, are all the oldest.
pub(crate) fn at_us(ts: Timestamp) -> i64 {
    /// 0001-01-01T00:00:00Z.
    const FIRST_READABLE_SECOND: i64 = -62_135_596_800;
    if ts.as_second() < FIRST_READABLE_SECOND {
        return i64::MIN;
    }
    let nanos = ts.as_nanosecond();
    let seconds = nanos.div_euclid(1_000_000_000);
    let fraction = nanos.rem_euclid(1_000_000_000) as f64 / 1e9;
    let micros = seconds * 1_000_000 + (fraction * 1e6).round_ties_even() as i128;
    // Years 1 to 9999 in microseconds are far inside an i64.
    i64::try_from(micros).unwrap_or(i64::MIN)
}

pub(crate) fn parse_ts(text: &str) -> R<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|e| unreadable(format!("time {text:?}: {e}")))
}

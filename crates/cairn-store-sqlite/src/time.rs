//! Timestamps in the store. Event times are exact to the nanosecond (imports
//! must round-trip); times cairn creates itself are truncated to microseconds.
//! Both are kept as integers so they sort and compare cheaply.

use cairn_core::Timestamp;
use rusqlite::types::{Value, ValueRef};

use crate::fail::{R, unreadable};

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

/// What `events.ts` keeps of an event's time (schema 18): nanoseconds since the
/// Unix epoch, exact for every instant an i64 holds (1677-09-21 to 2262-04-11);
/// an instant outside that as its RFC 3339 text, as every row was before.
pub(crate) fn event_time_column(ts: Timestamp) -> Value {
    match i64::try_from(ts.as_nanosecond()) {
        Ok(nanos) => Value::Integer(nanos),
        Err(_) => Value::Text(ts.to_string()),
    }
}

/// The time a stored `events.ts` holds: an integer ([`event_time_column`]) or
/// RFC 3339 text (written before schema 18, or outside the integer's range).
pub(crate) fn event_time(value: ValueRef<'_>) -> Result<Timestamp, String> {
    match value {
        ValueRef::Integer(nanos) => Timestamp::from_nanosecond(i128::from(nanos))
            .map_err(|e| format!("time {nanos} ns: {e}")),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|e| format!("time is not UTF-8: {e}"))?;
            text.parse::<Timestamp>()
                .map_err(|e| format!("time {text:?}: {e}"))
        }
        other => Err(format!("time has type {:?}", other.data_type())),
    }
}

/// Migration step 18: a text `events.ts` as the integer [`event_time_column`]
/// gives, when that integer reads back to the same text byte for byte (every
/// time a version before wrote: `Timestamp::to_string`); `None` for any other
/// value (an offset, other digits, outside the integer's range), which stays as
/// it is.
pub(crate) fn lean_event_time(value: ValueRef<'_>) -> Option<i64> {
    let ValueRef::Text(bytes) = value else {
        return None;
    };
    let text = std::str::from_utf8(bytes).ok()?;
    let ts = text.parse::<Timestamp>().ok()?;
    match event_time_column(ts) {
        Value::Integer(nanos) if ts.to_string() == text => Some(nanos),
        _ => None,
    }
}

/// Events ordered by time in SQL, over `events.ts` as either form holds it: an
/// integer as it is; text through `julianday` (which reads RFC 3339 with any
/// fraction and offset, to the millisecond) scaled to nanoseconds since the
/// epoch, a REAL, which SQLite compares with integers by value. The
/// `events_by_time` index is on this expression, and a query uses the index only
/// when it orders by the same text: a macro, so that `concat!` can build the SQL.
macro_rules! event_time_order {
    () => {
        "(CASE typeof(ts) WHEN 'integer' THEN ts \
         ELSE (julianday(ts) - 2440587.5) * 86400000000000.0 END)"
    };
}
pub(crate) use event_time_order;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form a time can take on disk reads back as the instant it was, and
    /// the SQL order puts integers and text in one timeline.
    #[test]
    fn event_times_round_trip_and_sort_as_instants_in_either_form() {
        let times = [
            "2025-03-01T09:59:59.123456789Z",
            "1969-12-31T23:59:59.999999999Z",
            "1500-06-01T12:00:00Z",
            "3000-01-01T00:00:00.5Z",
            "-000001-01-01T00:00:00Z",
        ];
        for text in times {
            let ts: Timestamp = text.parse().unwrap();
            let column = event_time_column(ts);
            let far = ts.as_nanosecond() > i128::from(i64::MAX)
                || ts.as_nanosecond() < i128::from(i64::MIN);
            assert_eq!(matches!(column, Value::Text(_)), far, "{text}");
            let back = match &column {
                Value::Integer(n) => event_time(ValueRef::Integer(*n)).unwrap(),
                Value::Text(t) => event_time(ValueRef::Text(t.as_bytes())).unwrap(),
                other => panic!("{other:?}"),
            };
            assert_eq!(back, ts, "{text}");
            let lean = lean_event_time(ValueRef::Text(text.as_bytes()));
            assert_eq!(
                lean.map(Value::Integer).unwrap_or(Value::Text(text.into())),
                column
            );
        }
        // Not as `to_string` writes it: kept as written.
        for text in ["2025-03-01T11:30:00+02:00", "2025-03-01T10:00:00.500Z"] {
            assert_eq!(lean_event_time(ValueRef::Text(text.as_bytes())), None);
        }

        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (name TEXT, ts)")
            .unwrap();
        for text in [
            "2025-03-01T11:30:00+02:00", // 09:30Z, kept as text
            "2025-03-01T10:00:00.5Z",
            "2025-03-01T10:00:00Z",
            "2025-03-01T09:59:59.123456789Z",
            "1500-06-01T12:00:00Z",
            "3000-01-01T00:00:00Z",
        ] {
            let value = lean_event_time(ValueRef::Text(text.as_bytes()))
                .map_or(Value::Text(text.into()), Value::Integer);
            conn.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                rusqlite::params![text, value],
            )
            .unwrap();
        }
        let order: String = conn
            .query_row(
                concat!(
                    "SELECT group_concat(name, ' ') FROM (SELECT name FROM t ORDER BY ",
                    event_time_order!(),
                    " DESC)"
                ),
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(
            order,
            "3000-01-01T00:00:00Z 2025-03-01T10:00:00.5Z 2025-03-01T10:00:00Z \
             2025-03-01T09:59:59.123456789Z 2025-03-01T11:30:00+02:00 1500-06-01T12:00:00Z"
        );
    }
}

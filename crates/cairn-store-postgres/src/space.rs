//! Where the database's bytes go: every table (with its TOAST storage) and index
//! of cairn's schema, grouped by part (the payloads of event bodies count with
//! the events). Message search lives in the `events.search`
//! column (counted with the events) and its GIN index (the search index).

use cairn_core::store::StoreSpace;
use deadpool_postgres::Transaction;

use crate::fail::R;
use crate::rows::{get, get_u64};

/// The part a table or index (by its name and its table's) belongs to.
fn part_of(name: &str, table: &str) -> &'static str {
    if name.ends_with("_search") {
        "search_index"
    } else if (table == "events" || table == "payloads") && name == table {
        "events"
    } else if table == "events" || table == "payloads" {
        "event_indexes"
    } else if table == "attachments" {
        "attachments"
    } else {
        "other"
    }
}

pub(crate) async fn space(tx: &Transaction<'_>) -> R<StoreSpace> {
    let total = tx
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await?;
    // pg_table_size: the heap with its TOAST table, free space and visibility maps.
    let rows = tx
        .query(
            "SELECT c.relname::text, coalesce(t.relname, c.relname)::text, \
                 CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) \
                      ELSE pg_table_size(c.oid) END AS bytes \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_index i ON i.indexrelid = c.oid \
             LEFT JOIN pg_class t ON t.oid = i.indrelid \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'p') \
             ORDER BY bytes DESC, 1",
            &[],
        )
        .await?;
    let mut space = StoreSpace {
        total_bytes: get_u64(&total, 0)?,
        ..StoreSpace::default()
    };
    for row in &rows {
        let name: String = get(row, 0)?;
        let table: String = get(row, 1)?;
        let bytes = get_u64(row, 2)?;
        let part = part_of(&name, &table);
        space.add(name, part, bytes);
    }
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::part_of;

    #[test]
    fn tables_and_indexes_fall_into_their_parts() {
        assert_eq!(part_of("events", "events"), "events");
        assert_eq!(part_of("events_pkey", "events"), "event_indexes");
        assert_eq!(part_of("payloads", "payloads"), "events");
        assert_eq!(part_of("payloads_sha256_key", "payloads"), "event_indexes");
        assert_eq!(part_of("events_search", "events"), "search_index");
        assert_eq!(part_of("checkpoints_search", "checkpoints"), "search_index");
        assert_eq!(part_of("attachments_pkey", "attachments"), "attachments");
        assert_eq!(part_of("sessions", "sessions"), "other");
    }
}

//! Full-text search over message text with PostgreSQL's own text search, newest
//! first. `events.search` keeps which words an event holds, not where (`strip`,
//! migration 9), and no copy of the text is stored: the GIN index gives the
//! candidates holding every word; their text comes from their bodies, read here.
//! The words of more than one token (`refresh-token`: a phrase) are checked on
//! that text by the client when it can number the words as the index's parser
//! does (`search_text::phrase_verdict`), otherwise by the server with that
//! parser; the server makes the `ts_headline` snippet.
//! Checkpoints keep their text and a positional vector (`search_text` and
//! `search` of `checkpoints`: small).
//!
//! Round trips are most of a short search's time (a cold backend, a loaded
//! machine): each statement is sent unnamed with its parameters' types
//! (`query_typed`: parse, bind and execute in one trip), and the query text comes
//! back with the ids (BENCHMARKS.md, "PostgreSQL: a search in fewer round trips").

use cairn_core::store::{CheckpointHit, SearchHit, SearchScope};
use cairn_core::{Project, Role, SessionName};
use deadpool_postgres::Transaction;
use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};
use ulid::Ulid;

use crate::events::{EVENT_COLUMNS, PAYLOAD_JOIN, decode};
use crate::fail::{R, unreadable};
use crate::rows::{from_micros, get, get_u64, limit, parse_ts};
use crate::search_text::{
    PhraseVerdict, event_text, index_words, literal_query, mark_cuts, phrase_verdict, phrases_of,
};
use crate::sessions;

/// Snippets: at most 16 words around the hits, hits in brackets as written.
const HEADLINE_OPTIONS: &str =
    "StartSel=[, StopSel=], MaxWords=16, MinWords=6, ShortWord=0, HighlightAll=false";

/// The query as the server reads what a person typed (`$1`, [`literal_query`]).
/// A macro, not a `const`, so the statements below can repeat it with `concat!`.
macro_rules! exact_query {
    () => {
        "websearch_to_tsquery('cairn_search', $1::TEXT)::TEXT"
    };
}

/// [`exact_query!`] with every word of each phrase required anywhere (`<->` as
/// `&`): what a vector without positions can answer (it never matches a phrase).
/// Lexemes are letters and digits only, so the operators are the only `<…>` in
/// the text.
macro_rules! loose_query {
    () => {
        concat!(
            "regexp_replace(",
            exact_query!(),
            ", '<(-|[0-9]+)>', '&', 'g')"
        )
    };
}

/// `exact`, phrases and all, and `loose` ([`loose_query!`]).
#[cfg(test)]
pub(crate) const QUERY_SQL: &str = concat!("SELECT ", exact_query!(), ", ", loose_query!());

/// The ids of the candidates, each row with the query's `exact` and `loose` text
/// (no row: no candidate, and nothing else to know), in one round trip. Every
/// expression of `$1` is immutable, so the planner folds it into a constant before
/// it plans: the `tsquery` it estimates with and the `LIMIT` are known, as if the
/// client had sent them. A phrased query takes every candidate (phrases may reject
/// some), any other `$3` at most.
macro_rules! ids_with_query {
    ($from_where:expr, $order:expr, $limit:expr) => {
        concat!(
            "SELECT e.id, ",
            exact_query!(),
            ", ",
            loose_query!(),
            " FROM ",
            $from_where,
            " e.search @@ (",
            loose_query!(),
            ")::TSQUERY ORDER BY ",
            $order,
            " LIMIT CASE WHEN ",
            exact_query!(),
            " = ",
            loose_query!(),
            " THEN ",
            $limit,
            "::BIGINT END"
        )
    };
}

/// Newest first by the event's own time (`at_us`, the RFC 3339 text as the
/// server reads it; an imported session's events keep theirs), insertion order
/// breaking ties. Ids only: the text of the hits kept is read afterwards.
///
/// The planner picks one of two plans by the word's frequency (its statistics,
/// migration 6): a word in many events walks `events_by_time` newest first,
/// testing each event's vector, about `events / matches` entries per hit; a
/// rarer word takes its matches from the GIN index and sorts them, which reads
/// every match's row (BENCHMARKS.md, "PostgreSQL: search newest first by
/// walking events by time").
pub(crate) const SEARCH_IDS_SQL: &str = ids_with_query!(
    "events e JOIN sessions s ON s.id = e.session \
     WHERE ($2::TEXT IS NULL OR s.project_key = $2) AND",
    "e.at_us DESC, e.id DESC",
    "$3"
);

/// The same over the links of one session's fork chain: every event of its
/// history, replaced or not.
const SESSION_SEARCH_IDS_SQL: &str = ids_with_query!(
    "events e \
     JOIN unnest($2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS link(key, after, upto) \
       ON e.session = link.key AND e.seq > link.after AND e.seq <= link.upto WHERE",
    "e.id DESC",
    "$5"
);

/// Whether each candidate's text holds the exact query (only asked of those
/// whose `ask` is set: the others are known to, by the index's match or the
/// client's check), and the snippet of those that do; in the candidates' order.
/// `OFFSET 0` keeps `held` computed once (pulled up, the subquery's expression
/// would be evaluated for each use).
const CHECK_SQL: &str = "SELECT held, CASE WHEN held \
         THEN ts_headline('cairn_search', c.text, $1::TEXT::TSQUERY, $2) END \
     FROM (SELECT text, n, NOT ask \
               OR to_tsvector('cairn_search', words) @@ $1::TEXT::TSQUERY AS held \
           FROM unnest($3::TEXT[], $4::TEXT[], $5::BOOLEAN[]) \
             WITH ORDINALITY AS c(text, words, ask, n) \
           OFFSET 0) c \
     ORDER BY n";

/// Candidates read and checked per round trip when every hit is wanted.
const BATCH: usize = 100;

/// A person's query, as [`QUERY_SQL`] gives it.
struct TsQuery {
    exact: String,
    loose: String,
    /// The phrases of `exact` as far as they are read here, for [`phrase_verdict`].
    phrases: Option<Vec<Vec<String>>>,
}

impl TsQuery {
    fn phrased(&self) -> bool {
        self.exact != self.loose
    }
}

/// The ids of [`ids_with_query!`]'s rows, and the query they give (`None`: no row).
fn ids_and_query(rows: &[Row]) -> R<(Vec<i64>, Option<TsQuery>)> {
    let ids = rows
        .iter()
        .map(|row| get(row, 0))
        .collect::<R<Vec<i64>>>()?;
    let query = match rows.first() {
        Some(row) => {
            let exact: String = get(row, 1)?;
            Some(TsQuery {
                phrases: phrases_of(&exact),
                exact,
                loose: get(row, 2)?,
            })
        }
        None => None,
    };
    Ok((ids, query))
}

/// Checkpoints are created by cairn (`created_us`), so their time sorts as it is.
const CHECKPOINT_SEARCH_SQL: &str = "SELECT hit.session_id, hit.project, hit.project_key, \
         hit.round_id, hit.created_us, \
         ts_headline('cairn_search', hit.search_text, q.query, $3), hit.search_text \
     FROM (SELECT websearch_to_tsquery('cairn_search', $1) AS query) q \
     CROSS JOIN LATERAL ( \
         SELECT c.* FROM checkpoints c \
         WHERE c.search @@ q.query AND ($2::TEXT IS NULL OR c.project_key = $2) \
         ORDER BY c.created_us DESC, c.id DESC LIMIT $4) hit \
     ORDER BY hit.created_us DESC, hit.id DESC";

pub(crate) async fn search_checkpoints(
    client: &impl GenericClient,
    query: &str,
    scope: &SearchScope,
) -> R<Vec<CheckpointHit>> {
    let Some(query) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let project = scope.project.as_ref().map(Project::key);
    let rows = client
        .query_typed(
            CHECKPOINT_SEARCH_SQL,
            &[
                (&query, Type::TEXT),
                (&project, Type::TEXT),
                (&HEADLINE_OPTIONS, Type::TEXT),
                (&limit(scope.limit), Type::INT8),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let headline: String = get(row, 5)?;
            let text: String = get(row, 6)?;
            Ok(CheckpointHit {
                session_id: get(row, 0)?,
                project: Project::from_parts(get::<String>(row, 1)?, get::<String>(row, 2)?),
                round_id: get(row, 3)?,
                created_at: from_micros(get::<i64>(row, 4)?)?,
                snippet: mark_cuts(&headline, &text),
            })
        })
        .collect()
}

/// The same search over the links of one session's fork chain.
pub(crate) async fn search_session(
    tx: &Transaction<'_>,
    session: Ulid,
    query: &str,
    limit_to: u32,
) -> R<Vec<SearchHit>> {
    let stored = sessions::by_id(tx, session).await?;
    let Some(literal) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let chain = crate::lineage::chain(tx, &stored).await?;
    let keys: Vec<i64> = chain.links().iter().map(|l| l.key).collect();
    let afters: Vec<i64> = chain
        .links()
        .iter()
        .map(|l| i64::try_from(l.after).unwrap_or(i64::MAX))
        .collect();
    let uptos: Vec<i64> = chain
        .links()
        .iter()
        .map(|l| i64::try_from(l.upto).unwrap_or(i64::MAX))
        .collect();
    let rows = tx
        .query_typed(
            SESSION_SEARCH_IDS_SQL,
            &[
                (&literal, Type::TEXT),
                (&keys, Type::INT8_ARRAY),
                (&afters, Type::INT8_ARRAY),
                (&uptos, Type::INT8_ARRAY),
                (&limit(limit_to), Type::INT8),
            ],
        )
        .await?;
    let (ids, Some(query)) = ids_and_query(&rows)? else {
        return Ok(Vec::new());
    };
    kept_hits(&**tx, &query, &ids, limit_to).await
}

/// Every statement stands alone (its own snapshot, no transaction): the
/// candidates' rows are read by id, and one deleted meanwhile is left out.
pub(crate) async fn search(
    client: &impl GenericClient,
    query: &str,
    scope: &SearchScope,
) -> R<Vec<SearchHit>> {
    let Some(literal) = literal_query(query) else {
        return Ok(Vec::new());
    };
    let project = scope.project.as_ref().map(Project::key);
    let rows = client
        .query_typed(
            SEARCH_IDS_SQL,
            &[
                (&literal, Type::TEXT),
                (&project, Type::TEXT),
                (&limit(scope.limit), Type::INT8),
            ],
        )
        .await?;
    let (ids, Some(query)) = ids_and_query(&rows)? else {
        return Ok(Vec::new());
    };
    kept_hits(client, &query, &ids, scope.limit).await
}

/// The hits among `ids` (in order) whose text holds `query`, at most `limit_to`
/// (0: all), each with its snippet; read and checked a batch at a time.
async fn kept_hits(
    client: &impl GenericClient,
    query: &TsQuery,
    ids: &[i64],
    limit_to: u32,
) -> R<Vec<SearchHit>> {
    let wanted = if limit_to == 0 {
        usize::MAX
    } else {
        limit_to as usize
    };
    let mut hits = Vec::new();
    let mut rest = ids;
    while !rest.is_empty() && hits.len() < wanted {
        let (batch, after) = rest.split_at((wanted - hits.len()).min(BATCH).min(rest.len()));
        rest = after;
        let candidates: Vec<Candidate> = candidates(client, batch)
            .await?
            .into_iter()
            .filter_map(|(hit, text)| {
                let ask_server = match (&query.phrases, query.phrased()) {
                    (_, false) => false,
                    (None, true) => true,
                    (Some(phrases), true) => match phrase_verdict(&text, phrases) {
                        PhraseVerdict::Held => false,
                        PhraseVerdict::NotHeld => return None,
                        PhraseVerdict::AskServer => true,
                    },
                };
                Some(Candidate {
                    hit,
                    text,
                    ask_server,
                })
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let headlines = check(client, query, &candidates).await?;
        for (Candidate { mut hit, text, .. }, headline) in candidates.into_iter().zip(headlines) {
            if let Some(headline) = headline {
                hit.snippet = mark_cuts(&headline, &text);
                hits.push(hit);
            }
        }
    }
    Ok(hits)
}

/// Where each event of `ids` is, with its searchable text (empty when its body
/// cannot be read, so a damaged row never breaks a search); in the order of `ids`,
/// without those deleted meanwhile.
async fn candidates(client: &impl GenericClient, ids: &[i64]) -> R<Vec<(SearchHit, String)>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS}, s.ulid, e.id, s.name, s.project, s.project_key, e.role \
         FROM events e {PAYLOAD_JOIN} JOIN sessions s ON s.id = e.session \
         WHERE e.id = ANY($1)"
    );
    let rows = client
        .query_typed(&sql, &[(&ids, Type::INT8_ARRAY)])
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut found = None;
        for row in &rows {
            if get::<i64>(row, 7)? == *id {
                found = Some(row);
                break;
            }
        }
        let Some(row) = found else {
            continue;
        };
        let text = decode(row)
            .map(|event| event_text(&event.payload))
            .unwrap_or_default();
        let name: String = get(row, 8)?;
        let role: Option<String> = get(row, 11)?;
        let hit = SearchHit {
            session: SessionName::parse(&name)
                .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
            project: Project::from_parts(get::<String>(row, 9)?, get::<String>(row, 10)?),
            seq: get_u64(row, 0)?,
            ts: parse_ts(&get::<String>(row, 1)?)?,
            role: role.as_deref().and_then(Role::parse),
            snippet: String::new(),
        };
        out.push((hit, text));
    }
    Ok(out)
}

/// A candidate that may hold the query, and whether only the server can tell.
struct Candidate {
    hit: SearchHit,
    text: String,
    ask_server: bool,
}

/// [`CHECK_SQL`] over `candidates`: the `ts_headline` of each that holds the
/// query's phrases, `None` for the others.
async fn check(
    client: &impl GenericClient,
    query: &TsQuery,
    candidates: &[Candidate],
) -> R<Vec<Option<String>>> {
    let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
    let words: Vec<String> = candidates
        .iter()
        .map(|c| {
            if c.ask_server {
                index_words(&c.text)
            } else {
                String::new()
            }
        })
        .collect();
    let asks: Vec<bool> = candidates.iter().map(|c| c.ask_server).collect();
    let rows = client
        .query_typed(
            CHECK_SQL,
            &[
                (&query.exact, Type::TEXT),
                (&HEADLINE_OPTIONS, Type::TEXT),
                (&texts, Type::TEXT_ARRAY),
                (&words, Type::TEXT_ARRAY),
                (&asks, Type::BOOL_ARRAY),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let held: Option<bool> = get(row, 0)?;
            let headline: Option<String> = get(row, 1)?;
            Ok(headline.filter(|_| held == Some(true)))
        })
        .collect()
}

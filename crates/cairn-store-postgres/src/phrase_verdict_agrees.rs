//! The client's phrase check (`search_text::phrase_verdict`) held to the rule it
//! replaces: a hit's words are next to each other in its text (`may_hold`) and the
//! server's `to_tsvector('cairn_search', words) @@ query` is true. On hostile
//! texts (punctuation, digits, numbers the parser reads specially, non-ASCII
//! words, stop words of other configurations, words too long to index, texts past
//! the vector's position limits) whatever the client decides must be that.

use cairn_testkit::postgres::fresh_database;
use tokio_postgres::{Client, NoTls};

use crate::PostgresStore;
use crate::search::QUERY_SQL;
use crate::search_text::{
    PhraseVerdict, TOO_LONG, index_words, literal_query, may_hold, one_token, phrase_verdict,
    phrases_of,
};

/// A migrated database (`cairn_search`, `unaccent`) and a plain client to it.
async fn server() -> Client {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    store.schema_version().await.unwrap();
    let (client, connection) = tokio_postgres::connect(&database.url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The server's tsquery text of what a person typed, and its phrases.
async fn query(client: &Client, typed: &str) -> (String, Vec<Vec<String>>) {
    let literal = literal_query(typed).unwrap();
    let row = client.query_one(QUERY_SQL, &[&literal]).await.unwrap();
    let exact: String = row.get(0);
    let phrases = phrases_of(&exact).unwrap_or_else(|| panic!("{typed:?}: {exact}"));
    assert!(!phrases.is_empty(), "{typed:?} has no phrase: {exact}");
    (exact, phrases)
}

/// The server's answer for each text: whether its words hold `exact`.
async fn server_holds(client: &Client, exact: &str, texts: &[String]) -> Vec<bool> {
    let words: Vec<String> = texts.iter().map(|text| index_words(text)).collect();
    let rows = client
        .query(
            "SELECT to_tsvector('cairn_search', w) @@ $1::TEXT::TSQUERY \
             FROM unnest($2::TEXT[]) WITH ORDINALITY AS t(w, n) ORDER BY n",
            &[&exact, &words],
        )
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from[(self.0 % from.len() as u64) as usize]
    }
}

const QUERIES: &[&str] = &[
    "std::sync",
    "std::sync::Arc",
    "refresh-token",
    "sync.sync",
    "the-and-a",
    "1e5-x",
    "0x1f/42",
    "abc123_e",
    "tökén-refresh",
    "日本-std",
];

/// Words that make the query's phrases, ASCII words the parser might read as
/// something else, and non-ASCII letters and numbers of several kinds.
const ASCII_WORDS: &[&str] = &[
    "std", "sync", "Sync", "SYNC", "arc", "Arc", "refresh", "token", "the", "and", "a", "1", "42",
    "1e5", "1E5", "0x1f", "0X1F", "abc123", "123abc", "e", "x", "E5", "5e", "v2", "ok", "1e5std",
    "2E3sync",
];
const OTHER_WORDS: &[&str] = &[
    "tökén",
    "tÖkÉn",
    "straße",
    "ﬁle",
    "²",
    "x²",
    "Ⅻ",
    "日本",
    "Kelvin",
    "İstanbul",
    "ǅ",
    "café",
    "naïve",
    "١٢٣",
];
const SEPARATORS: &[&str] = &[
    " ", " ", " ", "::", "-", ".", "/", "_", "\n", "—", "→", "'", "\"", "<->", "&", "|", "!", "\0",
    "…", ", ",
];

fn random_text(dice: &mut Dice, words: usize, vocabulary: &[&str]) -> String {
    let mut text = String::new();
    for _ in 0..words {
        text.push_str(dice.pick(vocabulary));
        text.push_str(dice.pick(SEPARATORS));
    }
    text
}

/// Texts where only the vector's limits decide: a lexeme's first 255 positions,
/// positions stopping at 16,383, words of 2,048 bytes or more taking none.
fn limit_texts() -> Vec<String> {
    let filler = |n: usize| "w ".repeat(n);
    let long = "l".repeat(2047);
    let almost_long = "l".repeat(2046);
    vec![
        // The phrase at positions 16,382–16,383: held.
        format!("{}std sync", filler(16_381)),
        // At 16,383–16,384: both recorded at 16,383, not next to each other.
        // The server finds `std` at 16,382 next to this `sync`: not a hit.
        format!("{}std w sync", filler(16_381)),
        format!("{}std sync", filler(16_382)),
        // Far past the limit: every word at 16,383.
        format!("{}std sync", filler(20_000)),
        // `std` at 16,382, `sync` only much later (clamped to 16,383): the server
        // holds it, the text does not.
        format!("{}std {}sync", filler(16_381), filler(5_000)),
        // `std` kept 255 times; its 256th place is not.
        format!("{}std sync", "std x ".repeat(255)),
        format!("{}std sync", "std x ".repeat(254)),
        format!("{}std sync", "sync x ".repeat(300)),
        // A word too long to index (2,047 bytes) takes no position; one byte
        // shorter does.
        format!("std {long} sync"),
        format!("std {almost_long} sync"),
        format!("std {long}-sync"),
        // A word the parser splits in two, just before the position limit.
        format!("{}1e5x std sync", filler(16_380)),
        // The same past the position limit.
        format!("{}std {long} sync", filler(16_380)),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_ascii_word_is_one_token_lower_cased() {
    let client = server().await;
    // Every word of up to 5 characters over letters and digits the parser reads
    // specially (numbers, exponents, hexadecimal), every letter and digit.
    let mut words: Vec<String> = ('0'..='9')
        .chain('a'..='z')
        .chain('A'..='Z')
        .map(String::from)
        .collect();
    let mut longer = vec![String::new()];
    for _ in 0..5 {
        longer = longer
            .iter()
            .flat_map(|w| "09eExa".chars().map(move |c| format!("{w}{c}")))
            .collect();
        words.extend(longer.iter().cloned());
    }
    words.extend(
        [
            "1e5",
            "0x1F",
            "1st",
            "2nd",
            "v1",
            "12345678901234567890",
            "007",
            "1E10x9",
        ]
        .map(String::from),
    );
    words.push("z".repeat(TOO_LONG - 1));
    let rows = client
        .query(
            "SELECT w FROM unnest($1::TEXT[]) AS t(w) \
             WHERE to_tsvector('cairn_search', w)::TEXT <> '''' || lower(w) || ''':1'",
            &[&words],
        )
        .await
        .unwrap();
    let split: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    let expected: Vec<String> = words.iter().filter(|w| !one_token(w)).cloned().collect();
    assert!(split.len() > 100, "{split:?}");
    assert_eq!(split, expected);
    let words: Vec<String> = words.into_iter().filter(|w| one_token(w)).collect();
    // Words joined by one space, as the server is sent them, stay apart.
    let joined = words.join(" ");
    let expected = i64::try_from(words.len()).unwrap();
    let row = client
        .query_one(
            "SELECT count(*) FROM ts_debug('cairn_search', $1) WHERE alias <> 'blank'",
            &[&joined],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), expected);
    // A word of `TOO_LONG` bytes is left out of the vector.
    let row = client
        .query_one(
            "SELECT to_tsvector('cairn_search', repeat('z', $1)) = ''::TSVECTOR",
            &[&i32::try_from(TOO_LONG).unwrap()],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_phrase_check_never_disagrees_with_the_servers() {
    let client = server().await;
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mixed: Vec<&str> = ASCII_WORDS.iter().chain(OTHER_WORDS).copied().collect();
    let mut texts = limit_texts();
    for round in 0..1_500 {
        let words = 2 + round % 40;
        let vocabulary: &[&str] = if round % 3 == 0 { &mixed } else { ASCII_WORDS };
        texts.push(random_text(&mut dice, words, vocabulary));
    }
    let mut decided = [0usize; 2];
    for typed in QUERIES {
        let (exact, phrases) = query(&client, typed).await;
        let server = server_holds(&client, &exact, &texts).await;
        for (text, server_held) in texts.iter().zip(server) {
            let held = server_held && may_hold(text, &phrases);
            let verdict = phrase_verdict(text, &phrases);
            // The end of the text, where the limit texts differ, and its length.
            let tail: Vec<char> = text.chars().rev().take(120).collect();
            let shown = format!(
                "{} bytes, ending {:?}",
                text.len(),
                tail.iter().rev().collect::<String>()
            );
            match verdict {
                PhraseVerdict::Held => {
                    assert!(
                        held,
                        "{typed:?}: client held, may_hold and the server not: {shown}"
                    );
                    decided[0] += 1;
                }
                PhraseVerdict::NotHeld => {
                    assert!(
                        !held,
                        "{typed:?}: may_hold and the server held, client not: {shown}"
                    );
                    decided[1] += 1;
                }
                PhraseVerdict::AskServer => {
                    let words = index_words(text);
                    let numbered = words.split(' ').all(|w| w.is_ascii() && one_token(w));
                    assert!(!numbered, "{typed:?}: text left undecided: {shown}");
                }
            }
        }
    }
    // The check decides both ways, often: it is not asking the server for everything.
    assert!(decided[0] > 50 && decided[1] > 5_000, "{decided:?}");
}

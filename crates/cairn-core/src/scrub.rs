//! Removing credentials from text that leaves the process or enters the store
//! (invariant 7): error messages, stored error events, exports. One scrubber, so
//! every path hides the same things:
//!
//! - the password of a URL (`http://user:pass@host` → `http://user:****@host`, a lone
//!   user-info token too: `http://tok@host` → `http://****@host`);
//! - query parameters that carry credentials (`?api-key=…`, `?key=…`, `&token=…`);
//! - a known secret, whole or echoed back cut short (`sk-abc1****wxyz`, `sk-abc123`).

use std::borrow::Cow;

use crate::settings::mask;

/// Query parameter names whose values are credentials (compared lower-case, with
/// `-` read as `_`).
const SECRET_PARAMS: [&str; 12] = [
    "key",
    "api_key",
    "apikey",
    "token",
    "access_token",
    "auth",
    "password",
    "pass",
    "secret",
    "client_secret",
    "sig",
    "signature",
];

/// Shortest piece of a secret that counts as an echo of it.
const MIN_ECHO: usize = 4;

/// `text` with URL credentials and every one of `secrets` (whole or echoed in part)
/// masked.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = scrub_urls(text).into_owned();
    for secret in secrets {
        out = scrub_secret(&out, secret);
    }
    out
}

/// The API keys of every configured provider, to pass to [`scrub`].
pub fn configured_keys(providers: &crate::settings::Providers) -> Vec<&str> {
    [
        &providers.openai,
        &providers.anthropic,
        &providers.ollama,
        &providers.openrouter,
    ]
    .into_iter()
    .filter_map(|p| p.api_key.as_deref())
    .collect()
}

/// URL passwords and credential query parameters masked; other text unchanged.
pub fn scrub_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme is the run of letters before `://`.
        let scheme_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        out.push_str(&rest[..scheme_start]);
        let url_end = rest[at + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')'))
            .map_or(rest.len(), |i| at + 3 + i);
        out.push_str(&scrub_url(&rest[scheme_start..url_end], at - scheme_start));
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// One URL; `sep` is the offset of its `://`.
fn scrub_url(url: &str, sep: usize) -> String {
    let after = &url[sep + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..sep + 3]);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":****@");
                }
                None => out.push_str("****@"),
            }
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    let tail = &after[authority_end..];
    let Some(q) = tail.find('?') else {
        out.push_str(tail);
        return out;
    };
    out.push_str(&tail[..=q]);
    let query_and_fragment = &tail[q + 1..];
    let (query, fragment) = match query_and_fragment.find('#') {
        Some(h) => query_and_fragment.split_at(h),
        None => (query_and_fragment, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_param(name) => {
                format!("{name}=****")
            }
            _ => pair.to_owned(),
        })
        .collect();
    out.push_str(&params.join("&"));
    out.push_str(fragment);
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    SECRET_PARAMS.contains(&name.as_str()) || name.ends_with("_key") || name.ends_with("_token")
}

/// `secret` masked in `text`: whole, a prefix of it (a provider cutting it short),
/// or an echo with stars in the middle whose visible ends are the secret's.
pub fn scrub_secret(text: &str, secret: &str) -> String {
    if secret.len() < 6 {
        return text.to_owned();
    }
    let masked = mask(secret);
    let text = text.replace(secret, &masked);
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if echoes(word, secret) {
            out.push_str(&masked);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_word(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Whether `word` shows part of `secret`.
fn echoes(word: &str, secret: &str) -> bool {
    let word = word.trim_end_matches('.');
    if word.len() < MIN_ECHO || word == mask(secret) {
        return false;
    }
    match (word.find('*'), word.rfind('*')) {
        (Some(first), Some(last)) => {
            let head = &word[..first];
            let tail = &word[last + 1..];
            (head.len() >= MIN_ECHO && secret.starts_with(head))
                || (!head.is_empty() && tail.len() >= MIN_ECHO && secret.ends_with(tail))
        }
        _ => word.len() >= 8 && secret.starts_with(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_secret_params_are_masked() {
        let text = "error sending request for url (http://bob:hunter2@proxy.example:8080/v1/chat?api-key=abc123&model=x&Token=zz#frag): refused";
        let out = scrub_urls(text);
        assert!(
            !out.contains("hunter2") && !out.contains("abc123") && !out.contains("zz#"),
            "{out}"
        );
        assert!(
            out.contains(
                "http://bob:****@proxy.example:8080/v1/chat?api-key=****&model=x&Token=****#frag"
            ),
            "{out}"
        );
        assert!(out.ends_with(": refused"), "{out}");
        let out =
            scrub_urls("see https://ghp_secrettoken@github.com/x and https://h/?key=K1&sig=S1");
        assert!(out.contains("https://****@github.com/x"), "{out}");
        assert!(out.contains("https://h/?key=****&sig=****"), "{out}");
        assert_eq!(scrub_urls("no urls here"), "no urls here");
        assert_eq!(
            scrub_urls("https://api.openai.com/v1?model=gpt"),
            "https://api.openai.com/v1?model=gpt"
        );
    }

    #[test]
    fn a_secret_echoed_cut_short_is_masked() {
        let key = "sk-abc123def456ghi789wxyz";
        for echo in [
            "Incorrect API key provided: sk-abc1****wxyz. You can find your API key at …",
            "Incorrect API key provided: sk-abc123def456.",
            "key sk-abc123def456ghi789wxyz is wrong",
            "key ****************wxyz … sk-ab*****************xyz",
        ] {
            let out = scrub(echo, &[key]);
            assert!(!out.contains("sk-abc1") && !out.contains("sk-ab*"), "{out}");
            assert!(out.contains("****wxyz"), "{out}");
        }
        // Words that only share a short piece stay.
        let out = scrub("sk-other****1234 and skip", &[key]);
        assert_eq!(out, "sk-other****1234 and skip");
    }
}

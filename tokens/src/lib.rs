//! The search tokenizer, std only: a dependency of `docspace-mcp-codegen`
//! (which builds the index at compile time) and of the server (which
//! tokenizes queries), so both sides always split text the same way.

/// Words that carry no meaning for search.
pub const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "for",
    "from",
    "in",
    "into",
    "is",
    "it",
    "its",
    "of",
    "on",
    "or",
    "the",
    "this",
    "that",
    "to",
    "with",
    "specified",
    "request",
    "returns",
    "return",
];

/// Lower-case search terms of `text`: words split at non-alphanumerics and at
/// camelCase humps, stopwords dropped, simple plurals folded.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            let w = fold(&word.to_lowercase());
            if !STOPWORDS.contains(&w.as_str()) {
                out.push(w);
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower {
                flush(&mut word, &mut out);
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.push(c);
        } else {
            prev_lower = false;
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `rooms` → `room`, `entries` → `entry`; leaves `access`, `status`, `is` alone.
fn fold(w: &str) -> String {
    if w.len() > 4 && w.ends_with("ies") {
        return format!("{}y", w.get(..w.len() - 3).unwrap_or(w));
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        return w.get(..w.len() - 1).unwrap_or(w).to_owned();
    }
    w.to_owned()
}

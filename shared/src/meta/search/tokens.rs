//! Words of tool names and descriptions as the index counts them: split at anything that is not a letter
//! or digit and at camelCase humps (`getUserInfo`, `HTTPServer`), lowercased, common English words left
//! out, and plural endings folded (`files` → `file`, `entries` → `entry`) so that a query and a
//! description need not agree on number.

/// Words too common in tool descriptions to tell tools apart.
const STOPWORDS: [&str; 24] = [
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its", "of", "on", "or", "that",
    "the", "this", "to", "was", "will", "with",
];

/// Calls `emit` with every word of `text`, normalised.
pub fn each(text: &str, mut emit: impl FnMut(String)) {
    let mut word = String::new();
    let mut previous: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut word, &mut emit);
            previous = None;
            continue;
        }
        if let Some(p) = previous {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // `userInfo` → user|Info; `HTTPServer` → HTTP|Server; digits stay with their word.
            let hump = c.is_uppercase() && (p.is_lowercase() || (p.is_uppercase() && next_lower));
            if hump {
                flush(&mut word, &mut emit);
            }
        }
        word.extend(c.to_lowercase());
        previous = Some(c);
    }
    flush(&mut word, &mut emit);
}

/// The words of `text`, normalised, in order (repeats kept).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    each(text, |w| out.push(w));
    out
}

fn flush(word: &mut String, emit: &mut impl FnMut(String)) {
    if word.is_empty() {
        return;
    }
    let taken = std::mem::take(word);
    if !STOPWORDS.contains(&taken.as_str()) {
        emit(stem(taken));
    }
}

/// Folds English plural endings; short words and `-ss`/`-us`/`-is` words are left alone.
fn stem(mut word: String) -> String {
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        word.truncate(n - 3);
        word.push('y');
    } else if (n > 4 && ["sses", "shes", "ches", "xes", "zes"].iter().any(|s| word.ends_with(s)))
        || (n > 5 && word.ends_with("oes"))
    {
        word.truncate(n - 2);
    } else if n > 3 && word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        word.truncate(n - 1);
    }
    word
}

/// `text` for comparing whole names: lowercase, with spaces, dashes, dots and slashes as `_`.
pub fn name_key(text: &str) -> String {
    text.trim().chars().map(|c| if matches!(c, ' ' | '-' | '.' | '/') { '_' } else { c.to_ascii_lowercase() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_separators_and_humps() {
        assert_eq!(words("gh.search-issues_v2"), ["gh", "search", "issue", "v2"]);
        assert_eq!(words("getUserInfo"), ["get", "user", "info"]);
        assert_eq!(words("HTTPServer parseJSONBody"), ["http", "server", "parse", "json", "body"]);
    }

    #[test]
    fn plurals_fold_and_stopwords_go() {
        assert_eq!(words("Lists the entries of files and boxes"), ["list", "entry", "file", "box"]);
        assert_eq!(words("Echoes shoes"), ["echo", "shoe"]);
        assert_eq!(words("class status analysis bus"), ["class", "status", "analysis", "bus"]);
        assert!(words("the of and").is_empty());
    }

    #[test]
    fn name_keys_ignore_case_and_separator_style() {
        assert_eq!(name_key(" Get-Sum "), "get_sum");
        assert_eq!(name_key("get sum"), name_key("get_sum"));
    }
}

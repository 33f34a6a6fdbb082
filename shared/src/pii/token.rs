//! Token text: `[EMAIL_1]` — the kind name, `_`, and a per-kind number starting at 1 (canonical decimal,
//! at most nine digits). Only canonical tokens are ever resolved, and the scanner treats every
//! `[KIND_<digits>]` as a lookalike, a superset, which is what keeps tokenize→detokenize the identity.

use std::ops::Range;

use super::PiiKind;

/// Longest token text: `[` + the longest kind name + `_` + nine digits + `]`.
const MAX_TOKEN_LEN: usize = 1 + 14 + 1 + 9 + 1;

pub(crate) fn format(kind: PiiKind, n: u32) -> String {
    format!("[{}_{n}]", kind.name())
}

/// What replaces a value that cannot get a token (the vault is full): irreversible, never resolved.
pub(crate) fn redacted(kind: PiiKind) -> String {
    format!("[{}_REDACTED]", kind.name())
}

/// The kind of a `[KIND_<digits>]` text, whatever the digits.
pub(crate) fn parse_kind(text: &str) -> Option<PiiKind> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let (name, digits) = inner.rsplit_once('_')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    PiiKind::from_name(name).filter(|k| k.name() == name)
}

/// A canonical token's kind and number.
pub(crate) fn parse(text: &str) -> Option<(PiiKind, u32)> {
    let kind = parse_kind(text)?;
    let digits = &text[kind.name().len() + 2..text.len() - 1];
    let canonical = digits.len() <= 9 && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten().map(|n| (kind, n))
}

/// Every canonical token in `text`, in order.
pub(crate) fn find(text: &str) -> impl Iterator<Item = (Range<usize>, PiiKind, u32)> + '_ {
    text.match_indices('[').filter_map(move |(start, _)| {
        // Bytes, not `str`: the window may end inside a multi-byte character. `]` is ASCII, so `end` is
        // a character boundary all the same.
        let window = &text.as_bytes()[start..text.len().min(start + MAX_TOKEN_LEN)];
        let end = start + window.iter().position(|&b| b == b']')? + 1;
        parse(&text[start..end]).map(|(kind, n)| (start..end, kind, n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_format_and_parse_canonically() {
        assert_eq!(format(PiiKind::CreditCard, 12), "[CREDIT_CARD_12]");
        assert_eq!(parse("[CREDIT_CARD_12]"), Some((PiiKind::CreditCard, 12)));
        assert_eq!(parse("[IP_ADDRESS_1]"), Some((PiiKind::IpAddress, 1)));
        for text in ["[EMAIL_0]", "[EMAIL_01]", "[EMAIL_1234567890]", "[email_1]", "[FOO_1]", "[EMAIL_]", "EMAIL_1"] {
            assert_eq!(parse(text), None, "{text}");
        }
        assert_eq!(parse_kind("[EMAIL_01]"), Some(PiiKind::Email));
        assert_eq!(parse("[EMAIL_REDACTED]"), None);
    }

    #[test]
    fn tokens_are_found_inside_text_next_to_brackets_and_non_ascii() {
        let text = "to [[EMAIL_1]] and é[PHONE_22] not [EMAIL_x] [SSN_3 [😀😀😀😀😀😀😀😀";
        let found: Vec<_> = find(text).map(|(r, k, n)| (&text[r], k, n)).collect();
        assert_eq!(found, vec![("[EMAIL_1]", PiiKind::Email, 1), ("[PHONE_22]", PiiKind::Phone, 22)]);
        assert!(find("no tokens [here]").next().is_none());
    }
}

//! Validation of candidates: checksums (Luhn, IBAN mod-97), number ranges (SSN, IPv4), structure (IPv6,
//! JWT header) and the surrounding characters. Each returns the span to replace, possibly narrowed (a label
//! or `Bearer ` stays readable), or `None` to reject the candidate.

use std::ops::Range;

use base64::Engine;

use super::patterns::Check;

pub(super) fn check(check: Check, hay: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[span.clone()];
    let keep = |ok: bool| ok.then(|| span.clone());
    match check {
        Check::Lookalike | Check::PrivateKey | Check::AwsAccessKey | Check::Address => Some(span),
        Check::PrefixedToken => keep(!text.ends_with(['-', '_'])),
        Check::Jwt => keep(jwt(text)),
        Check::Bearer => bearer(hay, span),
        Check::Email => keep(email(text)),
        Check::Iban => iban(hay, span),
        Check::Card => keep(card(text) && isolated_number(hay, &span)),
        Check::Ssn => keep(ssn(text.as_bytes()) && isolated_number(hay, &span)),
        Check::SsnLabelled => {
            let digits = span.end - 9..span.end;
            ssn(hay[digits.clone()].as_bytes()).then_some(digits)
        }
        Check::PhoneInternational => keep(phone_international(hay, &span)),
        Check::PhoneNanp => keep(phone_nanp(hay, &span)),
        Check::PhoneTrunk => keep(phone_trunk(hay, &span)),
        Check::Ipv4 => keep(ipv4(hay, &span)),
        Check::Ipv6 => ipv6(hay, span),
        Check::Name => name(hay, span),
    }
}

fn before(hay: &str, span: &Range<usize>) -> Option<u8> {
    span.start.checked_sub(1).map(|i| hay.as_bytes()[i])
}

fn after(hay: &str, span: &Range<usize>) -> Option<u8> {
    hay.as_bytes().get(span.end).copied()
}

fn digit_at(hay: &str, i: Option<usize>) -> bool {
    i.and_then(|i| hay.as_bytes().get(i)).is_some_and(u8::is_ascii_digit)
}

/// Not part of a longer dotted or dashed number (`12-123-45-6789`, `123-45-6789-0`, `1.2.3.4.5`).
fn isolated_number(hay: &str, span: &Range<usize>) -> bool {
    let glued_before =
        matches!(before(hay, span), Some(b'-' | b'.' | b'/')) && digit_at(hay, span.start.checked_sub(2));
    let glued_after = matches!(after(hay, span), Some(b'-' | b'.' | b'/')) && digit_at(hay, Some(span.end + 1));
    !glued_before && !glued_after
}

fn digits(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

pub(super) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Luhn plus an issuer prefix that exists with that length: most random 13–19 digit ids (order numbers,
/// millisecond timestamps starting with 1) fail the prefix even when one in ten passes Luhn.
fn card(text: &str) -> bool {
    let d = digits(text);
    let len = d.len();
    if !(13..=19).contains(&len) || !luhn(&d) {
        return false;
    }
    let prefix = |n: usize| d[..n].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    let brand_ok = match d[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && len == 16 || (matches!(prefix(2), 50 | 56..=59) && len >= 12),
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        3 => {
            (matches!(prefix(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&prefix(4)) && len >= 16)
                || ((300..=305).contains(&prefix(3)) || matches!(prefix(2), 36 | 38 | 39)) && len >= 14
        }
        6 => len >= 16,
        _ => false,
    };
    brand_ok && consistent_separators(text)
}

/// All separators in a grouped number are the same character.
fn consistent_separators(text: &str) -> bool {
    let mut seps = text.bytes().filter(|b| !b.is_ascii_digit());
    match seps.next() {
        None => true,
        Some(first) => seps.all(|b| b == first),
    }
}

/// SSA rules: area 001–899 except 666, group 01–99, serial 0001–9999; two numbers famous from
/// advertisements are refused too.
pub(super) fn ssn(text: &[u8]) -> bool {
    let d: Vec<u32> = text.iter().filter(|b| b.is_ascii_digit()).map(|b| u32::from(b - b'0')).collect();
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    let famous = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    (1..=899).contains(&area) && area != 666 && group != 0 && serial != 0 && !famous
}

fn ipv4(hay: &str, span: &Range<usize>) -> bool {
    let text = &hay[span.clone()];
    let octets_ok =
        text.split('.').all(|o| o.parse::<u16>().is_ok_and(|n| n <= 255) && (o == "0" || !o.starts_with('0')));
    octets_ok && isolated_number(hay, span) && !after_version_word(hay, span.start)
}

/// `v1.2.3.4`, `version 4.0.0.0`, `Version=4.0.0.0`: a version, not an address. The label must be a word
/// of its own: `dev 10.0.0.1` and `env=10.0.0.1` are addresses.
fn after_version_word(hay: &str, start: usize) -> bool {
    let head = hay[..start].trim_end_matches([' ', '=', ':']).as_bytes();
    ["version", "ver", "v"].iter().any(|label| {
        let Some(at) = head.len().checked_sub(label.len()) else { return false };
        head[at..].eq_ignore_ascii_case(label.as_bytes()) && (at == 0 || !head[at - 1].is_ascii_alphanumeric())
    })
}

/// Parsed by the standard library; at least three explicit groups (or an embedded IPv4), which leaves out
/// `::1`, `fe80::1` and code such as `a::b`, and not part of a longer run of groups: a hex digit next to it,
/// or a `:` / `.` that continues into one. A `:` or `.` that ends a sentence or a label does not
/// (`… from 2001:db8::1:2. Then`, `2001:db8::1:2: refused`).
fn ipv6(hay: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[span.clone()];
    let bytes = hay.as_bytes();
    let continues = |b: Option<u8>, next: Option<u8>| match b {
        Some(b) if b.is_ascii_hexdigit() => true,
        Some(b':' | b'.') => next.is_some_and(|n| n.is_ascii_hexdigit()),
        _ => false,
    };
    let glued_before = continues(before(hay, &span), span.start.checked_sub(2).map(|i| bytes[i]));
    let glued_after = continues(after(hay, &span), bytes.get(span.end + 1).copied());
    if glued_before || glued_after {
        return None;
    }
    let groups = text.split(':').filter(|g| !g.is_empty()).count();
    let ok = text.parse::<std::net::Ipv6Addr>().is_ok() && (groups >= 3 || text.contains('.'));
    ok.then_some(span)
}

/// The header segment decodes to a JSON object naming an algorithm.
fn jwt(text: &str) -> bool {
    let header = text.split('.').next().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .is_ok_and(|h| h.starts_with(b"{") && h.windows(5).any(|w| w == b"\"alg\""))
}

/// Only the credential after `Bearer` is replaced; prose (`Bearer authentication-is-required`) has no digit.
fn bearer(hay: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[span.clone()];
    let offset = text.find([' ', '\t'])?;
    let token_start = span.start + offset + text[offset..].find(|c: char| c != ' ' && c != '\t')?;
    // A full stop after the credential ends the sentence; it is not part of it.
    let end = token_start + hay[token_start..span.end].trim_end_matches('.').len();
    let token = &hay[token_start..end];
    let digit = token.bytes().any(|b| b.is_ascii_digit());
    (token.len() >= 16 && (digit || token.len() >= 32)).then_some(token_start..end)
}

/// Common asset names (`icon@2x.png`) look like addresses; a file extension is not a top-level domain.
const FILE_EXTENSIONS: &[&str] =
    &["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "mjs", "css", "ts", "json", "html", "txt", "pdf"];

fn email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let tld = domain.rsplit('.').next().unwrap_or_default();
    local.len() <= 64
        && domain.len() <= 253
        && !local.ends_with('.')
        && !local.contains("..")
        && !FILE_EXTENSIONS.iter().any(|ext| tld.eq_ignore_ascii_case(ext))
}

/// Country code and IBAN length, from the SWIFT IBAN registry.
const IBAN_LENGTHS: &str = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 \
    EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 \
    LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 \
    SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20";

fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS.split_ascii_whitespace().find(|e| e.starts_with(country)).and_then(|e| e[2..].parse().ok())
}

/// The country's exact length (the candidate is cut there, so a following 4-letter word is not swallowed)
/// and the ISO 13616 mod-97 check.
fn iban(hay: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[span.clone()];
    let len = iban_length(text.get(..2)?)?;
    let mut chars = Vec::with_capacity(len);
    let mut end = span.start;
    for (i, b) in text.bytes().enumerate() {
        if chars.len() == len {
            break;
        }
        if b != b' ' {
            chars.push(b);
            end = span.start + i + 1;
        }
    }
    if chars.len() != len || after(hay, &(span.start..end)).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let rearranged = chars[4..].iter().chain(&chars[..4]);
    let mut remainder = 0u32;
    for &b in rearranged {
        let value = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    (remainder == 1).then_some(span.start..end)
}

fn phone_international(hay: &str, span: &Range<usize>) -> bool {
    let n = digits(&hay[span.clone()]).len();
    let glued = before(hay, span).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'+');
    (8..=15).contains(&n) && !glued && isolated_number(hay, span)
}

fn phone_nanp(hay: &str, span: &Range<usize>) -> bool {
    let glued = before(hay, span).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'+');
    !glued && isolated_number(hay, span)
}

/// 10–11 digits with one kind of separator: `01 23 45 67 89`, `020 7946 0958`, `(030) 1234 5678`. Dates
/// (`01-02-2023`, 8 digits) and mixed runs (`01-01-2024 12`) are refused.
fn phone_trunk(hay: &str, span: &Range<usize>) -> bool {
    let text = &hay[span.clone()];
    let body = text.split_once(')').map_or(text, |(_, rest)| rest.trim_start());
    let glued = before(hay, span).is_some_and(|b| b.is_ascii_alphanumeric());
    (10..=11).contains(&digits(text).len()) && consistent_separators(body) && !glued && isolated_number(hay, span)
}

/// Keeps only the name: what follows the label's `:`/`=` (and an opening quote), or the honorific.
fn name(hay: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[span.clone()];
    let after_label = match text.find([':', '=']) {
        Some(i) => i + 1,
        None => text.find(' ')? + 1,
    };
    let skip = text[after_label..].find(|c: char| c.is_ascii_uppercase())?;
    Some(span.start + after_label + skip..span.end)
}

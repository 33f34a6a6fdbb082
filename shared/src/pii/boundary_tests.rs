//! Property: a valid value of every kind is detected, with its exact span, whatever punctuation, brackets,
//! quotes, line ends or words surround it — the class of `… from 2001:db8:85a3::8a2e:370:7334. Then`.
//! Values are generated (checksums computed), not picked from a list.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::{detect::Scanner, KindSet, PiiKind};

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(KindSet::all()).expect("patterns compile"))
}

/// What precedes a value: nothing, a separator, an opening bracket or quote, a label.
const LEADS: &[&str] = &[
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "(",
    "[",
    "{",
    "<",
    "\"",
    "'",
    "`",
    "=",
    ":",
    ": ",
    "= ",
    "(\"",
    "[\"",
    "{\"a\":\"",
    "\"\n",
    ", ",
    "; ",
    "|",
    "« ",
    "* ",
    "- ",
    "> ",
];

/// What follows a value: sentence punctuation, closing brackets and quotes, line ends, the end of the text.
const TRAILS: &[&str] = &[
    "", " ", "\t", "\n", "\r\n", ".", ",", ";", ":", "!", "?", ")", "]", "}", ">", "\"", "'", "`", ". Then", ".\nNext",
    "...", "), and", "\"}", "';", ").", "]:", "\".", ":\n", "!)", " »", ".)",
];

/// Words around the whole: none, ordinary ones, ones that end like a version label (`dev`, `env`).
const OUTER_LEADS: &[&str] = &["", "note ", "line one\n", "seen at ", "dev ", "env=", "Hello, "];
const OUTER_TRAILS: &[&str] = &["", " ok", "\nbye", " and more", " (1)"];

fn luhn_completed(payload: &str) -> String {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let d = d * 2;
                if d > 9 {
                    d - 9
                } else {
                    d
                }
            } else {
                d
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

fn group(digits: &str, sizes: &[usize], sep: &str) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    for size in sizes {
        parts.push(&digits[at..at + size]);
        at += size;
    }
    parts.join(sep)
}

fn card() -> impl Strategy<Value = (String, String)> {
    let visa = "4[0-9]{14}".prop_map(|p| (luhn_completed(&p), 16));
    let master = "5[1-5][0-9]{13}".prop_map(|p| (luhn_completed(&p), 16));
    let amex = "3[47][0-9]{12}".prop_map(|p| (luhn_completed(&p), 15));
    let discover = "6011[0-9]{11}".prop_map(|p| (luhn_completed(&p), 16));
    (prop_oneof![visa, master, amex, discover], 0..3usize).prop_map(|((digits, len), style)| {
        let sizes: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
        let text = match style {
            0 => digits,
            1 => group(&digits, sizes, " "),
            _ => group(&digits, sizes, "-"),
        };
        (text.clone(), text)
    })
}

fn iban() -> impl Strategy<Value = (String, String)> {
    let bban = prop_oneof![
        "[0-9]{18}".prop_map(|b| ("DE", b)),
        "[A-Z]{4}[0-9]{14}".prop_map(|b| ("GB", b)),
        "[A-Z]{4}[0-9]{10}".prop_map(|b| ("NL", b)),
        "[0-9]{20}".prop_map(|b| ("ES", b)),
        "[0-9]{12}".prop_map(|b| ("BE", b)),
    ];
    (bban, any::<bool>()).prop_map(|((country, bban), grouped)| {
        let numeric: String = format!("{bban}{country}00")
            .chars()
            .map(|c| if c.is_ascii_digit() { c.to_string() } else { (c as u32 - 'A' as u32 + 10).to_string() })
            .collect();
        let remainder = numeric.bytes().fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
        let compact = format!("{country}{:02}{bban}", 98 - remainder);
        let text = if grouped {
            compact.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
        } else {
            compact
        };
        (text.clone(), text)
    })
}

fn ssn() -> impl Strategy<Value = (String, String)> {
    (1u32..900, 1u32..100, 1u32..10000, any::<bool>())
        .prop_filter("not an SSA-excluded number", |(area, group, serial, _)| {
            *area != 666 && !matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999))
        })
        .prop_map(|(area, group, serial, spaced)| {
            let sep = if spaced { " " } else { "-" };
            let text = format!("{area:03}{sep}{group:02}{sep}{serial:04}");
            (text.clone(), text)
        })
}

fn phone() -> impl Strategy<Value = (String, String)> {
    let nanp = "[2-9][0-9]{2}";
    let text = prop_oneof![
        (nanp, nanp, "[0-9]{4}").prop_map(|(a, e, n)| format!("+1 {a} {e} {n}")),
        ("[0-9]{4}", "[0-9]{4}").prop_map(|(a, b)| format!("+44 20 {a} {b}")),
        "[1-9][0-9]{7}".prop_map(|n| format!("+49 30 {n}")),
        "[1-9]( [0-9]{2}){4}".prop_map(|n| format!("+33 {n}")),
        ("[0-9]{4}", "[0-9]{4}").prop_map(|(a, b)| format!("+81-3-{a}-{b}")),
        (nanp, nanp, "[0-9]{4}").prop_map(|(a, e, n)| format!("({a}) {e}-{n}")),
        (nanp, nanp, "[0-9]{4}", "[-.]").prop_map(|(a, e, n, s)| format!("{a}{s}{e}{s}{n}")),
        (nanp, nanp, "[0-9]{4}").prop_map(|(a, e, n)| format!("1-{a}-{e}-{n}")),
        ("[1-9][0-9]", "[0-9]{4}", "[0-9]{4}").prop_map(|(a, b, c)| format!("0{a} {b} {c}")),
        ("[1-9]", "[0-9]{2}", "[0-9]{2}", "[0-9]{2}", "[0-9]{2}")
            .prop_map(|(a, b, c, d, e)| format!("0{a} {b} {c} {d} {e}")),
    ];
    text.prop_map(|t| (t.clone(), t))
}

fn ip() -> impl Strategy<Value = (String, String)> {
    let v4 = any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string());
    // Random groups, some zeroed so that the text is compressed (`::`) in places; at least three groups shown.
    let v6 = (any::<[u16; 8]>(), any::<u8>(), any::<bool>())
        .prop_map(|(mut groups, zeros, upper)| {
            for (i, g) in groups.iter_mut().enumerate() {
                if zeros & (1 << i) != 0 {
                    *g = 0;
                }
            }
            let text = std::net::Ipv6Addr::from(groups).to_string();
            if upper {
                text.to_uppercase()
            } else {
                text
            }
        })
        .prop_filter("three groups or an IPv4 tail", |t| {
            t.split(':').filter(|g| !g.is_empty()).count() >= 3 || t.contains('.')
        });
    prop_oneof![v4, v6].prop_map(|t| (t.clone(), t))
}

fn email() -> impl Strategy<Value = (String, String)> {
    let local = "[a-z][a-z0-9]{0,8}([._+-][a-z0-9]{1,6})?";
    let domain = "[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,5})?";
    let tld = proptest::sample::select(&["com", "org", "net", "io", "de", "co.uk", "museum", "travel"][..]);
    (local, domain, tld).prop_map(|(l, d, t)| {
        let text = format!("{l}@{d}.{t}");
        (text.clone(), text)
    })
}

fn secret() -> impl Strategy<Value = (PiiKind, String, String)> {
    let same = |kind: PiiKind| move |t: String| (kind, t.clone(), t);
    let aws = ("(AKIA|ASIA|AIDA|AROA)", "[A-Z0-9]{16}")
        .prop_map(|(p, r)| format!("{p}{r}"))
        .prop_map(same(PiiKind::AwsAccessKey));
    let jwt = ("[A-Za-z0-9]{8,20}", "[A-Za-z0-9_-]{16,43}")
        .prop_map(|(payload, signature)| format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{payload}.{signature}"))
        .prop_map(same(PiiKind::Jwt));
    let prefixed = prop_oneof!["ghp_[A-Za-z0-9]{36}", "xoxb-[0-9]{10}-[A-Za-z0-9]{10}", "sk-[A-Za-z0-9]{24}"]
        .prop_map(same(PiiKind::ApiToken));
    let bearer = "[A-Za-z]{8}[0-9][A-Za-z0-9]{11,30}".prop_map(|t| (PiiKind::ApiToken, format!("Bearer {t}"), t));
    let pem = "([A-Za-z0-9+/]{64}\n){1,3}[A-Za-z0-9+/]{10,60}={0,2}"
        .prop_map(|body| format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"))
        .prop_map(same(PiiKind::PrivateKey));
    prop_oneof![aws, jwt, prefixed, bearer, pem]
}

fn name_or_address() -> impl Strategy<Value = (PiiKind, String, String)> {
    let word = "[A-Z][a-z]{2,9}";
    let honorific = proptest::sample::select(&["Mr.", "Mrs.", "Ms", "Dr.", "Prof."][..]);
    let name = (honorific, word, word)
        .prop_map(|(h, first, last)| (PiiKind::Name, format!("{h} {first} {last}"), format!("{first} {last}")));
    let street =
        proptest::sample::select(&["Street", "Avenue", "Road", "Boulevard", "Lane", "Way", "Court", "Terrace"][..]);
    let address = ("[1-9][0-9]{0,4}", word, street).prop_map(|(n, w, s)| {
        let text = format!("{n} {w} {s}");
        (PiiKind::Address, text.clone(), text)
    });
    prop_oneof![name, address]
}

/// Any valid value: its kind, its text, and the part of it that must be detected (all of it, but for the
/// label of a `Bearer` token or an honorific).
fn value() -> impl Strategy<Value = (PiiKind, String, String)> {
    let tag = |kind: PiiKind| move |(text, expected): (String, String)| (kind, text, expected);
    prop_oneof![
        email().prop_map(tag(PiiKind::Email)),
        phone().prop_map(tag(PiiKind::Phone)),
        ssn().prop_map(tag(PiiKind::Ssn)),
        card().prop_map(tag(PiiKind::CreditCard)),
        iban().prop_map(tag(PiiKind::Iban)),
        ip().prop_map(tag(PiiKind::IpAddress)),
        secret(),
        name_or_address(),
    ]
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(options)
}

fn detected(text: &str) -> Vec<(PiiKind, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    scanner().scan(text, &mut out);
    out.into_iter().map(|d| (d.kind, d.start..d.end)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn every_kind_is_found_with_its_exact_span_whatever_surrounds_it(
        (kind, text, expected) in value(),
        outer_lead in pick(OUTER_LEADS),
        lead in pick(LEADS),
        trail in pick(TRAILS),
        outer_trail in pick(OUTER_TRAILS),
    ) {
        let hay = format!("{outer_lead}{lead}{text}{trail}{outer_trail}");
        let start = outer_lead.len() + lead.len() + text.find(&expected).unwrap();
        prop_assert_eq!(detected(&hay), vec![(kind, start..start + expected.len())], "in {:?}", hay);
    }

    #[test]
    fn two_values_in_a_row_are_both_found(
        (kind_a, text_a, expected_a) in value(),
        (kind_b, text_b, expected_b) in value(),
        between in pick(&[", ", "; ", " | ", "\n", ") (", "\", \"", ".\n", " and ", "\t"]),
    ) {
        let hay = format!("{text_a}{between}{text_b}");
        let start_a = text_a.find(&expected_a).unwrap();
        let start_b = text_a.len() + between.len() + text_b.find(&expected_b).unwrap();
        let want = vec![(kind_a, start_a..start_a + expected_a.len()), (kind_b, start_b..start_b + expected_b.len())];
        prop_assert_eq!(detected(&hay), want, "in {:?}", hay);
    }
}

#[test]
fn the_reported_cases() {
    let hay = "connection from 2001:db8:85a3::8a2e:370:7334. Then it closed";
    assert_eq!(detected(hay), vec![(PiiKind::IpAddress, 16..44)]);
    assert_eq!(&hay[16..44], "2001:db8:85a3::8a2e:370:7334");
    for hay in ["from 2001:db8::1:2: refused", "(2001:db8:0:0:1:0:0:1).", "'fe80:0:0:0:1:2:3:4'\n"] {
        assert_eq!(detected(hay).len(), 1, "{hay}");
    }
    // Still refused: a longer run the address is part of, and version labels.
    for hay in ["2001:db8::12345", "1:2:3:4:5:6:7:8:9", "v1.2.3.4", "version 4.0.0.0", "2001:db8::1.5.6"] {
        assert_eq!(detected(hay), vec![], "{hay}");
    }
    assert_eq!(detected("dev 10.0.0.1 and env=10.0.0.2").len(), 2, "words ending in v are no version label");
    let bearer = "Authorization: Bearer abcdef0123456789abcdef.";
    assert_eq!(detected(bearer), vec![(PiiKind::ApiToken, 22..44)], "the sentence's full stop is not the token's");
}

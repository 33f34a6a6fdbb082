//! Each detector with true positives and the false positives it must not take.

use std::sync::OnceLock;

use super::*;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(KindSet::all()).expect("patterns compile"))
}

fn found(text: &str) -> Vec<(PiiKind, &str)> {
    let mut out = Vec::new();
    scanner().scan(text, &mut out);
    out.iter().map(|d| (d.kind, &text[d.range()])).collect()
}

/// `text` holds exactly `value`, detected as `kind`.
fn hit(kind: PiiKind, text: &str, value: &str) {
    assert_eq!(found(text), vec![(kind, value)], "in {text:?}");
}

fn hits(kind: PiiKind, values: &[&str]) {
    for value in values {
        hit(kind, &format!("x {value} y"), value);
    }
}

fn misses(texts: &[&str]) {
    for text in texts {
        assert_eq!(found(text), vec![], "in {text:?}");
    }
}

#[test]
fn emails() {
    hits(PiiKind::Email, &["jane.doe@example.com", "a_b+tag@mail.co.uk", "x@sub-domain.example.museum"]);
    hit(PiiKind::Email, "mailto:jane@example.org.", "jane@example.org");
    hit(PiiKind::Email, r#"{"to":"jane@example.org"}"#, "jane@example.org");
    misses(&["icon@2x.png", "pkg@1.2.3", "user@localhost", "@example.com", "jane@example"]);
}

#[test]
fn phones() {
    hits(
        PiiKind::Phone,
        &[
            "+1 415 555 2671",
            "+14155552671",
            "+44 20 7946 0958",
            "+49 30 12345678",
            "+33 1 23 45 67 89",
            "+81-3-1234-5678",
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "1-800-555-0199",
            "020 7946 0958",
            "07700 900123",
            "01 23 45 67 89",
            "(030) 1234 5678",
        ],
    );
    misses(&[
        "4155552671",
        "123-456-7890",
        "2023-10-12",
        "12.10.2023",
        "01-02-2023",
        "01-01-2024 12",
        "v415-555-2671",
        "+12 34",
        "10:30:00",
        "id 12-415-555-2671",
    ]);
}

#[test]
fn ssns_follow_the_range_rules() {
    hits(PiiKind::Ssn, &["123-45-6789", "536 22 1234", "899-01-0001"]);
    hit(PiiKind::Ssn, "SSN: 536221234", "536221234");
    hit(PiiKind::Ssn, "social security number 536221234", "536221234");
    misses(&["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "078-05-1120", "536221234"]);
    misses(&["123-45-67890", "1123-45-6789", "2024-12-3456"]);
}

#[test]
fn cards_need_luhn_and_an_issuer() {
    hits(
        PiiKind::CreditCard,
        &[
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "3782 822463 10005",
            "6011111111111117",
            "3530111333300000",
            "4222222222222",
            "6250941006528599",
            "4111 1111 1111 1111 003",
        ],
    );
    misses(&[
        "4111111111111112",
        "1234567812345670",
        "1700000000000",
        "9999999999999995",
        "4111 1111-1111 1111",
        "order 7000000000000001",
    ]);
}

#[test]
fn ibans_need_the_country_length_and_mod_97() {
    hits(
        PiiKind::Iban,
        &["DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "NL91ABNA0417164300"],
    );
    hit(PiiKind::Iban, "pay DE89 3704 0044 0532 0130 00 CASH now", "DE89 3704 0044 0532 0130 00");
    misses(&["DE89370400440532013001", "DE8937040044053201300", "XX89370400440532013000", "AB12 CDEF GHIJ"]);
}

#[test]
fn ipv4_addresses_are_range_checked_and_versions_left_alone() {
    hits(PiiKind::IpAddress, &["192.168.1.10", "8.8.8.8", "255.255.255.255", "10.0.0.1"]);
    hit(PiiKind::IpAddress, "from 203.0.113.7:8080", "203.0.113.7");
    misses(&["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.02.03.04", "v1.2.3.4", "version 4.0.0.0", "Version=4.0.0.0"]);
    misses(&["10.0.19041.1", "1.2.3.4-5"]);
}

#[test]
fn ipv6_addresses_need_three_groups() {
    hits(
        PiiKind::IpAddress,
        &["2001:db8:85a3::8a2e:370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.1"],
    );
    hit(PiiKind::IpAddress, "[2001:db8::1:2]:443", "2001:db8::1:2");
    misses(&["::1", "fe80::1", "std::vector", "a::b", "10:30:00", "00:1A:2B:3C:4D:5E", "dead:beef"]);
}

#[test]
fn secrets() {
    hits(PiiKind::AwsAccessKey, &["AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"]);
    misses(&["AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE1"]);

    let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    hits(PiiKind::Jwt, &[jwt]);
    misses(&["eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.abc", "eyJhbGciOi"]);

    hit(PiiKind::ApiToken, "Authorization: Bearer abcDEF123456ghiJKL789", "abcDEF123456ghiJKL789");
    hit(PiiKind::ApiToken, &format!("Authorization: Bearer {jwt}"), jwt);
    hits(PiiKind::ApiToken, &["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "xoxb-1234567890-abcdefghij"]);
    hits(PiiKind::ApiToken, &["mcpgw_q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"]);
    misses(&["Bearer authentication-is-required", "the bearer of bad news"]);

    let pem =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aoz\n-----END RSA PRIVATE KEY-----";
    hit(PiiKind::PrivateKey, &format!("key:\n{pem}\nend"), pem);
    let escaped = r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    hit(PiiKind::PrivateKey, &format!(r#"{{"key":"{escaped}"}}"#), escaped);
    let truncated = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA";
    hit(PiiKind::PrivateKey, truncated, truncated);
    misses(&["-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----"]);
}

#[test]
fn names_and_addresses_when_enabled() {
    hit(PiiKind::Name, "Dear Dr. Jane Smith,", "Jane Smith");
    hit(PiiKind::Name, r#"{"name": "Jane Doe"}"#, "Jane Doe");
    hit(PiiKind::Name, "Full Name: Jane Doe", "Jane Doe");
    hits(PiiKind::Address, &["221 Baker Street", "1600 Pennsylvania Avenue", "42 Elm St."]);
    misses(&["Hello World", "New York", "the name is long", "42 elm street"]);
}

#[test]
fn lookalike_tokens_are_detected_with_their_kind() {
    hit(PiiKind::Email, "see [EMAIL_3] there", "[EMAIL_3]");
    hit(PiiKind::CreditCard, "[CREDIT_CARD_01]", "[CREDIT_CARD_01]");
    misses(&["[EMAIL]", "[email_1]", "[FOO_1]", "[EMAIL_REDACTED]"]);
}

#[test]
fn a_failed_candidate_does_not_hide_a_valid_one_that_starts_there() {
    // The bare 13-digit run fails Luhn; a phone is not hidden in it, and the one after it is found.
    assert_eq!(found("1234567890123 or 415-555-2671"), vec![(PiiKind::Phone, "415-555-2671")]);
    // A Luhn-invalid card-shaped run next to a valid SSN.
    assert_eq!(found("4111111111111112 123-45-6789"), vec![(PiiKind::Ssn, "123-45-6789")]);
    let mixed = "Contact jane@example.com or +1 415 555 2671; card 4111 1111 1111 1111; ip 10.1.2.3.";
    let kinds: Vec<PiiKind> = found(mixed).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [PiiKind::Email, PiiKind::Phone, PiiKind::CreditCard, PiiKind::IpAddress]);
}

#[test]
fn disabled_kinds_are_not_detected_but_lookalikes_always_are() {
    let email_only = Scanner::new([PiiKind::Email].into_iter().collect()).unwrap();
    let mut out = Vec::new();
    email_only.scan("a@example.com 415-555-2671 [PHONE_2]", &mut out);
    let kinds: Vec<PiiKind> = out.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [PiiKind::Email, PiiKind::Phone]);
    assert_eq!(out[1].range(), 27..36);
}

#[test]
fn non_ascii_text_around_values_is_fine() {
    // ASCII word boundaries: an internationalised local part is cut at its last non-ASCII character.
    assert_eq!(
        found("Grüße an jürgen@example.de — 📞 +49 30 12345678"),
        vec![(PiiKind::Email, "rgen@example.de"), (PiiKind::Phone, "+49 30 12345678")]
    );
}

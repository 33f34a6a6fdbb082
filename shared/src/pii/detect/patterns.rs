//! The candidate patterns, in priority order (the first listed wins when two match at the same position).
//!
//! Patterns only find *candidates*; `validate.rs` decides. They are compiled with Unicode off, so `\b`, `\d`
//! and `\s` are ASCII: that keeps every pattern inside the lazy DFA (a Unicode `\b` would force the slow
//! PikeVM on non-ASCII text) and all PII formats here are ASCII anyway.

use super::super::PiiKind;

/// How a candidate is validated (and possibly narrowed) after the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// A literal `[EMAIL_7]`-shaped text in backend data: always "detected", so that detokenizing never
    /// turns text the backend wrote into someone else's value (tokenize→detokenize stays the identity).
    Lookalike,
    PrivateKey,
    Jwt,
    /// `Bearer <token>`: only the token is replaced.
    Bearer,
    /// Vendor-prefixed secrets (`ghp_…`, `xoxb-…`, `sk-…`, the gateway's own `mcpgw_…`).
    PrefixedToken,
    AwsAccessKey,
    Email,
    Iban,
    Card,
    Ssn,
    /// Nine bare digits right after an "SSN" label: only the digits are replaced.
    SsnLabelled,
    /// `+` and a country code (E.164 with optional grouping).
    PhoneInternational,
    /// North American numbers with separators or parentheses.
    PhoneNanp,
    /// National numbers with a trunk `0` (UK, DE, FR, …) and consistent separators.
    PhoneTrunk,
    Ipv4,
    Ipv6,
    /// A capitalised name after an honorific or a `name:` label: only the name is replaced.
    Name,
    Address,
}

/// One candidate pattern.
pub(super) struct Pattern {
    pub kind: PiiKind,
    pub check: Check,
    pub regex: &'static str,
}

const fn p(kind: PiiKind, check: Check, regex: &'static str) -> Pattern {
    Pattern { kind, check, regex }
}

/// Every pattern but the lookalike one (its regex is built from the kind names), in priority order.
pub(super) const PATTERNS: &[Pattern] = &[
    p(
        PiiKind::PrivateKey,
        Check::PrivateKey,
        // A whole PEM/OpenSSH/PGP block; without its END line (truncated output) the base64 body is taken.
        // `\\` keeps escaped newlines of JSON nested inside text part of the block.
        r"-----BEGIN [A-Z0-9 ]{0,32}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\\-]*?-----END [A-Z0-9 ]{0,32}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
    ),
    p(PiiKind::Jwt, Check::Jwt, r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"),
    p(PiiKind::ApiToken, Check::Bearer, r"\b(?:[Bb]earer|BEARER)[ \t]+[A-Za-z0-9._~+/-]{16,}=*"),
    p(
        PiiKind::ApiToken,
        Check::PrefixedToken,
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|sk_live_[A-Za-z0-9]{16,}|mcpgw_[A-Za-z0-9_-]{40,})",
    ),
    p(
        PiiKind::AwsAccessKey,
        Check::AwsAccessKey,
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b",
    ),
    p(
        PiiKind::Email,
        Check::Email,
        r"\b[A-Za-z0-9_][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b",
    ),
    p(PiiKind::Iban, Check::Iban, r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    p(
        PiiKind::CreditCard,
        Check::Card,
        // Grouped by spaces or dashes (4-4-4-4[-3], 4-6-5, 4-6-4) or one bare run: a grouping that swallows a
        // neighbouring number would hide a phone next to it. Issuers start with 2–6, which keeps millisecond
        // timestamps (1…) from even being candidates.
        r"\b(?:[2-6][0-9]{3}(?: [0-9]{4}){2} [0-9]{1,4}(?: [0-9]{1,3})?|[2-6][0-9]{3}(?:-[0-9]{4}){2}-[0-9]{1,4}(?:-[0-9]{1,3})?|3[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5}|[2-6][0-9]{12,18})\b",
    ),
    p(PiiKind::Ssn, Check::Ssn, r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b"),
    p(
        PiiKind::Ssn,
        Check::SsnLabelled,
        r"\b(?:SSN|[Ss]sn|[Ss]ocial [Ss]ecurity(?: [Nn]umber| [Nn]o\.?)?|SS#)[ \t]*[:#=]?[ \t]*[0-9]{9}\b",
    ),
    p(PiiKind::Phone, Check::PhoneInternational, r"\+[1-9][0-9]{0,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,6})){1,7}\b"),
    p(
        PiiKind::Phone,
        Check::PhoneNanp,
        r"(?:\b1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}\b",
    ),
    p(
        PiiKind::Phone,
        Check::PhoneTrunk,
        r"\b0[1-9][0-9]{0,4}(?:[ .-][0-9]{2,8}){1,4}\b|\(0[1-9][0-9]{0,4}\) ?[0-9]{2,8}(?:[ .-][0-9]{2,8}){0,3}\b",
    ),
    p(PiiKind::IpAddress, Check::Ipv4, r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b"),
    p(
        PiiKind::IpAddress,
        Check::Ipv6,
        // Eight full groups, or a `::` compression with groups before it, or one starting with `::` (with an
        // optional embedded IPv4 tail). A bare `::` (`std::vector`) is not even a candidate.
        r"\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?(?:\.[0-9]{1,3}){0,3}|::[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}(?:\.[0-9]{1,3}){0,3}",
    ),
    p(
        PiiKind::Name,
        Check::Name,
        r#"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? [A-Z][a-z]+(?: [A-Z][a-z]+){0,2}\b|\b(?:[Nn]ame|NAME|[Ff]ull[ _][Nn]ame)"?[ \t]*[:=][ \t]*"?[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}\b"#,
    ),
    p(
        PiiKind::Address,
        Check::Address,
        // The full stop belongs to an abbreviation (`St.`), never to a full word (`Street.` ends a sentence).
        r"\b[0-9]{1,6}(?: [A-Z][a-z]+){1,4} (?:(?:Street|Avenue|Road|Boulevard|Drive|Lane|Way|Court|Place|Terrace|Parkway|Circle)\b|(?:St|Ave|Rd|Blvd|Dr|Ln|Ct|Pl|Pkwy|Cir)\b\.?)",
    ),
];

/// The lookalike pattern: `[`, a kind name, `_`, digits, `]`. Any digit run, so that it covers everything
/// detokenizing could resolve (which takes only canonical numbers).
pub(super) fn lookalike_regex() -> String {
    let names: Vec<&str> = PiiKind::ALL.iter().map(|k| k.name()).collect();
    format!(r"\[(?:{})_[0-9]+\]", names.join("|"))
}

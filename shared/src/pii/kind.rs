//! The kinds of personal data and secrets the gateway recognises, and sets of them.

use std::fmt;

/// One kind of personal data or secret. The name is what appears in tokens (`[EMAIL_1]`), in `PII_TYPES` and
/// in `PII_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    Ssn,
    CreditCard,
    Iban,
    IpAddress,
    AwsAccessKey,
    Jwt,
    ApiToken,
    PrivateKey,
    /// Off by default: person names are found only after an honorific or a `name:` label.
    Name,
    /// Off by default: US-style street addresses (number, capitalised words, street suffix).
    Address,
}

impl PiiKind {
    pub const ALL: [PiiKind; 12] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Ssn,
        PiiKind::CreditCard,
        PiiKind::Iban,
        PiiKind::IpAddress,
        PiiKind::AwsAccessKey,
        PiiKind::Jwt,
        PiiKind::ApiToken,
        PiiKind::PrivateKey,
        PiiKind::Name,
        PiiKind::Address,
    ];

    /// The upper-case name used in tokens and configuration.
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "EMAIL",
            PiiKind::Phone => "PHONE",
            PiiKind::Ssn => "SSN",
            PiiKind::CreditCard => "CREDIT_CARD",
            PiiKind::Iban => "IBAN",
            PiiKind::IpAddress => "IP_ADDRESS",
            PiiKind::AwsAccessKey => "AWS_ACCESS_KEY",
            PiiKind::Jwt => "JWT",
            PiiKind::ApiToken => "API_TOKEN",
            PiiKind::PrivateKey => "PRIVATE_KEY",
            PiiKind::Name => "NAME",
            PiiKind::Address => "ADDRESS",
        }
    }

    /// Parses a name as written in configuration (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether the kind is detected when `PII_TYPES` is not set. Names and addresses are off: they cannot be
    /// found precisely by pattern and would replace ordinary words.
    pub fn default_on(self) -> bool {
        !matches!(self, PiiKind::Name | PiiKind::Address)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of kinds (a bit set, cheap to copy and to use as a map key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KindSet(u16);

impl KindSet {
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every kind, including the off-by-default ones.
    pub fn all() -> Self {
        PiiKind::ALL.into_iter().collect()
    }

    /// The kinds detected when `PII_TYPES` is not set.
    pub fn defaults() -> Self {
        PiiKind::ALL.into_iter().filter(|k| k.default_on()).collect()
    }

    pub fn contains(self, kind: PiiKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn insert(&mut self, kind: PiiKind) {
        self.0 |= kind.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = PiiKind> {
        PiiKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// Parses a comma-separated list of kind names; `all` and `default` stand for those sets.
    pub fn parse_list(text: &str) -> Result<Self, String> {
        let mut set = KindSet::empty();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            set = set.with(Self::parse_one(name)?);
        }
        Ok(set)
    }

    /// One name, or `all` / `default`.
    pub(crate) fn parse_one(name: &str) -> Result<Self, String> {
        if name.eq_ignore_ascii_case("all") {
            return Ok(Self::all());
        }
        if name.eq_ignore_ascii_case("default") {
            return Ok(Self::defaults());
        }
        let kind = PiiKind::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = PiiKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown PII type {name:?} (known: {}, all, default)", known.join(", "))
        })?;
        Ok(Self(kind.bit()))
    }

    pub(crate) fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl FromIterator<PiiKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = PiiKind>>(iter: I) -> Self {
        let mut set = KindSet::empty();
        for kind in iter {
            set.insert(kind);
        }
        set
    }
}

impl fmt::Debug for KindSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(PiiKind::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_defaults_leave_names_and_addresses_out() {
        for kind in PiiKind::ALL {
            assert_eq!(PiiKind::from_name(&kind.name().to_lowercase()), Some(kind));
        }
        let defaults = KindSet::defaults();
        assert!(defaults.contains(PiiKind::Email) && !defaults.contains(PiiKind::Name));
        assert!(!defaults.contains(PiiKind::Address));
    }

    #[test]
    fn lists_parse_with_all_and_default_and_reject_unknown_names() {
        let set = KindSet::parse_list("email, PHONE,,").unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![PiiKind::Email, PiiKind::Phone]);
        assert_eq!(KindSet::parse_list("default,name").unwrap().iter().count(), 11);
        assert_eq!(KindSet::parse_list("all").unwrap(), KindSet::all());
        let err = KindSet::parse_list("email,passport").unwrap_err();
        assert!(err.contains("passport") && err.contains("EMAIL"), "{err}");
    }
}

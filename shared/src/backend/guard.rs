//! SSRF guard for every URL the gateway fetches on its own: backend endpoints, OAuth token endpoints
//! and the JWKS. On Lambda, 169.254.169.254 (instance metadata, credentials) and the runtime API on
//! loopback are what an attacker wants to reach, so:
//!
//! - link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) and
//!   non-unicast addresses are always refused;
//! - private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15, 192.0.0/24, fc00::/7) only with
//!   `GATEWAY_ALLOW_PRIVATE_BACKENDS=1`;
//! - loopback (127/8, ::1, `localhost`) only with `GATEWAY_ALLOW_LOOPBACK_BACKENDS=1` (the local stack).
//!
//! Literal addresses are checked when the configuration is parsed; names are checked after DNS
//! resolution by [`GuardedResolver`], on every connection, so a name that later re-resolves to the
//! metadata address (DNS rebinding) is refused too. IPv4 addresses embedded in IPv6 (mapped,
//! compatible, NAT64, 6to4) are judged as the IPv4 address they reach. Redirects are never followed
//! by the gateway's HTTP clients, so a backend cannot bounce a request past this check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which address ranges outbound requests may reach besides the public internet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// `GATEWAY_ALLOW_PRIVATE_BACKENDS`: RFC 1918, CGNAT and unique-local IPv6 ranges (a VPC).
    pub allow_private: bool,
    /// `GATEWAY_ALLOW_LOOPBACK_BACKENDS`: this machine; for local development and tests only.
    pub allow_loopback: bool,
}

/// What kind of destination an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    /// Link-local, including the cloud metadata endpoints: never reachable through the gateway.
    LinkLocal,
    /// Unspecified, multicast, broadcast or reserved: nothing a backend can live on.
    NotUnicast,
}

/// Why a destination was refused. The message names the address and the setting that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address} ({})", describe(*.class))]
pub struct Refused {
    pub address: IpAddr,
    pub class: AddressClass,
}

fn describe(class: AddressClass) -> &'static str {
    match class {
        AddressClass::Public => "a public address",
        AddressClass::Loopback => {
            "a loopback address, allowed only with GATEWAY_ALLOW_LOOPBACK_BACKENDS=1 (local development)"
        }
        AddressClass::Private => "a private address, allowed only with GATEWAY_ALLOW_PRIVATE_BACKENDS=1",
        AddressClass::LinkLocal => "a link-local / cloud metadata address, never allowed",
        AddressClass::NotUnicast => "not a unicast address, never allowed",
    }
}

impl NetworkPolicy {
    /// Reads `GATEWAY_ALLOW_PRIVATE_BACKENDS` and `GATEWAY_ALLOW_LOOPBACK_BACKENDS` (`1`/`true`/`0`/`false`).
    /// The error is `(variable, value)`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, (&'static str, String)> {
        let flag = |var: &'static str| match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "0" | "false") => Ok(false),
            Some("1" | "true") => Ok(true),
            Some(other) => Err((var, other.to_owned())),
        };
        Ok(Self {
            allow_private: flag("GATEWAY_ALLOW_PRIVATE_BACKENDS")?,
            allow_loopback: flag("GATEWAY_ALLOW_LOOPBACK_BACKENDS")?,
        })
    }

    /// Whether `address` may be connected to.
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        let class = classify(address);
        let allowed = match class {
            AddressClass::Public => true,
            AddressClass::Private => self.allow_private,
            AddressClass::Loopback => self.allow_loopback,
            AddressClass::LinkLocal | AddressClass::NotUnicast => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(Refused { address, class })
        }
    }

    /// The configuration-time check of a URL: http(s), a host, and a literal address (or `localhost`)
    /// that the policy allows. Other names are checked when they are resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{:?} is not an http(s) URL", url.as_str()));
        }
        let address = match url.host() {
            None => return Err(format!("{:?} has no host", url.as_str())),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name != "localhost" && !name.ends_with(".localhost") {
                    return Ok(());
                }
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
        };
        self.check(address).map_err(|refused| format!("{:?} points at {refused}", url.as_str()))
    }

    /// [`check_url`](Self::check_url) for a URL given as text.
    pub fn check_url_str(&self, text: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(text).map_err(|_| format!("{text:?} is not an http(s) URL"))?;
        self.check_url(&url)?;
        Ok(url)
    }
}

/// The class of an address. IPv6 forms that embed an IPv4 address are classified by that address.
pub fn classify(address: IpAddr) -> AddressClass {
    match address {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, ..) | (224..=255, ..) => AddressClass::NotUnicast,
        (127, ..) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) | (100, 64..=127, _) | (198, 18..=19, _) | (192, 0, 0) => {
            AddressClass::Private
        }
        _ => AddressClass::Public,
    }
}

/// AWS's IPv6 instance-metadata endpoint (inside fc00::/7, but never merely "private").
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let segments = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if ip.is_unspecified() || segments[0] >> 8 == 0xff {
        return AddressClass::NotUnicast;
    }
    if ip == AWS_METADATA_V6 || segments[0] & 0xffc0 == 0xfe80 {
        return AddressClass::LinkLocal;
    }
    match segments {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated but still routed by some stacks).
        [0, 0, 0, 0, 0, 0xffff | 0, hi, lo] => classify_v4(embedded(hi, lo)),
        // 64:ff9b::a.b.c.d (NAT64) reaches the IPv4 address through the translator.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => classify_v4(embedded(hi, lo)),
        // 2002:AABB:CCDD::/48 (6to4) embeds the IPv4 address in its second and third segments.
        [0x2002, hi, lo, ..] => classify_v4(embedded(hi, lo)),
        // fc00::/7 unique local; fec0::/10 deprecated site-local.
        [s, ..] if s & 0xfe00 == 0xfc00 || s & 0xffc0 == 0xfec0 => AddressClass::Private,
        _ => AddressClass::Public,
    }
}

/// A DNS resolver for reqwest that drops every resolved address the policy refuses, and fails the
/// connection when none is left, naming the refused address.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    policy: NetworkPolicy,
}

impl GuardedResolver {
    pub fn new(policy: NetworkPolicy) -> Self {
        Self { policy }
    }

    /// The addresses of `host` that the policy allows, or why there are none.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        let mut first_refusal = None;
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|addr| match self.policy.check(addr.ip()) {
                Ok(()) => true,
                Err(refused) => {
                    first_refusal.get_or_insert(refused);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), first_refusal) {
            (false, _) => Ok(allowed),
            (true, Some(refused)) => {
                tracing::warn!(audit = true, decision = "deny", host, address = %refused.address,
                    "outbound connection refused by the SSRF guard");
                Err(format!("{host} resolves to {refused}").into())
            }
            (true, None) => Err(format!("{host} has no addresses").into()),
        }
    }

    /// An HTTP client that never follows redirects and resolves through this guard (with the process's one
    /// TLS configuration, when the system's root certificates could be read; else reqwest's own).
    pub fn client_builder(self) -> reqwest::ClientBuilder {
        let builder = match crate::tls::client_config() {
            Ok(tls) => reqwest::Client::builder().tls_backend_preconfigured(tls),
            Err(error) => {
                tracing::warn!(%error, "shared TLS configuration unavailable");
                reqwest::Client::builder()
            }
        };
        builder
            // A redirect could lead anywhere, credentials included: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve names itself, out of this guard's sight.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(self))
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolver.lookup(&host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: NetworkPolicy = NetworkPolicy { allow_private: false, allow_loopback: false };
    const OPEN: NetworkPolicy = NetworkPolicy { allow_private: true, allow_loopback: true };

    fn class(text: &str) -> AddressClass {
        classify(text.parse().unwrap())
    }

    #[test]
    fn metadata_and_link_local_are_refused_even_when_everything_else_is_allowed() {
        for ip in ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254"] {
            assert_eq!(class(ip), AddressClass::LinkLocal, "{ip}");
            assert!(OPEN.check(ip.parse().unwrap()).is_err(), "{ip}");
        }
        for ip in ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::169.254.169.254"] {
            assert_eq!(class(ip), AddressClass::LinkLocal, "{ip}");
        }
    }

    #[test]
    fn private_ranges_need_the_private_opt_in() {
        for ip in ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "fd12::1", "fc00::1"] {
            assert_eq!(class(ip), AddressClass::Private, "{ip}");
            assert!(STRICT.check(ip.parse().unwrap()).is_err(), "{ip}");
            assert!(NetworkPolicy { allow_private: true, ..STRICT }.check(ip.parse().unwrap()).is_ok(), "{ip}");
        }
        assert_eq!(class("172.32.0.1"), AddressClass::Public);
        assert_eq!(class("100.128.0.1"), AddressClass::Public);
    }

    #[test]
    fn loopback_needs_the_loopback_opt_in() {
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(class(ip), AddressClass::Loopback, "{ip}");
            assert!(NetworkPolicy { allow_private: true, ..STRICT }.check(ip.parse().unwrap()).is_err());
            assert!(NetworkPolicy { allow_loopback: true, ..STRICT }.check(ip.parse().unwrap()).is_ok());
        }
        for ip in ["0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1"] {
            assert_eq!(class(ip), AddressClass::NotUnicast, "{ip}");
        }
        assert_eq!(class("93.184.215.14"), AddressClass::Public);
        assert_eq!(class("2606:4700::1111"), AddressClass::Public);
    }

    #[test]
    fn urls_are_checked_by_literal_address_and_localhost_name() {
        let loopback_ok = NetworkPolicy { allow_loopback: true, ..STRICT };
        assert!(STRICT.check_url_str("https://mcp.example.com/mcp").is_ok());
        let err = STRICT.check_url_str("http://169.254.169.254/latest/meta-data").unwrap_err();
        assert!(err.contains("169.254.169.254") && err.contains("never allowed"), "{err}");
        let err = STRICT.check_url_str("http://localhost:3000/mcp").unwrap_err();
        assert!(err.contains("GATEWAY_ALLOW_LOOPBACK_BACKENDS"), "{err}");
        assert!(loopback_ok.check_url_str("http://127.0.0.1:3002/mcp").is_ok());
        // The URL parser normalises other spellings of an address before the check sees them.
        assert!(OPEN.check_url_str("http://0xa9.0xfe.0xa9.0xfe/").is_err());
        assert!(OPEN.check_url_str("http://2852039166/").is_err());
        assert!(OPEN.check_url_str("http://[::ffff:a9fe:a9fe]/").is_err());
        assert!(STRICT.check_url_str("ftp://example.com/").is_err());
    }

    #[test]
    fn flags_parse_and_bad_values_name_the_variable() {
        let policy = NetworkPolicy::from_lookup(|v| (v == "GATEWAY_ALLOW_LOOPBACK_BACKENDS").then(|| "1".into()));
        assert_eq!(policy, Ok(NetworkPolicy { allow_private: false, allow_loopback: true }));
        let err = NetworkPolicy::from_lookup(|v| (v == "GATEWAY_ALLOW_PRIVATE_BACKENDS").then(|| "yes".into()));
        assert_eq!(err, Err(("GATEWAY_ALLOW_PRIVATE_BACKENDS", "yes".into())));
    }

    #[tokio::test]
    async fn resolver_refuses_names_that_resolve_to_refused_addresses() {
        let err = GuardedResolver::new(STRICT).lookup("localhost").await.unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        let addrs = GuardedResolver::new(NetworkPolicy { allow_loopback: true, ..STRICT }).lookup("localhost").await;
        assert!(addrs.unwrap().iter().all(|a| a.ip().is_loopback()));
    }
}

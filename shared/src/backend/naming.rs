//! How backend names (tools, prompts) are exposed to clients.
//!
//! Exposed name = `<prefix><separator><name>` (or `<name>` for an empty prefix), made valid for MCP
//! 2025-11-25 (1–128 characters of `[A-Za-z0-9_.-]`): other characters become `_`, and a name longer
//! than 128 keeps its first 119 characters plus `-` and 8 hex digits of a SHA-256 of the full name.
//!
//! Two backends can still end up with the same name (an unprefixed backend, `a`+`b_c` vs `a_b`+`c`,
//! mapped characters, shortening). Such collisions are resolved deterministically, never "last one
//! wins": the backend listed first in the configuration keeps the name, every other one gets
//! `-<8 hex digits of SHA-256(backend id, name)>` appended, and the collision is reported (log and
//! `/health`). Calls are then routed by exact lookup of the exposed name (see `mcp::catalog`), never by
//! splitting it at the separator.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use sha2::{Digest, Sha256};

use super::{spec::name_char, Backend, BackendSet};

/// MCP 2025-11-25's limit on tool names.
pub const MAX_NAME_LEN: usize = 128;

/// A client-visible name mapped back to its backend.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub backend: Arc<Backend>,
    /// The backend's own name for the item.
    pub name: String,
}

/// One backend item and the name the client sees.
#[derive(Debug, Clone)]
pub struct ExposedName {
    pub backend: Arc<Backend>,
    pub original: String,
    pub exposed: String,
}

/// A name several backends wanted, and how it was settled. Logged (once per change) by whoever keeps the
/// resulting index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The name they all wanted.
    pub name: String,
    /// (backend id, original name) that kept it.
    pub kept: (String, String),
    /// (backend id, original name, exposed name) of every other claimant.
    pub renamed: Vec<(String, String, String)>,
}

/// Every exposed name of one list, in backend and listing order, plus the collisions met on the way.
#[derive(Debug, Clone, Default)]
pub struct Exposure {
    pub names: Vec<ExposedName>,
    pub collisions: Vec<Collision>,
}

/// The first `digits` hex digits of SHA-256 over `parts` (each terminated by a NUL, so that
/// ("ab", "c") and ("a", "bc") differ).
fn hash_hex(parts: &[&str], digits: usize) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(digits);
    hex
}

/// `name` cut to leave room for `-<hash>` within the limit (all characters are ASCII by then).
fn with_suffix(name: &str, hash: &str) -> String {
    let keep = MAX_NAME_LEN - 1 - hash.len();
    format!("{}-{hash}", &name[..name.len().min(keep)])
}

/// One backend's claim on a candidate name: (position of the backend in the listings, original name).
type Claim<'a> = (usize, &'a str);

impl BackendSet {
    /// What every exposed name of `backend` starts with: its prefix and the separator (`gh_`), or nothing
    /// for an unprefixed backend. Grants such as `tool:gh_*` name a backend by it.
    pub fn exposure_prefix(&self, backend: &Backend) -> String {
        match backend.prefix.as_str() {
            "" => String::new(),
            prefix => format!("{prefix}{}", self.separator),
        }
    }

    /// The name a client sees for `name` of `backend`, before collisions are settled.
    pub fn expose(&self, backend: &Backend, name: &str) -> String {
        let raw = if backend.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}{}{name}", backend.prefix, self.separator)
        };
        let valid: String = raw.chars().map(|c| if name_char(c) { c } else { '_' }).collect();
        if valid.len() <= MAX_NAME_LEN {
            valid
        } else {
            with_suffix(&valid, &hash_hex(&[&raw], 8))
        }
    }

    /// Exposed names for complete listings (`(backend, original names)` in configuration order).
    pub fn expose_all(&self, listings: &[(Arc<Backend>, Vec<String>)]) -> Exposure {
        // Every claim, in configuration then listing order; a name a backend lists twice counts once.
        let mut claims: Vec<(String, Claim<'_>)> = Vec::new();
        for (position, (backend, names)) in listings.iter().enumerate() {
            let mut seen = HashSet::new();
            for name in names.iter().filter(|n| !n.is_empty() && seen.insert(n.as_str())) {
                claims.push((self.expose(backend, name), (position, name.as_str())));
            }
        }
        let mut by_candidate: BTreeMap<&str, Vec<Claim<'_>>> = BTreeMap::new();
        for (candidate, claim) in &claims {
            by_candidate.entry(candidate.as_str()).or_default().push(*claim);
        }
        let mut taken: HashSet<String> = by_candidate.keys().map(|k| k.to_string()).collect();
        let mut exposed_as: HashMap<Claim<'_>, String> = HashMap::new();
        let mut collisions = Vec::new();
        for (candidate, mut claimants) in by_candidate {
            // Configuration order first, then the original name: independent of listing order.
            claimants.sort_unstable();
            let winner = claimants[0];
            exposed_as.insert(winner, candidate.to_owned());
            if claimants.len() == 1 {
                continue;
            }
            let id = |position: usize| listings[position].0.id.clone();
            let mut renamed = Vec::new();
            for &(position, name) in &claimants[1..] {
                let backend_id = id(position);
                // A longer hash on the (astronomically unlikely) clash of the suffixed name itself.
                let unique = [8, 16, 32, 64].into_iter().find_map(|digits| {
                    let exposed = with_suffix(candidate, &hash_hex(&[&backend_id, name], digits));
                    taken.insert(exposed.clone()).then_some(exposed)
                });
                match unique {
                    Some(exposed) => {
                        renamed.push((backend_id, name.to_owned(), exposed.clone()));
                        exposed_as.insert((position, name), exposed);
                    }
                    None => tracing::error!(backend = %backend_id, name, "no unique exposed name; item left out"),
                }
            }
            collisions.push(Collision {
                name: candidate.to_owned(),
                kept: (id(winner.0), winner.1.to_owned()),
                renamed,
            });
        }
        let names = claims
            .iter()
            .filter_map(|(_, claim)| {
                let exposed = exposed_as.get(claim)?.clone();
                Some(ExposedName { backend: listings[claim.0].0.clone(), original: claim.1.to_owned(), exposed })
            })
            .collect();
        Exposure { names, collisions }
    }

    /// The backend whose prefix an exposed name carries (longest prefix wins). Not used to route calls
    /// (that is the catalog's exact lookup); it only tells which backend to blame when the catalog has
    /// no entry because that backend could not be listed.
    pub fn resolve(&self, exposed: &str) -> Option<Resolved> {
        self.iter()
            .filter_map(|b| {
                let rest = if b.prefix.is_empty() {
                    exposed
                } else {
                    exposed.strip_prefix(b.prefix.as_str())?.strip_prefix(self.separator.as_str())?
                };
                (!rest.is_empty()).then(|| (b.prefix.len(), Resolved { backend: b.clone(), name: rest.to_owned() }))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests;

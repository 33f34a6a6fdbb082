//! What one instance remembers to route MCP requests quickly: the index of exposed tool and prompt
//! names, which backend owns which resource, and the backend sessions of callers without a client
//! session; and the tools disabled gateway-wide. All of it but the switches is a cache: bounded, expiring, and rebuilt from the backends when missing, so no
//! instance holds state another instance needs.

mod catalog;
mod modern;
mod owners;
mod switches;

pub use catalog::{Index, Listed, Listing, Route, ToolCatalog};
pub use modern::ModernSessions;
pub use owners::ResourceOwners;
pub use switches::DisabledTools;

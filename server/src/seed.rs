//! Demo data every fresh server has: zones, service offerings and templates.

use serde_json::{json, Value};

/// The demo account's id.
pub const DEMO_ACCOUNT_ID: &str = "5b6e0c4c-1d7a-4d21-9a5b-6f0e9a1c0001";
/// The demo user's id.
pub const DEMO_USER_ID: &str = "5b6e0c4c-1d7a-4d21-9a5b-6f0e9a1c0002";

/// A named thing with an id, as the list commands show it.
pub struct Item {
    /// UUID.
    pub id: &'static str,
    /// `name`.
    pub name: &'static str,
    /// `displaytext`.
    pub display: &'static str,
}

/// Zones.
pub const ZONES: &[Item] = &[
    Item { id: "a1f2c3d4-0000-4000-8000-000000000001", name: "Zurich-1", display: "Zurich, CH" },
    Item { id: "a1f2c3d4-0000-4000-8000-000000000002", name: "Frankfurt-1", display: "Frankfurt, DE" },
];

/// Service offerings; `Huge Instance` exceeds every zone's capacity, so its deploys fail (533).
pub const SERVICE_OFFERINGS: &[Item] = &[
    Item { id: "b1f2c3d4-0000-4000-8000-000000000001", name: "Small Instance", display: "1 vCPU, 1 GB RAM" },
    Item { id: "b1f2c3d4-0000-4000-8000-000000000002", name: "Medium Instance", display: "2 vCPU, 4 GB RAM" },
    Item { id: "b1f2c3d4-0000-4000-8000-000000000003", name: "Huge Instance", display: "512 vCPU, 8 TB RAM" },
];

/// CPU count and memory (MB) of each offering, in [`SERVICE_OFFERINGS`] order.
pub const OFFERING_SIZES: &[(u32, u64)] = &[(1, 1024), (2, 4096), (512, 8 * 1024 * 1024)];

/// Templates.
pub const TEMPLATES: &[Item] = &[
    Item { id: "c1f2c3d4-0000-4000-8000-000000000001", name: "Debian 12", display: "Debian 12 (64-bit)" },
    Item { id: "c1f2c3d4-0000-4000-8000-000000000002", name: "Ubuntu 24.04", display: "Ubuntu 24.04 LTS" },
];

/// Finds an item by id (ids compare case-insensitively, as UUIDs do).
pub fn find<'a>(items: &'a [Item], id: &str) -> Option<(usize, &'a Item)> {
    items.iter().enumerate().find(|(_, item)| item.id.eq_ignore_ascii_case(id))
}

/// An item as a list command shows it.
pub fn item_json(item: &Item) -> Value {
    json!({"id": item.id, "name": item.name, "displaytext": item.display})
}

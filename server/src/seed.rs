//! Demo data every fresh server has: zones, offerings, templates and the demo user.

use serde_json::{json, Value};

use crate::cloudstack::Caller;
use crate::model::User;
use crate::AppState;

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

/// Service offerings; `Huge Instance` exceeds every host's capacity, so its deploys fail (533).
pub const SERVICE_OFFERINGS: &[Item] = &[
    Item { id: "b1f2c3d4-0000-4000-8000-000000000001", name: "Small Instance", display: "1 vCPU, 1 GB RAM" },
    Item { id: "b1f2c3d4-0000-4000-8000-000000000002", name: "Medium Instance", display: "2 vCPU, 4 GB RAM" },
    Item { id: "b1f2c3d4-0000-4000-8000-000000000003", name: "Huge Instance", display: "512 vCPU, 8 TB RAM" },
];

/// CPU count and memory (MB) of each offering, in [`SERVICE_OFFERINGS`] order.
pub const OFFERING_SIZES: &[(u32, u64)] = &[(1, 1024), (2, 4096), (512, 8 * 1024 * 1024)];

/// CPUs of the largest host: bigger offerings cannot be placed.
pub const HOST_CPUS: u32 = 64;

/// Disk offerings.
pub const DISK_OFFERINGS: &[Item] = &[
    Item { id: "d1f2c3d4-0000-4000-8000-000000000001", name: "Small", display: "Small Disk, 5 GB" },
    Item { id: "d1f2c3d4-0000-4000-8000-000000000002", name: "Medium", display: "Medium Disk, 20 GB" },
    Item { id: "d1f2c3d4-0000-4000-8000-000000000003", name: "Large", display: "Large Disk, 100 GB" },
];

/// Size (GB) of each disk offering, in [`DISK_OFFERINGS`] order.
pub const DISK_SIZES_GB: &[u64] = &[5, 20, 100];

/// Featured templates.
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

/// The service offerings with their sizes.
pub fn service_offerings_json() -> Vec<Value> {
    SERVICE_OFFERINGS
        .iter()
        .zip(OFFERING_SIZES)
        .map(|(item, (cpus, memory))| {
            json!({"id": item.id, "name": item.name, "displaytext": item.display, "cpunumber": cpus, "cpuspeed": 2000, "memory": memory})
        })
        .collect()
}

/// The disk offerings with their sizes.
pub fn disk_offerings_json() -> Vec<Value> {
    DISK_OFFERINGS
        .iter()
        .zip(DISK_SIZES_GB)
        .map(|(item, gb)| json!({"id": item.id, "name": item.name, "displaytext": item.display, "disksize": gb}))
        .collect()
}

/// A featured template as `listTemplates` shows it.
pub fn template_json(item: &Item) -> Value {
    json!({"id": item.id, "name": item.name, "displaytext": item.display, "isready": true, "ispublic": true,
           "isfeatured": true, "format": "QCOW2", "templatetype": "BUILTIN", "ostypename": item.display})
}

/// A template the caller may deploy from: featured, or its own and ready.
pub fn template_object(state: &AppState, caller: &Caller, id: &str) -> Option<Value> {
    if let Some((_, item)) = find(TEMPLATES, id) {
        return Some(template_json(item));
    }
    state
        .hub
        .resource(id)
        .filter(|r| r.kind == "template" && r.owner == caller.user.id && !r.removed)
        .filter(|r| r.object.get("isready") == Some(&Value::Bool(true)))
        .map(|r| r.object)
}

/// The demo user's credentials (flags or environment override each).
#[derive(Clone, PartialEq, Eq, clap::Args)]
pub struct DemoUser {
    /// Demo user's name.
    #[arg(long = "demo-user", env = "JOBWIRE_DEMO_USER", default_value = "demo")]
    pub username: String,
    /// Demo user's password.
    #[arg(long = "demo-password", env = "JOBWIRE_DEMO_PASSWORD", default_value = "demo-password")]
    pub password: String,
    /// Demo user's API key.
    #[arg(long = "demo-api-key", env = "JOBWIRE_DEMO_API_KEY", default_value = "demo-api-key-0123456789abcdef")]
    pub api_key: String,
    /// Demo user's secret key.
    #[arg(
        long = "demo-secret-key",
        env = "JOBWIRE_DEMO_SECRET_KEY",
        default_value = "demo-secret-key-do-not-use-in-production"
    )]
    pub secret_key: String,
}

impl std::fmt::Debug for DemoUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoUser").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Default for DemoUser {
    fn default() -> Self {
        DemoUser {
            username: "demo".into(),
            password: "demo-password".into(),
            api_key: "demo-api-key-0123456789abcdef".into(),
            secret_key: "demo-secret-key-do-not-use-in-production".into(),
        }
    }
}

impl DemoUser {
    /// The user record (stable ids, so a restart on the same database finds the same user).
    pub fn to_user(&self) -> User {
        User {
            id: "5b6e0c4c-1d7a-4d21-9a5b-6f0e9a1c0002".into(),
            account_id: "5b6e0c4c-1d7a-4d21-9a5b-6f0e9a1c0001".into(),
            username: self.username.clone(),
            password: self.password.clone(),
            account: self.username.clone(),
            domain: "/".into(),
            domain_id: "5b6e0c4c-1d7a-4d21-9a5b-6f0e9a1c0000".into(),
            api_key: self.api_key.clone(),
            secret_key: self.secret_key.clone(),
        }
    }
}

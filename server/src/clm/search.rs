//! Static pool search: the pools every server has, and `SearchResults` pages over them.
//!
//! Paging: `pageSize` 0 (or absent) means everything, answered as the seed shows it (`pageNo` 0,
//! `pageSize` 0); otherwise `pageNo` counts from 0, so `pageNo=1&pageSize=3` holds rows 3–5.
//! `totalRows` is always the number of all matching rows.

use jobwire::protocol::clm::SEARCH_RESULTS_CLASS;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::ClmError;

/// `cloudClass` of a static pool.
pub const STATIC_POOL_CLASS: &str = "com.bmc.cloud.model.beans.StaticPool";

/// The pod all pools are in.
const POD: &str = "/pod/e0f2c3d4-0000-4000-8000-000000000001";

/// guid, name, description, pooled object type (short class name), default pool, members.
const POOLS: &[(&str, &str, &str, &str, bool, u32)] = &[
    ("e1f2c3d4-0000-4000-8000-000000000001", "Zurich-1_default_pool", "Default pool for Zurich-1", "", true, 17),
    ("e1f2c3d4-0000-4000-8000-000000000002", "Zurich-1 compute", "Compute pool, Zurich-1", "VirtualCluster", false, 4),
    ("e1f2c3d4-0000-4000-8000-000000000003", "Zurich-1 datastores", "VDS pool, Zurich-1", "VirtualDatastore", false, 2),
    ("e1f2c3d4-0000-4000-8000-000000000004", "Frankfurt-1_default_pool", "Default pool for Frankfurt-1", "", true, 12),
    (
        "e1f2c3d4-0000-4000-8000-000000000005",
        "Frankfurt-1 compute",
        "Compute pool, Frankfurt-1",
        "VirtualCluster",
        false,
        3,
    ),
    (
        "e1f2c3d4-0000-4000-8000-000000000006",
        "Frankfurt-1 datastores",
        "VDS pool, Frankfurt-1",
        "VirtualDatastore",
        false,
        2,
    ),
    (
        "e1f2c3d4-0000-4000-8000-000000000007",
        "Shared networks",
        "Network pool, all zones",
        "NetworkContainer",
        false,
        1,
    ),
];

/// Every static pool, as `StaticPool` objects.
pub fn static_pools() -> Vec<Value> {
    POOLS
        .iter()
        .map(|&(guid, name, description, pooled_type, is_default, actual)| {
            let mut pool = json!({
                "cloudClass": STATIC_POOL_CLASS, "guid": guid, "name": name, "description": description,
                "isDefault": is_default, "actual": actual, "inPod": POD, "owner": "admin",
                "tokenID": name, "forNetworkContainer": [], "pooledObjects": [],
            });
            if let (false, Some(map)) = (pooled_type.is_empty(), pool.as_object_mut()) {
                map.insert("pooledObjectType".into(), json!(format!("com.bmc.cloud.model.beans.{pooled_type}")));
            }
            pool
        })
        .collect()
}

/// Which page of a search to answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Page number, from 0.
    pub page_no: u64,
    /// Rows per page; 0 = all rows.
    pub page_size: u64,
}

impl Page {
    /// The page named by the body fields `pageNo` / `pageSize` (non-negative integers).
    ///
    /// # Errors
    /// 400 for any other value.
    pub fn from_body(body: &Map<String, Value>) -> Result<Page, ClmError> {
        let number = |name: &str| match body.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(value) => value.as_u64().ok_or_else(|| not_a_count(name)),
        };
        Ok(Page { page_no: number("pageNo")?, page_size: number("pageSize")? })
    }

    /// `default` with `pageNo` / `pageSize` from a query string replacing its values.
    ///
    /// # Errors
    /// 400 for an unparsable query or values that are not non-negative integers.
    pub fn from_query(query: Option<&str>, default: Page) -> Result<Page, ClmError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|err| ClmError::bad_request(format!("Malformed query string: {err}")))?;
        let mut page = default;
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "pageNo" => &mut page.page_no,
                "pageSize" => &mut page.page_size,
                _ => continue,
            };
            *slot = value.trim().parse().map_err(|_| not_a_count(&name))?;
        }
        Ok(page)
    }
}

fn not_a_count(name: &str) -> ClmError {
    ClmError::bad_request(format!("{name} must be a non-negative integer"))
}

/// The rows of a finished search, kept with its job so `/result` answers what was found then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `guid` of the `SearchResults` object (the same for every page).
    pub guid: String,
    /// Every matching row.
    pub rows: Vec<Value>,
    /// The page the request body asked for (the synchronous answer's page, `/result`'s default).
    pub page: Page,
}

impl Snapshot {
    /// One page as a `SearchResults` object.
    pub fn results(&self, page: Page) -> Value {
        let rows: Vec<&Value> = if page.page_size == 0 {
            self.rows.iter().collect()
        } else {
            let skip = usize::try_from(page.page_no.saturating_mul(page.page_size)).unwrap_or(usize::MAX);
            let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
            self.rows.iter().skip(skip).take(take).collect()
        };
        json!({
            "cloudClass": SEARCH_RESULTS_CLASS, "guid": self.guid,
            "pageNo": page.page_no, "pageSize": page.page_size,
            "totalRows": self.rows.len(), "results": rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot { guid: "g".into(), rows: static_pools(), page: Page::default() }
    }

    #[test]
    fn pages_from_zero_and_all_rows_for_size_zero() {
        let all = snapshot().results(Page::default());
        assert_eq!((all["totalRows"].as_u64(), all["results"].as_array().map(Vec::len)), (Some(7), Some(7)));
        let last = snapshot().results(Page { page_no: 2, page_size: 3 });
        assert_eq!(last["results"].as_array().map(Vec::len), Some(1));
        assert_eq!(last["results"][0]["name"], "Shared networks");
        let beyond = snapshot().results(Page { page_no: u64::MAX, page_size: u64::MAX });
        assert_eq!(beyond["results"].as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn paging_fields_are_checked() {
        let body = json!({"pageNo": 1, "pageSize": 2});
        let page = body.as_object().map(Page::from_body);
        assert_eq!(page, Some(Ok(Page { page_no: 1, page_size: 2 })));
        for bad in [json!({"pageNo": -1}), json!({"pageSize": "2"}), json!({"pageSize": 1.5})] {
            assert!(bad.as_object().map(Page::from_body).is_some_and(|p| p.is_err()), "{bad}");
        }
        let default = Page { page_no: 0, page_size: 5 };
        assert_eq!(Page::from_query(Some("pageNo=3&x=y"), default), Ok(Page { page_no: 3, page_size: 5 }));
        assert_eq!(Page::from_query(None, default), Ok(default));
        assert!(Page::from_query(Some("pageSize=-1"), default).is_err());
        assert!(Page::from_query(Some("pageNo=%FF"), default).is_err());
    }
}

//! Persistence in SQLite: every user, session, job and resource is written through, so a
//! restart loses nothing. Reads are served from memory by [`crate::hub::Hub`]; this module only
//! saves and loads.
//!
//! Rows keep their data as JSON (`serde`) next to the few columns queries need: the schema
//! stays small and the model can grow without migrations.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{Job, Resource, User};

/// A store failure: the database could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A job with this id exists already (a caller's `customjobid` used twice).
    #[error("job {0} exists already")]
    DuplicateJob(String),
    /// A row's JSON did not decode (a file from another version, or damaged).
    #[error("corrupt row in {table}: {error}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// The decoding error.
        error: serde_json::Error,
    },
}

fn put_in(conn: &Connection, table: &'static str, id: &str, data: &impl serde::Serialize) -> Result<(), StoreError> {
    let json = serde_json::to_string(data).map_err(|error| StoreError::Corrupt { table, error })?;
    conn.execute(&format!("INSERT OR REPLACE INTO {table} (id, data) VALUES (?1, ?2)"), params![id, json])?;
    Ok(())
}

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The `sessionkey`.
    pub key: String,
    /// Its user.
    pub user_id: String,
    /// The `JSESSIONID` cookie value that goes with it.
    pub jsessionid: String,
    /// Expiry, Unix milliseconds.
    pub expires_ms: u64,
}

/// Everything stored, as loaded at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Users.
    pub users: Vec<User>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// Resources.
    pub resources: Vec<Resource>,
}

/// The SQLite database.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`; `None` keeps it in memory.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the file cannot be opened or the schema created.
    pub fn open(path: Option<&Path>) -> Result<Self, StoreError> {
        let conn = match path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        // WAL + NORMAL: durable across process crashes, fast enough to write through on every
        // change (a few tens of microseconds).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, data TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, user_id TEXT NOT NULL, jsessionid TEXT NOT NULL, expires_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, data TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS resources (id TEXT PRIMARY KEY, data TEXT NOT NULL);",
        )?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn put(&self, table: &'static str, id: &str, data: &impl serde::Serialize) -> Result<(), StoreError> {
        put_in(&self.conn(), table, id, data)
    }

    fn all<T: serde::de::DeserializeOwned>(&self, table: &'static str) -> Result<Vec<T>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!("SELECT data FROM {table} ORDER BY rowid"))?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|row| {
            let text = row?;
            serde_json::from_str(&text).map_err(|error| StoreError::Corrupt { table, error })
        })
        .collect()
    }

    /// Saves a user.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn save_user(&self, user: &User) -> Result<(), StoreError> {
        self.put("users", &user.id, user)
    }

    /// Saves a job.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn save_job(&self, job: &Job) -> Result<(), StoreError> {
        self.put("jobs", &job.id, job)
    }

    /// Saves a resource.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn save_resource(&self, resource: &Resource) -> Result<(), StoreError> {
        self.put("resources", &resource.id, resource)
    }

    /// Saves jobs and resources together, in one transaction: a crash leaves all of them
    /// written or none (a created resource never outlives its job's record, or the reverse).
    ///
    /// # Errors
    /// [`StoreError`] when a write fails; nothing is written then.
    pub fn save_together(&self, jobs: &[&Job], resources: &[&Resource]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for resource in resources {
            put_in(&tx, "resources", &resource.id, resource)?;
        }
        for job in jobs {
            put_in(&tx, "jobs", &job.id, job)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Saves a session.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn save_session(&self, session: &Session) -> Result<(), StoreError> {
        let expires = i64::try_from(session.expires_ms).unwrap_or(i64::MAX);
        self.conn().execute(
            "INSERT OR REPLACE INTO sessions (key, user_id, jsessionid, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![session.key, session.user_id, session.jsessionid, expires],
        )?;
        Ok(())
    }

    /// Deletes a session.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM sessions WHERE key = ?1", params![key])?;
        Ok(())
    }

    /// Whether the database holds any user yet (a fresh file gets the demo data).
    ///
    /// # Errors
    /// [`StoreError`] when the read fails.
    pub fn has_users(&self) -> Result<bool, StoreError> {
        Ok(self.conn().query_row("SELECT 1 FROM users LIMIT 1", [], |_| Ok(())).optional()?.is_some())
    }

    /// Loads everything.
    ///
    /// # Errors
    /// [`StoreError`] when a read fails or a row does not decode.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let sessions = {
            let conn = self.conn();
            let mut statement = conn.prepare("SELECT key, user_id, jsessionid, expires_ms FROM sessions")?;
            let rows = statement.query_map([], |row| {
                Ok(Session {
                    key: row.get(0)?,
                    user_id: row.get(1)?,
                    jsessionid: row.get(2)?,
                    expires_ms: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        Ok(Loaded { users: self.all("users")?, sessions, jobs: self.all("jobs")?, resources: self.all("resources")? })
    }
}

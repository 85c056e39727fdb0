//! The writes of `latch import-django`, and reading a Django SQLite
//! database. The rules (what to insert, update or refuse) are in
//! `auth::django_import`; it runs them inside [`in_transaction`], so an
//! import writes everything or nothing.

use std::fmt;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params, types::ValueRef};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// A user as the import writes it: Django's id, latch's username key.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub id: i64,
    pub username: String,
    pub key: String,
    /// Django's encoded hash, kept until the first login replaces it.
    pub password: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

impl fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Runs `f` in one immediate transaction: on any error nothing it wrote
/// stays.
pub fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// Inserts a user with Django's id.
pub fn insert_user(conn: &Connection, user: &ImportedUser) -> Result<()> {
    conn.execute(
        "INSERT INTO users (id, username, username_key, password, is_active, is_staff,
                            date_joined, last_login)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            user.id,
            user.username,
            user.key,
            user.password,
            user.is_active,
            user.is_staff,
            user.date_joined,
            user.last_login
        ],
    )?;
    Ok(())
}

/// Overwrites an imported user's Django fields with a newer dump's.
pub fn update_user(conn: &Connection, user: &ImportedUser) -> Result<()> {
    conn.execute(
        "UPDATE users SET password = ?2, is_active = ?3, is_staff = ?4, date_joined = ?5,
                          last_login = ?6
         WHERE id = ?1",
        params![
            user.id,
            user.password,
            user.is_active,
            user.is_staff,
            user.date_joined,
            user.last_login
        ],
    )?;
    Ok(())
}

/// Other users whose names share `key` (look-alikes), as `(id, username)`.
pub fn look_alikes(conn: &Connection, key: &str, id: i64) -> Result<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare("SELECT id, username FROM users WHERE username_key = ?1 AND id <> ?2")?;
    let rows = stmt
        .query_map(params![key, id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Makes sure new users get ids above `at_least`: ids Django handed out,
/// even to users since deleted, are never given to someone else.
pub fn reserve_ids(conn: &Connection, at_least: i64) -> Result<bool> {
    let current: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'users'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match current {
        Some(seq) if seq >= at_least => Ok(false),
        Some(_) => {
            conn.execute(
                "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'users'",
                [at_least],
            )?;
            Ok(true)
        }
        None => {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('users', ?1)",
                [at_least],
            )?;
            Ok(true)
        }
    }
}

/// A Django SQLite database, read as `dumpdata` would print it.
pub struct DjangoTables {
    /// `{"model", "pk", "fields"}` records of the user model and of Simple
    /// JWT's `token_blacklist`.
    pub records: Vec<Value>,
    /// The highest user id Django ever handed out (`sqlite_sequence`).
    pub user_sequence: Option<i64>,
}

const OUTSTANDING: &str = "token_blacklist_outstandingtoken";
const BLACKLISTED: &str = "token_blacklist_blacklistedtoken";
const USER_COLUMNS: [&str; 6] = [
    "username",
    "password",
    "is_active",
    "is_staff",
    "date_joined",
    "last_login",
];

/// Reads the user model's table (the one Simple JWT's tokens point at, else
/// `auth_user`, else the one table with a user model's columns) and the
/// token blacklist, read-only.
pub fn read_django(path: &Path) -> Result<DjangoTables> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let users = user_table(&conn)?;
    let label = if users == "auth_user" {
        "auth.user"
    } else {
        &users
    };
    let mut records = table_records(&conn, &users, label)?;
    for (table, model) in [
        (OUTSTANDING, "token_blacklist.outstandingtoken"),
        (BLACKLISTED, "token_blacklist.blacklistedtoken"),
    ] {
        if has_table(&conn, table)? {
            records.extend(table_records(&conn, table, model)?);
        }
    }
    let user_sequence = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [&users],
            |r| r.get(0),
        )
        .optional()
        .unwrap_or(None);
    Ok(DjangoTables {
        records,
        user_sequence,
    })
}

fn has_table(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn user_table(conn: &Connection) -> Result<String> {
    if has_table(conn, OUTSTANDING)? {
        let target: Option<String> = conn
            .query_row(
                &format!("SELECT \"table\" FROM pragma_foreign_key_list('{OUTSTANDING}') WHERE \"from\" = 'user_id'"),
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(table) = target {
            return Ok(table);
        }
    }
    if has_table(conn, "auth_user")? {
        return Ok("auth_user".into());
    }
    let tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut found = Vec::new();
    for table in tables {
        let columns = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([&table], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if USER_COLUMNS
            .iter()
            .all(|c| columns.iter().any(|have| have == c))
        {
            found.push(table);
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::BadRequest(
            "no user table (with username, password, is_active, is_staff, date_joined, last_login)"
                .into(),
        )),
        many => Err(Error::BadRequest(format!(
            "several tables look like a user model ({}); dump the right one with `manage.py dumpdata`",
            many.join(", ")
        ))),
    }
}

/// Every row of `table` as a `dumpdata` record labelled `model`: `id` is
/// the pk, `<fk>_id` columns are named `<fk>`, and `is_*` integers are
/// booleans, as Django's serializer writes them.
fn table_records(conn: &Connection, table: &str, model: &str) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "")))?;
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let rows = stmt.query_map([], |row| {
        let mut pk = Value::Null;
        let mut fields = Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) if name.starts_with("is_") && (n == 0 || n == 1) => {
                    Value::Bool(n == 1)
                }
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(f) => json!(f),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => Value::String("<blob>".into()),
            };
            let field = match name.as_str() {
                "id" => {
                    pk = value;
                    continue;
                }
                "user_id" => "user",
                "token_id" => "token",
                other => other,
            };
            fields.insert(field.to_string(), value);
        }
        Ok(json!({"model": model, "pk": pk, "fields": fields}))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

//! Reading what `latch import-django` is given: `manage.py dumpdata` JSON
//! or a Django SQLite database (told apart by content), checked record by
//! record. Every error names the file, the record and the field; nothing
//! here writes (see `auth::django_import`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

use crate::auth::{tokens, usernames};
use crate::error::{Error, Result};
use crate::store::import as store;

const USER_FIELDS: [&str; 6] = [
    "username",
    "password",
    "is_active",
    "is_staff",
    "date_joined",
    "last_login",
];
const OUTSTANDING: &str = "token_blacklist.outstandingtoken";
const BLACKLISTED: &str = "token_blacklist.blacklistedtoken";

/// A user as Django had it; the password is never shown.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct DjangoUser {
    pub(crate) id: i64,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) is_active: bool,
    pub(crate) is_staff: bool,
    pub(crate) date_joined: i64,
    pub(crate) last_login: Option<i64>,
}

impl fmt::Debug for DjangoUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (id {})", self.username, self.id)
    }
}

pub(crate) struct Outstanding {
    pub(crate) user: Option<i64>,
    pub(crate) jti: String,
    /// The `user_id` claim of the token itself, which survives the user's
    /// deletion in Django (the row's `user` becomes null).
    pub(crate) claimed_user: Option<String>,
    pub(crate) created_at: Option<i64>,
    pub(crate) expires_at: i64,
}

/// One file, read and checked.
#[derive(Default)]
pub(crate) struct Dump {
    pub(crate) users: Vec<(String, DjangoUser)>,
    /// Outstanding tokens by pk, within this file.
    pub(crate) outstanding: HashMap<i64, Outstanding>,
    /// The outstanding pks that are blacklisted, with where they were read.
    pub(crate) blacklisted: Vec<(String, i64)>,
    pub(crate) other_models: BTreeMap<String, usize>,
    pub(crate) sequence: Option<i64>,
}

/// One file: a Django SQLite database or `dumpdata` JSON, by content.
pub(crate) fn read(path: &Path) -> Result<Dump> {
    let name = path.display().to_string();
    let bad = |why: String| Error::BadRequest(format!("{name}: {why}"));
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.starts_with(b"SQLite format 3\0") {
        let tables = store::read_django(path)
            .map_err(|e| bad(format!("a SQLite database, but not a Django one: {e}")))?;
        let mut dump = records(&name, &tables.records)?;
        dump.sequence = tables.user_sequence;
        return Ok(dump);
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_eof() {
            bad(format!("truncated: the JSON ends early ({e})"))
        } else {
            bad(format!("not JSON: {e}"))
        }
    })?;
    let Value::Array(list) = value else {
        return Err(bad(
            "not a Django dump: `manage.py dumpdata` writes a list of records".into(),
        ));
    };
    records(&name, &list)
}

/// Sorts `dumpdata` records into users, tokens and the rest.
fn records(file: &str, list: &[Value]) -> Result<Dump> {
    let mut dump = Dump::default();
    for (i, record) in list.iter().enumerate() {
        let at = format!("{file}: record {}", i + 1);
        let (Some(model), Some(fields)) = (
            record.get("model").and_then(Value::as_str),
            record.get("fields").and_then(Value::as_object),
        ) else {
            return Err(Error::BadRequest(format!(
                "{at}: not a Django dump record (it needs \"model\" and \"fields\")"
            )));
        };
        let pk = record.get("pk").cloned().unwrap_or(Value::Null);
        let at = format!("{at} ({model}, pk {pk})");
        let r = Record { at, fields, pk };
        let is_user = model == "auth.user" || USER_FIELDS.iter().all(|f| fields.contains_key(*f));
        match model {
            OUTSTANDING => {
                let pk = r.pk()?;
                dump.outstanding.insert(pk, outstanding(&r)?);
            }
            BLACKLISTED => dump.blacklisted.push((r.at.clone(), r.integer("token")?)),
            _ if is_user => dump.users.push((r.at.clone(), user(&r)?)),
            _ => *dump.other_models.entry(model.to_string()).or_default() += 1,
        }
    }
    Ok(dump)
}

/// A record's fields, and where it was read, for errors.
struct Record<'a> {
    at: String,
    fields: &'a Map<String, Value>,
    pk: Value,
}

impl Record<'_> {
    fn wrong(&self, field: &str, expected: &str) -> Error {
        let found = match self.fields.get(field) {
            None if field == "pk" => self.pk.to_string(),
            None => return Error::BadRequest(format!("{}: field {field:?} is missing", self.at)),
            // Whatever sits in the password column is never echoed.
            Some(_) if field == "password" => "another type".to_string(),
            Some(value) => value.to_string(),
        };
        let found: String = found.chars().take(40).collect();
        Error::BadRequest(format!(
            "{}: field {field:?}: expected {expected}, found {found}",
            self.at
        ))
    }

    fn pk(&self) -> Result<i64> {
        self.pk
            .as_i64()
            .ok_or_else(|| self.wrong("pk", "an integer id"))
    }

    fn integer(&self, field: &str) -> Result<i64> {
        let value = self.fields.get(field).and_then(Value::as_i64);
        value.ok_or_else(|| self.wrong(field, "an integer"))
    }

    fn string(&self, field: &str) -> Result<&str> {
        let value = self.fields.get(field).and_then(Value::as_str);
        value.ok_or_else(|| self.wrong(field, "a string"))
    }

    fn boolean(&self, field: &str) -> Result<bool> {
        let value = self.fields.get(field).and_then(Value::as_bool);
        value.ok_or_else(|| self.wrong(field, "true or false"))
    }

    fn time(&self, field: &str) -> Result<i64> {
        let value = self.fields.get(field).and_then(Value::as_str);
        value
            .and_then(unix_time)
            .ok_or_else(|| self.wrong(field, "a date and time"))
    }

    fn optional_time(&self, field: &str) -> Result<Option<i64>> {
        match self.fields.get(field) {
            Some(Value::Null) => Ok(None),
            _ => self.time(field).map(Some),
        }
    }
}

fn user(r: &Record<'_>) -> Result<DjangoUser> {
    let raw = r.string("username")?;
    let username = usernames::normalize(raw);
    if username.is_empty() {
        return Err(r.wrong("username", "a non-empty name"));
    }
    Ok(DjangoUser {
        id: r.pk()?,
        username,
        password: r.string("password")?.to_string(),
        is_active: r.boolean("is_active")?,
        is_staff: r.boolean("is_staff")?,
        date_joined: r.time("date_joined")?,
        last_login: r.optional_time("last_login")?,
    })
}

fn outstanding(r: &Record<'_>) -> Result<Outstanding> {
    let user = match r.fields.get("user") {
        Some(Value::Null) => None,
        _ => Some(r.integer("user")?),
    };
    let token = r.string("token")?;
    let claimed_user = token
        .split('.')
        .nth(1)
        .and_then(tokens::decode_segment)
        .and_then(|claims| match claims.get("user_id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
    Ok(Outstanding {
        user,
        jti: r.string("jti")?.to_string(),
        claimed_user,
        created_at: r.optional_time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

/// Django's datetimes as `dumpdata` and its SQLite backend write them:
/// `2026-11-30T23:34:34.956Z`, `2026-11-30 23:34:34.956123`, or with a
/// `+01:00` offset. A time without a zone is read as UTC.
fn unix_time(text: &str) -> Option<i64> {
    let (main, offset) = match text.strip_suffix('Z') {
        Some(main) => (main, 0),
        None if text.len() > 19 && matches!(text.as_bytes()[text.len() - 6], b'+' | b'-') => {
            let (main, zone) = text.split_at(text.len() - 6);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
            (main, sign * minutes * 60)
        }
        None => (text, 0),
    };
    if main.len() < 19 || !matches!(main.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    let t = humantime::parse_rfc3339_weak(main).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(i64::try_from(secs).ok()? - offset)
}

#[cfg(test)]
mod tests {
    use super::unix_time;

    #[test]
    fn django_datetimes() {
        assert_eq!(unix_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(unix_time("1970-01-01T00:01:00.123Z"), Some(60));
        assert_eq!(unix_time("1970-01-01 00:01:00.123456"), Some(60));
        assert_eq!(unix_time("1970-01-01T01:01:00+01:00"), Some(60));
        assert_eq!(unix_time("1970-01-01T00:00:00-00:01"), Some(60));
        assert_eq!(unix_time("yesterday"), None);
        assert_eq!(unix_time("1970-01-01"), None);
    }
}

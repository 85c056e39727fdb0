//! `latch import-django`: moving a Django + Simple JWT deployment to latch
//! without logging anyone out.
//!
//! Each file is `manage.py dumpdata` JSON or a Django SQLite database, told
//! apart by content. Every file is read and checked before anything is
//! written, then one transaction applies them all:
//! - users keep their Django ids, so the `user_id` in tokens Django issued
//!   names the same person; a clash with a different latch user is an
//!   error naming both, and nothing is written;
//! - passwords keep Django's hash until the first login replaces it with
//!   argon2id (`auth::django_hashes`); a format latch cannot verify is
//!   reported here and the user imported without a usable password;
//! - blacklisted refresh tokens go into the ledger as revoked; outstanding
//!   ones need nothing, since a foreign token refreshes once anyway;
//! - ids up to the highest Django handed out are reserved, so no new user
//!   inherits a deleted Django user's tokens.
//!
//! Look-alike names (one username key) that Django allowed are both kept:
//! logins look names up exactly, and only new names are held to the key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use crate::auth::django_dump::{DjangoUser, Dump, Outstanding, read};
use crate::auth::{django_hashes, usernames};
use crate::error::{Error, Result};
use crate::state::App;
use crate::store::import::{self as store, ImportedUser};
use crate::store::ledger::{self, Issued};
use crate::store::{Connection, sessions, users};

/// What an import did, for the person who ran it.
#[derive(Debug, Default)]
pub struct Report {
    pub users: Counts,
    pub tokens: Counts,
    /// Records of other models, by model, left alone.
    pub other_models: BTreeMap<String, usize>,
    /// Why each user or token was skipped or needs attention.
    pub notes: Vec<String>,
    /// The id new latch users start above, when this import raised it.
    pub reserved_ids: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub imported: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

impl Report {
    /// Whether the import wrote anything.
    pub fn changed(&self) -> bool {
        self.users.imported + self.users.updated + self.tokens.imported + self.tokens.updated > 0
            || self.reserved_ids.is_some()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (what, c) in [("users", self.users), ("tokens", self.tokens)] {
            writeln!(
                f,
                "{what}: {} imported, {} updated, {} unchanged, {} skipped",
                c.imported, c.updated, c.unchanged, c.skipped
            )?;
        }
        if let Some(id) = self.reserved_ids {
            writeln!(f, "new latch users get ids above {id}")?;
        }
        for (model, n) in &self.other_models {
            writeln!(f, "left alone: {n} {model} record(s), not users or tokens")?;
        }
        for note in &self.notes {
            writeln!(f, "- {note}")?;
        }
        if !self.changed() {
            writeln!(f, "nothing changed: all of it was already imported")?;
        }
        Ok(())
    }
}

/// A revoked ledger row to write.
struct Revoked {
    jti: String,
    user_id: String,
    issued: i64,
    expires: i64,
}

/// Everything to write, checked and merged across files.
#[derive(Default)]
struct Plan {
    users: Vec<DjangoUser>,
    revoked: Vec<Revoked>,
    highest_id: i64,
}

/// Reads every file, then applies them in one transaction.
pub async fn run(app: &App, files: &[PathBuf]) -> Result<Report> {
    let now = app.now();
    let mut report = Report::default();
    let mut dumps = Vec::new();
    for file in files {
        dumps.push(read(file)?);
    }
    let plan = plan(dumps, now, &mut report)?;
    app.db
        .run(move |conn| store::in_transaction(conn, |tx| apply(tx, &plan, now, report)))
        .await
}

/// Merges the files: one record per user id and per name, every
/// blacklisted token found, ids to reserve.
fn plan(dumps: Vec<Dump>, now: i64, report: &mut Report) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut by_id: HashMap<i64, (String, DjangoUser)> = HashMap::new();
    let mut by_name: HashMap<String, String> = HashMap::new();
    let all_outstanding: Vec<&HashMap<i64, Outstanding>> =
        dumps.iter().map(|d| &d.outstanding).collect();
    for dump in &dumps {
        plan.highest_id = plan.highest_id.max(dump.sequence.unwrap_or(0));
        for (model, n) in &dump.other_models {
            *report.other_models.entry(model.clone()).or_default() += n;
        }
        for (at, user) in &dump.users {
            if let Some((first, seen)) = by_id.get(&user.id) {
                if seen != user {
                    return Err(Error::BadRequest(format!(
                        "{at} and {first} are both user id {} but differ",
                        user.id
                    )));
                }
                report.users.skipped += 1;
                report.notes.push(format!("{at}: the same as {first}"));
                continue;
            }
            if let Some(first) = by_name.insert(user.username.clone(), at.clone()) {
                return Err(Error::BadRequest(format!(
                    "{at} and {first} are both named {:?}",
                    user.username
                )));
            }
            by_id.insert(user.id, (at.clone(), user.clone()));
            plan.highest_id = plan.highest_id.max(user.id);
            plan.users.push(user.clone());
        }
        for token in dump.outstanding.values() {
            let claimed = token.claimed_user.as_deref().and_then(|u| u.parse().ok());
            let highest = token.user.max(claimed).unwrap_or(0);
            plan.highest_id = plan.highest_id.max(highest);
        }
    }
    plan_tokens(&dumps, &all_outstanding, now, &mut plan, report)?;
    plan.users.sort_by_key(|u| u.id);
    Ok(plan)
}

/// Each blacklisted token's outstanding record (in its own file first),
/// to be written as revoked unless it has expired.
fn plan_tokens(
    dumps: &[Dump],
    all: &[&HashMap<i64, Outstanding>],
    now: i64,
    plan: &mut Plan,
    report: &mut Report,
) -> Result<()> {
    let mut blacklisted = std::collections::HashSet::new();
    for dump in dumps {
        for (at, pk) in &dump.blacklisted {
            let token = dump
                .outstanding
                .get(pk)
                .or_else(|| all.iter().find_map(|o| o.get(pk)))
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "{at}: blacklists outstanding token {pk}, which is in none of the files; \
                         dump token_blacklist.outstandingtoken too"
                    ))
                })?;
            if !blacklisted.insert(token.jti.clone()) {
                continue;
            }
            if token.expires_at <= now {
                report.tokens.skipped += 1;
                report.notes.push(format!("{at}: expired, refused anyway"));
                continue;
            }
            let user_id = token.user.map(|u| u.to_string());
            plan.revoked.push(Revoked {
                jti: token.jti.clone(),
                user_id: user_id.or(token.claimed_user.clone()).unwrap_or_default(),
                issued: token.created_at.unwrap_or(now),
                expires: token.expires_at,
            });
        }
    }
    let (mut live, mut expired) = (0, 0);
    for token in dumps.iter().flat_map(|d| d.outstanding.values()) {
        if blacklisted.contains(&token.jti) {
            continue;
        }
        if token.expires_at > now {
            live += 1;
        } else {
            expired += 1;
        }
    }
    report.tokens.skipped += live + expired;
    if live > 0 {
        report.notes.push(format!(
            "{live} outstanding refresh token(s) skipped, as they need nothing: each \
             refreshes once in latch, as any token signed with the shared key"
        ));
    }
    if expired > 0 {
        report
            .notes
            .push(format!("{expired} expired outstanding token(s) skipped"));
    }
    Ok(())
}

/// Writes the plan; runs inside one transaction.
fn apply(tx: &Connection, plan: &Plan, now: i64, mut report: Report) -> Result<Report> {
    for user in &plan.users {
        apply_user(tx, user, &mut report)?;
    }
    for token in &plan.revoked {
        apply_token(tx, token, now, &mut report)?;
    }
    if store::reserve_ids(tx, plan.highest_id)? {
        report.reserved_ids = Some(plan.highest_id);
    }
    Ok(report)
}

fn apply_user(tx: &Connection, user: &DjangoUser, report: &mut Report) -> Result<()> {
    let password = usable_password(user, report);
    let mut row = ImportedUser {
        id: user.id,
        username: user.username.clone(),
        key: usernames::key(&user.username),
        password,
        is_active: user.is_active,
        is_staff: user.is_staff,
        date_joined: user.date_joined,
        last_login: user.last_login,
    };
    let clash = |latch: &users::User| {
        Error::Conflict(format!(
            "Django user {:?} (id {}) clashes with latch user {:?} (id {}); nothing was imported",
            user.username, user.id, latch.username, latch.id
        ))
    };
    match users::by_id(tx, user.id)? {
        Some(current) if current.username != user.username => return Err(clash(&current)),
        Some(current) => {
            // A password set or re-hashed in latch is newer than Django's.
            if current.password.starts_with('$') {
                row.password = current.password.clone();
            }
            row.last_login = current.last_login.max(row.last_login);
            let same = current.password == row.password
                && current.is_active == row.is_active
                && current.is_staff == row.is_staff
                && current.date_joined == row.date_joined
                && current.last_login == row.last_login;
            if same {
                report.users.unchanged += 1;
            } else {
                store::update_user(tx, &row)?;
                report.users.updated += 1;
            }
            return Ok(());
        }
        None => {}
    }
    if let Some(other) = users::by_name(tx, &user.username)? {
        return Err(clash(&other));
    }
    store::insert_user(tx, &row)?;
    report.users.imported += 1;
    for (id, name) in store::look_alikes(tx, &row.key, user.id)? {
        report.notes.push(format!(
            "{:?} (id {}) looks like {name:?} (id {id}); both kept, and each logs in \
             with their exact name",
            user.username, user.id
        ));
    }
    Ok(())
}

/// Django's hash when latch can verify it; otherwise an unusable password,
/// with a note saying why.
fn usable_password(user: &DjangoUser, report: &mut Report) -> String {
    let who = format!("{:?} (id {})", user.username, user.id);
    if user.password.starts_with(django_hashes::UNUSABLE_PREFIX) {
        report.notes.push(format!(
            "{who} has an unusable password in Django: no login until one is set \
             (`latch user passwd`)"
        ));
        return user.password.clone();
    }
    match django_hashes::parse(&user.password) {
        Ok(_) => user.password.clone(),
        Err(unsupported) => {
            report.notes.push(format!(
                "{who}: {unsupported}; imported without a usable password \
                 (set one with `latch user passwd`)"
            ));
            format!("!unsupported {}", unsupported.algorithm)
        }
    }
}

fn apply_token(tx: &Connection, token: &Revoked, now: i64, report: &mut Report) -> Result<()> {
    match ledger::entry(tx, &token.jti)? {
        Some(entry) if entry.revoked => report.tokens.unchanged += 1,
        Some(entry) => {
            // Adopted in latch, then blacklisted in Django: its session ends.
            ledger::revoke_token(tx, &token.jti)?;
            if let Some(session) = &entry.session {
                sessions::revoke(tx, session)?;
            }
            report.tokens.updated += 1;
        }
        None => {
            let row = Issued {
                jti: &token.jti,
                user_id: &token.user_id,
                session: None,
                issued: token.issued,
                expires: token.expires,
            };
            ledger::record_foreign(tx, &row, now, true)?;
            report.tokens.imported += 1;
        }
    }
    Ok(())
}

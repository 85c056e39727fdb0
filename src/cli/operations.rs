//! The operations commands: the audit trail, cleanup, backup, and the
//! import from Django.

use crate::auth::audit;
use crate::auth::pairs;
use crate::config::Settings;
use crate::state::App;
use crate::store::audit::Filter;

use super::{Outcome, find, text};

pub(super) async fn audit_trail(
    app: &App,
    user: Option<String>,
    since: Option<String>,
    event: Option<String>,
    limit: i64,
) -> Outcome {
    let mut filter = Filter::default();
    if let Some(user) = user {
        filter.user_id = Some(match user.parse::<i64>() {
            Ok(id) => id,
            Err(_) => find(app, &user).await?.id,
        });
    }
    if let Some(since) = since {
        let at = audit::since(app.now(), &since)
            .ok_or_else(|| format!("--since {since:?}: give RFC 3339 or a duration such as 1d"))?;
        filter.since = Some(at);
    }
    if let Some(event) = event {
        let known =
            audit::Event::named(&event).ok_or_else(|| format!("no event named {event:?}"))?;
        filter.event = Some(known.name().to_string());
    }
    let (count, events) = audit::list(app, filter, 0, limit.max(0))
        .await
        .map_err(text)?;
    for e in &events {
        let who = |name: &Option<String>, id: Option<i64>| match (name, id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => format!("#{id}"),
            (None, None) => "-".into(),
        };
        println!(
            "{}  {:<22} user={} actor={} ip={} {}",
            e.at,
            e.event,
            who(&e.username, e.user_id),
            who(&e.actor, e.actor_id),
            if e.ip.is_empty() { "-" } else { &e.ip },
            e.detail
        );
    }
    println!("{} of {count} event(s)", events.len());
    Ok(())
}

pub(super) async fn flush_expired(app: &App) -> Outcome {
    let (tokens, sessions, events) = pairs::flush_expired(app).await.map_err(text)?;
    println!(
        "removed {tokens} expired token record(s), {sessions} session(s) and {events} audit event(s)"
    );
    Ok(())
}

/// Works on the file alone: no pool, no writer, no migration of the source.
pub(super) fn backup(target: &std::path::Path) -> Outcome {
    let settings =
        Settings::from_figment(&crate::figment()).map_err(|e| format!("invalid setting: {e}"))?;
    let report = crate::store::backup::copy(&settings.database, target).map_err(text)?;
    println!(
        "backed up {} to {}: {} bytes, schema version {}, integrity ok",
        settings.database.display(),
        target.display(),
        report.bytes,
        report.schema_version
    );
    Ok(())
}

// ---- import-django: moving from Django + Simple JWT (README, "Moving from Django").

pub(super) async fn import_django(app: &App, files: &[std::path::PathBuf]) -> Outcome {
    let report = crate::auth::django_import::run(app, files)
        .await
        .map_err(|e| format!("import-django: {}; nothing was written", text(e)))?;
    print!("{report}");
    Ok(())
}

//! The command line: `serve` (the default), and commands that work on the
//! configured database directly, with or without a server running. Each
//! subcommand is one function calling the same `auth/` use cases the
//! routes call.

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};

mod keys;
mod operations;
mod users;

use operations::{audit_trail, backup, flush_expired, import_django};
use users::{user_add, user_change, user_delete, user_list, user_passwd};

use crate::auth::accounts::{self, UserChanges};
use crate::auth::audit::Actor;
use crate::auth::pairs;
use crate::config::Settings;
use crate::error::Error;
use crate::state::App;
use crate::store::sessions::ClientInfo;
use crate::store::users::User;

#[derive(Parser)]
#[command(
    name = "latch",
    version,
    about = "A single-binary authentication server speaking Simple JWT's protocol"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the login page (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage a user's sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Print a fresh access/refresh pair for USER as JSON.
    Token { username: String },
    /// Verify TOKEN with the configured key; print its header and claims,
    /// or why it is invalid.
    Decode { token: String },
    /// Delete expired refresh-token records and sessions now.
    FlushExpired,
    /// Print the effective settings (the signing key is not shown).
    Config,
    /// Copy the database to PATH while the server runs, and check the copy.
    Backup { path: std::path::PathBuf },
    /// Print the audit trail, newest first.
    Audit {
        /// Only events about this user (name or id).
        #[arg(long)]
        user: Option<String>,
        /// Only events since this time: RFC 3339, or a duration such as 1d.
        #[arg(long)]
        since: Option<String>,
        /// Only this kind of event, e.g. login_failed.
        #[arg(long)]
        event: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Import users and blacklisted tokens from Django: each FILE is
    /// `manage.py dumpdata` JSON or a Django SQLite database. All in one
    /// transaction; running it again changes nothing.
    ImportDjango {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
    /// Manage the signing keys of an asymmetric algorithm.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is prompted for twice, or read from stdin.
    Add {
        username: String,
        #[arg(long)]
        staff: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password; ends all their sessions.
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Deactivate a user; their tokens stop working at once.
    Deactivate { username: String },
    /// Activate a user.
    Activate { username: String },
    /// Delete a user.
    Delete { username: String },
    /// Make a user staff (repairs an instance nobody can administer).
    Promote { username: String },
    /// Remove a user's staff rights.
    Demote { username: String },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// List USER's live sessions.
    List { username: String },
    /// Log USER out everywhere.
    RevokeAll { username: String },
}

type Outcome = Result<(), String>;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Config => print_config(),
        Command::Backup { path } => backup(&path),
        command => {
            let app = crate::open(&crate::figment()).map_err(|e| e.to_string())?;
            rocket::execute(async {
                let outcome = dispatch(&app, command).await;
                // The audit trail's records are queued without waiting;
                // they must be on disk before the process ends.
                let settled = app.db.settle().await.map_err(text);
                outcome.and(settled)
            })
        }
    }
}

async fn dispatch(app: &App, command: Command) -> Outcome {
    match command {
        Command::Serve | Command::Config | Command::Backup { .. } => {
            Err("handled before opening the database".into())
        }
        Command::User(UserCommand::Add {
            username,
            staff,
            password_stdin,
        }) => user_add(app, username, staff, password_stdin).await,
        Command::User(UserCommand::Passwd {
            username,
            password_stdin,
        }) => user_passwd(app, &username, password_stdin).await,
        Command::User(UserCommand::List) => user_list(app).await,
        Command::User(UserCommand::Deactivate { username }) => {
            let changes = UserChanges {
                is_active: Some(false),
                ..UserChanges::default()
            };
            user_change(app, &username, changes, "deactivated").await
        }
        Command::User(UserCommand::Activate { username }) => {
            let changes = UserChanges {
                is_active: Some(true),
                ..UserChanges::default()
            };
            user_change(app, &username, changes, "activated").await
        }
        Command::User(UserCommand::Delete { username }) => user_delete(app, &username).await,
        Command::User(UserCommand::Promote { username }) => {
            let changes = UserChanges {
                is_staff: Some(true),
                ..UserChanges::default()
            };
            user_change(app, &username, changes, "promoted").await
        }
        Command::User(UserCommand::Demote { username }) => {
            let changes = UserChanges {
                is_staff: Some(false),
                ..UserChanges::default()
            };
            user_change(app, &username, changes, "demoted").await
        }
        Command::Session(SessionCommand::List { username }) => session_list(app, &username).await,
        Command::Session(SessionCommand::RevokeAll { username }) => {
            session_revoke_all(app, &username).await
        }
        Command::Token { username } => token(app, &username).await,
        Command::Decode { token } => decode(app, &token),
        Command::FlushExpired => flush_expired(app).await,
        Command::Audit {
            user,
            since,
            event,
            limit,
        } => audit_trail(app, user, since, event, limit).await,
        Command::ImportDjango { files } => import_django(app, &files).await,
        Command::Keys(command) => keys::run(app, command).await,
    }
}

fn serve() -> Outcome {
    rocket::execute(crate::build(crate::figment()).launch())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An error as a person at a terminal should read it: field errors by
/// their messages.
fn text(e: Error) -> String {
    match e {
        Error::Fields(fields) => fields
            .into_iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Token(problem) => problem.message().to_string(),
        Error::Conflict(message) | Error::ForbiddenDetail(message) => message,
        other => other.to_string(),
    }
}

async fn find(app: &App, username: &str) -> Result<User, String> {
    accounts::find_by_name(app, username)
        .await
        .map_err(text)?
        .ok_or_else(|| format!("no user named {:?}", username.trim()))
}

async fn session_list(app: &App, username: &str) -> Outcome {
    let user = find(app, username).await?;
    let listed = accounts::list_sessions(app, user.id, None)
        .await
        .map_err(text)?;
    println!("{}", pretty(&listed)?);
    Ok(())
}

async fn session_revoke_all(app: &App, username: &str) -> Outcome {
    let user = find(app, username).await?;
    let n = accounts::log_out_everywhere(app, user.id, &Actor::command_line())
        .await
        .map_err(text)?;
    println!("revoked {n} session(s) of {}", user.username);
    Ok(())
}

async fn token(app: &App, username: &str) -> Outcome {
    let user = find(app, username).await?;
    if !user.is_active {
        return Err(format!("{} is inactive", user.username));
    }
    let client = ClientInfo {
        user_agent: "latch token (command line)".into(),
        ip: String::new(),
    };
    let started = pairs::Started::Elsewhere;
    let pair = pairs::issue(app, &user, client, started)
        .await
        .map_err(text)?;
    println!(
        "{}",
        serde_json::to_string(&pair).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn decode(app: &App, token: &str) -> Outcome {
    let header = token
        .split('.')
        .next()
        .and_then(crate::auth::tokens::decode_segment);
    let decoded = app
        .keys
        .decode(token.trim(), app.now())
        .map_err(|problem| problem.message().to_string())?;
    let alg = header.as_ref().and_then(|h| h.get("alg").cloned());
    let kid = header.as_ref().and_then(|h| h.get("kid").cloned());
    let out =
        serde_json::json!({ "alg": alg, "kid": kid, "header": header, "claims": decoded.claims });
    println!("{}", pretty(&out)?);
    Ok(())
}

fn print_config() -> Outcome {
    let settings =
        Settings::from_figment(&crate::figment()).map_err(|e| format!("invalid setting: {e}"))?;
    let mut shown = serde_json::to_value(&settings).map_err(|e| e.to_string())?;
    if settings.signing_key.is_some() {
        shown["signing_key"] = "<set, not shown>".into();
    }
    println!("{}", pretty(&shown)?);
    Ok(())
}

fn pretty(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

/// A password from the first line of stdin, or typed twice without echo.
fn read_password(from_stdin: bool) -> Result<String, String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Password (again): ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the passwords do not match".into());
        }
        first
    };
    if password.is_empty() {
        return Err("the password may not be empty".into());
    }
    Ok(password)
}

// ---- latch keys ----------------------------------------------------------

#[derive(Subcommand)]
enum KeysCommand {
    /// List every key with its state (next, signing, verifying).
    List,
    /// Publish a new key now; it signs `jwks_max_age` later.
    Rotate {
        /// Sign with it at once (verifiers that cached the JWKS will
        /// refetch it on the unknown `kid`).
        #[arg(long)]
        now: bool,
    },
    /// Remove a key at once (it leaked): every token it signed dies.
    Retire { kid: String },
}

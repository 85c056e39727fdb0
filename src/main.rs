//! The `latch` command: serves by default; the other commands work on the
//! configured database directly, so they run with or without a server.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latch::app::App;
use latch::config::Settings;
use latch::db::now;
use latch::sessions::Origin;
use latch::{accounts, grants, policy, sessions, users};

#[derive(Parser)]
#[command(
    name = "latch",
    version,
    about = "A single-binary authentication server speaking Simple JWT's protocol"
)]
struct Cli {
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
}

#[derive(Subcommand)]
enum SessionCommand {
    /// List USER's live sessions.
    List { username: String },
    /// Log USER out everywhere.
    RevokeAll { username: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        return serve();
    }
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latch: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> ExitCode {
    match rocket::execute(latch::build(latch::figment()).launch()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latch: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open() -> Result<App, String> {
    let settings =
        Settings::from_figment(&latch::figment()).map_err(|e| format!("invalid setting: {e}"))?;
    App::open(settings).map_err(|e| e.to_string())
}

fn find(app: &App, username: &str) -> Result<users::User, String> {
    let name = users::normalize_username(username);
    app.db
        .run_blocking(|conn| users::by_name(conn, &name))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named {name:?}"))
}

fn run(command: Command) -> Result<(), String> {
    if let Command::Config = command {
        return print_config();
    }
    let app = open()?;
    let text = |e: latch::error::Error| e.to_string();
    match command {
        Command::Serve | Command::Config => unreachable!("handled above"),
        Command::User(UserCommand::Add {
            username,
            staff,
            password_stdin,
        }) => {
            let name = users::normalize_username(username.trim());
            if name.is_empty() {
                return Err("the username may not be blank".into());
            }
            if let Some(problem) = users::username_problem(&name, app.settings.max_username_length)
            {
                return Err(problem);
            }
            let password = read_password(password_stdin)?;
            policy::check(&app.settings, &name, &password).map_err(|m| m.join(" "))?;
            let hash = app.hasher.hash_blocking(&password).map_err(text)?;
            let user = app
                .db
                .run_blocking(|conn| users::create(conn, &name, &hash, staff, now()))
                .map_err(text)?
                .ok_or_else(|| format!("a user named {name:?} already exists"))?;
            println!("created user {} (id {})", user.username, user.id);
        }
        Command::User(UserCommand::Passwd {
            username,
            password_stdin,
        }) => {
            let user = find(&app, &username)?;
            let password = read_password(password_stdin)?;
            policy::check(&app.settings, &user.username, &password).map_err(|m| m.join(" "))?;
            let hash = app.hasher.hash_blocking(&password).map_err(text)?;
            app.db
                .run_blocking(|conn| accounts::set_password(conn, user.id, &hash, now()))
                .map_err(text)?;
            println!(
                "password changed for {}; all their sessions ended",
                user.username
            );
        }
        Command::User(UserCommand::List) => {
            let (_, all) = app
                .db
                .run_blocking(|conn| users::page(conn, 0, i64::MAX))
                .map_err(text)?;
            println!(
                "{:>6}  {:<24} {:<7} {:<6} date_joined",
                "id", "username", "active", "staff"
            );
            for u in all {
                println!(
                    "{:>6}  {:<24} {:<7} {:<6} {}",
                    u.id,
                    u.username,
                    u.is_active,
                    u.is_staff,
                    users::rfc3339(u.date_joined)
                );
            }
        }
        Command::User(UserCommand::Deactivate { username }) => {
            let user = find(&app, &username)?;
            app.db
                .run_blocking(|conn| accounts::set_active(conn, user.id, false, now()))
                .map_err(text)?;
            println!("deactivated {}", user.username);
        }
        Command::User(UserCommand::Activate { username }) => {
            let user = find(&app, &username)?;
            app.db
                .run_blocking(|conn| accounts::set_active(conn, user.id, true, now()))
                .map_err(text)?;
            println!("activated {}", user.username);
        }
        Command::User(UserCommand::Delete { username }) => {
            let user = find(&app, &username)?;
            app.db
                .run_blocking(|conn| users::delete(conn, user.id))
                .map_err(text)?;
            println!("deleted {}", user.username);
        }
        Command::Session(SessionCommand::List { username }) => {
            let user = find(&app, &username)?;
            let listed = app
                .db
                .run_blocking(|conn| sessions::list(conn, user.id, None, now()))
                .map_err(text)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&listed).map_err(|e| e.to_string())?
            );
        }
        Command::Session(SessionCommand::RevokeAll { username }) => {
            let user = find(&app, &username)?;
            let n = app
                .db
                .run_blocking(|conn| accounts::log_out_everywhere(conn, user.id, now()))
                .map_err(text)?;
            println!("revoked {n} session(s) of {}", user.username);
        }
        Command::Token { username } => {
            let user = find(&app, &username)?;
            if !user.is_active {
                return Err(format!("{} is inactive", user.username));
            }
            let origin = Origin {
                user_agent: "latch token (command line)".into(),
                ip: String::new(),
            };
            let (keys, settings, id) = (app.keys.clone(), app.settings.clone(), user.id);
            let pair = app
                .db
                .write_blocking(move |conn| {
                    grants::issue(conn, &keys, &settings, id, &origin, now())
                })
                .map_err(text)?;
            println!(
                "{}",
                serde_json::to_string(&pair).map_err(|e| e.to_string())?
            );
        }
        Command::Decode { token } => {
            let header = token
                .split('.')
                .next()
                .and_then(latch::tokens::decode_segment);
            match app.keys.decode(token.trim(), now()) {
                Ok(decoded) => {
                    let out = serde_json::json!({ "header": header, "claims": decoded.claims });
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
                    );
                }
                Err(problem) => return Err(problem.message().to_string()),
            }
        }
        Command::FlushExpired => {
            let cutoff = now() - app.settings.leeway.as_i64();
            let (tokens, sessions) = app
                .db
                .run_blocking(|conn| sessions::flush_expired(conn, cutoff))
                .map_err(text)?;
            println!("removed {tokens} expired token record(s) and {sessions} session(s)");
        }
    }
    Ok(())
}

fn print_config() -> Result<(), String> {
    let settings =
        Settings::from_figment(&latch::figment()).map_err(|e| format!("invalid setting: {e}"))?;
    let mut shown = serde_json::to_value(&settings).map_err(|e| e.to_string())?;
    if settings.signing_key.is_some() {
        shown["signing_key"] = "<set, not shown>".into();
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
    );
    Ok(())
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

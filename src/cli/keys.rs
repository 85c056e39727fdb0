//! `latch keys`: the key set of an asymmetric algorithm, in the database a
//! running server shares (it sees changes within a second).

use serde_json::json;

use super::{KeysCommand, Outcome, pretty, text};
use crate::auth::audit::{self, Actor, Event};
use crate::auth::key_rotation;
use crate::state::App;
use crate::store::users::rfc3339;

pub(super) async fn run(app: &App, command: KeysCommand) -> Outcome {
    match command {
        KeysCommand::List => list(app),
        KeysCommand::Rotate { now } => {
            let kid = key_rotation::rotate(app, now).await.map_err(text)?;
            let detail = json!({ "kid": kid, "signs_now": now });
            audit::note(app, Event::KeyRotated, None, &Actor::command_line(), detail);
            let when = if now {
                "signs now".to_string()
            } else {
                format!("signs in {} s", app.settings.jwks_max_age.0)
            };
            println!("new key {kid} published; {when}");
            Ok(())
        }
        KeysCommand::Retire { kid } => {
            let replacement = key_rotation::retire(app, &kid).await.map_err(text)?;
            let detail = json!({ "kid": kid, "replaced_by": replacement });
            audit::note(app, Event::KeyRetired, None, &Actor::command_line(), detail);
            println!("retired {kid}; its tokens are no longer accepted");
            if let Some(new) = replacement {
                println!("new key {new} signs now");
            }
            Ok(())
        }
    }
}

fn list(app: &App) -> Outcome {
    if app.settings.algorithm.is_hmac() {
        println!(
            "{} signs with the shared signing_key: no key set",
            app.settings.algorithm.name()
        );
        return Ok(());
    }
    let keys = key_rotation::list(app);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        println!("{}", pretty(&keys)?);
        return Ok(());
    }
    println!(
        "{:<44} {:<6} {:<10} signs_from / verifies_until",
        "kid", "alg", "state"
    );
    for k in keys {
        let until = k.verifies_until.map(rfc3339).unwrap_or_default();
        println!(
            "{:<44} {:<6} {:<10} {} {until}",
            k.kid,
            k.algorithm,
            k.state,
            rfc3339(k.signs_from)
        );
    }
    Ok(())
}

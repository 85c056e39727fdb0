//! Request bodies: JSON, urlencoded or multipart, read with a size limit and
//! validated field by field the way Django REST Framework reports it.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::{Form, FromForm};
use rocket::http::ContentType;
use rocket::request::Request;
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::error::{Error, FieldErrors, stash};

/// JSON bodies larger than this get a 413 unless `limits.json` says
/// otherwise (latch's figment sets it to this). Credentials and tokens are
/// small.
const DEFAULT_JSON_LIMIT_KIB: u64 = 16;

/// A parsed body: a JSON object, or the form's fields as strings.
#[derive(Debug, Default)]
pub struct Body(pub Map<String, Value>);

/// Every field any form-bodied endpoint reads; unknown fields are ignored.
/// Each collects every value sent under its name: Rocket would otherwise
/// keep the first and drop the rest without a word, and a request that says
/// `is_active=false&is_active=true` means nothing clear.
#[derive(Debug, FromForm)]
struct FormFields {
    username: Vec<String>,
    password: Vec<String>,
    refresh: Vec<String>,
    token: Vec<String>,
    old_password: Vec<String>,
    new_password: Vec<String>,
    is_active: Vec<String>,
    is_staff: Vec<String>,
}

impl FormFields {
    /// The fields sent once, or a 400 naming each field sent more than once.
    fn into_map(self) -> Result<Map<String, Value>, Error> {
        let fields = [
            ("username", self.username),
            ("password", self.password),
            ("refresh", self.refresh),
            ("token", self.token),
            ("old_password", self.old_password),
            ("new_password", self.new_password),
            ("is_active", self.is_active),
            ("is_staff", self.is_staff),
        ];
        let mut map = Map::new();
        let mut repeated: FieldErrors = Vec::new();
        for (name, mut values) in fields {
            match values.len() {
                0 => {}
                1 => {
                    map.insert(name.to_string(), Value::String(values.remove(0)));
                }
                _ => repeated.push((
                    name.to_string(),
                    vec!["This field was given more than once.".to_string()],
                )),
            }
        }
        if repeated.is_empty() {
            Ok(map)
        } else {
            Err(Error::Fields(repeated))
        }
    }
}

/// How a field is read.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// DRF trims `CharField`s; passwords are used exactly as sent.
    pub trim: bool,
    pub max_chars: usize,
}

impl Field {
    /// A username: trimmed as DRF's `CharField` does, capped by the setting.
    pub fn username(settings: &Settings) -> Field {
        Field {
            name: "username",
            trim: true,
            max_chars: settings.max_username_length,
        }
    }

    /// A password field: never trimmed, capped before it reaches the hash.
    pub fn password(name: &'static str, settings: &Settings) -> Field {
        Field {
            name,
            trim: false,
            max_chars: settings.max_password_length,
        }
    }

    /// A token field; longer than any token latch would accept anyway.
    pub fn token(name: &'static str) -> Field {
        Field {
            name,
            trim: true,
            max_chars: 8 * 1024,
        }
    }
}

impl Body {
    /// Reads the named fields as strings, reporting every bad one at once
    /// in DRF's words.
    pub fn strings(&self, fields: &[Field]) -> Result<Vec<String>, Error> {
        let mut values = Vec::with_capacity(fields.len());
        let mut errors: FieldErrors = Vec::new();
        for field in fields {
            match self.string(field) {
                Ok(v) => values.push(v),
                Err(message) => errors.push((field.name.to_string(), vec![message])),
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(Error::Fields(errors))
        }
    }

    fn string(&self, field: &Field) -> Result<String, String> {
        let text = match self.0.get(field.name) {
            None => return Err("This field is required.".into()),
            Some(Value::Null) => return Err("This field may not be null.".into()),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err("Not a valid string.".into()),
        };
        let text = if field.trim {
            text.trim().to_string()
        } else {
            text
        };
        if text.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if text.chars().count() > field.max_chars {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                field.max_chars
            ));
        }
        Ok(text)
    }

    /// An optional boolean field (`true`/`false`, or their form spellings).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => Ok(Some(true)),
                "false" | "0" | "off" | "no" => Ok(Some(false)),
                _ => Err(Error::field(name, "Must be a valid boolean.")),
            },
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
            Some(_) => Err(Error::field(name, "Must be a valid boolean.")),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// One string field.
    pub fn one(&self, field: Field) -> Result<String, Error> {
        let mut values = self.strings(&[field])?;
        Ok(values.remove(0))
    }

    /// Two string fields, each reported if bad.
    pub fn two(&self, fields: [Field; 2]) -> Result<[String; 2], Error> {
        let mut values = self.strings(&fields)?.into_iter();
        match (values.next(), values.next()) {
            (Some(a), Some(b)) => Ok([a, b]),
            _ => Err(Error::Internal("field count".into())),
        }
    }

    /// `username` and `password`, as every login and sign-up form has them.
    pub fn credentials(&self, settings: &Settings) -> Result<[String; 2], Error> {
        self.two([
            Field::username(settings),
            Field::password("password", settings),
        ])
    }
}

/// Python's name for a JSON value's type, as DRF's message uses it.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// JSON is UTF-8 (RFC 8259 §8.1) and latch reads it as such, so a body
/// declared in another charset would be misread: refuse it with the 415
/// that names the media type as sent, as DRF does for what it cannot parse.
/// Only `utf-8`, in any case, is accepted.
pub fn json_charset(content_type: &ContentType) -> Result<(), Error> {
    let acceptable = content_type
        .param("charset")
        .is_none_or(|charset| charset.trim_matches('"').eq_ignore_ascii_case("utf-8"));
    if acceptable {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType(content_type.to_string()))
    }
}

async fn read_json(req: &Request<'_>, data: Data<'_>) -> Result<Map<String, Value>, Error> {
    let limit = req
        .limits()
        .get("json")
        .unwrap_or(DEFAULT_JSON_LIMIT_KIB.kibibytes());
    let body = data
        .open(limit)
        .into_bytes()
        .await
        .map_err(|e| Error::BadRequest(format!("Could not read the request body: {e}")))?;
    if !body.is_complete() {
        return Err(Error::PayloadTooLarge);
    }
    let bytes = body.into_inner();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    // serde_json refuses nesting deeper than 128 levels with an error rather
    // than recursing without bound.
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::NonField(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            python_type(&other)
        ))),
        Err(e) => Err(Error::BadRequest(format!("JSON parse error - {e}"))),
    }
}

async fn parse<'r>(req: &'r Request<'_>, mut data: Data<'r>) -> Result<Body, Error> {
    let Some(content_type) = req.content_type() else {
        // No type: fine when there is no body (every field is then missing),
        // refused otherwise, as DRF does.
        let peeked = data.peek(1).await;
        if peeked.is_empty() {
            return Ok(Body::default());
        }
        return Err(Error::UnsupportedMediaType(String::new()));
    };
    if content_type.is_json() {
        json_charset(content_type)?;
        return read_json(req, data).await.map(Body);
    }
    if content_type.is_form() || content_type.is_form_data() {
        return match Form::<FormFields>::from_data(req, data).await {
            data::Outcome::Success(form) => form.into_inner().into_map().map(Body),
            data::Outcome::Error((_, errors)) => {
                // Our fields have no length rules, so a length error is
                // Rocket's body limit.
                let too_large = errors.iter().any(|e| {
                    matches!(
                        &e.kind,
                        rocket::form::error::ErrorKind::InvalidLength { .. }
                    )
                });
                if too_large {
                    Err(Error::PayloadTooLarge)
                } else {
                    Err(Error::BadRequest(format!("Form parse error - {errors}")))
                }
            }
            data::Outcome::Forward(_) => Err(Error::BadRequest("Form parse error".into())),
        };
    }
    Err(Error::UnsupportedMediaType(content_type.to_string()))
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Body {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match parse(req, data).await {
            Ok(payload) => data::Outcome::Success(payload),
            Err(e) => data::Outcome::Error(stash(req, e)),
        }
    }
}

//! OS-OAUTH2: the client credentials grant (RFC 6749 §4.4) with application credentials as
//! clients, token introspection (RFC 7662) and authorization-server metadata (RFC 8414).
//!
//! Client authentication is one enum, [`ClientAuthentication`]: each variant says how a
//! client proved who it is, and [`authenticate_client`] turns any of them into the
//! application credential. `tls_client_auth` (RFC 8705) authenticates a *user* instead
//! (mtls.rs), so it stays outside that enum.

pub mod jwt;
pub mod model;
pub mod mtls;
pub mod store;

pub use model::ClientRegistration;

use crate::application_credential::ApplicationCredential;
use crate::auth::application_credential as ac_method;
use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::replay::PurgeClock;
use crate::error::Error;
use crate::token::formatter::TokenFormatter;
use crate::token::issue::{self, IssueRequest};
use crate::token::model::{ResolvedScope, Token};
use actix_web::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use jwt::{Algorithm, Assertion, PublicKey};
use serde_json::{Map, Value};

/// RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The method name a token obtained here carries (an ordinary application-credential
/// token, as Keystone issues it).
const TOKEN_METHOD: &str = crate::application_credential::METHOD;

/// Keystone's generic text for a failed client authentication.
pub const CLIENT_AUTH_FAILED: &str = "Client authentication failed.";

/// When this process last purged expired `jti`s.
pub static JTI_PURGE: PurgeClock = PurgeClock::new();

/// An RFC 6749 §5.2 error: `{"error": …, "error_description": …}`.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// The client tried HTTP Basic: a 401 must challenge with that scheme (§5.2).
    pub basic_challenge: bool,
    /// Logged, never shown.
    pub detail: Option<String>,
}

pub type OAuthResult<T> = Result<T, OAuthError>;

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
            detail: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// The client could not be authenticated; the reason is only logged.
    pub fn invalid_client(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            CLIENT_AUTH_FAILED,
        )
        .with_detail(detail)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_basic_challenge(mut self, basic: bool) -> Self {
        self.basic_challenge = basic;
        self
    }
}

/// Keystone's errors as the OAuth2 handler renders them (oauth2.md A2): a 401 keeps its
/// message under `invalid_client`, a 400 becomes `invalid_request`. Keystone answers an
/// unknown client with 404 `other_error`; RFC 6749 §5.2 says `invalid_client` with 401
/// (api-ref/DEVIATIONS.md). Store trouble is `temporarily_unavailable`, anything else
/// `server_error` — never Keystone's error JSON.
impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        let detail = e.detail.clone().unwrap_or_else(|| e.message.clone());
        match e.status.as_u16() {
            401 => OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", e.message)
                .with_detail(detail),
            400 => OAuthError::invalid_request(e.message).with_detail(detail),
            404 => OAuthError::invalid_client(detail),
            503 => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The service is temporarily unavailable; please retry later.",
            )
            .with_detail(detail),
            _ => OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "An unknown error occurred and failed to get an OAuth2.0 access token.",
            )
            .with_detail(detail),
        }
    }
}

/// How a client authenticated (RFC 6749 §2.3.1, RFC 7523 §2.2, OpenID Connect Core §9 names).
#[derive(Debug, Clone)]
pub enum ClientAuthentication {
    /// `Authorization: Basic base64(id:secret)`.
    ClientSecretBasic {
        client_id: String,
        client_secret: String,
    },
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost {
        client_id: String,
        client_secret: String,
    },
    /// A JWT assertion HMAC'd with the client's secret.
    ClientSecretJwt {
        client_id: Option<String>,
        assertion: String,
    },
    /// A JWT assertion signed with the client's registered private key.
    PrivateKeyJwt {
        client_id: Option<String>,
        assertion: String,
    },
}

impl ClientAuthentication {
    /// The `[oauth2] oauth2_authn_methods` name.
    pub fn method_name(&self) -> &'static str {
        match self {
            ClientAuthentication::ClientSecretBasic { .. } => "client_secret_basic",
            ClientAuthentication::ClientSecretPost { .. } => "client_secret_post",
            ClientAuthentication::ClientSecretJwt { .. } => "client_secret_jwt",
            ClientAuthentication::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }

    pub fn used_basic(&self) -> bool {
        matches!(self, ClientAuthentication::ClientSecretBasic { .. })
    }

    /// Whether the configuration allows this method. Keystone takes form secrets under
    /// the name `client_secret_basic`, so that name enables `client_secret_post` too.
    pub fn enabled(&self, config: &Config) -> bool {
        let enabled = |name: &str| config.oauth2.authn_methods.iter().any(|m| m == name);
        enabled(self.method_name())
            || (matches!(self, ClientAuthentication::ClientSecretPost { .. })
                && enabled("client_secret_basic"))
    }

    /// Work out the method from the `Authorization` header and the form. More than one
    /// method at once is an `invalid_request` (RFC 6749 §2.3); none is `invalid_client`.
    pub fn from_request(authorization: Option<&str>, form: &Form) -> OAuthResult<Self> {
        let basic = authorization
            .map(|h| h.trim())
            .filter(|h| h.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("basic ")));
        let assertion = form.get("client_assertion");
        let secret = form.get("client_secret");
        let present = [basic.is_some(), assertion.is_some(), secret.is_some()];
        if present.iter().filter(|p| **p).count() > 1 {
            return Err(OAuthError::invalid_request(
                "The request uses more than one client authentication method.",
            )
            .with_basic_challenge(basic.is_some()));
        }
        if let Some(header) = basic {
            let (client_id, client_secret) = decode_basic(header.get(6..).unwrap_or_default())
                .ok_or_else(|| {
                    OAuthError::invalid_client("malformed Basic header").with_basic_challenge(true)
                })?;
            if let Some(form_id) = form.get("client_id") {
                if form_id != client_id {
                    return Err(OAuthError::invalid_request(
                        "client_id does not match the Authorization header.",
                    )
                    .with_basic_challenge(true));
                }
            }
            return Ok(ClientAuthentication::ClientSecretBasic {
                client_id,
                client_secret,
            });
        }
        if let Some(assertion) = assertion {
            if form.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION_TYPE) {
                return Err(OAuthError::invalid_request(format!(
                    "client_assertion_type must be {JWT_BEARER_ASSERTION_TYPE}."
                )));
            }
            let algorithm = jwt::peek_algorithm(assertion).ok_or_else(|| {
                OAuthError::invalid_client("unreadable or refused assertion header")
            })?;
            let client_id = form.get("client_id").map(str::to_string);
            let assertion = assertion.to_string();
            return Ok(if algorithm.is_hmac() {
                ClientAuthentication::ClientSecretJwt {
                    client_id,
                    assertion,
                }
            } else {
                ClientAuthentication::PrivateKeyJwt {
                    client_id,
                    assertion,
                }
            });
        }
        match (form.get("client_id"), secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(ClientAuthentication::ClientSecretPost {
                    client_id: id.to_string(),
                    client_secret: secret.to_string(),
                })
            }
            _ => Err(OAuthError::invalid_client("no client credentials")),
        }
    }
}

/// `base64(id:secret)`, as python-requests and Keystone (Flask) handle it: the parts are
/// taken as they are, not form-url-decoded (api-ref/DEVIATIONS.md).
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    (!id.is_empty()).then(|| (id.to_string(), secret.to_string()))
}

/// An `application/x-www-form-urlencoded` body. A parameter sent twice is ambiguous and
/// refused (RFC 6749 §3.2).
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> OAuthResult<Form> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(body)
            .ok_or_else(|| OAuthError::invalid_request("The request body is not form-encoded."))?;
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &pairs {
            if !seen.insert(k.as_str()) {
                return Err(OAuthError::invalid_request(format!(
                    "The parameter {k} is repeated."
                )));
            }
        }
        Ok(Form(pairs))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn serde_urlencoded_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    actix_web::web::Query::<Vec<(String, String)>>::from_query(text)
        .ok()
        .map(actix_web::web::Query::into_inner)
}

/// Check a registration request: a `secret` must be the credential's own (enables
/// `client_secret_jwt`), a `public_key` a PEM RSA (≥ 2048 bits) or P-256 key (enables
/// `private_key_jwt`). Returns the registration to store.
pub fn prepare_registration(
    conn: &mut AnyConnection,
    config: &Config,
    ac: &ApplicationCredential,
    body: &Value,
) -> crate::error::Result<ClientRegistration> {
    let client = body
        .get("client")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::expecting("client", "request body"))?;
    for key in client.keys() {
        if key != "secret" && key != "public_key" {
            return Err(Error::validation(format!(
                "Unknown attribute {key} in client."
            )));
        }
    }
    let secret = match client.get("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            if !ac_method::secret_matches(conn, config, ac, s)? {
                return Err(Error::bad_request(
                    "The secret is not the application credential's secret.",
                ));
            }
            Some(s.clone())
        }
        Some(_) => return Err(Error::validation("client.secret must be a string.")),
    };
    let (public_key, alg) = match client.get("public_key") {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(pem)) => {
            let key = PublicKey::from_pem(pem)
                .map_err(|why| Error::bad_request(format!("Invalid public_key: {why}.")))?;
            (
                Some(pem.trim().to_string()),
                Some(key.algorithm().name().to_string()),
            )
        }
        Some(_) => return Err(Error::validation("client.public_key must be a string.")),
    };
    if secret.is_none() && public_key.is_none() {
        return Err(Error::validation(
            "A client needs a secret or a public_key.",
        ));
    }
    Ok(ClientRegistration {
        application_credential_id: ac.id.clone(),
        jwt_secret: secret,
        public_key,
        public_key_alg: alg,
        created_at_us: Utc::now().timestamp_micros(),
    })
}

/// Authenticate a client of any method; the result is its application credential, with
/// the owner and the expiry checked as the `application_credential` auth method does.
/// `audiences` are the `aud` values a JWT assertion may name. A JWT's `jti` is remembered
/// in the caller's transaction, so the caller must run this in a write.
pub fn authenticate_client(
    conn: &mut AnyConnection,
    config: &Config,
    auth: &ClientAuthentication,
    audiences: &[String],
    now: DateTime<Utc>,
) -> OAuthResult<ApplicationCredential> {
    let basic = auth.used_basic();
    let fail = |e: OAuthError| e.with_basic_challenge(basic);
    if !auth.enabled(config) {
        return Err(fail(OAuthError::invalid_client(format!(
            "{} is not enabled",
            auth.method_name()
        ))));
    }
    if !config.auth.methods.iter().any(|m| m == TOKEN_METHOD) {
        return Err(fail(OAuthError::invalid_client(
            "application_credential is not in [auth] methods",
        )));
    }
    let ac = match auth {
        ClientAuthentication::ClientSecretBasic {
            client_id,
            client_secret,
        }
        | ClientAuthentication::ClientSecretPost {
            client_id,
            client_secret,
        } => {
            let data = serde_json::json!({"id": client_id, "secret": client_secret});
            let outcome =
                ac_method::authenticate(conn, config, &data).map_err(|e| fail(e.into()))?;
            outcome
                .application_credential
                .ok_or_else(|| fail(OAuthError::invalid_client("no credential")))
        }
        ClientAuthentication::ClientSecretJwt {
            client_id,
            assertion,
        }
        | ClientAuthentication::PrivateKeyJwt {
            client_id,
            assertion,
        } => authenticate_jwt(
            conn,
            config,
            client_id.as_deref(),
            assertion,
            audiences,
            now,
        ),
    }?;
    // Keystone's client_secret_basic goes through authenticate_for_token, whose MFA check
    // turns an owner's unmet rules into invalid_client; every client method here does.
    let options = crate::identity::store::options_of(conn, std::slice::from_ref(&ac.user_id))?
        .remove(&ac.user_id)
        .unwrap_or_default();
    if !crate::auth::mfa::satisfied(&options, &config.auth.methods, &[TOKEN_METHOD.to_string()]) {
        return Err(fail(OAuthError::invalid_client(format!(
            "Insufficient auth methods received for {}. Auth Methods Provided: [{TOKEN_METHOD}].",
            ac.user_id
        ))));
    }
    Ok(ac)
}

fn authenticate_jwt(
    conn: &mut AnyConnection,
    config: &Config,
    form_client_id: Option<&str>,
    compact: &str,
    audiences: &[String],
    now: DateTime<Utc>,
) -> OAuthResult<ApplicationCredential> {
    let assertion = Assertion::parse(compact).map_err(OAuthError::invalid_client)?;
    let client_id = assertion
        .string_claim("sub")
        .ok_or_else(|| OAuthError::invalid_client("assertion has no sub"))?
        .to_string();
    if form_client_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_client(
            "client_id is not the assertion's sub",
        ));
    }
    let ac = crate::application_credential::store::get(conn, &client_id)?
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    let keys = crate::credential::CredentialKeys::from_config(config);
    let reg = store::get(conn, &keys, &ac.id)?
        .ok_or_else(|| OAuthError::invalid_client("no JWT authentication registered"))?;
    verify_signature(&assertion, &reg).map_err(OAuthError::invalid_client)?;
    let (jti, remember_until) = jwt::check_claims(&assertion, &client_id, audiences, now)
        .map_err(OAuthError::invalid_client)?;
    ac_method::check_owner(conn, config, &ac)?;
    ac_method::check_unexpired(&ac)?;
    let now_us = now.timestamp_micros();
    let until_us = remember_until.saturating_mul(1_000_000);
    if !store::remember_jti(conn, &client_id, jti, now_us, until_us)? {
        return Err(OAuthError::invalid_client("assertion jti replayed"));
    }
    Ok(ac)
}

fn verify_signature(assertion: &Assertion, reg: &ClientRegistration) -> Result<(), jwt::Refusal> {
    if assertion.algorithm.is_hmac() {
        let secret = reg
            .jwt_secret
            .as_deref()
            .ok_or("client_secret_jwt is not registered")?;
        return assertion.verify_hmac(secret.as_bytes());
    }
    let pem = reg
        .public_key
        .as_deref()
        .ok_or("private_key_jwt is not registered")?;
    let key = PublicKey::from_pem(pem)?;
    if reg.public_key_alg.as_deref() != Some(key.algorithm().name()) {
        return Err("registered key and algorithm disagree".into());
    }
    assertion.verify_public_key(&key)
}

/// The signature algorithms JWT client authentication accepts (metadata).
pub fn signing_algorithms() -> Vec<&'static str> {
    Algorithm::ALL.iter().map(|a| a.name()).collect()
}

/// Issue the access token for an authenticated client: an ordinary application-credential
/// token (the same Fernet payload as `/v3/auth/tokens` with the `application_credential`
/// method), scoped to the credential's project.
pub fn issue_token(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    ac: ApplicationCredential,
) -> crate::error::Result<Token> {
    let user = crate::identity::store::get(conn, &ac.user_id)?
        .ok_or_else(|| Error::unauthorized_because("owner vanished"))?;
    let scope = ac_method::scope(conn, &ac)?;
    issue::issue(
        conn,
        tokens,
        config,
        IssueRequest {
            user,
            methods: vec![TOKEN_METHOD.to_string()],
            scope,
            expires_at: None,
            parent_audit_id: None,
            access_token_id: None,
            application_credential: Some(ac),
            thumbprint: None,
            trust_id: None,
            federated: None,
        },
    )
}

/// RFC 6749 §5.1 `expires_in`: the seconds the token has from its issue (Keystone always
/// says `[token] expiration`, even when the credential's expiry cut the token short). A
/// fresh token's expiry is `[token] expiration` after the issue, cut to whole seconds, so
/// rounding up gives exactly that.
pub fn expires_in(token: &Token, config: &Config) -> i64 {
    let left_ms = (token.payload.expires_at - token.issued_at).num_milliseconds();
    ((left_ms + 999) / 1000).clamp(0, config.token.expiration)
}

fn id_name(id: &str, name: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    m.insert("name".into(), name.into());
    Value::Object(m)
}

/// The RFC 7662 answer for an active token, with the claims keystonemiddleware's
/// `external_oauth2_token` filter maps (README: `[ext_oauth2_auth]` mapping options):
/// `sub`/`username`/`user_domain` (and `user`), `project` with its `domain`, or `domain`, or
/// `system.all`; `roles` comma-separated; `exp`/`iat` in epoch seconds; `client_id` the
/// application credential the token was issued to.
pub fn introspection(token: &Token, issuer: &str, x5t_s256: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("active".into(), true.into());
    if let Some(ac) = &token.application_credential {
        m.insert("client_id".into(), ac.id.clone().into());
    } else if token.payload.thumbprint.is_some() {
        // A `tls_client_auth` client is the user itself.
        m.insert("client_id".into(), token.user.id.clone().into());
    }
    m.insert("token_type".into(), "Bearer".into());
    m.insert("exp".into(), token.payload.expires_at.timestamp().into());
    m.insert("iat".into(), token.issued_at.timestamp().into());
    m.insert("iss".into(), issuer.into());
    m.insert("sub".into(), token.user.id.clone().into());
    m.insert("username".into(), token.user.name.clone().into());
    let user_domain = id_name(&token.user_domain.id, &token.user_domain.name);
    let mut user = Map::new();
    user.insert("id".into(), token.user.id.clone().into());
    user.insert("name".into(), token.user.name.clone().into());
    user.insert("domain".into(), user_domain.clone());
    m.insert("user".into(), Value::Object(user));
    m.insert("user_domain".into(), user_domain);
    match &token.scope {
        ResolvedScope::Unscoped => {}
        ResolvedScope::Project { project, domain } => {
            let mut p = Map::new();
            p.insert("id".into(), project.id.clone().into());
            p.insert("name".into(), project.name.clone().into());
            p.insert("domain".into(), id_name(&domain.id, &domain.name));
            m.insert("project".into(), Value::Object(p));
        }
        ResolvedScope::Domain(d) => {
            m.insert("domain".into(), id_name(&d.id, &d.name));
        }
        ResolvedScope::System => {
            m.insert("system".into(), serde_json::json!({"all": true}));
        }
    }
    m.insert("roles".into(), token.role_names().join(",").into());
    m.insert("methods".into(), token.payload.methods.clone().into());
    m.insert("audit_ids".into(), token.payload.audit_ids.clone().into());
    // RFC 8705 §3.2: the DER thumbprint, unpadded — not the Fernet payload's (SHA-256 of
    // the PEM, padded; oauth2.md A5, B3.5). Tokens bound elsewhere (Keystone) have none.
    if let Some(x5t) = x5t_s256 {
        m.insert("cnf".into(), serde_json::json!({"x5t#S256": x5t}));
    }
    Value::Object(m)
}

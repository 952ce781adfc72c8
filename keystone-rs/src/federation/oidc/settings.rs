//! keystone.conf for native OpenID Connect: one section per identity provider and protocol,
//! `[openid_connect:<idp_id>:<protocol_id>]`. Keystone has no such section (it leaves OIDC
//! to Apache's mod_auth_openidc); the option names follow mod_auth_openidc's directives
//! where one exists (`OIDCClaimPrefix` → `claim_prefix`, ...), so an Apache configuration
//! translates line by line.

use crate::config::Config;
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use std::str::FromStr;
use std::time::Duration;

/// The section name's prefix; the rest is `<idp_id>:<protocol_id>`.
pub const SECTION_PREFIX: &str = "openid_connect:";

/// What `algorithms` accepts when unset: RS256 (every provider must offer it, OIDC Core
/// §15.1) and ES256.
pub const DEFAULT_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// Whether `algorithm` may be on the allow-list: any asymmetric one jsonwebtoken verifies.
/// HMAC is refused: an `oct` secret in a public document, or an HS256 token checked against
/// a public key, is the classic JWT confusion; `none` is no algorithm at all.
fn acceptable(algorithm: Algorithm) -> bool {
    algorithm.family() != AlgorithmFamily::Hmac
}

/// One `[openid_connect:<idp>:<protocol>]` section, checked.
#[derive(Clone)]
pub struct OidcSettings {
    pub idp_id: String,
    pub protocol_id: String,
    /// `issuer`: the `iss` every token must carry, and where discovery starts
    /// (`<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// `audiences`: a token's `aud` must name one of these (the client id, the resource);
    /// unset, the `client_id`.
    pub audiences: Vec<String>,
    /// `algorithms`: the allow-list for the JWT header's `alg`.
    pub algorithms: Vec<Algorithm>,
    /// `jwks_uri`: overrides the discovery document's (mod_auth_openidc's
    /// `OIDCOAuthVerifyJwksUri`).
    pub jwks_uri: Option<String>,
    /// `introspection_endpoint`: overrides the discovery document's
    /// (`OIDCOAuthIntrospectionEndpoint`).
    pub introspection_endpoint: Option<String>,
    /// `client_id` / `client_secret`: how keystone-rs authenticates to the introspection
    /// endpoint (`client_secret_basic`) and, for browser logins, to the token endpoint.
    /// Without them opaque tokens are refused and there are no browser logins.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `claim_prefix` (`OIDCClaimPrefix`), `OIDC-` as Keystone's documentation sets it.
    pub claim_prefix: String,
    /// `claim_delimiter` (`OIDCClaimDelimiter`): joins an array claim's values.
    pub claim_delimiter: String,
    /// `remote_user_claim` (`OIDCOAuthRemoteUserClaim`): the claim `REMOTE_USER` is set from.
    pub remote_user_claim: String,
    /// `leeway`: seconds of clock difference tolerated on `exp`, `nbf` and `iat`.
    pub leeway: u64,
    /// `jwks_cache_time`: how long fetched keys are used before they are fetched again.
    pub jwks_cache_time: Duration,
    /// `jwks_refetch_interval`: the least time between two fetches. A token naming a key we
    /// do not know triggers a fetch (the issuer may have rotated its keys), at most this
    /// often, so forged `kid`s cannot make keystone-rs hammer the issuer.
    pub jwks_refetch_interval: Duration,
    /// `http_timeout`: seconds for each request to the issuer.
    pub http_timeout: Duration,
    /// The browser login (WebSSO, authorization code flow with PKCE), offered when
    /// `client_id` and `client_secret` are set.
    pub code_flow: CodeFlow,
}

/// How keystone-rs signs a browser in at the issuer (mod_auth_openidc's `OIDCRedirectURI`,
/// `OIDCScope`, `OIDCProviderTokenEndpointAuth`).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeFlow {
    /// `redirect_uri`: where the issuer sends the browser back; unset, the WebSSO URL the
    /// browser started from, on the public endpoint. Must be registered at the issuer.
    pub redirect_uri: Option<String>,
    /// `scopes`: asked for at the authorization endpoint; `openid` is always among them.
    pub scopes: Vec<String>,
    /// `token_endpoint_auth_method`: `client_secret_basic` (default) or
    /// `client_secret_post`.
    pub client_auth: ClientAuth,
    /// `access_token_claims`: also map the claims of the access token the code was
    /// exchanged for (validated as a bearer token is), under the ID token's.
    pub access_token_claims: bool,
    /// `login_timeout`: seconds a browser has between leaving for the issuer and coming
    /// back (the lifetime of the sealed `state`).
    pub login_timeout: Duration,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    Basic,
    Post,
}

impl std::fmt::Debug for OidcSettings {
    /// Never the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("idp_id", &self.idp_id)
            .field("protocol_id", &self.protocol_id)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// A section that cannot be used: names the section and option, as oslo.config does.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl OidcSettings {
    /// Every `[openid_connect:…]` section of the configuration.
    pub fn all_from_config(config: &Config) -> Result<Vec<OidcSettings>, SettingsError> {
        config
            .raw
            .iter()
            .filter(|(name, _)| name.starts_with(SECTION_PREFIX))
            .map(|(name, options)| OidcSettings::from_section(name, |o| options.get(o).cloned()))
            .collect()
    }

    /// One section, its options read through `get`.
    pub fn from_section(
        name: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> Result<OidcSettings, SettingsError> {
        let fail =
            |option: &str, reason: &str| SettingsError(format!("[{name}] {option}: {reason}"));
        // An idp id may itself contain ':'; a protocol id is the last part.
        let Some((idp_id, protocol_id)) = name
            .strip_prefix(SECTION_PREFIX)
            .and_then(|rest| rest.rsplit_once(':'))
            .filter(|(i, p)| !i.is_empty() && !p.is_empty())
        else {
            return Err(SettingsError(format!(
                "[{name}]: the section must be named [{SECTION_PREFIX}<idp_id>:<protocol_id>]"
            )));
        };
        let get = |o: &str| read(o).filter(|v| !v.is_empty());
        let issuer = get("issuer").ok_or_else(|| fail("issuer", "must be set"))?;
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(fail("issuer", "must be an http(s) URL"));
        }
        let client_id = get("client_id");
        let client_secret = get("client_secret");
        if client_id.is_some() != client_secret.is_some() {
            return Err(fail(
                "client_secret",
                "client_id and client_secret are set together",
            ));
        }
        // A client's own ID tokens name it as their audience: enough for browser logins.
        let audiences = get("audiences")
            .map(|v| list(&v))
            .filter(|a| !a.is_empty())
            .or_else(|| client_id.clone().map(|c| vec![c]))
            .unwrap_or_default();
        if audiences.is_empty() {
            return Err(fail(
                "audiences",
                "must name at least one audience (the client id or resource tokens are issued for)",
            ));
        }
        let algorithms = match get("algorithms") {
            None => DEFAULT_ALGORITHMS.to_vec(),
            Some(v) => list(&v)
                .iter()
                .map(|name| {
                    Algorithm::from_str(name)
                        .ok()
                        .filter(|a| acceptable(*a))
                        .ok_or_else(|| {
                            fail(
                                "algorithms",
                                &format!("{name} is not an asymmetric JWS algorithm"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if algorithms.is_empty() {
            return Err(fail("algorithms", "must name at least one algorithm"));
        }
        let seconds = |option: &str, default: u64| -> Result<u64, SettingsError> {
            match get(option) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| fail(option, "must be a whole number of seconds")),
            }
        };
        let http_timeout = seconds("http_timeout", 10)?;
        if http_timeout == 0 {
            return Err(fail("http_timeout", "must be at least 1"));
        }
        let mut scopes = get("scopes")
            .map(|v| {
                v.split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let client_auth = match get("token_endpoint_auth_method").as_deref() {
            None | Some("client_secret_basic") => ClientAuth::Basic,
            Some("client_secret_post") => ClientAuth::Post,
            Some(_) => {
                return Err(fail(
                    "token_endpoint_auth_method",
                    "must be client_secret_basic or client_secret_post",
                ));
            }
        };
        let access_token_claims = match get("access_token_claims").as_deref() {
            None => false,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(fail("access_token_claims", "must be a boolean")),
            },
        };
        let redirect_uri = get("redirect_uri");
        if redirect_uri
            .as_deref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(fail("redirect_uri", "must be an http(s) URL"));
        }
        let login_timeout = seconds("login_timeout", 600)?;
        if login_timeout == 0 {
            return Err(fail("login_timeout", "must be at least 1"));
        }
        let code_flow = CodeFlow {
            redirect_uri,
            scopes,
            client_auth,
            access_token_claims,
            login_timeout: Duration::from_secs(login_timeout),
        };
        Ok(OidcSettings {
            idp_id: idp_id.to_string(),
            protocol_id: protocol_id.to_string(),
            issuer,
            audiences,
            algorithms,
            jwks_uri: get("jwks_uri"),
            introspection_endpoint: get("introspection_endpoint"),
            client_id,
            client_secret,
            // Set but empty is a deliberate "no prefix", as in Apache.
            claim_prefix: read("claim_prefix").unwrap_or_else(|| "OIDC-".into()),
            claim_delimiter: get("claim_delimiter").unwrap_or_else(|| ",".into()),
            remote_user_claim: get("remote_user_claim").unwrap_or_else(|| "sub".into()),
            leeway: seconds("leeway", 60)?,
            jwks_cache_time: Duration::from_secs(seconds("jwks_cache_time", 3600)?),
            jwks_refetch_interval: Duration::from_secs(seconds("jwks_refetch_interval", 60)?),
            http_timeout: Duration::from_secs(http_timeout),
            code_flow,
        })
    }
}

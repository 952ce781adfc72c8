//! The requests keystone-rs makes to an OpenID provider: GET a JSON document (discovery,
//! JWKS) and POST a form for a JSON answer (introspection). Blocking (ureq): callers run on
//! the blocking pool. Any failure to get a JSON object back is the issuer being
//! unavailable, never the token's fault.

use super::error::OidcError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use std::time::Duration;

/// Discovery documents and key sets are small; a larger answer is refused unread.
const MAX_RESPONSE_BYTES: u64 = 512 * 1024;

/// `application/x-www-form-urlencoded` keeps these as they are (RFC 6749 Appendix B).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // The client secret is never carried to wherever a redirect points.
            .max_redirects(0)
            .user_agent("keystone-rs")
            .build()
            .into();
        Http { agent }
    }

    pub fn get_json(&self, url: &str) -> Result<Map<String, Value>, OidcError> {
        let response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call();
        json_object(url, response)
    }

    /// POST `form` with HTTP Basic client authentication (`client_secret_basic`: both
    /// parts form-encoded first, RFC 6749 §2.3.1).
    pub fn post_form_json(
        &self,
        url: &str,
        client: (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<Map<String, Value>, OidcError> {
        json_object(url, self.post_form(url, Some(client), form))
    }

    /// A token request (RFC 6749 §4.1.3), with Basic client authentication when `basic`
    /// is given (else the client's credentials are in `form`). The issuer refusing the
    /// grant (§5.2: 400/401 with an `error`) is the grant's fault; anything else that is
    /// no JSON object is the issuer being unavailable.
    pub fn token_request(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Result<Map<String, Value>, OidcError> {
        let response = self.post_form(url, basic, form);
        let refused = matches!(&response, Ok(r) if r.status() == 400 || r.status() == 401);
        if !refused {
            return json_object(url, response);
        }
        let body = response
            .ok()
            .and_then(|mut r| {
                r.body_mut()
                    .with_config()
                    .limit(MAX_RESPONSE_BYTES)
                    .read_to_vec()
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let error = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("no error code");
        Err(OidcError::invalid(format!(
            "the token endpoint refused the grant: {error}"
        )))
    }

    fn post_form(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let mut request = self.agent.post(url).header("Accept", "application/json");
        if let Some((client_id, client_secret)) = basic {
            let credentials = format!(
                "{}:{}",
                utf8_percent_encode(client_id, FORM),
                utf8_percent_encode(client_secret, FORM)
            );
            request = request.header(
                "Authorization",
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        request.send_form(form.iter().copied())
    }
}

fn json_object(
    url: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Map<String, Value>, OidcError> {
    let mut response = response.map_err(|e| OidcError::unavailable(format!("{url}: {e}")))?;
    let status = response.status();
    if status != 200 {
        return Err(OidcError::unavailable(format!("{url}: HTTP {status}")));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .map_err(|e| OidcError::unavailable(format!("{url}: {e}")))?;
    match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(OidcError::unavailable(format!(
            "{url}: the answer is not a JSON object"
        ))),
    }
}

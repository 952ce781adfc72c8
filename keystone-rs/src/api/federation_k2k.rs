//! Keystone-to-Keystone, the identity-provider side: `GET /v3/OS-FEDERATION/saml2/metadata`
//! and `POST /v3/auth/OS-FEDERATION/saml2[/ecp]`. keystone-rs does not generate or sign SAML
//! assertions (issue 18 leaves K2K out), so it answers as Keystone does where Keystone is
//! not configured for it: the metadata file `[saml] idp_metadata_path` is served when it
//! exists (keystone-manage saml_idp_metadata of a Python node writes it), else 404 (Keystone
//! answers 500: api-ref/DEVIATIONS.md); an assertion request gets every check Keystone makes
//! (schema, service provider, token, project scope) and then 501 where Keystone would sign.

use crate::context::json_body;
use crate::error::{Error, Result};
use crate::python::jsonschema;
use crate::state::State;
use crate::token::validate::validate_async;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::LazyLock;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-FEDERATION/saml2/metadata")
            .route(web::get().to(metadata))
            .route(web::head().to(metadata)),
    )
    .service(web::resource("/v3/auth/OS-FEDERATION/saml2").route(web::post().to(assertion)))
    .service(web::resource("/v3/auth/OS-FEDERATION/saml2/ecp").route(web::post().to(assertion)));
}

async fn metadata(state: State) -> Result<HttpResponse> {
    let path = state.config.federation.saml_idp_metadata_path.clone();
    let read = web::block(move || std::fs::read(&path).map_err(|e| (path, e)))
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    match read {
        Ok(xml) => Ok(HttpResponse::Ok().content_type("text/xml").body(xml)),
        // Keystone raises MetadataFileError, a 500, for a deployment that is simply not a
        // SAML identity provider; the document is not there, which is a 404.
        Err((path, e)) => Err(Error::new(
            StatusCode::NOT_FOUND,
            "This server publishes no SAML identity provider metadata.",
        )
        .with_detail(format!(
            "Error while reading metadata file {}: {e}",
            path.display()
        ))),
    }
}

/// Keystone's `saml_create` schema (keystone/federation/schema.py).
static SAML_CREATE: LazyLock<Value> = LazyLock::new(|| {
    let id = json!({"type": "object", "properties": {"id": {"type": "string"}},
                    "required": ["id"]});
    json!({
        "type": "object",
        "properties": {
            "identity": {"type": "object",
                         "properties": {"token": id, "methods": {"type": "array"}},
                         "required": ["token"], "additionalProperties": false},
            "scope": {"type": "object", "properties": {"service_provider": id},
                      "required": ["service_provider"], "additionalProperties": false},
        },
        "required": ["identity", "scope"],
        "additionalProperties": false,
    })
});

async fn assertion(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    let auth = body.get("auth").cloned().unwrap_or(Value::Null);
    jsonschema::validate(&SAML_CREATE, &auth)?;
    let sp_id = auth["scope"]["service_provider"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = sp_id.clone();
    let sp = state
        .db
        .read(move |conn| crate::federation::provider_store::get_sp(conn, &id))
        .await?
        .ok_or_else(|| Error::could_not_find("service provider", &sp_id))?;
    if !sp.enabled {
        return Err(Error::new(
            StatusCode::FORBIDDEN,
            format!("Service Provider {sp_id} is disabled"),
        ));
    }
    let token_id = auth["identity"]["token"]["id"].as_str().unwrap_or_default();
    let token = validate_async(
        &state.db,
        &state.tokens,
        &state.config,
        token_id,
        false,
        None,
    )
    .await?;
    if token.project_id().is_none() {
        return Err(Error::forbidden_action(
            "Use a project scoped token when attempting to create a SAML assertion",
        ));
    }
    // Keystone would now build and sign the assertion (xmlsec1 with [saml] certfile and
    // keyfile); keystone-rs is no SAML identity provider.
    Err(Error::new(
        StatusCode::NOT_IMPLEMENTED,
        "The action you have requested has not been implemented.",
    )
    .with_detail("keystone-rs does not issue SAML assertions (Keystone-to-Keystone)"))
}

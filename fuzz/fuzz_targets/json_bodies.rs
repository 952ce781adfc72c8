//! Request bodies: every route's body validator and parser on any JSON document, whole
//! and as the member the route takes apart.
#![no_main]

use keystone_rs::python::jsonschema;
use keystone_rs::{application_credential, assignment, auth, catalog, identity, oauth1, resource};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn check_all(body: &Value) {
    let methods: Vec<String> = ["password", "token", "oauth1", "application_credential"]
        .map(String::from)
        .to_vec();
    let _ = auth::request::parse_auth_request(body, &methods);
    for schema in [
        &*identity::schema::USER_CREATE,
        &*identity::schema::USER_UPDATE,
        &*identity::schema::GROUP_CREATE,
        &*identity::schema::GROUP_UPDATE,
        &*identity::schema::PASSWORD_CHANGE,
        &*resource::schema::PROJECT_CREATE,
        &*resource::schema::PROJECT_UPDATE,
        &*resource::schema::DOMAIN_CREATE,
        &*resource::schema::DOMAIN_UPDATE,
        &*resource::schema::TAGS_UPDATE,
        &*resource::schema::TAG,
        &*resource::schema::TAGS,
        &*catalog::schema::SERVICE_CREATE,
        &*catalog::schema::SERVICE_UPDATE,
        &*catalog::schema::ENDPOINT_CREATE,
        &*catalog::schema::ENDPOINT_UPDATE,
        &*catalog::schema::REGION_CREATE,
        &*catalog::schema::REGION_UPDATE,
        &*assignment::schema::ROLE_CREATE,
        &*assignment::schema::ROLE_UPDATE,
        &*auth::schema::TOKEN_ISSUE,
    ] {
        // Both of Keystone's wordings, which pretty-print the schema and the instance.
        if let Some(e) = jsonschema::first_error(schema, body) {
            let _ = e.api_message();
            let _ = e.legacy_message();
        }
    }
    let _ = identity::schema::validate_user_create(body);
    let _ = identity::schema::validate_password_change(body);
    let _ = oauth1::schema::consumer_create(body);
    let _ = oauth1::schema::consumer_update(body);
    let _ = oauth1::schema::authorize_roles(body);
    let _ = application_credential::schema::parse_create(body);
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check_all(&body);
    // Routes take their member out first (`{"user": {…}}`): fuzz what they see too.
    if let Value::Object(map) = &body {
        for member in map.values().take(4) {
            check_all(member);
        }
    }
});

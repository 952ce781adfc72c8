//! Domain configuration over HTTP: `/v3/domains/{id}/config` by group and option, the
//! defaults, whitelisted vs sensitive options (a sensitive value is stored, never shown),
//! Keystone's 403/404 answers, the security_compliance reading, the rows as Keystone's
//! tables hold them, the domain-delete cascade and `manage domain_config_upload`.

use crate::support::{Response, TestServer};
use diesel::prelude::*;
use keystone_rs::db::schema::{sensitive_config, whitelisted_config};
use serde_json::{Value, json};

fn call(s: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> Response {
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("X-Auth-Token", token)];
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    s.request(method, path, &headers, text.as_deref().map(str::as_bytes))
}

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], message, "{}", r.body);
}

fn ok(r: Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn domain(s: &TestServer, admin: &str, name: &str) -> String {
    let v = ok(
        call(
            s,
            "POST",
            "/v3/domains",
            admin,
            Some(json!({"domain": {"name": name}})),
        ),
        201,
    );
    v["domain"]["id"].as_str().unwrap().to_string()
}

/// The rows of one table for a domain: (group, option, value text).
fn rows(s: &TestServer, domain_id: &str, sensitive: bool) -> Vec<(String, String, String)> {
    let d = domain_id.to_string();
    s.db()
        .read_blocking(move |conn| {
            let mut v: Vec<(String, String, String)> = if sensitive {
                sensitive_config::table
                    .filter(sensitive_config::domain_id.eq(&d))
                    .select((
                        sensitive_config::group,
                        sensitive_config::option,
                        sensitive_config::value,
                    ))
                    .load(conn)?
            } else {
                whitelisted_config::table
                    .filter(whitelisted_config::domain_id.eq(&d))
                    .select((
                        whitelisted_config::group,
                        whitelisted_config::option,
                        whitelisted_config::value,
                    ))
                    .load(conn)?
            };
            v.sort();
            Ok(v)
        })
        .expect("rows")
}

#[test]
fn config_by_group_and_option_with_sensitive_options_hidden() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let d = domain(&s, &admin, "ldap-d");
    let base = format!("/v3/domains/{d}/config");
    let config = json!({"config": {
        "identity": {"driver": "ldap"},
        "ldap": {"url": "ldap://a", "user_tree_dn": "ou=Users", "password": "s3cret",
                 "page_size": 5, "use_tls": true}}});

    // Nothing yet: 404 in Keystone's words.
    assert_error(
        &call(&s, "GET", &base, &admin, None),
        404,
        &format!("Could not find any options in domain configuration for domain {d}."),
    );
    // Create: 201 the first time, 200 when it replaces one; the password is never shown.
    let created = ok(call(&s, "PUT", &base, &admin, Some(config.clone())), 201);
    assert_eq!(
        created,
        json!({"config": {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://a",
            "user_tree_dn": "ou=Users", "page_size": 5, "use_tls": true}}})
    );
    assert_eq!(
        ok(call(&s, "PUT", &base, &admin, Some(config)), 200),
        created
    );
    // Keystone's tables: JSON values, the password in sensitive_config only.
    assert_eq!(
        rows(&s, &d, true),
        [("ldap".into(), "password".into(), "\"s3cret\"".into())]
    );
    assert!(rows(&s, &d, false).contains(&("ldap".into(), "page_size".into(), "5".into())));
    assert!(rows(&s, &d, false).contains(&("ldap".into(), "url".into(), "\"ldap://a\"".into())));

    // Reads by group and option.
    assert_eq!(ok(call(&s, "GET", &base, &admin, None), 200), created);
    assert_eq!(
        ok(
            call(&s, "GET", &format!("{base}/identity"), &admin, None),
            200
        ),
        json!({"config": {"identity": {"driver": "ldap"}}})
    );
    assert_eq!(
        ok(
            call(&s, "GET", &format!("{base}/ldap/url"), &admin, None),
            200
        ),
        json!({"config": {"url": "ldap://a"}})
    );
    assert_eq!(
        call(&s, "HEAD", &format!("{base}/ldap/url"), &admin, None).status,
        200
    );
    assert_error(
        &call(&s, "GET", &format!("{base}/ldap/password"), &admin, None),
        404,
        &format!(
            "Could not find option password in group ldap in domain configuration for domain {d}."
        ),
    );
    assert_error(
        &call(&s, "GET", &format!("{base}/ldap/user_filter"), &admin, None),
        404,
        &format!(
            "Could not find option user_filter in group ldap in domain configuration for domain {d}."
        ),
    );
    assert_error(
        &call(&s, "GET", &format!("{base}/token"), &admin, None),
        403,
        "Invalid domain specific configuration: Group token is not supported for domain specific configurations.",
    );
    assert_error(
        &call(&s, "GET", &format!("{base}/ldap/nope"), &admin, None),
        403,
        "Invalid domain specific configuration: Option nope in group ldap is not supported for domain specific configurations.",
    );

    // Updates: the whole config merges; a group or option must exist and be the only one.
    let v = ok(
        call(
            &s,
            "PATCH",
            &base,
            &admin,
            Some(json!({"config": {"ldap": {"user_filter": "(x=y)", "password": "n3w"}}})),
        ),
        200,
    );
    assert_eq!(v["config"]["ldap"]["user_filter"], "(x=y)");
    assert!(!v.to_string().contains("n3w"));
    assert_eq!(
        rows(&s, &d, true),
        [("ldap".into(), "password".into(), "\"n3w\"".into())]
    );
    let v = ok(
        call(
            &s,
            "PATCH",
            &format!("{base}/ldap/url"),
            &admin,
            Some(json!({"config": {"url": "ldap://b"}})),
        ),
        200,
    );
    assert_eq!(v["config"]["ldap"]["url"], "ldap://b");
    let v = ok(
        call(
            &s,
            "PATCH",
            &format!("{base}/ldap"),
            &admin,
            Some(json!({"config": {"ldap": {"url": "ldap://c"}}})),
        ),
        200,
    );
    assert_eq!(v["config"]["ldap"]["url"], "ldap://c");
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("{base}/ldap"),
            &admin,
            Some(json!({"config": {"identity": {"driver": "sql"}}})),
        ),
        403,
        "Invalid domain specific configuration: request to update group ldap, but config provided contains group identity instead.",
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("{base}/ldap"),
            &admin,
            Some(json!({"config": {"ldap": {"url": "x"}, "identity": {"driver": "sql"}}})),
        ),
        403,
        "Invalid domain specific configuration: Trying to update group ldap, so that, and only that, group must be specified in the config.",
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("{base}/ldap/url"),
            &admin,
            Some(json!({"config": {"suffix": "x"}})),
        ),
        403,
        "Invalid domain specific configuration: Trying to update option url in group ldap, but config provided contains option suffix instead.",
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("{base}/ldap/suffix"),
            &admin,
            Some(json!({"config": {"suffix": "x"}})),
        ),
        404,
        &format!(
            "Could not find option suffix in group ldap in domain configuration for domain {d}."
        ),
    );

    // Bad input: Keystone's 403 for an empty or malformed config, a 400 (never a 500) for
    // a body or config that is not an object.
    assert_error(
        &call(&s, "PUT", &base, &admin, Some(json!({"config": {}}))),
        403,
        "Invalid domain specific configuration: No options specified.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &base,
            &admin,
            Some(json!({"config": {"ldap": "x"}})),
        ),
        403,
        "Invalid domain specific configuration: The value of group ldap specified in the config should be a dictionary of options.",
    );
    for body in [json!({"config": "x"}), json!(["x"]), json!({"config": [1]})] {
        let r = call(&s, "PUT", &base, &admin, Some(body));
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = s.request(
        "PATCH",
        &base,
        &[
            ("X-Auth-Token", &admin),
            ("Content-Type", "application/json"),
        ],
        Some(b"{oops"),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Deletes: option, group, whole; what is missing is a 404.
    ok(
        call(
            &s,
            "DELETE",
            &format!("{base}/ldap/user_filter"),
            &admin,
            None,
        ),
        204,
    );
    assert_error(
        &call(
            &s,
            "DELETE",
            &format!("{base}/ldap/user_filter"),
            &admin,
            None,
        ),
        404,
        &format!(
            "Could not find option user_filter in group ldap in domain configuration for domain {d}."
        ),
    );
    ok(
        call(&s, "DELETE", &format!("{base}/identity"), &admin, None),
        204,
    );
    assert_error(
        &call(&s, "DELETE", &format!("{base}/identity"), &admin, None),
        404,
        &format!("Could not find group identity in domain configuration for domain {d}."),
    );
    ok(call(&s, "DELETE", &base, &admin, None), 204);
    assert!(rows(&s, &d, true).is_empty());
    assert!(rows(&s, &d, false).is_empty());

    // A domain that does not exist: Keystone's GET looks for the options first.
    assert_error(
        &call(&s, "GET", "/v3/domains/nope/config", &admin, None),
        404,
        "Could not find any options in domain configuration for domain nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            "/v3/domains/nope/config",
            &admin,
            Some(json!({"config": {"ldap": {"url": "x"}}})),
        ),
        404,
        "Could not find domain: nope.",
    );
}

#[test]
fn defaults_security_compliance_policy_and_cascade() {
    let s = TestServer::start_with(
        "[ldap]\nurl = ldap://conf\npage_size = 9\n[security_compliance]\npassword_regex = ^.{8,}$\npassword_regex_description = eight or more\n",
    );
    let admin = s.admin_token();

    let all = ok(
        call(&s, "GET", "/v3/domains/config/default", &admin, None),
        200,
    );
    assert_eq!(
        all["config"]["identity"],
        json!({"driver": "sql", "list_limit": null})
    );
    assert_eq!(all["config"]["ldap"]["url"], "ldap://conf");
    assert_eq!(all["config"]["ldap"]["page_size"], 9);
    assert_eq!(all["config"]["ldap"]["pool_retry_delay"], 0.1);
    assert!(all["config"]["ldap"].get("password").is_none());
    assert_eq!(
        ok(
            call(
                &s,
                "GET",
                "/v3/domains/config/ldap/url/default",
                &admin,
                None
            ),
            200
        ),
        json!({"config": {"url": "ldap://conf"}})
    );
    let group = ok(
        call(
            &s,
            "GET",
            "/v3/domains/config/identity/default",
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(
        group,
        json!({"config": {"identity": {"driver": "sql", "list_limit": null}}})
    );
    assert_error(
        &call(
            &s,
            "GET",
            "/v3/domains/config/ldap/password/default",
            &admin,
            None,
        ),
        403,
        "Invalid domain specific configuration: Reading the default for option password in group ldap is not supported.",
    );
    assert_error(
        &call(&s, "GET", "/v3/domains/config/token/default", &admin, None),
        403,
        "Invalid domain specific configuration: Group token is not supported for domain specific configurations.",
    );

    // security_compliance: readable by any user, for the default domain only.
    let sc = ok(
        call(
            &s,
            "GET",
            "/v3/domains/default/config/security_compliance",
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(
        sc,
        json!({"config": {"security_compliance": {"password_regex": "^.{8,}$",
            "password_regex_description": "eight or more"}}})
    );
    assert_eq!(
        ok(
            call(
                &s,
                "GET",
                "/v3/domains/default/config/security_compliance/password_regex",
                &admin,
                None
            ),
            200
        ),
        json!({"config": {"password_regex": "^.{8,}$"}})
    );
    assert_error(
        &call(
            &s,
            "GET",
            "/v3/domains/default/config/security_compliance/lockout_duration",
            &admin,
            None,
        ),
        403,
        "Invalid domain specific configuration: Reading security compliance values other than password_regex and password_regex_description is not allowed..",
    );
    let d = domain(&s, &admin, "other-d");
    assert_error(
        &call(
            &s,
            "GET",
            &format!("/v3/domains/{d}/config/security_compliance"),
            &admin,
            None,
        ),
        403,
        "Invalid domain specific configuration: Reading security compliance information for any domain other than the default domain is not allowed or supported..",
    );

    // Policy: an unscoped token may read the password rules, nothing else.
    let unscoped = s.password_auth(None).subject_token();
    assert_eq!(
        call(
            &s,
            "GET",
            "/v3/domains/default/config/security_compliance",
            &unscoped,
            None
        )
        .status,
        200
    );
    assert_error(
        &call(
            &s,
            "GET",
            &format!("/v3/domains/{d}/config"),
            &unscoped,
            None,
        ),
        403,
        "You are not authorized to perform the requested action: identity:get_domain_config.",
    );
    assert_error(
        &call(&s, "GET", "/v3/domains/config/default", &unscoped, None),
        403,
        "You are not authorized to perform the requested action: identity:get_domain_config_default.",
    );
    // Policy comes before the domain's existence: nothing leaks.
    assert_error(
        &call(&s, "GET", "/v3/domains/nope/config", &unscoped, None),
        403,
        "You are not authorized to perform the requested action: identity:get_domain_config.",
    );
    assert_eq!(
        s.request("GET", "/v3/domains/config/default", &[], None)
            .status,
        401
    );

    // Deleting a domain deletes its configuration (both tables).
    ok(
        call(
            &s,
            "PUT",
            &format!("/v3/domains/{d}/config"),
            &admin,
            Some(json!({"config": {"ldap": {"url": "ldap://d", "password": "p"}}})),
        ),
        201,
    );
    ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/domains/{d}"),
            &admin,
            Some(json!({"domain": {"enabled": false}})),
        ),
        200,
    );
    ok(
        call(&s, "DELETE", &format!("/v3/domains/{d}"), &admin, None),
        204,
    );
    assert!(rows(&s, &d, true).is_empty());
    assert!(rows(&s, &d, false).is_empty());
}

#[test]
fn domain_config_upload_reads_keystone_domain_files() {
    use keystone_rs::manage::domain_config::{Upload, choose, upload};
    let s = TestServer::start();
    let admin = s.admin_token();
    let d1 = domain(&s, &admin, "upload1");
    let d2 = domain(&s, &admin, "upload2");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("keystone.upload1.conf"),
        "[identity]\ndriver = ldap\n[ldap]\nurl = ldap://one\npassword = pw1\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub").join("keystone.upload2.conf"),
        "[ldap]\nurl = ldap://two\n",
    )
    .unwrap();
    // Not domain files, or of no domain, or invalid: ignored or reported.
    std::fs::write(dir.path().join("README"), "x").unwrap();
    std::fs::write(dir.path().join("keystone.nosuch.conf"), "[ldap]\nurl = x\n").unwrap();

    let mut config = s.config.clone();
    config.identity.domain_config_dir = dir.path().to_path_buf();

    assert!(choose(false, None).is_err());
    assert!(choose(true, Some("x".into())).is_err());
    // One domain.
    assert!(upload(&config, Upload::Domain("upload1".into())).expect("upload"));
    assert_eq!(
        ok(
            call(&s, "GET", &format!("/v3/domains/{d1}/config"), &admin, None),
            200
        ),
        json!({"config": {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://one"}}})
    );
    assert_eq!(
        rows(&s, &d1, true),
        [("ldap".into(), "password".into(), "\"pw1\"".into())]
    );
    // All: upload1 already has a config and nosuch is no domain, so the run reports a
    // failure, but upload2 (in a subdirectory) is uploaded.
    assert!(
        !choose(true, None)
            .map(|w| upload(&config, w).expect("upload"))
            .unwrap()
    );
    assert_eq!(
        ok(
            call(&s, "GET", &format!("/v3/domains/{d2}/config"), &admin, None),
            200
        ),
        json!({"config": {"ldap": {"url": "ldap://two"}}})
    );
    // An invalid option fails that file, leaving the domain without a config.
    let d3 = domain(&s, &admin, "upload3");
    std::fs::write(
        dir.path().join("keystone.upload3.conf"),
        "[ldap]\nbogus = 1\n",
    )
    .unwrap();
    assert!(!upload(&config, Upload::Domain("upload3".into())).expect("upload"));
    assert!(rows(&s, &d3, false).is_empty());
    // No such directory.
    config.identity.domain_config_dir = dir.path().join("missing");
    assert!(upload(&config, Upload::All).is_err());
}

//! `[security_compliance]` on password authentication and password changes: lockout after
//! failed logins, the password regular expression, and the history/age/expiry rules.
//! Expected bodies are Python Keystone 30's (checked against a peer configured the same way).

use crate::support::{Response, TestServer};
use serde_json::{Value, json};

const GENERIC_401: &str = "The request you have made requires authentication.";
const RULE: &str =
    "Passwords must contain at least 1 letter, 1 digit, and be a minimum length of 7 characters.";

fn login(s: &TestServer, user_id: &str, password: &str) -> Response {
    s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": user_id, "password": password}}}}}),
    )
}

fn change_password(s: &TestServer, user_id: &str, original: &str, new: &str) -> Response {
    s.post_json(
        &format!("/v3/users/{user_id}/password"),
        None,
        &json!({"user": {"original_password": original, "password": new}}),
    )
}

fn create_user(s: &TestServer, admin: &str, user: Value) -> Response {
    s.post_json("/v3/users", Some(admin), &json!({ "user": user }))
}

fn patch_user(s: &TestServer, admin: &str, user_id: &str, user: Value) -> Response {
    let body = json!({ "user": user }).to_string();
    s.request(
        "PATCH",
        &format!("/v3/users/{user_id}"),
        &[
            ("X-Auth-Token", admin),
            ("Content-Type", "application/json"),
        ],
        Some(body.as_bytes()),
    )
}

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], message, "{}", r.body);
}

/// The counter as stored, to show what another node (or Python Keystone) would read.
fn failed_count(s: &TestServer, user_id: &str) -> i32 {
    let id = user_id.to_string();
    s.db()
        .read_blocking(move |conn| keystone_rs::identity::store::failed_auth(conn, &id))
        .expect("read counter")
        .expect("local user")
        .0
}

#[test]
fn lockout_after_failed_attempts_until_duration_passes() {
    let s = TestServer::start_with(
        "[security_compliance]\nlockout_failure_attempts = 3\nlockout_duration = 2\n",
    );
    let admin = s.admin_token();
    let domain = s.make_domain("lockout");
    let user = s.make_user("locky", &domain, "right-pw-1");

    // Two failures, then a success: the counter starts over.
    for _ in 0..2 {
        assert_error(&login(&s, &user, "wrong"), 401, GENERIC_401);
    }
    assert_eq!(failed_count(&s, &user), 2);
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);
    assert_eq!(failed_count(&s, &user), 0);

    // Three failures (a missing password counts too) lock the account: even the right
    // password is refused, with the same message as a wrong one.
    assert_error(&login(&s, &user, "wrong"), 401, GENERIC_401);
    assert_error(&login(&s, &user, "wrong"), 401, GENERIC_401);
    let no_password = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user}}}}}),
    );
    assert_error(&no_password, 401, GENERIC_401);
    assert_eq!(failed_count(&s, &user), 3);
    assert_error(&login(&s, &user, "right-pw-1"), 401, GENERIC_401);
    // Attempts while locked are refused before the password is checked: not counted.
    assert_eq!(failed_count(&s, &user), 3);
    // The self-service password change authenticates too, and is locked out as well.
    assert_error(
        &change_password(&s, &user, "right-pw-1", "other-pw-2"),
        401,
        GENERIC_401,
    );
    // A second node sharing the database sees the same lock.
    let node2 = s.second_node();
    assert_error(&login(&node2, &user, "right-pw-1"), 401, GENERIC_401);

    // After lockout_duration the right password works and clears the counter.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);
    assert_eq!(failed_count(&s, &user), 0);

    // After an expired lockout a wrong password starts counting again from one.
    for _ in 0..3 {
        login(&s, &user, "wrong");
    }
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_error(&login(&s, &user, "wrong"), 401, GENERIC_401);
    assert_eq!(failed_count(&s, &user), 1);

    // Wrong original passwords on the change-password route count as failed logins.
    for _ in 0..2 {
        assert_error(
            &change_password(&s, &user, "wrong", "other-pw-2"),
            401,
            GENERIC_401,
        );
    }
    assert_eq!(failed_count(&s, &user), 3);
    assert_error(&login(&s, &user, "right-pw-1"), 401, GENERIC_401);

    // An administrator's update of the (enabled) user unlocks it at once.
    let r = patch_user(&s, &admin, &user, json!({"enabled": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(failed_count(&s, &user), 0);
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);
}

#[test]
fn lockout_without_duration_is_permanent_and_options_exempt() {
    let s = TestServer::start_with(
        "[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 0\n",
    );
    let admin = s.admin_token();
    let domain = s.make_domain("lockout0");
    let user = s.make_user("forever", &domain, "right-pw-1");
    login(&s, &user, "wrong");
    login(&s, &user, "wrong");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_error(&login(&s, &user, "right-pw-1"), 401, GENERIC_401);

    // ignore_lockout_failure_attempts: failures are still counted but never lock.
    let exempt = create_user(
        &s,
        &admin,
        json!({"name": "exempt", "domain_id": domain, "password": "right-pw-1",
               "options": {"ignore_lockout_failure_attempts": true}}),
    );
    assert_eq!(exempt.status, 201, "{}", exempt.body);
    let exempt = exempt.json()["user"]["id"].as_str().unwrap().to_string();
    for _ in 0..4 {
        login(&s, &exempt, "wrong");
    }
    assert_eq!(login(&s, &exempt, "right-pw-1").status, 201);

    // A disabled user is refused before its password is looked at: nothing is counted.
    let disabled = s.make_user("disabled", &domain, "right-pw-1");
    assert_eq!(
        patch_user(&s, &admin, &disabled, json!({"enabled": false})).status,
        200
    );
    for _ in 0..3 {
        assert_error(&login(&s, &disabled, "wrong"), 401, GENERIC_401);
    }
    assert_eq!(failed_count(&s, &disabled), 0);
}

#[test]
fn lockout_is_off_by_default() {
    let s = TestServer::start();
    let domain = s.make_domain("nolock");
    let user = s.make_user("free", &domain, "right-pw-1");
    for _ in 0..6 {
        assert_error(&login(&s, &user, "wrong"), 401, GENERIC_401);
    }
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);
}

#[test]
fn password_regex_applies_to_every_new_password() {
    let s = TestServer::start_with(&format!(
        "[security_compliance]\npassword_regex = ^(?=.*\\d)(?=.*[a-zA-Z]).{{7,}}$\npassword_regex_description = {RULE}\n"
    ));
    let admin = s.admin_token();
    let domain = s.make_domain("regex");
    // Keystone appends a full stop to the description, even when it ends with one.
    let mismatch = format!("The password does not match the requirements: {RULE}.");

    let r = create_user(
        &s,
        &admin,
        json!({"name": "r1", "domain_id": domain, "password": "short"}),
    );
    assert_error(&r, 400, &mismatch);
    let r = create_user(
        &s,
        &admin,
        json!({"name": "r2", "domain_id": domain, "password": null}),
    );
    assert_error(
        &r,
        400,
        "Password validation error: Password must be a string type.",
    );
    let r = create_user(
        &s,
        &admin,
        json!({"name": "r3", "domain_id": domain, "password": "abc12345"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user = r.json()["user"]["id"].as_str().unwrap().to_string();

    assert_error(
        &patch_user(&s, &admin, &user, json!({"password": "short"})),
        400,
        &mismatch,
    );
    // The original password is checked first; then the new one.
    assert_error(
        &change_password(&s, &user, "wrong", "short"),
        401,
        GENERIC_401,
    );
    assert_error(
        &change_password(&s, &user, "abc12345", "short"),
        400,
        &mismatch,
    );
    // Python's re.match anchors at the start only: a trailing newline-free match suffices.
    assert_eq!(
        change_password(&s, &user, "abc12345", "xyz98765").status,
        204
    );
    assert_eq!(login(&s, &user, "xyz98765").status, 201);
}

#[test]
fn password_regex_that_does_not_compile_refuses_new_passwords() {
    let s = TestServer::start_with("[security_compliance]\npassword_regex = ([a-z\n");
    let admin = s.admin_token();
    let domain = s.make_domain("badregex");
    let r = create_user(
        &s,
        &admin,
        json!({"name": "b1", "domain_id": domain, "password": "anything1"}),
    );
    assert_error(
        &r,
        400,
        "Password validation error: Unable to validate password due to invalid configuration.",
    );
    // Logins are unaffected.
    assert_eq!(s.password_auth(None).status, 201);
}

#[test]
fn password_history_age_and_expiry_rules() {
    let s = TestServer::start_with(
        "[security_compliance]\nunique_last_password_count = 2\nminimum_password_age = 1\npassword_expires_days = 5\nchange_password_upon_first_use = true\n",
    );
    let admin = s.admin_token();
    let domain = s.make_domain("rules");
    let r = create_user(
        &s,
        &admin,
        json!({"name": "ruled", "domain_id": domain, "password": "first-pw-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user = r.json()["user"]["id"].as_str().unwrap().to_string();
    // change_password_upon_first_use: an administrator's password is expired already.
    assert!(
        r.json()["user"]["password_expires_at"].is_string(),
        "{}",
        r.body
    );
    assert_error(
        &login(&s, &user, "first-pw-1"),
        401,
        &format!("The password is expired and needs to be changed for user: {user}."),
    );
    // The history includes the current password.
    assert_error(
        &change_password(&s, &user, "first-pw-1", "first-pw-1"),
        400,
        "The new password cannot be identical to a previous password. The total number which \
         includes the new password must be unique is 2.",
    );
    // An expired password may still be changed by its owner.
    assert_eq!(
        change_password(&s, &user, "first-pw-1", "second-pw-2").status,
        204
    );
    let r = login(&s, &user, "second-pw-2");
    assert_eq!(r.status, 201, "{}", r.body);
    // password_expires_days: the new password expires in five days.
    let expires = r.json()["token"]["user"]["password_expires_at"]
        .as_str()
        .expect("expiry")
        .to_string();
    let expires = chrono::NaiveDateTime::parse_from_str(&expires, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
    let days = (expires - chrono::Utc::now().naive_utc()).num_hours();
    assert!((119..=120).contains(&days), "{expires}");
    // minimum_password_age: a self-service password must be used for a day first.
    assert_error(
        &change_password(&s, &user, "second-pw-2", "third-pw-3"),
        400,
        "You cannot change your password at this time due to the minimum password age. Once you change \
         your password, it must be used for 1 day(s) before it can be changed. Please try again in 0 \
         day(s) or contact your administrator to reset your password.",
    );
}

/// Move a user's `last_active_at` (and `created_at`) as if time had passed.
fn age_user(
    s: &TestServer,
    user_id: &str,
    last_active_days_ago: Option<i64>,
    created_days_ago: i64,
) {
    use diesel::prelude::*;
    use keystone_rs::db::schema::user;
    let id = user_id.to_string();
    let today = chrono::Utc::now().date_naive();
    let last = last_active_days_ago.map(|d| today - chrono::Duration::days(d));
    let created = chrono::Utc::now().naive_utc() - chrono::Duration::days(created_days_ago);
    s.db()
        .write_blocking(move |conn| {
            diesel::update(user::table.filter(user::id.eq(&id)))
                .set((
                    user::last_active_at.eq(last),
                    user::created_at.eq(Some(created)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .expect("age user");
}

fn last_active(s: &TestServer, user_id: &str) -> Option<chrono::NaiveDate> {
    let id = user_id.to_string();
    s.db()
        .read_blocking(move |conn| keystone_rs::identity::store::get(conn, &id))
        .expect("read user")
        .expect("user")
        .last_active_at
}

fn shown_enabled(s: &TestServer, admin: &str, user_id: &str) -> Value {
    let r = s.get(&format!("/v3/users/{user_id}"), Some(admin));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["user"]["enabled"].clone()
}

#[test]
fn users_inactive_for_the_configured_days_are_disabled_until_enabled_again() {
    let s =
        TestServer::start_with("[security_compliance]\ndisable_user_account_days_inactive = 2\n");
    let admin = s.admin_token();
    let today = chrono::Utc::now().date_naive();
    let domain = s.make_domain("inactivity");
    let created = create_user(
        &s,
        &admin,
        json!({"name": "sleepy", "domain_id": domain, "password": "right-pw-1"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let user = created.json()["user"]["id"].as_str().unwrap().to_string();
    // Creating an enabled user makes today its last active day (Keystone's setter).
    assert_eq!(last_active(&s, &user), Some(today));

    // One day short of the limit: still enabled, and a password login moves the day on.
    age_user(&s, &user, Some(1), 30);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(true));
    let first = login(&s, &user, "right-pw-1");
    assert_eq!(first.status, 201, "{}", first.body);
    let token = first.subject_token();
    assert_eq!(last_active(&s, &user), Some(today));

    // At the limit the user reads as disabled everywhere: the API, password logins (the
    // generic 401 of a disabled user, not counted as a failure) and its tokens.
    age_user(&s, &user, Some(2), 30);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(false));
    let listed = s.get(&format!("/v3/users?domain_id={domain}"), Some(&admin));
    assert_eq!(
        listed.json()["users"][0]["enabled"],
        json!(false),
        "{}",
        listed.body
    );
    assert_error(&login(&s, &user, "right-pw-1"), 401, GENERIC_401);
    assert_eq!(failed_count(&s, &user), 0);
    let check = s.tokens("GET", "", &admin, &token);
    assert_eq!(check.status, 404, "{}", check.body);

    // An administrator enables it again: today is its last active day.
    let r = patch_user(&s, &admin, &user, json!({"enabled": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user"]["enabled"], json!(true));
    assert_eq!(last_active(&s, &user), Some(today));
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);

    // Never active: counted from created_at.
    age_user(&s, &user, None, 2);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(false));
    age_user(&s, &user, None, 1);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(true));

    // Another update of an inactive user stores it disabled (Keystone rebuilds the row
    // from the user as shown): becoming active again does not bring it back.
    age_user(&s, &user, Some(5), 30);
    let r = patch_user(&s, &admin, &user, json!({"email": "sleepy@example.org"}));
    assert_eq!(r.json()["user"]["enabled"], json!(false), "{}", r.body);
    age_user(&s, &user, Some(0), 30);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(false));

    // ignore_user_inactivity exempts a user.
    let exempt = create_user(
        &s,
        &admin,
        json!({"name": "exempt", "domain_id": domain, "password": "right-pw-1",
               "options": {"ignore_user_inactivity": true}}),
    );
    assert_eq!(exempt.status, 201, "{}", exempt.body);
    let exempt = exempt.json()["user"]["id"].as_str().unwrap().to_string();
    age_user(&s, &exempt, Some(90), 90);
    assert_eq!(shown_enabled(&s, &admin, &exempt), json!(true));
    assert_eq!(login(&s, &exempt, "right-pw-1").status, 201);
}

#[test]
fn inactivity_is_not_enforced_by_default_but_logins_are_still_recorded() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let domain = s.make_domain("noinactivity");
    let user = s.make_user("idle", &domain, "right-pw-1");
    age_user(&s, &user, Some(3650), 3650);
    assert_eq!(shown_enabled(&s, &admin, &user), json!(true));
    assert_eq!(login(&s, &user, "right-pw-1").status, 201);
    // Keystone records the day of every password login, option or not.
    assert_eq!(
        last_active(&s, &user),
        Some(chrono::Utc::now().date_naive())
    );
}

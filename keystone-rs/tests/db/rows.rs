//! Writes one row into every table through the `table!` definitions and reads it back with
//! `all_columns`: catches a column that is missing, misnamed or of the wrong type on a backend.
//! Works on an empty migrated database and on one Keystone built (it only adds rows).

use crate::catalog;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use keystone_rs::db::enums::{AssignmentType, EntityType};
use keystone_rs::db::schema;
use keystone_rs::db::{AnyConnection, last_insert_id};
use std::fmt::Debug;

fn s(v: &str) -> String {
    v.to_string()
}

fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Whole seconds: MySQL's DATETIME (as Keystone creates it) keeps no fractions.
fn at(h: u32, m: u32, sec: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(h, m, sec))
        .expect("valid time")
}

/// Thirteen columns: more than the tuples that implement PartialEq/Debug.
#[derive(Queryable, PartialEq, Debug)]
struct RevocationEventRow {
    id: i32,
    domain_id: Option<String>,
    project_id: Option<String>,
    user_id: Option<String>,
    role_id: Option<String>,
    trust_id: Option<String>,
    consumer_id: Option<String>,
    access_token_id: Option<String>,
    issued_before: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    revoked_at: NaiveDateTime,
    audit_id: Option<String>,
    audit_chain_id: Option<String>,
}

fn expect_row<T: PartialEq + Debug>(table: &str, rows: Vec<T>, expected: T) {
    assert!(
        rows.contains(&expected),
        "{table}: row not read back as written.\n  wrote {expected:?}\n  read  {rows:?}"
    );
}

fn new_id(conn: &mut AnyConnection) -> i32 {
    let id = last_insert_id(conn).expect("last insert id");
    i32::try_from(id).expect("id fits INTEGER")
}

/// Insert the listed columns (all of them, in `table!` order) and read every row back.
macro_rules! roundtrip {
    ($conn:expr, $covered:expr, $table:ident { $($col:ident: $val:expr),+ $(,)? }) => {{
        use schema::$table as t;
        diesel::insert_into(t::table)
            .values(($(t::$col.eq($val),)+))
            .execute($conn)
            .unwrap_or_else(|e| panic!("insert into {}: {e}", stringify!($table)));
        let rows = t::table
            .select(t::all_columns)
            .load($conn)
            .unwrap_or_else(|e| panic!("select from {}: {e}", stringify!($table)));
        expect_row(stringify!($table), rows, ($($val,)+));
        $covered.push((stringify!($table), [$(stringify!($col)),+].len()));
    }};
}

/// For tables with an autoincrement key: insert without it, then read it back.
macro_rules! insert_auto {
    ($conn:expr, $table:ident { $($col:ident: $val:expr),+ $(,)? }) => {{
        use schema::$table as t;
        diesel::insert_into(t::table)
            .values(($(t::$col.eq($val),)+))
            .execute($conn)
            .unwrap_or_else(|e| panic!("insert into {}: {e}", stringify!($table)));
        new_id($conn)
    }};
}

macro_rules! read_back {
    ($conn:expr, $covered:expr, $table:ident, $expected:expr, $columns:expr) => {{
        use schema::$table as t;
        let rows = t::table
            .select(t::all_columns)
            .load($conn)
            .unwrap_or_else(|e| panic!("select from {}: {e}", stringify!($table)));
        expect_row(stringify!($table), rows, $expected);
        $covered.push((stringify!($table), $columns));
    }};
}

/// Returns the tables covered with the number of columns written.
pub fn roundtrip_every_table(conn: &mut AnyConnection) -> Vec<(&'static str, usize)> {
    let mut covered: Vec<(&'static str, usize)> = Vec::new();
    let root = "<<keystone.domain.root>>";

    // ---- resource
    roundtrip!(
        conn,
        covered,
        project {
            id: s("dom1"),
            name: s("Dom One"),
            extra: some("{}"),
            description: some("a domain"),
            enabled: Some(true),
            domain_id: s(root),
            parent_id: None::<String>,
            is_domain: true,
        }
    );
    // a second project row, the one the checks below hang off
    diesel::insert_into(schema::project::table)
        .values((
            schema::project::id.eq("p1"),
            schema::project::name.eq("P One"),
            schema::project::extra.eq("{\"k\": \"v\"}"),
            schema::project::description.eq(""),
            schema::project::enabled.eq(false),
            schema::project::domain_id.eq("dom1"),
            schema::project::parent_id.eq("dom1"),
            schema::project::is_domain.eq(false),
        ))
        .execute(conn)
        .expect("insert project p1");
    roundtrip!(
        conn,
        covered,
        project_option {
            project_id: s("p1"),
            option_id: s("IMMU"),
            option_value: some("true")
        }
    );
    roundtrip!(
        conn,
        covered,
        project_tag {
            project_id: s("p1"),
            name: s("Tag-Ä")
        }
    );
    roundtrip!(
        conn,
        covered,
        config_register {
            type_: s("ldap"),
            domain_id: s("dom1")
        }
    );
    roundtrip!(
        conn,
        covered,
        whitelisted_config {
            domain_id: s("dom1"),
            group: s("ldap"),
            option: s("url"),
            value: s("\"ldap://x\""),
        }
    );
    roundtrip!(
        conn,
        covered,
        sensitive_config {
            domain_id: s("dom1"),
            group: s("ldap"),
            option: s("password"),
            value: s("\"pw\""),
        }
    );

    // ---- identity
    roundtrip!(
        conn,
        covered,
        user {
            id: s("u1"),
            extra: some("{\"email\": \"a@b\"}"),
            enabled: Some(true),
            default_project_id: some("p1"),
            created_at: Some(at(12, 34, 7)),
            last_active_at: NaiveDate::from_ymd_opt(2026, 11, 20),
            domain_id: s("dom1"),
        }
    );
    diesel::insert_into(schema::user::table)
        .values((
            schema::user::id.eq("u2"),
            schema::user::domain_id.eq("dom1"),
        ))
        .execute(conn)
        .expect("insert user u2");
    let local_user_id = insert_auto!(
        conn,
        local_user {
            user_id: s("u1"),
            domain_id: s("dom1"),
            name: s("alice"),
            failed_auth_count: Some(0),
            failed_auth_at: Some(at(1, 2, 3)),
        }
    );
    read_back!(
        conn,
        covered,
        local_user,
        (
            local_user_id,
            s("u1"),
            s("dom1"),
            s("alice"),
            Some(0),
            Some(at(1, 2, 3))
        ),
        6
    );
    let password_id = insert_auto!(
        conn,
        password {
            local_user_id: local_user_id,
            expires_at: Some(at(2, 0, 0)),
            self_service: true,
            password_hash: some("$2b$12$abcdefghijklmnopqrstuv"),
            created_at_int: 1795523647459606_i64,
            expires_at_int: Some(1795530000000000_i64),
            created_at: at(12, 34, 7),
        }
    );
    read_back!(
        conn,
        covered,
        password,
        (
            password_id,
            local_user_id,
            Some(at(2, 0, 0)),
            true,
            some("$2b$12$abcdefghijklmnopqrstuv"),
            1795523647459606_i64,
            Some(1795530000000000_i64),
            at(12, 34, 7)
        ),
        8
    );
    roundtrip!(
        conn,
        covered,
        nonlocal_user {
            domain_id: s("dom1"),
            name: s("bob"),
            user_id: s("u2")
        }
    );
    roundtrip!(
        conn,
        covered,
        user_option {
            user_id: s("u1"),
            option_id: s("MFAR"),
            option_value: some("[[\"password\"]]")
        }
    );
    roundtrip!(
        conn,
        covered,
        group {
            id: s("g1"),
            domain_id: s("dom1"),
            name: s("admins"),
            description: some("d"),
            extra: some("{}"),
        }
    );
    roundtrip!(
        conn,
        covered,
        user_group_membership {
            user_id: s("u1"),
            group_id: s("g1")
        }
    );
    roundtrip!(
        conn,
        covered,
        id_mapping {
            public_id: s("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            domain_id: s("dom1"),
            local_id: s("cn=bob"),
            entity_type: EntityType::User,
        }
    );

    // ---- federation
    roundtrip!(
        conn,
        covered,
        identity_provider {
            id: s("idp1"),
            enabled: true,
            description: some("idp"),
            domain_id: s("dom1"),
            authorization_ttl: Some(60),
        }
    );
    roundtrip!(
        conn,
        covered,
        idp_remote_ids {
            idp_id: some("idp1"),
            remote_id: s("https://idp.example/")
        }
    );
    roundtrip!(
        conn,
        covered,
        mapping {
            id: s("map1"),
            rules: s("\"[]\""),
            schema_version: s("1.0")
        }
    );
    roundtrip!(
        conn,
        covered,
        federation_protocol {
            id: s("saml2"),
            idp_id: s("idp1"),
            mapping_id: s("map1"),
            remote_id_attribute: None::<String>,
        }
    );
    let federated_id = insert_auto!(
        conn,
        federated_user {
            user_id: s("u1"),
            idp_id: s("idp1"),
            protocol_id: s("saml2"),
            unique_id: s("alice@idp"),
            display_name: some("Alice"),
        }
    );
    read_back!(
        conn,
        covered,
        federated_user,
        (
            federated_id,
            s("u1"),
            s("idp1"),
            s("saml2"),
            s("alice@idp"),
            some("Alice")
        ),
        6
    );
    roundtrip!(
        conn,
        covered,
        expiring_user_group_membership {
            user_id: s("u1"),
            group_id: s("g1"),
            idp_id: s("idp1"),
            last_verified: at(3, 4, 5),
        }
    );
    roundtrip!(
        conn,
        covered,
        service_provider {
            auth_url: s("https://sp/auth"),
            id: s("sp1"),
            enabled: false,
            description: None::<String>,
            sp_url: s("https://sp/"),
            relay_state_prefix: s("ss:mem:"),
        }
    );

    // ---- assignment
    roundtrip!(
        conn,
        covered,
        role {
            id: s("r1"),
            name: s("admin"),
            extra: some("{}"),
            domain_id: s("<<null>>"),
            description: None::<String>,
        }
    );
    diesel::insert_into(schema::role::table)
        .values((
            schema::role::id.eq("r2"),
            schema::role::name.eq("reader"),
            schema::role::domain_id.eq("<<null>>"),
        ))
        .execute(conn)
        .expect("insert role r2");
    roundtrip!(
        conn,
        covered,
        role_option {
            role_id: s("r1"),
            option_id: s("IMMU"),
            option_value: some("true")
        }
    );
    roundtrip!(
        conn,
        covered,
        implied_role {
            prior_role_id: s("r1"),
            implied_role_id: s("r2")
        }
    );
    roundtrip!(
        conn,
        covered,
        assignment {
            type_: AssignmentType::UserProject,
            actor_id: s("u1"),
            target_id: s("p1"),
            role_id: s("r1"),
            inherited: false,
        }
    );
    // Filters on the ENUM columns (PostgreSQL has no `enum = text`).
    let actors: Vec<String> = schema::assignment::table
        .filter(schema::assignment::type_.eq(AssignmentType::UserProject))
        .filter(
            schema::assignment::type_
                .eq_any([AssignmentType::UserProject, AssignmentType::GroupProject]),
        )
        .filter(schema::assignment::type_.ne(AssignmentType::GroupDomain))
        .select(schema::assignment::actor_id)
        .load(conn)
        .expect("filter on assignment.type");
    assert_eq!(actors, vec![s("u1")]);
    let mapped: i64 = schema::id_mapping::table
        .filter(schema::id_mapping::entity_type.eq(EntityType::User))
        .count()
        .get_result(conn)
        .expect("filter on id_mapping.entity_type");
    assert_eq!(mapped, 1);
    roundtrip!(
        conn,
        covered,
        system_assignment {
            type_: s("UserSystem"),
            actor_id: s("u1"),
            target_id: s("system"),
            role_id: s("r1"),
            inherited: false,
        }
    );

    // ---- catalog
    roundtrip!(
        conn,
        covered,
        service {
            id: s("svc1"),
            type_: some("identity"),
            enabled: true,
            extra: some("{\"name\": \"keystone\"}")
        }
    );
    roundtrip!(
        conn,
        covered,
        region {
            id: s("RegionTest"),
            description: s(""),
            parent_region_id: None::<String>,
            extra: some("{}")
        }
    );
    roundtrip!(
        conn,
        covered,
        endpoint {
            id: s("ep1"),
            legacy_endpoint_id: None::<String>,
            interface: s("public"),
            service_id: s("svc1"),
            url: s("http://h:5000/v3/$(project_id)s"),
            extra: some("{}"),
            enabled: true,
            region_id: some("RegionTest"),
        }
    );
    roundtrip!(
        conn,
        covered,
        endpoint_group {
            id: s("eg1"),
            name: s("g"),
            description: None::<String>,
            filters: s("{}")
        }
    );
    roundtrip!(
        conn,
        covered,
        project_endpoint {
            endpoint_id: s("ep1"),
            project_id: s("p1")
        }
    );
    roundtrip!(
        conn,
        covered,
        project_endpoint_group {
            endpoint_group_id: s("eg1"),
            project_id: s("p1")
        }
    );
    roundtrip!(
        conn,
        covered,
        policy {
            id: s("pol1"),
            type_: s("application/json"),
            blob: s("{}"),
            extra: some("{}")
        }
    );
    roundtrip!(
        conn,
        covered,
        policy_association {
            id: s("pa1"),
            policy_id: s("pol1"),
            endpoint_id: some("ep1"),
            service_id: None::<String>,
            region_id: None::<String>,
        }
    );

    // ---- application credentials
    let app_cred_id = insert_auto!(
        conn,
        application_credential {
            id: s("ac1"),
            name: s("ci"),
            secret_hash: s("$2b$12$hash"),
            description: some("d"),
            user_id: s("u1"),
            project_id: some("p1"),
            expires_at: Some(1795610271000000_i64),
            system: None::<String>,
            unrestricted: Some(false),
        }
    );
    read_back!(
        conn,
        covered,
        application_credential,
        (
            app_cred_id,
            s("ac1"),
            s("ci"),
            s("$2b$12$hash"),
            some("d"),
            s("u1"),
            some("p1"),
            Some(1795610271000000_i64),
            None::<String>,
            Some(false)
        ),
        10
    );
    roundtrip!(
        conn,
        covered,
        application_credential_role {
            application_credential_id: app_cred_id,
            role_id: s("r1")
        }
    );
    let rule_id = insert_auto!(
        conn,
        access_rule {
            service: some("compute"),
            path: some("/v2.1/servers"),
            method: some("GET"),
            external_id: some("rule1"),
            user_id: some("u1"),
        }
    );
    read_back!(
        conn,
        covered,
        access_rule,
        (
            rule_id,
            some("compute"),
            some("/v2.1/servers"),
            some("GET"),
            some("rule1"),
            some("u1")
        ),
        6
    );
    roundtrip!(
        conn,
        covered,
        application_credential_access_rule {
            application_credential_id: app_cred_id,
            access_rule_id: rule_id
        }
    );

    // ---- OAuth1
    roundtrip!(
        conn,
        covered,
        consumer {
            id: s("c1"),
            description: some("dbcheck"),
            secret: s("sec"),
            extra: s("{\"k\": \"v\"}")
        }
    );
    roundtrip!(
        conn,
        covered,
        request_token {
            id: s("rt1"),
            request_secret: s("rs"),
            verifier: some("KyGqkgMN"),
            authorizing_user_id: some("u1"),
            requested_project_id: s("p1"),
            role_ids: some("[\"r1\"]"),
            consumer_id: s("c1"),
            expires_at: some("2026-11-24T20:46:27.000000Z"),
        }
    );
    roundtrip!(
        conn,
        covered,
        access_token {
            id: s("at1"),
            access_secret: s("as"),
            authorizing_user_id: s("u1"),
            project_id: s("p1"),
            role_ids: s("[\"r1\"]"),
            consumer_id: s("c1"),
            expires_at: None::<String>,
        }
    );

    // ---- revocation, credentials, trusts, limits, legacy tokens
    let event_id = insert_auto!(
        conn,
        revocation_event {
            domain_id: None::<String>,
            project_id: some("p1"),
            user_id: some("u1"),
            role_id: None::<String>,
            trust_id: None::<String>,
            consumer_id: None::<String>,
            access_token_id: None::<String>,
            issued_before: at(12, 39, 22),
            expires_at: None::<NaiveDateTime>,
            revoked_at: at(12, 39, 22),
            audit_id: some("abcdefghijklmnopqrstuv"),
            audit_chain_id: None::<String>,
        }
    );
    read_back!(
        conn,
        covered,
        revocation_event,
        RevocationEventRow {
            id: event_id,
            domain_id: None,
            project_id: some("p1"),
            user_id: some("u1"),
            role_id: None,
            trust_id: None,
            consumer_id: None,
            access_token_id: None,
            issued_before: at(12, 39, 22),
            expires_at: None,
            revoked_at: at(12, 39, 22),
            audit_id: some("abcdefghijklmnopqrstuv"),
            audit_chain_id: None,
        },
        13
    );
    roundtrip!(
        conn,
        covered,
        credential {
            id: s("cred1"),
            user_id: s("u1"),
            project_id: some("p1"),
            type_: s("ec2"),
            extra: some("{}"),
            key_hash: s("0123456789abcdef"),
            encrypted_blob: s("gAAAAA"),
        }
    );
    roundtrip!(
        conn,
        covered,
        trust {
            id: s("t1"),
            trustor_user_id: s("u1"),
            trustee_user_id: s("u2"),
            project_id: some("p1"),
            impersonation: true,
            deleted_at: None::<NaiveDateTime>,
            expires_at: Some(at(23, 0, 0)),
            remaining_uses: Some(3),
            extra: some("{}"),
            expires_at_int: Some(1795561200000000_i64),
            redelegated_trust_id: None::<String>,
            redelegation_count: Some(0),
        }
    );
    roundtrip!(
        conn,
        covered,
        trust_role {
            trust_id: s("t1"),
            role_id: s("r1")
        }
    );
    let registered_id = insert_auto!(
        conn,
        registered_limit {
            id: s("rl1"),
            service_id: some("svc1"),
            region_id: some("RegionTest"),
            resource_name: some("cores"),
            default_limit: 10,
            description: None::<String>,
        }
    );
    read_back!(
        conn,
        covered,
        registered_limit,
        (
            s("rl1"),
            some("svc1"),
            some("RegionTest"),
            some("cores"),
            10,
            None::<String>,
            registered_id
        ),
        7
    );
    let limit_id = insert_auto!(
        conn,
        limit {
            id: s("l1"),
            project_id: some("p1"),
            resource_limit: 5,
            description: some("d"),
            registered_limit_id: some("rl1"),
            domain_id: None::<String>,
        }
    );
    read_back!(
        conn,
        covered,
        limit,
        (
            s("l1"),
            some("p1"),
            5,
            some("d"),
            limit_id,
            some("rl1"),
            None::<String>
        ),
        7
    );
    roundtrip!(
        conn,
        covered,
        token {
            id: s("tok1"),
            expires: Some(at(5, 6, 7)),
            extra: some("{}"),
            valid: true,
            trust_id: None::<String>,
            user_id: some("u1"),
        }
    );

    // ---- keystone-rs only
    roundtrip!(
        conn,
        covered,
        ksrs_replay {
            kind: s("oauth2_jti"),
            value: s("Nonce-ABC"),
            expires_at: 1795610271000000_i64
        }
    );
    // Replay values differ by case only and still count as different values.
    diesel::insert_into(schema::ksrs_replay::table)
        .values((
            schema::ksrs_replay::kind.eq("oauth2_jti"),
            schema::ksrs_replay::value.eq("nonce-abc"),
            schema::ksrs_replay::expires_at.eq(1_i64),
        ))
        .execute(conn)
        .expect("case-distinct replay value");
    let replay = diesel::insert_into(schema::ksrs_replay::table)
        .values((
            schema::ksrs_replay::kind.eq("oauth2_jti"),
            schema::ksrs_replay::value.eq("Nonce-ABC"),
            schema::ksrs_replay::expires_at.eq(1_i64),
        ))
        .execute(conn);
    assert!(
        matches!(
            replay,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "a replayed value must be a unique violation, got {replay:?}"
    );

    roundtrip!(
        conn,
        covered,
        ksrs_oauth2_client {
            application_credential_id: s("0123456789abcdef0123456789abcdef"),
            jwt_secret: some("Secret-With-Case"),
            public_key: some("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"),
            public_key_alg: some("ES256"),
            created_at: 1795610271000000_i64,
            jwt_secret_key_hash: some("0123456789abcdef0123456789abcdef01234567")
        }
    );
    roundtrip!(
        conn,
        covered,
        ksrs_oauth2_certificate {
            thumbprint: s("GeuMEUC12t6CinhZ5kHg4bcwVaSAbT170Mad2xOXV78="),
            x5t_s256: s("Case-Sensitive_x5t-AbCdEfGhIjKlMnOpQrStUvWxYz0123"),
            created_at: 1795610271000000_i64
        }
    );
    // The change marker nodes poll: one row, seeded by its migration (not in `table!`; the
    // cache code reads it with plain SQL).
    #[derive(diesel::QueryableByName)]
    struct Marker {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        generation: i64,
    }
    let markers: Vec<Marker> = diesel::sql_query("SELECT id, generation FROM ksrs_generation")
        .load(conn)
        .expect("read ksrs_generation");
    assert!(
        matches!(markers.as_slice(), [Marker { id: 1, generation }] if *generation >= 0),
        "ksrs_generation must hold exactly its seeded row"
    );
    covered.push(("ksrs_generation", 2));

    check_coverage(conn, &covered);
    covered
}

/// Every table in the database got a row, through a write of all its columns.
fn check_coverage(conn: &mut AnyConnection, covered: &[(&'static str, usize)]) {
    let tables = catalog::table_names(conn);
    for table in &tables {
        if table == "alembic_version" || table == "__diesel_schema_migrations" {
            continue;
        }
        let Some((_, written)) = covered.iter().find(|(name, _)| name == table) else {
            panic!("table {table} is not covered by the row test");
        };
        let in_db = catalog::column_count(conn, table);
        assert_eq!(
            i64::try_from(*written).unwrap_or(-1),
            in_db,
            "table {table}: the database has {in_db} columns, table! writes {written}"
        );
    }
}

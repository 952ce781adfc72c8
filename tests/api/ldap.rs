//! A domain on LDAP beside SQL domains (`[identity] domain_specific_drivers_enabled`),
//! against a real OpenLDAP `slapd` started here from a generated configuration and a
//! seeded directory: listing with filters, public ids from the id mapping (Keystone's
//! sha256), password login by bind, group-based role assignment, the read-only 403s, an
//! LDAP injection attempt, paged answers, configuration from files and from the
//! database, and the directory going away (503 for that domain only).
//!
//! The server runs as its own process: the directory backend is registered once per
//! process (`identity::remote`), as in production.

use crate::support::{ADMIN_PASSWORD, Response, TestServer, role_id, send};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SUFFIX: &str = "dc=example,dc=org";

const SEED: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=Users,dc=example,dc=org
objectClass: organizationalUnit
ou: Users

dn: ou=UserGroups,dc=example,dc=org
objectClass: organizationalUnit
ou: UserGroups

dn: cn=alice,ou=Users,dc=example,dc=org
objectClass: inetOrgPerson
cn: alice
sn: alice
mail: alice@example.org
description: Alice of the directory
userPassword: alice-secret

dn: cn=bob,ou=Users,dc=example,dc=org
objectClass: inetOrgPerson
cn: bob
sn: bob
userPassword: bob-secret

dn: cn=carol,ou=Users,dc=example,dc=org
objectClass: inetOrgPerson
cn: carol
sn: carol
userPassword: carol-secret

dn: cn=devs,ou=UserGroups,dc=example,dc=org
objectClass: groupOfNames
cn: devs
ou: devs
description: Developers
member: cn=alice,ou=Users,dc=example,dc=org
member: cn=carol,ou=Users,dc=example,dc=org

dn: cn=ops,ou=UserGroups,dc=example,dc=org
objectClass: groupOfNames
cn: ops
ou: ops
member: cn=bob,ou=Users,dc=example,dc=org
";

/// A running slapd on its own port, with its files in a tempdir; stopped when dropped.
struct Slapd {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Slapd {
    /// `None` (the test skips, saying so) when slapd is not installed — except in CI,
    /// where tools/test.sh installs it and a missing slapd is a failure.
    fn start() -> Option<Slapd> {
        if !Path::new(SLAPD).exists() {
            assert!(
                std::env::var("CI").is_err(),
                "slapd is not installed (tools/test.sh installs the slapd package)"
            );
            eprintln!("SKIPPED: {SLAPD} not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"cn=admin,{SUFFIX}\"\n\
                 rootpw admin-secret\n\
                 directory {data}\n\
                 access to attrs=userPassword by anonymous auth by * none\n\
                 access to * by * read\n",
                pid = dir.path().join("slapd.pid").display(),
                data = data.display(),
            ),
        )
        .expect("slapd.conf");
        let seed = dir.path().join("seed.ldif");
        std::fs::write(&seed, SEED).expect("seed");
        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&seed)
            .output()
            .expect("slapadd");
        assert!(
            out.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url = format!("ldap://127.0.0.1:{port}");
        let child = Command::new(SLAPD)
            .arg("-h")
            .arg(format!("{url}/"))
            .arg("-f")
            .arg(&conf)
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn slapd");
        let slapd = Slapd {
            child,
            url,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(slapd);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("slapd did not listen on {port}");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `[identity]` / `[ldap]` options of the LDAP domain, as a domain config file has them.
fn ldap_conf(url: &str, extra: &str) -> String {
    format!(
        "[identity]\ndriver = ldap\n[ldap]\nurl = {url}\nsuffix = {SUFFIX}\n\
         user = cn=admin,{SUFFIX}\npassword = admin-secret\nquery_scope = one\n\
         user_name_attribute = sn\ngroup_name_attribute = ou\n{extra}"
    )
}

/// Keystone's public id of a directory entity (id_generators/sha256.py).
fn public_id(domain_id: &str, entity_type: &str, local_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(domain_id.as_bytes());
    h.update(entity_type.as_bytes());
    h.update(local_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn ok(r: Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

/// A new domain through the API; its id.
fn create_domain(s: &TestServer, admin: &str, name: &str) -> String {
    let d = ok(
        send(
            s,
            "POST",
            "/v3/domains",
            admin,
            Some(&json!({"domain": {"name": name}})),
        ),
        201,
    );
    d["domain"]["id"].as_str().unwrap().to_string()
}

fn names(v: &Value, key: &str) -> Vec<String> {
    let mut n: Vec<String> = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn login(
    s: &TestServer,
    name: &str,
    domain: &str,
    password: &str,
    scope: Option<Value>,
) -> Response {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": domain}, "password": password}}}});
    if let Some(scope) = scope {
        auth["scope"] = scope;
    }
    s.post_json("/v3/auth/tokens", None, &json!({"auth": auth}))
}

/// A keystone-rs process with domain-specific drivers, its `domain_config_dir`, and the
/// id of the domain `ldapdom` (created through the API) whose file points at `slapd`.
fn server_with_ldap_domain(
    slapd: &Slapd,
    ldap_extra: &str,
) -> (TestServer, String, String, PathBuf) {
    let domains = tempfile::tempdir().expect("tempdir").keep();
    let conf = format!(
        "[identity]\ndomain_specific_drivers_enabled = true\ndomain_config_dir = {}\n",
        domains.display()
    );
    let log = domains.join("keystone.log");
    let s = TestServer::spawn_binary(&conf, &[], &log);
    let admin = s.admin_token();
    let domain_id = create_domain(&s, &admin, "ldapdom");
    std::fs::write(
        domains.join("keystone.ldapdom.conf"),
        ldap_conf(&slapd.url, ldap_extra),
    )
    .expect("domain config file");
    (s, admin, domain_id, log)
}

#[test]
fn ldap_domain_beside_sql_domains() {
    let Some(slapd) = Slapd::start() else { return };
    let (s, admin, dom, _log) = server_with_ldap_domain(&slapd, "");
    let alice = public_id(&dom, "user", "alice");
    let devs = public_id(&dom, "group", "devs");

    // Listing: every directory user, public ids as Keystone derives them.
    let users = ok(
        s.get(&format!("/v3/users?domain_id={dom}"), Some(&admin)),
        200,
    );
    assert_eq!(names(&users, "users"), ["alice", "bob", "carol"]);
    let a = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "alice")
        .unwrap();
    assert_eq!(a["id"], alice.as_str());
    assert_eq!(a["domain_id"], dom.as_str());
    assert_eq!(a["email"], "alice@example.org");
    assert_eq!(a["enabled"], true);
    // Filters answered by the directory, and by the server.
    let one = ok(
        s.get(&format!("/v3/users?domain_id={dom}&name=bob"), Some(&admin)),
        200,
    );
    assert_eq!(names(&one, "users"), ["bob"]);
    let some = ok(
        s.get(
            &format!("/v3/users?domain_id={dom}&name__startswith=c"),
            Some(&admin),
        ),
        200,
    );
    assert_eq!(names(&some, "users"), ["carol"]);
    let groups = ok(
        s.get(&format!("/v3/groups?domain_id={dom}"), Some(&admin)),
        200,
    );
    assert_eq!(names(&groups, "groups"), ["devs", "ops"]);
    let g = ok(s.get(&format!("/v3/groups/{devs}"), Some(&admin)), 200);
    assert_eq!(g["group"]["description"], "Developers");
    let got = ok(s.get(&format!("/v3/users/{alice}"), Some(&admin)), 200);
    assert_eq!(got["user"]["name"], "alice");
    assert_eq!(got["user"]["description"], "Alice of the directory");

    // Membership both ways.
    let members = ok(
        s.get(&format!("/v3/groups/{devs}/users"), Some(&admin)),
        200,
    );
    assert_eq!(names(&members, "users"), ["alice", "carol"]);
    let of_alice = ok(
        s.get(&format!("/v3/users/{alice}/groups"), Some(&admin)),
        200,
    );
    assert_eq!(names(&of_alice, "groups"), ["devs"]);
    ok(
        send(
            &s,
            "HEAD",
            &format!("/v3/groups/{devs}/users/{alice}"),
            &admin,
            None,
        ),
        204,
    );
    let bob = public_id(&dom, "user", "bob");
    ok(
        send(
            &s,
            "HEAD",
            &format!("/v3/groups/{devs}/users/{bob}"),
            &admin,
            None,
        ),
        404,
    );

    // A role for the directory group on a project (stored in SQL), then a login.
    let p = ok(
        send(
            &s,
            "POST",
            "/v3/projects",
            &admin,
            Some(&json!({"project": {"name": "ldap-proj", "domain_id": dom}})),
        ),
        201,
    );
    let project = p["project"]["id"].as_str().unwrap().to_string();
    let member = role_id(&s, &admin, "member");
    ok(
        send(
            &s,
            "PUT",
            &format!("/v3/projects/{project}/groups/{devs}/roles/{member}"),
            &admin,
            None,
        ),
        204,
    );
    // The effective assignments expand the directory group to its directory members.
    let effective = ok(
        s.get(
            &format!("/v3/role_assignments?effective&scope.project.id={project}"),
            Some(&admin),
        ),
        200,
    );
    let mut holders: Vec<&str> = effective["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"]["id"].as_str().unwrap())
        .collect();
    // (each once per role: `member` and the `reader` it implies)
    holders.sort();
    holders.dedup();
    let mut expected = [alice.clone(), public_id(&dom, "user", "carol")];
    expected.sort();
    assert_eq!(holders, expected);
    let r = login(
        &s,
        "alice",
        "ldapdom",
        "alice-secret",
        Some(json!({"project": {"id": project}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let body = r.json();
    assert_eq!(body["token"]["user"]["id"], alice.as_str());
    assert_eq!(body["token"]["user"]["domain"]["id"], dom.as_str());
    let roles: Vec<&str> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"member"), "{roles:?}");
    // The token validates, and the user was shadowed (id stays the public id).
    let token = r.subject_token();
    ok(s.tokens("GET", "", &admin, &token), 200);
    // Login by id (the public id) works too.
    let by_id = s.post_json("/v3/auth/tokens", None, &json!({"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": alice, "password": "alice-secret"}}}}}));
    assert_eq!(by_id.status, 201, "{}", by_id.body);
    // bob is in ops, which has no role on the project.
    let r = login(
        &s,
        "bob",
        "ldapdom",
        "bob-secret",
        Some(json!({"project": {"id": project}})),
    );
    assert_eq!(r.status, 401, "{}", r.body);

    // Refused logins are 401s, never 500s.
    for (name, password) in [
        ("alice", "wrong"),
        ("alice", ""),
        ("nobody", "x"),
        // Injection attempts: escaped, so they match no entry.
        ("*", "alice-secret"),
        ("alice)(sn=*", "alice-secret"),
        ("a*", "alice-secret"),
    ] {
        let r = login(&s, name, "ldapdom", password, None);
        assert_eq!(r.status, 401, "{name}: {}", r.body);
    }
    let wild = ok(
        s.get(&format!("/v3/users?domain_id={dom}&name=*"), Some(&admin)),
        200,
    );
    assert_eq!(wild["users"], json!([]));
    let wild = ok(
        s.get(
            &format!("/v3/users?domain_id={dom}&name=alice)(sn%3D*"),
            Some(&admin),
        ),
        200,
    );
    assert_eq!(wild["users"], json!([]));

    // The directory is read-only: Keystone's 403 for every write.
    let ro = "LDAP does not support write operations";
    for (method, path, body) in [
        (
            "POST",
            "/v3/users".to_string(),
            Some(json!({"user": {"name": "x", "domain_id": dom}})),
        ),
        (
            "PATCH",
            format!("/v3/users/{alice}"),
            Some(json!({"user": {"description": "x"}})),
        ),
        ("DELETE", format!("/v3/users/{alice}"), None),
        (
            "POST",
            "/v3/groups".to_string(),
            Some(json!({"group": {"name": "x", "domain_id": dom}})),
        ),
        (
            "PATCH",
            format!("/v3/groups/{devs}"),
            Some(json!({"group": {"description": "x"}})),
        ),
        ("DELETE", format!("/v3/groups/{devs}"), None),
        ("PUT", format!("/v3/groups/{devs}/users/{bob}"), None),
        ("DELETE", format!("/v3/groups/{devs}/users/{alice}"), None),
    ] {
        let r = send(&s, method, &path, &admin, body.as_ref());
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.json()["error"]["message"], ro);
    }

    // An SQL domain beside it works as ever.
    let sqldom = create_domain(&s, &admin, "sqldom");
    ok(
        send(
            &s,
            "POST",
            "/v3/users",
            &admin,
            Some(&json!({"user": {
            "name": "dave", "domain_id": sqldom, "password": "dave-secret"}})),
        ),
        201,
    );
    let sql_users = ok(
        s.get(&format!("/v3/users?domain_id={sqldom}"), Some(&admin)),
        200,
    );
    assert_eq!(names(&sql_users, "users"), ["dave"]);
    assert_eq!(login(&s, "dave", "sqldom", "dave-secret", None).status, 201);
}

#[test]
fn directory_outage_is_a_503_for_its_domain_only() {
    let Some(mut slapd) = Slapd::start() else {
        return;
    };
    let (s, admin, dom, _log) = server_with_ldap_domain(&slapd, "connection_timeout = 2\n");
    ok(
        s.get(&format!("/v3/users?domain_id={dom}"), Some(&admin)),
        200,
    );
    slapd.stop();
    let r = s.get(&format!("/v3/users?domain_id={dom}"), Some(&admin));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        format!("The identity backend of domain {dom} is unavailable; please retry later.")
    );
    let r = login(&s, "alice", "ldapdom", "alice-secret", None);
    assert_eq!(r.status, 503, "{}", r.body);
    // SQL domains are unaffected.
    ok(s.get("/v3/users?domain_id=default", Some(&admin)), 200);
    assert_eq!(
        login(&s, "admin", "Default", ADMIN_PASSWORD, None).status,
        201
    );
}

#[test]
fn paged_answers_and_configuration_from_the_database() {
    let Some(slapd) = Slapd::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("keystone.log");
    let s = TestServer::spawn_binary(
        "[identity]\ndomain_specific_drivers_enabled = true\ndomain_configurations_from_database = true\n",
        &[],
        &log,
    );
    let admin = s.admin_token();
    let dom = create_domain(&s, &admin, "dbdom");
    let config = json!({"config": {
        "identity": {"driver": "ldap"},
        "ldap": {"url": slapd.url, "suffix": SUFFIX, "user": format!("cn=admin,{SUFFIX}"),
                 "password": "admin-secret", "page_size": 2, "user_name_attribute": "sn",
                 "group_name_attribute": "ou"}}});
    ok(
        send(
            &s,
            "PUT",
            &format!("/v3/domains/{dom}/config"),
            &admin,
            Some(&config),
        ),
        201,
    );
    // Three users come back in pages of two.
    let users = ok(
        s.get(&format!("/v3/users?domain_id={dom}"), Some(&admin)),
        200,
    );
    assert_eq!(names(&users, "users"), ["alice", "bob", "carol"]);
    let ids: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&public_id(&dom, "user", "carol").as_str()));
    assert_eq!(
        login(&s, "carol", "dbdom", "carol-secret", None).status,
        201
    );
    // A domain-scoped token of the LDAP domain lists its users without a filter.
    let member = role_id(&s, &admin, "admin");
    let carol = public_id(&dom, "user", "carol");
    ok(
        send(
            &s,
            "PUT",
            &format!("/v3/domains/{dom}/users/{carol}/roles/{member}"),
            &admin,
            None,
        ),
        204,
    );
    let r = login(
        &s,
        "carol",
        "dbdom",
        "carol-secret",
        Some(json!({"domain": {"id": dom}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let scoped = r.subject_token();
    let users = ok(s.get("/v3/users", Some(&scoped)), 200);
    assert_eq!(names(&users, "users"), ["alice", "bob", "carol"]);
}

/// The id_mapping rows of `domain_id`: (local id, entity type, public id), sorted.
fn id_mappings(s: &TestServer, domain_id: &str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use keystone_rs::db::enums::EntityType;
    use keystone_rs::db::schema::id_mapping as m;
    let rows: Vec<(String, EntityType, String)> = s
        .db()
        .read_blocking(|conn| {
            Ok(m::table
                .filter(m::domain_id.eq(domain_id))
                .select((m::local_id, m::entity_type, m::public_id))
                .load(conn)?)
        })
        .unwrap();
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|(l, t, p)| (l, t.as_str().to_string(), p))
        .collect();
    rows.sort();
    rows
}

#[test]
fn mapping_populate_and_purge_as_keystone_manage() {
    let Some(slapd) = Slapd::start() else { return };
    let (s, admin, dom, _log) = server_with_ldap_domain(&slapd, "");
    let manage = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
            .args(["manage", "--config-file"])
            .arg(s.dir.path().join("keystone.conf"))
            .args(args)
            .output()
            .unwrap()
    };
    let run = |args: &[&str]| {
        let out = manage(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(id_mappings(&s, &dom).is_empty());
    run(&["mapping_populate", "--domain-name", "ldapdom"]);
    let user = |local: &str| {
        (
            local.to_string(),
            "user".to_string(),
            public_id(&dom, "user", local),
        )
    };
    assert_eq!(
        id_mappings(&s, &dom),
        vec![user("alice"), user("bob"), user("carol")]
    );
    // Keystone's answer for a name it does not know: a line, exit 0.
    assert_eq!(
        run(&["mapping_populate", "--domain-name", "nope"]),
        "Invalid domain name: nope\n"
    );

    // A group gets its mapping when listed; then the purges.
    ok(
        s.get(&format!("/v3/groups?domain_id={dom}"), Some(&admin)),
        200,
    );
    assert_eq!(id_mappings(&s, &dom).len(), 5);
    run(&["mapping_purge", "--type", "group"]);
    assert_eq!(
        id_mappings(&s, &dom),
        vec![user("alice"), user("bob"), user("carol")]
    );
    run(&["mapping_purge", "--local-id", "alice"]);
    run(&[
        "mapping_purge",
        "--public-id",
        &public_id(&dom, "user", "bob"),
    ]);
    assert_eq!(id_mappings(&s, &dom), vec![user("carol")]);
    // A purged id is unknown until the entity is listed again, then the same id.
    let alice = public_id(&dom, "user", "alice");
    ok(s.get(&format!("/v3/users/{alice}"), Some(&admin)), 404);
    ok(
        s.get(&format!("/v3/users?domain_id={dom}"), Some(&admin)),
        200,
    );
    ok(s.get(&format!("/v3/users/{alice}"), Some(&admin)), 200);
    run(&[
        "mapping_purge",
        "--domain-name",
        "ldapdom",
        "--type",
        "user",
    ]);
    assert!(id_mappings(&s, &dom).is_empty());

    // Refusals: nothing purged.
    run(&["mapping_populate", "--domain-name", "ldapdom"]);
    for (args, code, message) in [
        (&[][..], 1, "At least one option must be provided"),
        (
            &["--all", "--local-id", "bob"][..],
            1,
            "--all option cannot be mixed with other options",
        ),
        (
            &["--domain-name", "nope"][..],
            1,
            "Unknown domain 'nope' specified by --domain-name",
        ),
        (&["--type", "role"][..], 2, "'role'"),
    ] {
        let mut full = vec!["mapping_purge"];
        full.extend_from_slice(args);
        let out = manage(&full);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(id_mappings(&s, &dom).len(), 3);
    run(&["mapping_purge", "--all"]);
    assert!(id_mappings(&s, &dom).is_empty());
}

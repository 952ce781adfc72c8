//! A normalised, sorted description of a database's schema, read from the backend's own
//! catalog, so that a database Keystone built and one keystone-rs built can be compared line
//! by line (and against the fixtures in tests/fixtures/, made from Keystone-built databases
//! by tools/schema/keystone-fixtures.sh).

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use keystone_rs::db::{AnyConnection, Backend};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn lines(conn: &mut AnyConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Objects keystone-rs adds next to Keystone's (its own tables and diesel's bookkeeping).
pub fn is_ours(line: &str) -> bool {
    line.contains("ksrs_") || line.contains("__diesel_schema_migrations")
}

/// Everything about Keystone's tables: columns, types, defaults, keys, indexes, enums.
pub fn describe(conn: &mut AnyConnection) -> Vec<String> {
    let mut out = match conn.backend() {
        Backend::Sqlite => describe_sqlite(conn),
        Backend::Postgres => describe_postgres(conn),
        Backend::Mysql => describe_mysql(conn),
    };
    out.retain(|l| !is_ours(l));
    out.sort();
    out
}

/// SQLite keeps each table's CREATE text; compare it with whitespace normalised.
fn describe_sqlite(conn: &mut AnyConnection) -> Vec<String> {
    lines(
        conn,
        "SELECT type || ' ' || name || ': ' || sql AS line FROM sqlite_master WHERE sql IS NOT NULL",
    )
    .into_iter()
    .map(|l| normalise_space(&l))
    .collect()
}

pub fn normalise_space(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(" (", "(")
}

fn describe_postgres(conn: &mut AnyConnection) -> Vec<String> {
    let mut out = lines(
        conn,
        "SELECT 'column ' || table_name || '.' || column_name || ' #' || ordinal_position || ' ' || \
           CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END || \
           coalesce('(' || character_maximum_length || ')', '') || \
           ' nullable=' || is_nullable || ' default=' || coalesce(column_default, '-') AS line \
         FROM information_schema.columns WHERE table_schema = current_schema()",
    );
    out.extend(lines(
        conn,
        "SELECT 'constraint ' || rel.relname || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid) AS line \
         FROM pg_constraint c JOIN pg_class rel ON rel.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = rel.relnamespace WHERE n.nspname = current_schema()",
    ));
    out.extend(lines(
        conn,
        "SELECT 'index ' || indexname || ': ' || indexdef AS line FROM pg_indexes \
         WHERE schemaname = current_schema()",
    ));
    out.extend(lines(
        conn,
        "SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line \
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = current_schema() \
         GROUP BY t.typname",
    ));
    out.extend(lines(
        conn,
        "SELECT 'sequence ' || sequence_name || ' ' || data_type AS line FROM information_schema.sequences \
         WHERE sequence_schema = current_schema()",
    ));
    out
}

#[derive(QueryableByName)]
struct CreateTable {
    #[diesel(sql_type = Text, column_name = "Create Table")]
    create: String,
}

/// SHOW CREATE TABLE is MySQL's complete account of a table. Column lines keep their
/// position; keys and constraints are sorted (their order follows creation order).
fn describe_mysql(conn: &mut AnyConnection) -> Vec<String> {
    let tables = lines(
        conn,
        "SELECT CAST(table_name AS CHAR) AS line FROM information_schema.tables WHERE table_schema = DATABASE()",
    );
    let mut out = Vec::new();
    for table in tables {
        let rows = diesel::sql_query(format!("SHOW CREATE TABLE `{table}`"))
            .load::<CreateTable>(conn)
            .unwrap_or_else(|e| panic!("SHOW CREATE TABLE {table}: {e}"));
        for row in rows {
            let mut column = 0;
            for raw in row.create.lines() {
                let line = strip_auto_increment(raw.trim().trim_end_matches(','));
                if line.starts_with('`') || line.starts_with('"') {
                    column += 1;
                    out.push(format!("{table} column#{column:02}: {line}"));
                } else {
                    out.push(format!("{table}: {line}"));
                }
            }
        }
    }
    out
}

fn strip_auto_increment(line: &str) -> String {
    // ") ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=..." depends on the rows, not the schema.
    match line.find(" AUTO_INCREMENT=") {
        Some(at) if line.starts_with(')') => {
            let rest = &line[at + " AUTO_INCREMENT=".len()..];
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            format!("{}{}", &line[..at], &rest[digits..])
        }
        _ => line.to_string(),
    }
}

/// SQLite's stored CREATE texts, unnormalised (Keystone's objects only).
pub fn raw_sqlite_ddl(conn: &mut AnyConnection) -> Vec<String> {
    let mut out = lines(
        conn,
        "SELECT name || char(9) || sql AS line FROM sqlite_master WHERE sql IS NOT NULL",
    );
    out.retain(|l| !is_ours(l));
    out.sort();
    out
}

/// Tables in the database (Keystone's and ours), for coverage checks.
pub fn table_names(conn: &mut AnyConnection) -> Vec<String> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT name AS line FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS line FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        }
        Backend::Mysql => {
            "SELECT CAST(table_name AS CHAR) AS line FROM information_schema.tables \
             WHERE table_schema = DATABASE()"
        }
    };
    let mut names = lines(conn, sql);
    names.sort();
    names
}

pub fn column_count(conn: &mut AnyConnection, table: &str) -> i64 {
    let sql = match conn.backend() {
        Backend::Sqlite => format!("SELECT count(*) AS n FROM pragma_table_info('{table}')"),
        Backend::Postgres => format!(
            "SELECT count(*) AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        Backend::Mysql => format!(
            "SELECT CAST(count(*) AS SIGNED) AS n FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ),
    };
    diesel::sql_query(&sql)
        .get_result::<Count>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Panics with the differing lines when `actual` is not `expected`.
pub fn assert_same(what: &str, expected: &[String], actual: &[String]) {
    if expected == actual {
        return;
    }
    let missing: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let extra: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let mut msg = format!("{what}: schemas differ\n");
    for l in missing {
        msg.push_str(&format!("  - {l}\n"));
    }
    for l in extra {
        msg.push_str(&format!("  + {l}\n"));
    }
    panic!("{msg}");
}

pub fn fixture_path(backend: Backend) -> std::path::PathBuf {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::Mysql => "mysql",
    };
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("keystone-schema-{name}.txt"))
}

pub fn read_fixture(backend: Backend) -> Vec<String> {
    let path = fixture_path(backend);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

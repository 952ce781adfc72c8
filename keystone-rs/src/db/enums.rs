//! Keystone's two ENUM columns: `assignment.type` and `id_mapping.entity_type`.
//!
//! On PostgreSQL they are enum types (named `type` and `entity_type`), and PostgreSQL refuses
//! a `text` parameter for them ("column is of type type but expression is of type text";
//! `type = $1` has no operator either). So they get their own diesel SQL types: bound with
//! the enum's own type OID on PostgreSQL (looked up by name, per connection) and as plain
//! strings on SQLite (VARCHAR) and MySQL (ENUM). Nothing in the database needs to change.

use super::MultiBackend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Text};
use std::fmt;

/// The diesel SQL types used in `schema.rs`.
pub mod sql_types {
    /// `assignment.type`: PostgreSQL enum `type`.
    #[derive(
        diesel::sql_types::SqlType, diesel::query_builder::QueryId, Debug, Clone, Copy, Default,
    )]
    pub struct AssignmentType;

    /// `id_mapping.entity_type`: PostgreSQL enum `entity_type`.
    #[derive(
        diesel::sql_types::SqlType, diesel::query_builder::QueryId, Debug, Clone, Copy, Default,
    )]
    pub struct EntityType;
}

/// Kinds of project/domain role assignment (`assignment.type`).
#[derive(
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
)]
#[diesel(sql_type = sql_types::AssignmentType)]
pub enum AssignmentType {
    UserProject,
    GroupProject,
    UserDomain,
    GroupDomain,
}

impl AssignmentType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentType::UserProject => "UserProject",
            AssignmentType::GroupProject => "GroupProject",
            AssignmentType::UserDomain => "UserDomain",
            AssignmentType::GroupDomain => "GroupDomain",
        }
    }

    pub fn parse(s: &str) -> Option<AssignmentType> {
        match s {
            "UserProject" => Some(AssignmentType::UserProject),
            "GroupProject" => Some(AssignmentType::GroupProject),
            "UserDomain" => Some(AssignmentType::UserDomain),
            "GroupDomain" => Some(AssignmentType::GroupDomain),
            _ => None,
        }
    }
}

/// What an `id_mapping` row maps (`id_mapping.entity_type`).
#[derive(
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
)]
#[diesel(sql_type = sql_types::EntityType)]
pub enum EntityType {
    User,
    Group,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::User => "user",
            EntityType::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<EntityType> {
        match s {
            "user" => Some(EntityType::User),
            "group" => Some(EntityType::Group),
            _ => None,
        }
    }
}

impl fmt::Display for AssignmentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown(kind: &str, value: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("unrecognised {kind} value {value:?} in the database").into()
}

/// Implements the SQL type on every backend for one enum: the value travels as its label.
macro_rules! keystone_enum {
    ($rust:ident, $sql:ident, $pg_name:literal) => {
        impl HasSqlType<sql_types::$sql> for diesel::sqlite::Sqlite {
            fn metadata(_: &mut ()) -> diesel::sqlite::SqliteType {
                diesel::sqlite::SqliteType::Text
            }
        }

        impl ToSql<sql_types::$sql, diesel::sqlite::Sqlite> for $rust {
            fn to_sql<'b>(
                &'b self,
                out: &mut Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> serialize::Result {
                out.set_value(self.as_str());
                Ok(IsNull::No)
            }
        }

        impl FromSql<sql_types::$sql, diesel::sqlite::Sqlite> for $rust {
            fn from_sql(
                value: diesel::sqlite::SqliteValue<'_, '_, '_>,
            ) -> deserialize::Result<Self> {
                let label = <String as FromSql<Text, diesel::sqlite::Sqlite>>::from_sql(value)?;
                $rust::parse(&label).ok_or_else(|| unknown($pg_name, &label))
            }
        }

        #[cfg(feature = "postgres")]
        impl HasSqlType<sql_types::$sql> for diesel::pg::Pg {
            fn metadata(lookup: &mut Self::MetadataLookup) -> diesel::pg::PgTypeMetadata {
                diesel::pg::PgMetadataLookup::lookup_type(lookup, $pg_name, None)
            }
        }

        #[cfg(feature = "postgres")]
        impl ToSql<sql_types::$sql, diesel::pg::Pg> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, diesel::pg::Pg>) -> serialize::Result {
                // An enum's binary form is its label.
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        #[cfg(feature = "postgres")]
        impl FromSql<sql_types::$sql, diesel::pg::Pg> for $rust {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
                let label = <String as FromSql<Text, diesel::pg::Pg>>::from_sql(value)?;
                $rust::parse(&label).ok_or_else(|| unknown($pg_name, &label))
            }
        }

        #[cfg(feature = "mysql")]
        impl HasSqlType<sql_types::$sql> for diesel::mysql::Mysql {
            fn metadata(_: &mut ()) -> diesel::mysql::MysqlType {
                diesel::mysql::MysqlType::String
            }
        }

        #[cfg(feature = "mysql")]
        impl ToSql<sql_types::$sql, diesel::mysql::Mysql> for $rust {
            fn to_sql<'b>(
                &'b self,
                out: &mut Output<'b, '_, diesel::mysql::Mysql>,
            ) -> serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        #[cfg(feature = "mysql")]
        impl FromSql<sql_types::$sql, diesel::mysql::Mysql> for $rust {
            fn from_sql(value: diesel::mysql::MysqlValue<'_>) -> deserialize::Result<Self> {
                let label = <String as FromSql<Text, diesel::mysql::Mysql>>::from_sql(value)?;
                $rust::parse(&label).ok_or_else(|| unknown($pg_name, &label))
            }
        }

        impl HasSqlType<sql_types::$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<sql_types::$sql>(lookup)
            }
        }

        impl ToSql<sql_types::$sql, MultiBackend> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((sql_types::$sql, self));
                Ok(IsNull::No)
            }
        }

        impl FromSql<sql_types::$sql, MultiBackend> for $rust {
            fn from_sql(
                value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                value.from_sql::<Self, sql_types::$sql>()
            }
        }
    };
}

keystone_enum!(AssignmentType, AssignmentType, "type");
keystone_enum!(EntityType, EntityType, "entity_type");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_roundtrip() {
        for t in [
            AssignmentType::UserProject,
            AssignmentType::GroupProject,
            AssignmentType::UserDomain,
            AssignmentType::GroupDomain,
        ] {
            assert_eq!(AssignmentType::parse(t.as_str()), Some(t));
        }
        for t in [EntityType::User, EntityType::Group] {
            assert_eq!(EntityType::parse(t.as_str()), Some(t));
        }
        assert_eq!(AssignmentType::parse("userproject"), None);
    }
}

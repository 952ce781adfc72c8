//! diesel table definitions for Keystone's tables (shared/spec/schema.md).

//! Identity: users, groups and password hashing.

pub mod password;

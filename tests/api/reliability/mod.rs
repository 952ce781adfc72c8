//! Faults a deployment meets: the database server crashing, a key repository that cannot
//! be written, SIGTERM under load, several nodes sharing one database and key repository.
//! README.md's "Reliability" section reports what these showed.

mod credential_keys;
mod db_faults;
mod key_repository;
mod private_db;
mod shared_deployment;
mod shutdown;

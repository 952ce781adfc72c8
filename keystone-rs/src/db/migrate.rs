//! Migrations per backend.

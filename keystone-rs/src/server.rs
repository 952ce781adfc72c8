//! Assembles the actix application: shared state, middleware, every subsystem's routes.

use crate::config::Config;
use crate::db::Db;
use actix_web::web;
use std::sync::Arc;

/// What every handler can reach, through `web::Data<AppState>`.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
}

pub type State = web::Data<AppState>;

/// Registers every subsystem's routes. Each subsystem's `http.rs` exposes
/// `pub fn configure(cfg: &mut web::ServiceConfig)`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::discovery::http::configure(cfg);
}

//! What operators watch: Prometheus metrics (`/metrics`) and oslo.middleware's
//! `/healthcheck`. Both are unauthenticated, as oslo-style deployments expose them (keep
//! them off the public network, or set `[metrics] enabled = false`).

pub mod metrics;

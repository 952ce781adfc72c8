//! Caches of what token validation reads: users, domains, projects, effective roles per
//! (user, scope), catalogs per (user, project), the revocation events, and the validated
//! tokens themselves; and, beside them, what a user may scope a token to (the targets of
//! their effective roles and those projects' listed text, for `/v3/auth/projects`).
//!
//! Correctness comes from the database's change epoch ([`crate::db::Epoch`]): an entry is
//! used only while the epoch it was read in is still current. Every write transaction this
//! process commits advances the epoch at once; writes by other nodes sharing the database
//! are noticed by polling the shared change marker ([`crate::db::change_marker`]) at most
//! every `[validation_cache] sync_interval_ms` — the bound on cross-node staleness,
//! revocations included. Entries also expire after `expiration_time` seconds whatever the
//! marker says, which bounds staleness for writes no marker records (Python Keystone nodes
//! in a mixed fleet write no `ksrs_generation`; their revocations still move the marker).

use crate::config::ValidationCacheSection;
use crate::db::{ChangeMarker, Epoch, MaybeConn};
use crate::error::Result;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

struct Entry<V> {
    epoch: u64,
    stored: Instant,
    value: V,
}

impl<V> Entry<V> {
    /// Read in the current epoch and not yet expired.
    fn usable(&self, epoch: u64, ttl: Duration) -> bool {
        self.epoch == epoch && self.stored.elapsed() < ttl
    }
}

/// One map of cached values, bounded in size and age, tagged with the epoch of their read.
pub struct Cache<K, V> {
    /// `keystone_cache_lookups_total{cache=…}`: hits, misses.
    lookups: [prometheus::IntCounter; 2],
    /// Whole validated tokens are bounded by `max_tokens`, everything else by `max_entries`.
    holds_tokens: bool,
    entries: RwLock<HashMap<K, Entry<V>>>,
}

/// Room in a full cache: entries no longer usable go first; when all are current, an
/// arbitrary eighth (the map's own order, which follows the keys' hashes). Emptying the
/// whole map instead made a working set just over the bound miss on every lookup: a round
/// robin over 20,000 users emptied a 10,000-entry cache before any entry was used again.
fn make_room<K: Eq + Hash + Clone, V>(
    entries: &mut HashMap<K, Entry<V>>,
    epoch: u64,
    ttl: Duration,
    max_entries: usize,
) {
    entries.retain(|_, e| e.usable(epoch, ttl));
    if entries.len() >= max_entries {
        let victims: Vec<K> = entries.keys().take(max_entries / 8 + 1).cloned().collect();
        for key in &victims {
            entries.remove(key);
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new(name: &'static str) -> Self {
        Cache {
            lookups: crate::observability::metrics::cache_lookup_counters(name),
            holds_tokens: false,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn of_tokens(name: &'static str) -> Self {
        Cache {
            holds_tokens: true,
            ..Self::new(name)
        }
    }

    fn bound(&self, shared: &ValidationCache) -> usize {
        let s = &shared.settings;
        (if self.holds_tokens {
            s.max_tokens
        } else {
            s.max_entries
        })
        .max(1)
    }

    fn lookup(&self, key: &K, epoch: u64, ttl: Duration) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|e| e.usable(epoch, ttl))
            .map(|e| e.value.clone())
    }

    fn store(&self, key: K, epoch: u64, value: V, max_entries: usize, ttl: Duration) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= max_entries && !entries.contains_key(&key) {
            make_room(&mut entries, epoch, ttl, max_entries);
        }
        entries.insert(
            key,
            Entry {
                epoch,
                stored: Instant::now(),
                value,
            },
        );
    }

    /// The cached value, or `load`'s (stored when it is `Some`). The epoch is taken before
    /// `load` reads, so a write committed meanwhile leaves the entry already outdated.
    pub fn get_or_load(
        &self,
        shared: &ValidationCache,
        key: K,
        load: impl FnOnce() -> Result<Option<V>>,
    ) -> Result<Option<V>> {
        if !shared.settings.enabled {
            return load();
        }
        let epoch = shared.epoch.current();
        if let Some(v) = self.lookup(&key, epoch, shared.ttl()) {
            self.lookups[0].inc();
            return Ok(Some(v));
        }
        let value = load()?;
        self.lookups[1].inc();
        if let Some(v) = &value {
            self.store(key, epoch, v.clone(), self.bound(shared), shared.ttl());
        }
        Ok(value)
    }

    /// The cached values of `keys`, in their order, after reading the missing ones in one
    /// go: `load` gets the keys it must read and returns what it found, keyed; keys it did
    /// not find are left out of the answer and stored as nothing.
    pub fn get_many_or_load(
        &self,
        shared: &ValidationCache,
        keys: &[K],
        load: impl FnOnce(&[K]) -> Result<Vec<(K, V)>>,
    ) -> Result<Vec<V>> {
        if !shared.settings.enabled {
            return Ok(load(keys)?.into_iter().map(|(_, v)| v).collect());
        }
        let (epoch, ttl) = (shared.epoch.current(), shared.ttl());
        // In the keys' order, `None` where a key must be read: a user's hundreds of
        // projects are looked up without hashing or copying their ids a second time.
        let mut values: Vec<Option<V>> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        {
            let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
            for key in keys {
                let value = entries
                    .get(key)
                    .filter(|e| e.usable(epoch, ttl))
                    .map(|e| e.value.clone());
                if value.is_none() {
                    missing.push(key.clone());
                }
                values.push(value);
            }
        }
        self.lookups[0].inc_by((keys.len() - missing.len()) as u64);
        self.lookups[1].inc_by(missing.len() as u64);
        if !missing.is_empty() {
            let mut loaded: HashMap<K, V> = HashMap::with_capacity(missing.len());
            for (key, value) in load(&missing)? {
                self.store(key.clone(), epoch, value.clone(), self.bound(shared), ttl);
                loaded.insert(key, value);
            }
            for (slot, key) in values.iter_mut().zip(keys) {
                if slot.is_none() {
                    *slot = loaded.get(key).cloned();
                }
            }
        }
        Ok(values.into_iter().flatten().collect())
    }

    /// As [`Cache::get_or_load`] for values that always exist.
    pub fn get_or_load_value(
        &self,
        shared: &ValidationCache,
        key: K,
        load: impl FnOnce() -> Result<V>,
    ) -> Result<V> {
        Ok(self
            .get_or_load(shared, key, || load().map(Some))?
            .expect("a loaded value was returned"))
    }
}

/// Which catalog a token gets: the user when endpoint URLs name users (else empty), and the
/// project's part.
pub type CatalogKey = (String, CatalogProject);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CatalogProject {
    /// Domain-, system-scoped and unscoped tokens: no endpoint that needs a project id.
    None,
    /// A project-scoped token whose catalog is the same on every project.
    Any,
    /// A project-scoped token whose catalog is this project's own.
    Project(String),
}

/// All validation caches of one server, and the poll of the shared change marker.
pub struct ValidationCache {
    settings: ValidationCacheSection,
    epoch: Arc<Epoch>,
    started: Instant,
    /// Milliseconds since `started` from which the marker is due to be read again.
    next_sync_ms: AtomicU64,
    last_marker: Mutex<Option<ChangeMarker>>,
    pub users: Cache<String, Arc<crate::identity::User>>,
    pub domains: Cache<String, crate::resource::Project>,
    pub projects: Cache<String, crate::resource::Project>,
    /// Effective roles, keyed by user and scope.
    pub roles: Cache<(String, String), Arc<Vec<crate::assignment::Role>>>,
    /// Catalogs, keyed by what they depend on (`catalog_dependence`): one entry serves every
    /// token that gets the same catalog.
    pub catalogs: Cache<CatalogKey, Arc<crate::token::model::RenderedCatalog>>,
    pub catalog_dependence: Cache<(), Arc<crate::catalog::Dependence>>,
    pub revocations: Cache<(), Arc<crate::revoke::RevocationList>>,
    /// The enabled service providers every token body lists.
    pub service_providers: Cache<(), Arc<Vec<serde_json::Value>>>,
    /// The projects and domains a user has an effective role on (`/v3/auth/projects` and
    /// `/v3/auth/domains`): Keystone memoizes `list_projects_for_user` the same way.
    pub scope_targets: Cache<String, Arc<crate::token::targets::ScopeTargets>>,
    /// Projects as those routes list them, their text rendered.
    pub listed_projects: Cache<String, Arc<crate::token::targets::ListedProject>>,
    /// Whole validated tokens, keyed by the token as presented.
    pub tokens: Cache<String, Arc<crate::token::model::Token>>,
}

impl ValidationCache {
    pub fn new(settings: ValidationCacheSection, epoch: Arc<Epoch>) -> Self {
        ValidationCache {
            settings,
            epoch,
            started: Instant::now(),
            next_sync_ms: AtomicU64::new(0),
            last_marker: Mutex::new(None),
            users: Cache::new("user"),
            domains: Cache::new("domain"),
            projects: Cache::new("project"),
            roles: Cache::new("effective_roles"),
            catalogs: Cache::new("catalog"),
            catalog_dependence: Cache::new("catalog_dependence"),
            revocations: Cache::new("revocation_events"),
            service_providers: Cache::new("service_providers"),
            scope_targets: Cache::new("scope_targets"),
            listed_projects: Cache::new("listed_projects"),
            tokens: Cache::of_tokens("token"),
        }
    }

    /// No caching: every lookup reads the database (tools and tests without a server).
    pub fn disabled() -> Self {
        let settings = ValidationCacheSection {
            enabled: false,
            sync_interval_ms: 0,
            expiration_time: 0,
            max_entries: 1,
            max_tokens: 1,
        };
        Self::new(settings, Arc::default())
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.settings.expiration_time)
    }

    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Is a look at the shared change marker due?
    fn sync_due(&self) -> bool {
        self.settings.enabled
            && (self.settings.sync_interval_ms == 0
                || self.elapsed_ms() >= self.next_sync_ms.load(Ordering::Relaxed))
    }

    /// Take the due look: only one caller per interval wins it.
    fn claim_sync(&self) -> bool {
        if self.settings.sync_interval_ms == 0 {
            return true;
        }
        let now = self.elapsed_ms();
        let due = self.next_sync_ms.load(Ordering::Relaxed);
        now >= due
            && self
                .next_sync_ms
                .compare_exchange(
                    due,
                    now + self.settings.sync_interval_ms,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Notice writes other nodes made: when the shared marker moved since the last look,
    /// every entry read before is outdated. Call before the lookups of a request. Without
    /// a connection, a due look fails with [`crate::db::needs_database`] (and stays due).
    pub fn sync(&self, conn: &mut MaybeConn) -> Result<()> {
        if !self.sync_due() {
            return Ok(());
        }
        if !conn.has_connection() {
            return conn.get().map(|_| ());
        }
        if !self.claim_sync() {
            return Ok(());
        }
        let marker = match crate::db::change_marker(conn.get()?) {
            Ok(m) => m,
            Err(e) => {
                // Unknown state: look again on the next request instead of trusting entries.
                self.next_sync_ms.store(0, Ordering::Relaxed);
                return Err(e);
            }
        };
        let mut last = self.last_marker.lock().unwrap_or_else(|p| p.into_inner());
        if *last != Some(marker) {
            if last.is_some() {
                tracing::debug!("the database changed elsewhere: validation caches dropped");
            }
            self.epoch.advance();
            *last = Some(marker);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_entries: usize) -> ValidationCache {
        let settings = ValidationCacheSection {
            enabled: true,
            sync_interval_ms: 1000,
            expiration_time: 600,
            max_entries,
            max_tokens: 2,
        };
        ValidationCache::new(settings, Arc::default())
    }

    #[test]
    fn a_full_cache_keeps_most_of_its_entries() {
        let c = cache(80);
        let epoch = c.epoch.current();
        let roles = &c.roles;
        for k in 0..80u32 {
            roles.store(
                (k.to_string(), String::new()),
                epoch,
                Arc::default(),
                80,
                c.ttl(),
            );
        }
        roles.store(
            ("new".into(), String::new()),
            epoch,
            Arc::default(),
            80,
            c.ttl(),
        );
        let kept = roles.entries.read().unwrap().len();
        // an eighth (plus one) made room for the new entry; the rest stayed
        assert_eq!(kept, 80 - 11 + 1);
    }

    #[test]
    fn outdated_entries_make_room_first() {
        let c = cache(4);
        let ttl = c.ttl();
        let old = c.epoch.current();
        for k in 0..4u32 {
            c.roles
                .store((k.to_string(), String::new()), old, Arc::default(), 4, ttl);
        }
        c.epoch.advance();
        let now = c.epoch.current();
        c.roles
            .store(("a".into(), String::new()), now, Arc::default(), 4, ttl);
        c.roles
            .store(("b".into(), String::new()), now, Arc::default(), 4, ttl);
        let entries = c.roles.entries.read().unwrap();
        assert_eq!(entries.len(), 2, "only the current entries are left");
    }

    #[test]
    fn tokens_have_their_own_bound() {
        let c = cache(100);
        assert_eq!(c.tokens.bound(&c), 2);
        assert_eq!(c.users.bound(&c), 100);
    }
}

//! The rate budget that runners in other processes spend too.

use std::time::Duration;

/// A request budget that runners in other processes and on other hosts spend
/// too: a vendor counts its rate limit per account, not per client.
#[async_trait::async_trait]
pub trait SharedBudget: Send + Sync {
    /// Reserves one request of `account`'s budget, spent at `rate_per_second`
    /// by everyone sharing it; returns how long to wait before sending it.
    /// Async: the vendors' HTTP client awaits it on the one runtime.
    async fn reserve(&self, account: &str, rate_per_second: f64) -> anyhow::Result<Duration>;
}

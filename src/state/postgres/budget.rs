//! The vendor accounts' request budgets, shared through the database by every
//! runner using it ([`crate::model::SharedBudget`]).

use super::PgBackend;
use anyhow::bail;
use std::sync::Arc;
use std::time::Duration;

impl PgBackend {
    /// Reserves `requests` requests of the budget of vendor account `account`
    /// (a name every runner using that account gives alike, such as its kind
    /// and base URL), spent at `rate_per_second` across every runner sharing
    /// this database; returns how long to wait before sending them. One
    /// statement, so runners on different hosts never overspend it together.
    pub async fn reserve(
        &self,
        account: &str,
        requests: u32,
        rate_per_second: f64,
    ) -> anyhow::Result<Duration> {
        if !(rate_per_second > 0.0 && rate_per_second.is_finite()) {
            bail!("a rate budget needs a positive rate, not {rate_per_second}");
        }
        let cost = f64::from(requests) / rate_per_second;
        let inner = &self.inner;
        let wait: f64 = inner
            .call("reserving the rate budget", async {
                let row = inner
                    .client
                    .lock()
                    .await
                    .query_one(
                        "INSERT INTO roster_budgets AS b (account, tat)
                     VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                     ON CONFLICT (account) DO UPDATE
                        SET tat = GREATEST(b.tat, clock_timestamp()) + make_interval(secs => $2)
                     RETURNING EXTRACT(EPOCH FROM
                        (tat - make_interval(secs => $2) - clock_timestamp()))::float8",
                        &[&account, &cost],
                    )
                    .await?;
                Ok(row.get(0))
            })
            .await?;
        Ok(Duration::from_secs_f64(wait.max(0.0)))
    }

    /// The vendor accounts' rate budgets in this database, for the vendors'
    /// HTTP clients, given to them by the caller that connects both.
    pub fn budget(&self) -> std::sync::Arc<dyn crate::model::SharedBudget> {
        std::sync::Arc::new(PgBackend {
            inner: Arc::clone(&self.inner),
        })
    }
}

#[async_trait::async_trait]
impl crate::model::SharedBudget for PgBackend {
    async fn reserve(&self, account: &str, rate_per_second: f64) -> anyhow::Result<Duration> {
        PgBackend::reserve(self, account, 1, rate_per_second).await
    }
}

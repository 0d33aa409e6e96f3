//! Reads a whole table and judges it with `ledger::audit`. Used by the `reconcile` binary
//! and by the tests after every scenario.

use ledger::audit::{audit, Report};
use store::{Store, StoreError};

pub async fn reconcile(store: &Store) -> Result<Report, StoreError> {
    Ok(audit(&store.scan_all().await?))
}

//! Staff accounts: what the staff gate reads, the list of staff, and the
//! writes of `twostep staff reset|confirm`. A waiting reset request is one
//! row per account in `staff_resets` (its primary key is "one request at a
//! time"); applying it starts by deleting exactly the row agreed to, so of
//! two admins racing one wins and the other writes nothing. Each write
//! lands with its audit entries and notices in one transaction.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twostep_app::ports::{Effects, StoreError, StoreResult};
use twostep_app::staff::port::{StaffFacts, StaffMember, StaffResetPlan, StaffStore, items_column};
use twostep_domain::Role;
use twostep_domain::staff::{PendingStaffReset, StaffResetItem};

use crate::recovery::{close_pending_sign_ins, revoke_sessions, write_effects};
use crate::{SqlStore, db_err};

const TOTP_BOUND: &str = "(SELECT COUNT(*) FROM totp_factors t WHERE t.account_id = a.id) AS totp";

fn facts_from_row(row: &AnyRow) -> StoreResult<StaffFacts> {
    let totp: i64 = row.try_get("totp").map_err(db_err)?;
    Ok(StaffFacts {
        authenticator: totp > 0,
        unconfirmed_reset_at: row.try_get("unconfirmed_reset_at").map_err(db_err)?,
    })
}

fn pending_from_row(row: &AnyRow) -> StoreResult<Option<PendingStaffReset>> {
    let items: Option<String> = row.try_get("items").map_err(db_err)?;
    let Some(items) = items else { return Ok(None) };
    Ok(Some(PendingStaffReset {
        items: StaffResetItem::parse_list(&items).map_err(|e| StoreError::other(e.to_string()))?,
        requested_by: row.try_get("requested_by").map_err(db_err)?,
        requested_at: row.try_get("requested_at").map_err(db_err)?,
    }))
}

#[async_trait]
impl StaffStore for SqlStore {
    async fn staff_facts(&self, account_id: &str) -> StoreResult<Option<StaffFacts>> {
        let sql = format!("SELECT a.unconfirmed_reset_at, {TOTP_BOUND} FROM accounts a WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        row.as_ref().map(facts_from_row).transpose()
    }

    async fn staff_members(&self) -> StoreResult<Vec<StaffMember>> {
        let sql = format!(
            "SELECT a.id, a.email, a.role, a.unconfirmed_reset_at, {TOTP_BOUND}, r.items, r.requested_by, r.requested_at \
             FROM accounts a LEFT JOIN staff_resets r ON r.account_id = a.id WHERE a.role <> 'user' ORDER BY a.email"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role").map_err(db_err)?;
                Ok(StaffMember {
                    account_id: row.try_get("id").map_err(db_err)?,
                    email: row.try_get("email").map_err(db_err)?,
                    role: Role::try_from(role.as_str()).map_err(|e| StoreError::other(e.to_string()))?,
                    facts: facts_from_row(row)?,
                    pending_reset: pending_from_row(row)?,
                })
            })
            .collect()
    }

    async fn pending_staff_reset(&self, account_id: &str) -> StoreResult<Option<PendingStaffReset>> {
        let row = sqlx::query("SELECT items, requested_by, requested_at FROM staff_resets WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(pending_from_row).transpose()?.flatten())
    }

    async fn request_staff_reset(
        &self,
        account_id: &str,
        request: &PendingStaffReset,
        lapsed_before: i64,
        effects: &Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("DELETE FROM staff_resets WHERE account_id = $1 AND requested_at < $2")
            .bind(account_id)
            .bind(lapsed_before)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let done = sqlx::query(
            "INSERT INTO staff_resets (account_id, items, requested_by, requested_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(items_column(&request.items))
        .bind(&request.requested_by)
        .bind(request.requested_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        write_effects(&mut tx, &effects.audit, &effects.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn apply_staff_reset(&self, p: &StaffResetPlan) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let won = sqlx::query(
            "DELETE FROM staff_resets WHERE account_id = $1 AND items = $2 AND requested_by = $3 AND requested_at = $4",
        )
        .bind(&p.account_id)
        .bind(items_column(&p.agreed.items))
        .bind(&p.agreed.requested_by)
        .bind(p.agreed.requested_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if won.rows_affected() != 1 {
            return Ok(false);
        }
        // Rows in the order every transaction takes them: sign-in attempts,
        // authenticator, account, sessions, then notices and the audit head.
        close_pending_sign_ins(&mut tx, &p.account_id).await?;
        if p.agreed.items.contains(&StaffResetItem::Authenticator) {
            for sql in
                ["DELETE FROM totp_factors WHERE account_id = $1", "DELETE FROM totp_setups WHERE account_id = $1"]
            {
                sqlx::query(sql).bind(&p.account_id).execute(&mut *tx).await.map_err(db_err)?;
            }
        }
        // Whatever was lost, the account's passkeys go too: a staff reset
        // means its factors are in doubt, and a passkey left behind (perhaps
        // a thief's) would sign in and bind the new authenticator.
        sqlx::query("DELETE FROM passkeys WHERE account_id = $1")
            .bind(&p.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let phone = if p.agreed.items.contains(&StaffResetItem::Phone) { "NULL" } else { "phone" };
        let sql = format!(
            "UPDATE accounts SET phone = {phone}, unconfirmed_reset_at = $1, second_factor_failures = 0, \
             withdrawals_blocked_until = CASE WHEN withdrawals_blocked_until IS NULL OR withdrawals_blocked_until < $2 \
             THEN $2 ELSE withdrawals_blocked_until END WHERE id = $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(p.now)
            .bind(p.hold_until)
            .bind(&p.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        revoke_sessions(&mut tx, &p.account_id, p.now).await?;
        write_effects(&mut tx, &p.effects.audit, &p.effects.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn confirm_staff(&self, account_id: &str, reset_at: i64, effects: &Effects) -> StoreResult<bool> {
        let write = sqlx::query(
            "UPDATE accounts SET unconfirmed_reset_at = NULL WHERE id = $1 AND unconfirmed_reset_at = $2 \
             AND EXISTS (SELECT 1 FROM totp_factors t WHERE t.account_id = $1)",
        )
        .bind(account_id.to_owned())
        .bind(reset_at);
        crate::recovery::write_one_with_effects(self, write, effects).await
    }
}

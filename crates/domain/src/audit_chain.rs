//! The audit log's hash chain: each entry carries the SHA-256 of the entry
//! before it, and its own hash covers that link and every field, so editing,
//! removing or reordering any entry breaks the chain from that point on. The
//! chain's head (last hash and entry count) is kept apart from the entries,
//! so cutting entries off the end is caught as well.
//!
//! What it does not do: someone who can write to the database can recompute
//! the whole chain. The head hash is printed by `twostep audit verify` so an
//! operator can record it elsewhere; a later head that does not extend a
//! recorded one shows a rewrite.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "";

/// The fields of an audit entry that the chain covers (all of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFields<'a> {
    pub at: i64,
    pub account_id: Option<&'a str>,
    pub kind: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub detail: &'a str,
}

/// Hex SHA-256 of `prev_hash` and every field, each length-prefixed (and the
/// account id tagged present or absent) so that no two different entries
/// encode to the same bytes.
pub fn entry_hash(prev_hash: &str, e: &AuditFields<'_>) -> String {
    let mut h = Sha256::new();
    h.update(b"twostep-audit-v1");
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&e.at.to_be_bytes());
    match e.account_id {
        Some(id) => {
            field(b"1");
            field(id.as_bytes());
        }
        None => field(b"0"),
    }
    field(e.kind.as_bytes());
    field(e.ip.as_bytes());
    field(e.user_agent.as_bytes());
    field(e.detail.as_bytes());
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One stored entry as `twostep audit verify` reads it, in log order.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    pub seq: i64,
    pub at: i64,
    pub account_id: Option<String>,
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The chain's head as stored beside the entries (None: nothing appended yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub last_hash: String,
    pub entries: i64,
}

/// Where and why the chain breaks; `seq` names the first broken entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: Option<i64>,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "audit entry {seq}: {}", self.reason),
            None => write!(f, "audit log: {}", self.reason),
        }
    }
}

/// A whole-log check, fed entries in log (sequence) order.
#[derive(Default)]
pub struct ChainVerifier {
    prev: Option<String>,
    last_seq: Option<i64>,
    checked: i64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: &StoredEntry) -> Result<(), ChainBreak> {
        let broken = |reason: &str| Err(ChainBreak { seq: Some(e.seq), reason: reason.to_owned() });
        if self.last_seq.is_some_and(|last| e.seq <= last) {
            return broken("out of sequence order");
        }
        let (Some(prev_hash), Some(hash)) = (&e.prev_hash, &e.hash) else {
            return broken("has no hash (added outside twostep?)");
        };
        let expected_prev = self.prev.as_deref().unwrap_or(GENESIS);
        if prev_hash != expected_prev {
            return broken(if self.prev.is_none() {
                "the first entry does not start the chain (entries before it were removed?)"
            } else {
                "does not follow the entry before it (an entry was removed or reordered)"
            });
        }
        let fields = AuditFields {
            at: e.at,
            account_id: e.account_id.as_deref(),
            kind: &e.kind,
            ip: &e.ip,
            user_agent: &e.user_agent,
            detail: &e.detail,
        };
        if entry_hash(prev_hash, &fields) != *hash {
            return broken("its content does not match its hash (edited)");
        }
        self.prev = Some(hash.clone());
        self.last_seq = Some(e.seq);
        self.checked += 1;
        Ok(())
    }

    /// Checks the end of the log against the stored head; returns how many
    /// entries were verified.
    pub fn finish(self, head: Option<&ChainHead>) -> Result<i64, ChainBreak> {
        let (entries, last_hash) = head.map_or((0, GENESIS), |h| (h.entries, h.last_hash.as_str()));
        let tail = |reason: String| Err(ChainBreak { seq: self.last_seq.map(|s| s + 1), reason });
        if self.checked != entries {
            return tail(format!(
                "the chain head records {entries} entries but {} are present (entries removed from the end?)",
                self.checked
            ));
        }
        if self.prev.as_deref().unwrap_or(GENESIS) != last_hash {
            return tail("the last entry is not the chain head (entries removed from the end?)".into());
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str, detail: &str) -> StoredEntry {
        let fields = AuditFields {
            at: 100 + seq,
            account_id: Some("acc"),
            kind: "login",
            ip: "1.2.3.4",
            user_agent: "ua",
            detail,
        };
        StoredEntry {
            seq,
            at: 100 + seq,
            account_id: Some("acc".into()),
            kind: "login".into(),
            ip: "1.2.3.4".into(),
            user_agent: "ua".into(),
            detail: detail.into(),
            prev_hash: Some(prev.into()),
            hash: Some(entry_hash(prev, &fields)),
        }
    }

    fn chain(n: i64) -> (Vec<StoredEntry>, ChainHead) {
        let mut out: Vec<StoredEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().and_then(|e| e.hash.clone()).unwrap_or_default();
            out.push(entry(seq, &prev, &format!("d{seq}")));
        }
        let head = ChainHead { last_hash: out.last().unwrap().hash.clone().unwrap(), entries: n };
        (out, head)
    }

    fn verify(entries: &[StoredEntry], head: &ChainHead) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for e in entries {
            v.push(e)?;
        }
        v.finish(Some(head))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (entries, head) = chain(5);
        assert_eq!(verify(&entries, &head), Ok(5));
        assert_eq!(ChainVerifier::new().finish(None), Ok(0));
    }

    #[test]
    fn every_field_is_covered() {
        let base = AuditFields { at: 1, account_id: Some("a"), kind: "k", ip: "i", user_agent: "u", detail: "d" };
        let h = entry_hash("p", &base);
        let variants = [
            AuditFields { at: 2, ..base.clone() },
            AuditFields { account_id: None, ..base.clone() },
            AuditFields { account_id: Some(""), ..base.clone() },
            AuditFields { kind: "K", ..base.clone() },
            AuditFields { ip: "I", ..base.clone() },
            AuditFields { user_agent: "U", ..base.clone() },
            AuditFields { detail: "D", ..base.clone() },
            // Moving bytes from one field to the next changes the hash too.
            AuditFields { kind: "ki", ip: "", ..base.clone() },
        ];
        for v in variants {
            assert_ne!(entry_hash("p", &v), h, "{v:?}");
        }
        assert_ne!(entry_hash("q", &base), h);
    }

    #[test]
    fn an_edit_names_the_edited_entry() {
        let (mut entries, head) = chain(5);
        entries[2].detail = "changed".into();
        assert_eq!(verify(&entries, &head).unwrap_err().seq, Some(3));
    }

    #[test]
    fn a_removal_names_the_entry_after_the_gap() {
        let (mut entries, head) = chain(5);
        entries.remove(1);
        assert_eq!(verify(&entries, &head).unwrap_err().seq, Some(3));
        let (mut entries, head) = chain(5);
        entries.remove(0);
        assert_eq!(verify(&entries, &head).unwrap_err().seq, Some(2));
        let (mut entries, head) = chain(5);
        entries.pop();
        assert_eq!(verify(&entries, &head).unwrap_err().seq, Some(5));
    }

    #[test]
    fn a_reorder_names_the_first_moved_entry() {
        let (mut entries, head) = chain(5);
        // Swap the contents of entries 2 and 3 but keep the sequence numbers.
        let (a, b) = (entries[1].clone(), entries[2].clone());
        entries[1] = StoredEntry { seq: 2, ..b };
        entries[2] = StoredEntry { seq: 3, ..a };
        assert_eq!(verify(&entries, &head).unwrap_err().seq, Some(2));
    }
}

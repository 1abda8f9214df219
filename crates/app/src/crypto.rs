//! Secrets at rest and random tokens. The keyring seals TOTP keys, recovery
//! identity documents and queued messages with AES-256-GCM under a master key
//! that never enters the database; each sealed value names the key that
//! sealed it so keys can rotate. Key bytes, the pepper derived from them and
//! every opened value are wiped from memory when dropped.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

const FORMAT_V1: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed under unknown key {0}")]
    UnknownKey(String),
    #[error("sealed value failed authentication")]
    Tampered,
}

/// A master key. Its bytes never appear in `Debug` output or logs, and each
/// copy of them is wiped when it is dropped.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id_hex())
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// Takes the bytes and wipes the caller's copy.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self { bytes };
        bytes.zeroize();
        key
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A public fingerprint of the key, stored beside each sealed value.
    pub fn id(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::new().chain_update(b"twostep key id\0").chain_update(self.bytes).finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    pub fn id_hex(&self) -> String {
        hex(&self.id())
    }
}

/// The current master key plus older ones still needed to open old values.
pub struct Keyring {
    current: [u8; KEY_ID_LEN],
    ciphers: HashMap<[u8; KEY_ID_LEN], Aes256Gcm>,
    code_pepper: [u8; 32],
}

impl Drop for Keyring {
    fn drop(&mut self) {
        self.code_pepper.zeroize();
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(current={}, keys={})", hex(&self.current), self.ciphers.len())
    }
}

impl Keyring {
    /// `current` seals new values; `older` only open old ones.
    pub fn new(current: &MasterKey, older: &[MasterKey]) -> Self {
        let mut ciphers = HashMap::new();
        for key in older.iter().chain(std::iter::once(current)) {
            let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).expect("32-byte key");
            ciphers.insert(key.id(), cipher);
        }
        let code_pepper =
            Sha256::new().chain_update(b"twostep code pepper\0").chain_update(current.as_bytes()).finalize().into();
        Self { current: current.id(), ciphers, code_pepper }
    }

    /// Key for hashing sent one-time codes, derived from the master key so a
    /// stolen database alone cannot test guesses offline.
    pub fn code_pepper(&self) -> &[u8] {
        &self.code_pepper
    }

    /// A bearer secret derived from the master key for `purpose` and `id`:
    /// the same every time it is asked for, so it can be told again
    /// without being stored (only its [`token_hash`] is). Unguessable
    /// without the master key.
    pub fn derived_token(&self, purpose: &str, id: &str) -> String {
        let digest = Sha256::new()
            .chain_update(b"twostep derived token\0")
            .chain_update(self.code_pepper)
            .chain_update(purpose.as_bytes())
            .chain_update(b"\0")
            .chain_update(id.as_bytes())
            .finalize();
        data_encoding::BASE64URL_NOPAD.encode(&digest)
    }

    pub fn current_id(&self) -> String {
        hex(&self.current)
    }

    /// `context` binds the value to its row, so a sealed value copied into
    /// another row does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = &self.ciphers[&self.current];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encryption of a small value cannot fail");
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.current);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The plaintext is wiped from memory when the caller drops it.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 1 + KEY_ID_LEN + NONCE_LEN + 16 || sealed[0] != FORMAT_V1 {
            return Err(SealError::Malformed);
        }
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&sealed[1..1 + KEY_ID_LEN]);
        let cipher = self.ciphers.get(&id).ok_or_else(|| SealError::UnknownKey(hex(&id)))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN]);
        let ct = &sealed[1 + KEY_ID_LEN + NONCE_LEN..];
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered)
    }

    /// True when the value names a key this keyring holds (whether it opens
    /// is `open`'s business).
    pub fn has_key_of(&self, sealed: &[u8]) -> bool {
        sealed.len() > KEY_ID_LEN
            && sealed[1..1 + KEY_ID_LEN].try_into().is_ok_and(|id: [u8; KEY_ID_LEN]| self.ciphers.contains_key(&id))
    }

    /// True when the value was sealed under the current key.
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.len() > KEY_ID_LEN && sealed[1..1 + KEY_ID_LEN] == self.current
    }

    /// The bytes every value sealed under the current key begins with (the
    /// format and the key's id): storage finds the values still to re-seal
    /// after a rotation without reading them all.
    pub fn current_prefix(&self) -> Vec<u8> {
        let mut prefix = Vec::with_capacity(1 + KEY_ID_LEN);
        prefix.push(FORMAT_V1);
        prefix.extend_from_slice(&self.current);
        prefix
    }
}

pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// A new random id: 128 bits, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A bearer secret (session token, case token): 256 bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// Tokens are stored only as this hash, so a database leak yields no session.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_context_binding() {
        let ring = Keyring::new(&MasterKey::generate(), &[]);
        let sealed = ring.seal("totp:a", b"secret");
        assert_eq!(*ring.open("totp:a", &sealed).unwrap(), b"secret");
        assert_eq!(ring.open("totp:b", &sealed), Err(SealError::Tampered));
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn old_keys_open_and_unknown_keys_refuse() {
        let old = MasterKey::generate();
        let sealed = Keyring::new(&old, &[]).seal("c", b"x");
        let new = MasterKey::generate();
        let rotated = Keyring::new(&new, std::slice::from_ref(&old));
        assert_eq!(*rotated.open("c", &sealed).unwrap(), b"x");
        assert!(!rotated.is_current(&sealed));
        assert!(!sealed.starts_with(&rotated.current_prefix()));
        assert!(rotated.seal("c", b"x").starts_with(&rotated.current_prefix()));
        let stranger = Keyring::new(&new, &[]);
        assert!(matches!(stranger.open("c", &sealed), Err(SealError::UnknownKey(_))));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = Keyring::new(&MasterKey::generate(), &[]);
        let mut sealed = ring.seal("c", b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(ring.open("c", &sealed), Err(SealError::Tampered));
        assert_eq!(ring.open("c", &sealed[..10]), Err(SealError::Malformed));
    }
}

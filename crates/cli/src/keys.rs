//! The data directory (mode 0700) and the master key file in it (0600), or
//! a key file mounted elsewhere (`--master-key-file`). The master key seals
//! secrets at rest; it never enters the database, so a copy of the database
//! alone reveals no authenticator secret. Several instances must share the
//! same key: the database records the key's public id, and an instance whose
//! key differs refuses to start (`load_checked`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use twostep_app::crypto::{Keyring, MasterKey};
use twostep_app::ports::{SecretKind, SecretStore};
use twostep_store::SqlStore;

const CURRENT: &str = "master.key";
const PENDING: &str = "master.key.new";
const RETIRED: &str = "retired-keys";

pub fn ensure_data_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("securing {}", dir.display()))?;
    Ok(())
}

fn write_key(path: &Path, key: &MasterKey) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    f.write_all(data_encoding::HEXLOWER.encode(key.as_bytes()).as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn read_key(path: &Path) -> Result<MasterKey> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.trim().as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    match bytes {
        Some(b) => Ok(MasterKey::from_bytes(b)),
        None => bail!("{} does not hold a 32-byte hex key", path.display()),
    }
}

fn key_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let retired = dir.join(RETIRED);
    if retired.is_dir() {
        for entry in fs::read_dir(&retired)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "key") {
                out.push(path);
            }
        }
    }
    let pending = dir.join(PENDING);
    if pending.exists() {
        out.push(pending);
    }
    Ok(out)
}

/// Loads the keyring, creating the first master key if there is none,
/// without asking the database (the benchmark seeds a database with it).
pub fn load_keyring(dir: &Path) -> Result<Keyring> {
    ensure_data_dir(dir)?;
    let current_path = dir.join(CURRENT);
    if !current_path.exists() {
        write_key(&current_path, &MasterKey::generate())?;
        tracing::info!(path = %current_path.display(), "created a new master key");
    }
    let current = read_key(&current_path)?;
    let older = key_files(dir)?.iter().map(|p| read_key(p)).collect::<Result<Vec<_>>>()?;
    Ok(Keyring::new(&current, &older))
}

/// The keyring of an instance, checked against the key recorded in the
/// database. The key is `key_file` if given (it must exist), else
/// `<dir>/master.key`, created only when the database is empty. `rotating`:
/// a rotation that stopped after it recorded its new key may resume.
pub async fn load_checked(dir: &Path, key_file: Option<&Path>, store: &SqlStore, rotating: bool) -> Result<Keyring> {
    ensure_data_dir(dir)?;
    let path = key_file.map(Path::to_path_buf).unwrap_or_else(|| dir.join(CURRENT));
    let recorded = store.master_key_check().await.context("reading the master key check")?;
    if !path.exists() {
        if key_file.is_some() {
            bail!(
                "--master-key-file {}: no such file (the key is never created there; point it at the key \
                   every instance uses)",
                path.display()
            );
        }
        if recorded.is_some() || !store.is_empty().await? {
            bail!(
                "no master key at {}, but the database already holds data sealed under key {}. Copy master.key from \
                 an instance that works into {} (mode 0600), or point --master-key-file / TWOSTEP_MASTER_KEY_FILE \
                 at it. A new key is created only for an empty database.",
                path.display(),
                recorded.as_deref().unwrap_or("(not recorded)"),
                dir.display()
            );
        }
        create_key_once(&path)?;
    }
    let current = read_key(&path)?;
    let older = key_files(dir)?.iter().map(|p| read_key(p)).collect::<Result<Vec<_>>>()?;
    let keyring = Keyring::new(&current, &older);
    let mine = current.id_hex();
    let recorded = match recorded {
        Some(r) => r,
        None => {
            // A database from before key checks: adopt this key only if it
            // opens what is already sealed.
            refuse_unknown_sealed_values(store, &keyring, &path).await?;
            store.record_master_key_check(&mine).await.context("recording the master key check")?
        }
    };
    if recorded == mine {
        return Ok(keyring);
    }
    let pending = dir.join(PENDING);
    if pending.exists() && read_key(&pending)?.id_hex() == recorded {
        if rotating {
            return Ok(keyring);
        }
        bail!("a master key rotation stopped before it finished: run `twostep keys rotate` again, then start");
    }
    bail!(
        "the master key {} (id {mine}) is not the key this database is sealed with (id {recorded}). Every instance \
         must use the same key: copy master.key from an instance that works into {}, or point --master-key-file / \
         TWOSTEP_MASTER_KEY_FILE at it. Starting with another key would seal values no other instance can open.",
        path.display(),
        dir.display()
    )
}

/// Writes a new key to `path` unless another process (an instance starting
/// beside this one on the same data directory) got there first: the key is
/// linked into place only if nothing is there, so all of them read one key.
fn create_key_once(path: &Path) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", twostep_app::crypto::new_id()));
    write_key(&tmp, &MasterKey::generate())?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new master key");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

async fn refuse_unknown_sealed_values(store: &SqlStore, keyring: &Keyring, path: &Path) -> Result<()> {
    for kind in SecretKind::ALL {
        let stale = store.stale_secrets(kind, &keyring.current_prefix(), None, 100).await?;
        if let Some(other) = stale.iter().find(|s| !keyring.has_key_of(&s.sealed)) {
            bail!(
                "the master key {} does not open the secrets already in this database (one is sealed under key {}): \
                 use the key file the database was created with",
                path.display(),
                other.sealed.get(1..9).map(twostep_app::crypto::hex).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Steps of a rotation. The new key is written beside the old one before any
/// value is re-sealed, and both stay loadable until the switch, so a crash at
/// any point leaves every value readable; running the rotation again then
/// carries on with the same new key.
pub struct Rotation {
    dir: PathBuf,
    pub new_key: MasterKey,
    /// The id of the key being replaced.
    pub old_id: String,
    /// An earlier rotation stopped before its switch and this one resumes it.
    pub resumed: bool,
}

impl Rotation {
    pub fn begin(dir: &Path) -> Result<(Self, Keyring)> {
        let old = read_key(&dir.join(CURRENT)).context("no master key to rotate")?;
        let retired = dir.join(RETIRED);
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&retired)?;
        write_key(&retired.join(format!("{}.key", old.id_hex())), &old)?;
        // A pending key may already seal values: never replace it.
        let pending = dir.join(PENDING);
        let resumed = pending.exists();
        let new_key = if resumed {
            read_key(&pending)?
        } else {
            let key = MasterKey::generate();
            write_key(&pending, &key)?;
            key
        };
        let mut older = key_files(dir)?.iter().map(|p| read_key(p)).collect::<Result<Vec<_>>>()?;
        let old_id = old.id_hex();
        older.push(old);
        let keyring = Keyring::new(&new_key, &older);
        Ok((Self { dir: dir.to_owned(), new_key, old_id, resumed }, keyring))
    }

    pub fn finish(self) -> Result<()> {
        fs::rename(self.dir.join(PENDING), self.dir.join(CURRENT))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_rotation_resumes_with_its_new_key() {
        let dir = std::env::temp_dir().join(format!("twostep-keys-{}", twostep_app::crypto::new_id()));
        let first = load_keyring(&dir).unwrap();
        let old_value = first.seal("c", b"old");
        let (rotation, keyring) = Rotation::begin(&dir).unwrap();
        assert!(!rotation.resumed);
        let new_value = keyring.seal("c", b"new");
        drop(rotation); // stopped before the switch
        let (again, keyring) = Rotation::begin(&dir).unwrap();
        assert!(again.resumed);
        assert_eq!(again.new_key.id_hex(), keyring.current_id());
        assert!(keyring.is_current(&new_value), "the pending key is kept, not replaced");
        again.finish().unwrap();
        let loaded = load_keyring(&dir).unwrap();
        assert!(loaded.is_current(&new_value));
        assert_eq!(*loaded.open("c", &old_value).unwrap(), b"old");
        assert_eq!(*loaded.open("c", &new_value).unwrap(), b"new");
        let _ = fs::remove_dir_all(&dir);
    }
}

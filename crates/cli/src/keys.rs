//! The data directory (mode 0700) and the master key file in it (0600). The
//! master key seals secrets at rest; it never enters the database, so a copy
//! of the database alone reveals no authenticator secret. Several instances
//! must share the same key file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use twostep_app::crypto::{Keyring, MasterKey};

const CURRENT: &str = "master.key";
const PENDING: &str = "master.key.new";
const RETIRED: &str = "retired-keys";

pub fn ensure_data_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).with_context(|| format!("securing {}", dir.display()))?;
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

/// Loads the keyring, creating the first master key on first start.
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

/// Steps of a rotation. The new key is written beside the old one before any
/// value is re-sealed, and both stay loadable until the switch, so a crash at
/// any point leaves every value readable; running the rotation again then
/// carries on with the same new key.
pub struct Rotation {
    dir: PathBuf,
    pub new_key: MasterKey,
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
        older.push(old);
        let keyring = Keyring::new(&new_key, &older);
        Ok((Self { dir: dir.to_owned(), new_key, resumed }, keyring))
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
        assert_eq!(loaded.open("c", &old_value).unwrap(), b"old");
        assert_eq!(loaded.open("c", &new_value).unwrap(), b"new");
        let _ = fs::remove_dir_all(&dir);
    }
}

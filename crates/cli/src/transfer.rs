//! `twostep export` and `twostep import`: a database as JSON lines, to move
//! from SQLite to PostgreSQL (or back). The first line names the format and
//! the migrations of the source; then, per table, a line with its columns and
//! a line per row; the last line is a trailer with the row count of every
//! table and the SHA-256 of every line before it. Sealed secrets are copied
//! still sealed: copy the master key file (and `retired-keys/`) to the new
//! data directory as well.
//!
//! An import reads the file twice: first to check it whole (every line
//! parses and fits its table, the counts and the digest match the trailer),
//! touching nothing; then to load it in one transaction, committed only if
//! the second reading still matches the trailer. A cut or damaged file is
//! refused and leaves the target database as it was. The digest finds
//! damage, not tampering: whoever can rewrite the file can rewrite it too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use twostep_store::SqlStore;
use twostep_store::transfer::{ColumnKind, TableShape, Value};

const FORMAT: &str = "twostep-export";
/// 2: the file ends with a trailer (row counts and a digest).
const VERSION: i64 = 2;
const LOAD_BATCH: usize = 2000;

fn kind_name(k: ColumnKind) -> &'static str {
    match k {
        ColumnKind::Int => "int",
        ColumnKind::Text => "text",
        ColumnKind::Bytes => "bytes",
    }
}

fn to_json(v: Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) => json!(i),
        Value::Text(s) => json!(s),
        Value::Bytes(b) => json!({ "b64": data_encoding::BASE64.encode(&b) }),
    }
}

fn from_json(v: &Json, kind: ColumnKind) -> Result<Value> {
    Ok(match (v, kind) {
        (Json::Null, _) => Value::Null,
        (Json::Number(n), ColumnKind::Int) => Value::Int(n.as_i64().context("integer out of range")?),
        (Json::String(s), ColumnKind::Text) => Value::Text(s.clone()),
        (Json::Object(o), ColumnKind::Bytes) => {
            let b64 = o.get("b64").and_then(Json::as_str).context("bytes must be {\"b64\": …}")?;
            Value::Bytes(data_encoding::BASE64.decode(b64.as_bytes()).context("bad base64")?)
        }
        (other, kind) => bail!("value {other} does not fit a {} column", kind_name(kind)),
    })
}

/// Writes lines and hashes exactly the bytes written.
struct DigestWriter<W: Write> {
    out: W,
    digest: Sha256,
}

impl<W: Write> DigestWriter<W> {
    fn line(&mut self, value: &Json) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        self.digest.update(&bytes);
        self.out.write_all(&bytes)
    }
}

pub async fn export(store: &SqlStore, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = DigestWriter { out: BufWriter::new(file), digest: Sha256::new() };
    let migrations = store.applied_migrations().await?;
    w.line(&json!({"format": FORMAT, "version": VERSION, "migrations": migrations}))?;
    let mut total = 0;
    let mut counts = serde_json::Map::new();
    for table in store.table_shapes().await? {
        let columns: Vec<Json> = table.columns.iter().map(|(c, k)| json!([c, kind_name(*k)])).collect();
        w.line(&json!({"table": table.name, "columns": columns}))?;
        let mut write_err = None;
        let n = store
            .dump_table(&table, |row| {
                let line = json!({"r": row.into_iter().map(to_json).collect::<Vec<_>>()});
                if let Err(e) = w.line(&line) {
                    write_err.get_or_insert(e);
                }
                Ok(())
            })
            .await?;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        eprintln!("exported {n} rows from {}", table.name);
        counts.insert(table.name.clone(), json!(n));
        total += n;
    }
    let digest = hex(&w.digest.finalize());
    let mut out = w.out;
    writeln!(out, "{}", json!({"trailer": {"rows": counts, "total": total, "sha256": digest}}))?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    println!("exported {total} rows to {}", path.display());
    Ok(())
}

/// What the first reading of an export found: every table's rows counted,
/// every line parsed and fitted to this database's tables.
struct Checked {
    total: u64,
}

/// One line of an export, as the reader sees it.
enum Line {
    Table(TableShape),
    Row(Vec<Value>),
    Trailer(Json),
}

/// Reads an export line by line, fitting each to this database's tables
/// and hashing what precedes the trailer.
struct Reader<'a> {
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    targets: &'a [TableShape],
    current: Option<TableShape>,
    digest: Sha256,
    counts: BTreeMap<String, u64>,
    line_no: usize,
}

impl<'a> Reader<'a> {
    fn open(input: &Path, targets: &'a [TableShape]) -> Result<(Json, Self)> {
        let file = std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
        let mut lines = std::io::BufReader::new(file).lines();
        let first = lines.next().context("empty export file")??;
        let header: Json = serde_json::from_str(&first).context("line 1: not a twostep export")?;
        if header["format"] != FORMAT {
            bail!("{} is not a twostep export", input.display());
        }
        if header["version"] != VERSION {
            bail!(
                "{} is a version {} export; this twostep reads version {VERSION} (with its trailer): export again",
                input.display(),
                header["version"]
            );
        }
        let mut digest = Sha256::new();
        digest.update(first.as_bytes());
        digest.update(b"\n");
        let reader = Self { lines, targets, current: None, digest, counts: BTreeMap::new(), line_no: 1 };
        Ok((header, reader))
    }

    fn next(&mut self) -> Result<Option<Line>> {
        let Some(text) = self.lines.next() else { return Ok(None) };
        let text = text?;
        self.line_no += 1;
        let n = self.line_no;
        let item: Json = serde_json::from_str(&text).with_context(|| format!("line {n}: not JSON"))?;
        if let Some(trailer) = item.get("trailer") {
            return Ok(Some(Line::Trailer(trailer.clone())));
        }
        self.digest.update(text.as_bytes());
        self.digest.update(b"\n");
        if let Some(name) = item["table"].as_str() {
            let target = self
                .targets
                .iter()
                .find(|t| t.name == name)
                .with_context(|| format!("line {n}: unknown table {name}"))?;
            let columns: Vec<&str> = item["columns"]
                .as_array()
                .context("columns")?
                .iter()
                .map(|c| c[0].as_str().unwrap_or_default())
                .collect();
            let names: Vec<&str> = target.columns.iter().map(|(c, _)| c.as_str()).collect();
            if columns != names {
                bail!("line {n}: table {name}: columns differ between export and this database");
            }
            if self.counts.insert(name.to_owned(), 0).is_some() {
                bail!("line {n}: table {name} appears twice");
            }
            self.current = Some(target.clone());
            return Ok(Some(Line::Table(target.clone())));
        }
        let table = self.current.as_ref().with_context(|| format!("line {n}: a row before any table"))?;
        let values = item["r"].as_array().with_context(|| format!("line {n}: a row without values"))?;
        if values.len() != table.columns.len() {
            bail!(
                "line {n}: table {}: a row has {} values for {} columns",
                table.name,
                values.len(),
                table.columns.len()
            );
        }
        let row = values
            .iter()
            .zip(&table.columns)
            .map(|(v, (_, k))| from_json(v, *k))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("line {n}: table {}", table.name))?;
        *self.counts.entry(table.name.clone()).or_default() += 1;
        Ok(Some(Line::Row(row)))
    }

    /// Checks the trailer against what was read: the digest and each
    /// table's count, and that nothing follows it.
    fn finish(mut self, trailer: &Json) -> Result<Checked> {
        let digest = hex(&self.digest.clone().finalize());
        if trailer["sha256"].as_str() != Some(digest.as_str()) {
            bail!("the export is damaged: its digest does not match its contents");
        }
        let rows = trailer["rows"].as_object().context("the trailer has no row counts")?;
        let claimed: BTreeMap<String, u64> = rows
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_u64().context("a row count is not a number")?)))
            .collect::<Result<_>>()?;
        if claimed != self.counts {
            bail!("the export is damaged: its tables or row counts differ from its trailer");
        }
        if self.lines.next().is_some() {
            bail!("the export has lines after its trailer");
        }
        Ok(Checked { total: self.counts.values().sum() })
    }
}

/// Reads the export through, checking it, and hands each table's rows to
/// `load` in batches. Fails on the first thing wrong.
async fn read_export(
    input: &Path,
    targets: &[TableShape],
    mut load: impl AsyncFnMut(&TableShape, &[Vec<Value>]) -> Result<()>,
) -> Result<(Json, Checked)> {
    let (header, mut reader) = Reader::open(input, targets)?;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut current: Option<TableShape> = None;
    let trailer = loop {
        match reader.next()? {
            None => bail!("the export is cut short: it has no trailer (was it copied whole?)"),
            Some(Line::Trailer(t)) => break t,
            Some(Line::Table(t)) => {
                if let Some(done) = current.replace(t) {
                    load(&done, &batch).await?;
                    batch.clear();
                }
            }
            Some(Line::Row(row)) => {
                batch.push(row);
                if batch.len() >= LOAD_BATCH {
                    let table = current.as_ref().context("a row before any table")?;
                    load(table, &batch).await?;
                    batch.clear();
                }
            }
        }
    };
    if let Some(done) = &current {
        load(done, &batch).await?;
    }
    let checked = reader.finish(&trailer)?;
    Ok((header, checked))
}

pub async fn import(store: &SqlStore, input: &Path) -> Result<()> {
    store.migrate().await?;
    let targets = store.table_shapes().await?;
    // First reading: the whole file checked, the database untouched.
    let (header, checked) = read_export(input, &targets, async |_: &TableShape, _: &[Vec<Value>]| Ok(())).await?;
    let ours = store.applied_migrations().await?;
    for m in header["migrations"].as_array().context("no migrations in header")? {
        if !ours.contains(&m.as_i64().unwrap_or(-1)) {
            bail!("the export has migration {m}, which this twostep does not know; upgrade twostep first");
        }
    }
    if !store.all_tables_empty().await? {
        bail!("the target database is not empty; import only into an empty database");
    }
    // The export carries the key check of its data; an instance that started
    // on the empty target may have recorded its own.
    store.clear_master_key_check().await?;
    // Second reading: loaded in one transaction, committed only if this
    // reading checks out too (the file may have changed in between).
    let mut load = store.begin_load().await?;
    let (_, again) = read_export(input, &targets, async |table: &TableShape, rows: &[Vec<Value>]| {
        load.load_rows(table, rows).await.with_context(|| format!("loading {}", table.name))
    })
    .await?;
    if again.total != checked.total {
        bail!("the export changed while it was being imported; nothing was imported");
    }
    load.commit().await.context("committing the import")?;
    println!("imported {} rows", checked.total);
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

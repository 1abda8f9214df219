//! `twostep export` and `twostep import`: a database as JSON lines, to move
//! from SQLite to PostgreSQL (or back). The first line names the format and
//! the migrations of the source; then, per table, a line with its columns and
//! a line per row. Sealed secrets are copied still sealed: copy the master key
//! file (and `retired-keys/`) to the new data directory as well.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};
use twostep_store::transfer::{ColumnKind, TableShape, Value};
use twostep_store::SqlStore;

const FORMAT: &str = "twostep-export";
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

pub async fn export(store: &SqlStore, out: &Path) -> Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = BufWriter::new(file);
    let migrations = store.applied_migrations().await?;
    writeln!(w, "{}", json!({"format": FORMAT, "version": 1, "migrations": migrations}))?;
    let mut total = 0;
    for table in store.table_shapes().await? {
        let columns: Vec<Json> = table.columns.iter().map(|(c, k)| json!([c, kind_name(*k)])).collect();
        writeln!(w, "{}", json!({"table": table.name, "columns": columns}))?;
        let mut write_err = None;
        let n = store
            .dump_table(&table, |row| {
                let line = json!({"r": row.into_iter().map(to_json).collect::<Vec<_>>()});
                if let Err(e) = writeln!(w, "{line}") {
                    write_err = Some(e);
                }
                Ok(())
            })
            .await?;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        eprintln!("exported {n} rows from {}", table.name);
        total += n;
    }
    w.flush()?;
    println!("exported {total} rows to {}", out.display());
    Ok(())
}

pub async fn import(store: &SqlStore, input: &Path) -> Result<()> {
    let reader = std::io::BufReader::new(std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?);
    let mut lines = reader.lines();
    let header: Json = serde_json::from_str(&lines.next().context("empty export file")??)?;
    if header["format"] != FORMAT || header["version"] != 1 {
        bail!("{} is not a twostep export (version 1)", input.display());
    }
    store.migrate().await?;
    let ours = store.applied_migrations().await?;
    for m in header["migrations"].as_array().context("no migrations in header")? {
        if !ours.contains(&m.as_i64().unwrap_or(-1)) {
            bail!("the export has migration {m}, which this twostep does not know; upgrade twostep first");
        }
    }
    if !store.is_empty().await? {
        bail!("the target database already has accounts; import only into an empty database");
    }
    // The export carries the key check of its data; an instance that started
    // on the empty target may have recorded its own.
    store.clear_master_key_check().await?;
    let targets = store.table_shapes().await?;
    let mut current: Option<TableShape> = None;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut total = 0usize;
    for line in lines {
        let line = line?;
        let item: Json = serde_json::from_str(&line).context("malformed line in export")?;
        if let Some(name) = item["table"].as_str() {
            if let Some(t) = &current {
                store.load_rows(t, &batch).await?;
                batch.clear();
            }
            let target = targets.iter().find(|t| t.name == name).with_context(|| format!("unknown table {name}"))?;
            let columns: Vec<String> = item["columns"]
                .as_array()
                .context("columns")?
                .iter()
                .map(|c| c[0].as_str().unwrap_or_default().to_owned())
                .collect();
            let names: Vec<&String> = target.columns.iter().map(|(c, _)| c).collect();
            if columns.iter().collect::<Vec<_>>() != names {
                bail!("table {name}: columns differ between export and this database");
            }
            current = Some(target.clone());
            continue;
        }
        let table = current.as_ref().context("row before any table")?;
        let values = item["r"].as_array().context("row without values")?;
        if values.len() != table.columns.len() {
            bail!("table {}: a row has {} values", table.name, values.len());
        }
        let row = values.iter().zip(&table.columns).map(|(v, (_, k))| from_json(v, *k)).collect::<Result<Vec<_>>>()?;
        batch.push(row);
        total += 1;
        if batch.len() >= LOAD_BATCH {
            store.load_rows(table, &batch).await?;
            batch.clear();
        }
    }
    if let Some(t) = &current {
        store.load_rows(t, &batch).await?;
    }
    store.finish_load().await?;
    println!("imported {total} rows");
    Ok(())
}

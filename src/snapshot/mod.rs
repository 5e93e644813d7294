//! Snapshots: content-addressed, profiled versions of a model's data.
//!
//! `create` resolves the model's files, hashes them ([`hash`]), and, unless a manifest
//! with that id exists, profiles every column ([`profile`]) and stores the manifest
//! ([`manifest`]). It reads data and writes only under `.retrain/snapshots/`.

pub mod hash;
pub mod manifest;
pub mod part;
mod part_cache;
pub mod profile;
mod summary;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{ColumnKind, ColumnSelection, DataSource, ModelConfig};
use crate::data::{self, DataError, DataFile};
pub use manifest::{ColumnEntry, FileEntry, Manifest, ProfileSettings, Role, Store, StoreError};
pub use part::epoch_ms;
use part::{DatetimePart, Part, TimePoint};
use profile::{CategoricalPart, NumericPart};

/// Memory the profiler may hold per column group (data plus sorted copies).
const GROUP_BUDGET_BYTES: u64 = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("snapshot {id} was profiled with {theirs}, but model `{model}` asks for {ours}")]
    Conflict {
        id: String,
        model: String,
        theirs: String,
        ours: String,
    },
}

impl SnapshotError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SnapshotError::Data(e) => e.hint(),
            SnapshotError::Store(StoreError::Corrupt { path, .. }) => Some(format!(
                "delete `{path}` and run `retrain snapshot` again to rebuild it"
            )),
            SnapshotError::Store(StoreError::NotFound { .. }) => {
                Some("list snapshots with `ls .retrain/snapshots`".into())
            }
            SnapshotError::Store(StoreError::Write { .. }) => None,
            SnapshotError::Conflict { id, .. } => Some(format!(
                "models that share data files must agree on `column_types` and `profile.top_k`; \
                 if the setting changed (retrain before 0.1.0 profiled with top_k 100), delete \
                 `.retrain/snapshots/{id}.yaml` and run `retrain snapshot` to profile the data again"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Unchanged,
}

/// The result of `retrain snapshot` for one model.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotOutcome {
    pub model: String,
    pub id: String,
    pub rows: u64,
    pub files: usize,
    pub status: Status,
    /// Manifest path relative to the repository root.
    pub path: String,
    #[serde(skip)]
    pub manifest: Manifest,
}

/// Snapshots a model's data: a no-op when the data is unchanged.
pub fn create(repo: &Path, model: &ModelConfig) -> Result<SnapshotOutcome, SnapshotError> {
    let store = Store::new(repo);
    let settings = ProfileSettings {
        top_k: model.profile.top_k,
        histogram_bins: profile::HISTOGRAM_BINS,
    };
    // an object store: when every listed object's content hash is known from what the
    // store says about it, an existing snapshot is found without reading any object
    let listing = match &model.data {
        DataSource::Url { url, format } => Some(data::remote::list(url, *format)?),
        _ => None,
    };
    if let Some(id) = listing.as_ref().and_then(|l| listed_id(repo, &store, l)) {
        if store.exists(&id) {
            return unchanged(&store, id, model, &settings);
        }
    }
    let files = match &listing {
        Some(l) => data::materialize(repo, l)?,
        None => data::resolve(repo, &model.data)?,
    };
    let stamps = files
        .iter()
        .map(DataFile::stamp)
        .collect::<Result<Vec<_>, _>>()?;
    // a file whose stamp is the one its hash was recorded with is not read again
    let hash_cache = part_cache::HashCache::load(repo);
    let started = std::time::SystemTime::now();
    let hashes = hash::hash_files(&files, |i| hash_cache.get(&files[i].rel, &stamps[i]))?;
    for ((file, stamp), hash) in files.iter().zip(&stamps).zip(&hashes) {
        file.unchanged_since(stamp)?;
        if hash.size != file.size {
            return Err(DataError::Changed {
                path: file.rel.clone(),
            }
            .into());
        }
    }
    hash_cache.record(&hashes.iter().zip(&stamps).collect::<Vec<_>>(), started);
    let id = hash::snapshot_id(hashes.iter().map(|h| (h.rel.as_str(), h.blake3.as_str())));
    if store.exists(&id) {
        return unchanged(&store, id, model, &settings);
    }
    let objects: HashMap<&str, &data::remote::RemoteObject> = listing
        .iter()
        .flat_map(|l| &l.objects)
        .map(|o| (o.name.as_str(), o))
        .collect();

    // the first file's schema plans the columns; every other file's is read and checked
    // against it as that file is profiled, so that a small CSV file is parsed once (its
    // type check reads it whole, and the profile takes those rows) and only a batch of
    // files is in memory at a time
    let schemas = SchemaSource::new(repo);
    let first_schema = schemas.of(&files[0], &hashes[0])?;
    let columns = plan_columns(&files[0], &first_schema, model)?;
    let mut parts: Vec<Part> = columns.iter().map(|_| Part::Empty).collect();
    let mut file_entries = Vec::with_capacity(files.len());
    let mut file_rows: Vec<u64> = Vec::with_capacity(files.len());
    let mut rows = 0u64;
    let plan = columns
        .iter()
        .map(|c| (c.name.clone(), c.kind.to_string(), c.dtype.to_string()))
        .collect::<Vec<_>>();
    let cache = part_cache::PartCache::new(repo, &plan);
    let entry = |i: usize, rows: u64| {
        let hash = &hashes[i];
        let object = objects.get(hash.rel.as_str());
        FileEntry {
            path: hash.rel.clone(),
            size: hash.size,
            blake3: hash.blake3.clone(),
            rows,
            etag: object.and_then(|o| o.etag.clone()),
            version: object.and_then(|o| o.version.clone()),
            modified: object.and_then(|o| o.last_modified),
        }
    };
    // the history merged before: start from the longest run of first files kept
    let prefixes = part_cache::PrefixCache::new(repo, &plan);
    let keys = prefixes.keys(hashes.iter().map(|h| (h.rel.as_str(), h.blake3.as_str())));
    let mut start = 0;
    let resumed = prefixes
        .longest(&keys, columns.len())
        .map(|(k, kept_rows, kept_parts)| {
            tracing::debug!(
                files = k,
                "starting from the merged profile of the first files"
            );
            parts = kept_parts;
            for (i, r) in kept_rows.into_iter().enumerate() {
                rows += r;
                file_rows.push(r);
                file_entries.push(entry(i, r));
            }
            start = k;
            k
        });
    // files are profiled several at once (as many as threads, within the memory budget)
    // and merged in order, so the manifest does not depend on the thread count
    while start < files.len() {
        let end = batch_end(&files, start, columns.len())?;
        let profiled: Vec<Result<(u64, Vec<Part>), DataError>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let (file, hash) = (&files[i], &hashes[i]);
                if i > 0 {
                    let schema = schemas.of(file, hash)?;
                    agrees(&files[0], &first_schema, file, &schema, model)?;
                }
                if let Some(kept) = cache.get(&hash.blake3, columns.len()) {
                    return Ok(kept);
                }
                tracing::debug!(file = %file.rel, "profiling");
                let (rows, parts) = profile_file(file, &columns)?;
                // the bytes profiled are the bytes hashed, or nothing is recorded
                file.unchanged_since(&stamps[i])?;
                cache.put(&hash.blake3, rows, &parts);
                Ok((rows, parts))
            })
            .collect();
        for (i, result) in (start..end).zip(profiled) {
            let (n, file_parts) = result?;
            for (acc, part) in parts.iter_mut().zip(file_parts) {
                acc.merge(part);
            }
            rows += n;
            file_rows.push(n);
            file_entries.push(entry(i, n));
            tracing::debug!(file = %files[i].rel, rows = n, "profiled");
        }
        start = end;
    }
    // kept for the next snapshot of these files and more; the one resumed from is replaced
    if resumed.is_none_or(|k| k < files.len()) {
        prefixes.put(&keys[files.len() - 1], &file_rows, &parts);
        if let Some(k) = resumed {
            prefixes.remove(&keys[k - 1]);
        }
    }
    let roles = roles(model, columns.iter().map(|c| c.name.as_str()));
    // each column's merged summary sorted and read at once
    let column_entries = columns
        .par_iter()
        .zip(parts)
        .map(|(c, part)| {
            let (count, nulls, profile) = part.finish(settings.top_k);
            ColumnEntry {
                name: c.name.clone(),
                kind: c.kind,
                dtype: c.dtype.to_string(),
                role: BTreeMap::from([(model.name.to_string(), roles[&c.name])]),
                count,
                nulls,
                profile,
            }
        })
        .collect();
    let manifest = Manifest {
        format: manifest::FORMAT,
        id: id.clone(),
        created_at: crate::reproducible::now(),
        created_by: format!("retrain {}", env!("CARGO_PKG_VERSION")),
        source: model.data.to_string(),
        rows,
        settings,
        files: file_entries,
        columns: column_entries,
    };
    store.write(&manifest)?;
    tracing::info!(model = %model.name, %id, rows, "snapshot created");
    Ok(SnapshotOutcome {
        model: model.name.to_string(),
        rows,
        files: files.len(),
        status: Status::Created,
        path: Store::rel_path(&id),
        id,
        manifest,
    })
}

/// The existing snapshot `id`: its manifest, with this model's column roles recorded.
fn unchanged(
    store: &Store,
    id: String,
    model: &ModelConfig,
    settings: &ProfileSettings,
) -> Result<SnapshotOutcome, SnapshotError> {
    let mut manifest = store.read(&id)?;
    check_compatible(&manifest, model, settings)?;
    let roles = roles(model, manifest.columns.iter().map(|c| c.name.as_str()));
    let mut changed = false;
    for column in &mut manifest.columns {
        let role = roles[&column.name];
        if column.role.get(model.name.as_str()) != Some(&role) {
            column.role.insert(model.name.to_string(), role);
            changed = true;
        }
    }
    if changed {
        store.write(&manifest)?;
    }
    tracing::info!(model = %model.name, %id, "data unchanged: snapshot exists");
    Ok(SnapshotOutcome {
        model: model.name.to_string(),
        rows: manifest.rows,
        files: manifest.files.len(),
        status: Status::Unchanged,
        path: Store::rel_path(&id),
        id,
        manifest,
    })
}

/// The snapshot id of a listing when every object's content hash is known without
/// reading it: from the local cache's stamps, or from a manifest that recorded the same
/// name, size, ETag, version and modification time.
fn listed_id(repo: &Path, store: &Store, listing: &data::remote::Listing) -> Option<String> {
    let cache = data::cache::ObjectCache::new(repo);
    let mut recorded: Option<HashMap<String, String>> = None;
    let mut pairs = Vec::with_capacity(listing.objects.len());
    for o in &listing.objects {
        let stamp = o.stamp()?;
        let hash = match cache.known(o) {
            Some(h) => h,
            None => recorded
                .get_or_insert_with(|| {
                    let manifests = store.list().unwrap_or_default();
                    manifests
                        .iter()
                        .flat_map(|m| &m.files)
                        .filter_map(|f| {
                            let stamp = data::remote::stamp(
                                &f.path,
                                f.size,
                                f.etag.as_deref(),
                                f.version.as_deref(),
                                f.modified,
                            )?;
                            Some((stamp, f.blake3.clone()))
                        })
                        .collect()
                })
                .get(&stamp)?
                .clone(),
        };
        pairs.push((o.name.clone(), hash));
    }
    Some(hash::snapshot_id(
        pairs.iter().map(|(n, h)| (n.as_str(), h.as_str())),
    ))
}

fn check_compatible(
    manifest: &Manifest,
    model: &ModelConfig,
    settings: &ProfileSettings,
) -> Result<(), SnapshotError> {
    let conflict = |theirs: String, ours: String| SnapshotError::Conflict {
        id: manifest.id.clone(),
        model: model.name.to_string(),
        theirs,
        ours,
    };
    if manifest.settings.top_k != settings.top_k {
        return Err(conflict(
            format!("top_k {}", manifest.settings.top_k),
            format!("top_k {}", settings.top_k),
        ));
    }
    for (name, kind) in &model.column_types {
        if let Some(c) = manifest.column(name) {
            if c.kind != *kind {
                return Err(conflict(
                    format!("`{name}` as {}", c.kind),
                    format!("{kind}"),
                ));
            }
        }
    }
    Ok(())
}

/// A column to profile.
#[derive(Debug, Clone)]
struct PlannedColumn {
    name: String,
    kind: ColumnKind,
    dtype: DataType,
}

/// Files' schemas: kept per content hash (`part_cache::SchemaCache`), or read (for a CSV
/// file: inferred from its first rows) and kept.
struct SchemaSource {
    cache: part_cache::SchemaCache,
}

impl SchemaSource {
    fn new(repo: &Path) -> Self {
        Self {
            cache: part_cache::SchemaCache::new(repo),
        }
    }

    fn of(&self, file: &DataFile, hash: &hash::FileHash) -> Result<Schema, DataError> {
        let csv = file.format == data::FileFormat::Csv;
        if let Some(s) = self.cache.get(&hash.blake3, csv) {
            return Ok(s);
        }
        let s = file.schema()?;
        self.cache.put(&hash.blake3, csv, &s);
        Ok(s)
    }
}

/// Checks that `other`'s columns are the first file's: the same names in the same order,
/// of the same kinds (unless `column_types` sets the kind).
fn agrees(
    first: &DataFile,
    schema: &Schema,
    other: &DataFile,
    s: &Schema,
    model: &ModelConfig,
) -> Result<(), DataError> {
    let names_a: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    let names_b: Vec<&str> = s.iter_names().map(|n| n.as_str()).collect();
    if names_a != names_b {
        let missing: Vec<&str> = names_a
            .iter()
            .filter(|n| !names_b.contains(n))
            .copied()
            .collect();
        let extra: Vec<&str> = names_b
            .iter()
            .filter(|n| !names_a.contains(n))
            .copied()
            .collect();
        let detail = if missing.is_empty() && extra.is_empty() {
            "same columns in a different order".to_string()
        } else {
            format!(
                "missing [{}], extra [{}]",
                missing.join(", "),
                extra.join(", ")
            )
        };
        return Err(DataError::SchemaMismatch {
            path: other.rel.clone(),
            first: first.rel.clone(),
            detail,
        });
    }
    for (name, dtype) in s.iter() {
        let a = data::kind_of(schema.get(name).expect("same names"));
        if a != data::kind_of(dtype) && !model.column_types.contains_key(name.as_str()) {
            return Err(DataError::SchemaMismatch {
                path: other.rel.clone(),
                first: first.rel.clone(),
                detail: format!("column `{name}` is {dtype} here"),
            });
        }
    }
    Ok(())
}

/// Columns of the source with their kinds, from its first file's schema; checks that every
/// column the config names exists.
fn plan_columns(
    first: &DataFile,
    schema: &Schema,
    model: &ModelConfig,
) -> Result<Vec<PlannedColumn>, DataError> {
    let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    for (column, role) in declared_columns(model) {
        if !available.contains(&column) {
            return Err(DataError::MissingColumn {
                path: first.rel.clone(),
                column,
                role,
                available,
            });
        }
    }
    let mut planned = Vec::new();
    for (name, dtype) in schema.iter() {
        let name = name.to_string();
        let kind = match model.column_types.get(&name) {
            Some(kind) if data::can_convert(dtype, *kind) => *kind,
            Some(kind) => {
                return Err(DataError::BadOverride {
                    path: first.rel.clone(),
                    column: name,
                    kind: *kind,
                    message: format!("the file has {dtype}"),
                })
            }
            None => match data::kind_of(dtype) {
                Some(kind) => kind,
                None if model.ignore.contains(&name) => continue,
                None => {
                    return Err(DataError::UnsupportedType {
                        path: first.rel.clone(),
                        column: name,
                        dtype: dtype.to_string(),
                    })
                }
            },
        };
        planned.push(PlannedColumn {
            name,
            kind,
            dtype: dtype.clone(),
        });
    }
    Ok(planned)
}

/// Every column the model's config names, with the key that names it.
fn declared_columns(model: &ModelConfig) -> Vec<(String, String)> {
    let mut out = vec![(model.target.clone(), "`target`".to_string())];
    if let Some(t) = &model.time_column {
        out.push((t.clone(), "`time_column`".into()));
    }
    for f in model.features.iter().flatten() {
        out.push((f.clone(), "a feature".into()));
    }
    for c in &model.ignore {
        out.push((c.clone(), "`ignore`d".into()));
    }
    for c in model.column_types.keys() {
        out.push((c.clone(), "a `column_types` key".into()));
    }
    if let Some(drift) = &model.triggers.drift {
        if let ColumnSelection::List(cols) = &drift.columns {
            for c in cols {
                out.push((c.clone(), "a drift column".into()));
            }
        }
        for c in drift.per_column.keys() {
            out.push((c.clone(), "a drift `per_column` key".into()));
        }
    }
    for c in &model.evaluation.slices {
        out.push((c.clone(), "an evaluation slice".into()));
    }
    out
}

/// Role of each column for `model`.
pub fn roles<'a>(
    model: &ModelConfig,
    names: impl Iterator<Item = &'a str>,
) -> HashMap<String, Role> {
    names
        .map(|n| {
            let role = if n == model.target {
                Role::Target
            } else if Some(n) == model.time_column.as_deref() {
                Role::Time
            } else if model.ignore.iter().any(|c| c == n) {
                Role::Ignored
            } else {
                match &model.features {
                    Some(f) if !f.iter().any(|c| c == n) => Role::Unused,
                    _ => Role::Feature,
                }
            };
            (n.to_string(), role)
        })
        .collect()
}

/// About how many rows `file` holds: a Parquet file's footer says; a CSV row takes
/// about 8 bytes of text per column.
fn rows_hint(file: &DataFile, columns: usize) -> Result<u64, DataError> {
    Ok(match file.format {
        data::FileFormat::Parquet => file.row_count()?,
        data::FileFormat::Csv => file.size / (8 * columns.max(1) as u64),
    })
}

/// Each numeric column costs ~16 bytes a row while profiled (data + sorted copy).
const PROFILE_BYTES_PER_VALUE: u64 = 16;

/// The end of the batch of files profiled at once from `start`: at most two per thread (a
/// file waiting for polars' reader or writing its cached parts leaves its core to the
/// other), and no more than fit in [`GROUP_BUDGET_BYTES`] together (at least one).
fn batch_end(files: &[DataFile], start: usize, columns: usize) -> Result<usize, DataError> {
    let threads = rayon::current_num_threads().max(1);
    let mut end = start;
    let mut bytes = 0u64;
    while end < files.len() && end - start < 2 * threads {
        let need = (rows_hint(&files[end], columns)? * columns as u64 * PROFILE_BYTES_PER_VALUE)
            .min(GROUP_BUDGET_BYTES);
        if end > start && bytes + need > GROUP_BUDGET_BYTES {
            break;
        }
        bytes += need;
        end += 1;
    }
    Ok(end)
}

/// Profiles one file, a group of columns at a time; returns its row count and parts.
fn profile_file(file: &DataFile, columns: &[PlannedColumn]) -> Result<(u64, Vec<Part>), DataError> {
    // read as many columns at once as fit (a CSV file re-read per column group is
    // parsed again each time)
    let rows_hint = rows_hint(file, columns.len())?;
    let per_column = rows_hint.max(1) * PROFILE_BYTES_PER_VALUE;
    let group = ((GROUP_BUDGET_BYTES / per_column) as usize).clamp(1, columns.len().max(1));
    let mut rows = None;
    let mut parts = Vec::with_capacity(columns.len());
    for chunk in columns.chunks(group) {
        let wanted: Vec<(String, ColumnKind)> =
            chunk.iter().map(|c| (c.name.clone(), c.kind)).collect();
        let df = file.read_columns(&wanted, None)?;
        rows = Some(df.height() as u64);
        let chunk_parts: Result<Vec<Part>, DataError> = chunk
            .par_iter()
            .map(|c| {
                let series = df
                    .column(&c.name)
                    .map_err(|e| DataError::Read {
                        path: file.rel.clone(),
                        message: e.to_string(),
                    })?
                    .as_materialized_series();
                profile_series(series, c.kind).map_err(|e| DataError::Read {
                    path: file.rel.clone(),
                    message: format!("column `{}`: {e}", c.name),
                })
            })
            .collect();
        parts.extend(chunk_parts?);
    }
    if columns.is_empty() {
        rows = Some(file.row_count()?);
    }
    Ok((rows.unwrap_or(0), parts))
}

fn profile_series(series: &Series, kind: ColumnKind) -> PolarsResult<Part> {
    let nulls = series.null_count() as u64;
    Ok(match kind {
        ColumnKind::Numeric => {
            let mut values = Vec::with_capacity(series.len() - series.null_count());
            data::extend_non_null(&mut values, series)?;
            Part::Numeric(NumericPart::from_values(values, nulls))
        }
        ColumnKind::Categorical => {
            let ca = series.str()?;
            let mut counts: HashMap<std::borrow::Cow<'_, str>, u64> = HashMap::new();
            for v in ca.iter().flatten() {
                *counts.entry(data::category_key(v)).or_insert(0) += 1;
            }
            let owned = counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            Part::Categorical(CategoricalPart::from_counts(owned, nulls))
        }
        ColumnKind::Datetime => {
            let count = (series.len() as u64) - nulls;
            let min = series.min_reduce()?.into_value();
            let max = series.max_reduce()?.into_value();
            Part::Datetime(DatetimePart {
                count,
                nulls,
                min: TimePoint::of(&min),
                max: TimePoint::of(&max),
            })
        }
    })
}

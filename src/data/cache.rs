//! The local copy of remote objects, outside git: `.retrain/cache/objects/<blake3>.<ext>`
//! holds each object's bytes under their content hash, and `stamps/<hash of the stamp>`
//! the content hash of an object as the store described it (name, size, ETag, version,
//! last-modified; [`super::remote::RemoteObject::stamp`]). An object whose stamp is known
//! and whose bytes are here is never downloaded again; a new or changed one is streamed
//! in once. Every file is written to a temporary name and renamed into place, so an
//! interrupted download leaves nothing that looks whole.

use std::path::{Path, PathBuf};

use super::atomic::write_atomic;
use super::remote::{Listing, RemoteObject};
use super::{DataError, FileFormat};

/// `.retrain/cache/objects` of a repository.
pub struct ObjectCache {
    dir: PathBuf,
}

impl ObjectCache {
    pub fn new(repo: &Path) -> Self {
        ObjectCache {
            dir: repo.join(".retrain/cache/objects"),
        }
    }

    /// The content hash recorded for this stamp, if any.
    pub fn known(&self, object: &RemoteObject) -> Option<String> {
        let stamp = object.stamp()?;
        let text = std::fs::read_to_string(self.stamp_path(&stamp)).ok()?;
        let hash = text.trim();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hash.to_string())
    }

    /// Where the bytes of content hash `hash` are kept.
    pub fn path(&self, hash: &str, format: FileFormat) -> PathBuf {
        let ext = match format {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
        };
        self.dir.join(format!("{hash}.{ext}"))
    }

    /// The object's bytes on local disk, and their content hash: from the cache when
    /// its stamp is known and its bytes are here, downloaded otherwise.
    pub fn materialize(
        &self,
        listing: &Listing,
        object: &RemoteObject,
    ) -> Result<(PathBuf, String), DataError> {
        if let Some(hash) = self.known(object) {
            let path = self.path(&hash, object.format);
            if path.metadata().is_ok_and(|m| m.len() == object.size) {
                return Ok((path, hash));
            }
        }
        let io = |e: std::io::Error| DataError::Read {
            path: object.name.clone(),
            message: format!("cannot write the local copy in {}: {e}", self.dir.display()),
        };
        self.ensure_dir().map_err(io)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&self.dir)
            .map_err(io)?;
        let hash = listing.fetch(object, tmp.as_file_mut())?;
        tmp.as_file().sync_all().map_err(io)?;
        let path = self.path(&hash, object.format);
        tmp.persist(&path).map_err(|e| io(e.error))?;
        if let Some(stamp) = object.stamp() {
            write_atomic(&self.stamp_path(&stamp), format!("{hash}\n").as_bytes()).map_err(io)?;
        }
        Ok((path, hash))
    }

    fn stamp_path(&self, stamp: &str) -> PathBuf {
        self.dir
            .join("stamps")
            .join(blake3::hash(stamp.as_bytes()).to_hex().as_str())
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.dir.join("stamps"))?;
        ensure_ignored(self.dir.parent().expect("the cache has a parent"))
    }
}

/// Writes `<cache>/.gitignore` (`*`) so that nothing cached is ever committed.
pub fn ensure_ignored(cache: &Path) -> std::io::Result<()> {
    let ignore = cache.join(".gitignore");
    if !ignore.exists() {
        std::fs::create_dir_all(cache)?;
        write_atomic(&ignore, b"*\n")?;
    }
    Ok(())
}

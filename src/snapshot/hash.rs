//! Content addressing: file hashes and the snapshot id.
//!
//! Each file is hashed with BLAKE3, read in blocks of 8 MiB whose chunks are hashed in
//! parallel, and files in parallel with each other; nothing is read into memory whole.
//! No memory map: a file truncated while it is mapped kills the process (SIGBUS),
//! while a read just sees the end — and the snapshot's stamp check then refuses it. The snapshot id is the BLAKE3 hash of the text
//! `"<relative path>\0<file hash hex>\n"` for every file, sorted by path: the same
//! bytes under the same names give the same id on any machine; changing a byte or
//! renaming a file changes it.

use rayon::prelude::*;

use crate::data::{DataError, DataFile};

/// A file's content hash (hex) and size.
#[derive(Debug, Clone)]
pub struct FileHash {
    pub rel: String,
    pub size: u64,
    pub blake3: String,
}

/// Hashes `files` in parallel; `known` gives a file's hash without reading it (a hash
/// cache by stamp), `None` to read every file.
pub fn hash_files(
    files: &[DataFile],
    known: impl Fn(usize) -> Option<(String, u64)> + Sync,
) -> Result<Vec<FileHash>, DataError> {
    files
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            if let Some((blake3, size)) = known(i) {
                return Ok(FileHash {
                    rel: f.rel.clone(),
                    size,
                    blake3,
                });
            }
            let read_err = |e: std::io::Error| DataError::Read {
                path: f.rel.clone(),
                message: format!("cannot read: {e}"),
            };
            let mut file = std::fs::File::open(&f.abs).map_err(read_err)?;
            let mut hasher = blake3::Hasher::new();
            // a small file's buffer is its size (zeroing 8 MiB per 2 MB partition was a
            // fifth of re-hashing 100 of them)
            let len = usize::try_from(f.size).unwrap_or(BLOCK).clamp(1, BLOCK);
            let mut block = vec![0u8; len];
            let mut size = 0u64;
            loop {
                let n = read_full(&mut file, &mut block).map_err(read_err)?;
                if n == 0 {
                    break;
                }
                hasher.update_rayon(&block[..n]);
                size += n as u64;
            }
            Ok(FileHash {
                rel: f.rel.clone(),
                size,
                blake3: hasher.finalize().to_hex().to_string(),
            })
        })
        .collect()
}

const BLOCK: usize = 8 << 20;

/// Fills `buf` as far as the file goes; the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The snapshot id of (relative path, content hash) pairs, in any order.
pub fn snapshot_id<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    let mut hasher = blake3::Hasher::new();
    for (path, hash) in pairs {
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::snapshot_id;

    #[test]
    fn id_is_order_independent_and_name_sensitive() {
        let a = snapshot_id([("a.csv", "11"), ("b.csv", "22")]);
        assert_eq!(a, snapshot_id([("b.csv", "22"), ("a.csv", "11")]));
        assert_ne!(a, snapshot_id([("a.csv", "11"), ("c.csv", "22")]));
        assert_ne!(a, snapshot_id([("a.csv", "11"), ("b.csv", "23")]));
        // path/hash boundaries cannot be shifted to forge a collision
        assert_ne!(snapshot_id([("ab", "c")]), snapshot_id([("a", "bc")]));
    }
}

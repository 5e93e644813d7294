//! Object-store and HTTP(S) sources: `data: { url: "s3://bucket/prefix/*.parquet" }`
//! (also `gs://`, `az://` / `abfs://`, `https://`), through `object_store` (the crate
//! polars' own cloud reading uses, already in the build).
//!
//! [`list`] asks the store for the objects a URL's glob matches, with what the store says
//! about each (size, ETag, version, last-modified); [`fetch`] streams one object into the
//! local content cache ([`super::cache`]), hashing it on the way, never holding it whole.
//! A download asks for the listed ETag (`If-Match`), so an object replaced between listing
//! and reading is refused instead of mixed in. Credentials are found the way each cloud's
//! own tools find them in the environment (`AWS_*` incl. `AWS_ENDPOINT_URL`,
//! `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` as GitHub's OIDC sets them up, instance
//! metadata; `GOOGLE_*`; `AZURE_*`); error messages never carry their values.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt};

use super::{format_of, DataError, FileFormat};
use crate::config::DataFormat;

/// The objects a URL names, and the store they are in.
pub struct Listing {
    store: Arc<dyn ObjectStore>,
    /// The source URL, as configured.
    pub url: String,
    pub objects: Vec<RemoteObject>,
}

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct RemoteObject {
    /// Its full URL (`s3://bucket/key`): its name in the snapshot.
    pub name: String,
    location: ObjectPath,
    pub size: u64,
    pub etag: Option<String>,
    pub version: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub format: FileFormat,
}

impl RemoteObject {
    /// What the store says about this object's bytes, as one text: equal stamps, same
    /// bytes. `None` when the store gives neither an ETag, a version nor a modification
    /// time (a plain HTTP server): then only reading the bytes tells.
    pub fn stamp(&self) -> Option<String> {
        stamp(
            &self.name,
            self.size,
            self.etag.as_deref(),
            self.version.as_deref(),
            self.last_modified,
        )
    }
}

/// [`RemoteObject::stamp`] of an object's name, size, ETag, version and modification
/// time (as listed, or as a manifest recorded them).
pub fn stamp(
    name: &str,
    size: u64,
    etag: Option<&str>,
    version: Option<&str>,
    modified: Option<DateTime<Utc>>,
) -> Option<String> {
    if etag.is_none() && version.is_none() && modified.is_none() {
        return None;
    }
    Some(format!(
        "{name}\0{size}\0{}\0{}\0{}",
        etag.unwrap_or(""),
        version.unwrap_or(""),
        modified.map(|t| t.to_rfc3339()).unwrap_or_default()
    ))
}

/// Lists the objects `url` names: a glob over keys (`*`, `?`, `[...]`, `**`; `*` stays
/// within one `/` segment, as for files), or one object.
pub fn list(url: &str, format: DataFormat) -> Result<Listing, DataError> {
    let parsed = url::Url::parse(url).map_err(|e| bad_url(url, e.to_string()))?;
    let (store, key) = open(&parsed, url)?;
    let root = root_of(url, &key);
    let glob_at = key.find(['*', '?', '[']);
    let metas: Vec<ObjectMeta> = match glob_at {
        None => {
            let location = ObjectPath::from(key.as_str());
            let store = store.clone();
            vec![block_on(async move { store.head(&location).await })
                .map_err(|e| store_error(url, &key, e))?]
        }
        Some(at) => {
            if parsed.scheme().starts_with("http") {
                return Err(bad_url(
                    url,
                    "an http(s) URL names one file: a web server cannot be listed, so globs need an object store (s3://, gs://, az://)".into(),
                ));
            }
            let prefix = key[..at].rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let pattern = glob::Pattern::new(&key).map_err(|e| DataError::BadGlob {
                pattern: url.to_string(),
                message: e.to_string(),
            })?;
            let options = glob::MatchOptions {
                require_literal_separator: true,
                ..Default::default()
            };
            let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
            let store = store.clone();
            let all = block_on(async move {
                let mut out = Vec::new();
                let mut stream = store.list(prefix_path.as_ref());
                while let Some(meta) = stream.next().await {
                    out.push(meta?);
                }
                Ok::<_, object_store::Error>(out)
            })
            .map_err(|e| store_error(url, prefix, e))?;
            all.into_iter()
                .filter(|m| pattern.matches_with(m.location.as_ref(), options))
                .collect()
        }
    };
    let mut objects = metas
        .into_iter()
        .map(|m| {
            let name = format!("{root}{}", m.location);
            let format = match format {
                DataFormat::Csv => FileFormat::Csv,
                DataFormat::Parquet => FileFormat::Parquet,
                DataFormat::Auto => format_of(&name)
                    .ok_or_else(|| DataError::UnknownFormat { path: name.clone() })?,
            };
            Ok(RemoteObject {
                name,
                location: m.location,
                size: m.size,
                etag: m.e_tag,
                version: m.version,
                last_modified: (m.last_modified.timestamp() != 0).then_some(m.last_modified),
                format,
            })
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    if objects.is_empty() {
        return Err(DataError::NoMatch {
            pattern: url.to_string(),
            root: std::path::PathBuf::from(root),
        });
    }
    Ok(Listing {
        store,
        url: url.to_string(),
        objects,
    })
}

impl Listing {
    /// Streams `object` to `dest` (created or truncated; the caller renames it into
    /// place) and returns its BLAKE3 hash (hex). Fails when the object changed or went
    /// away since it was listed, or when the body is cut short.
    pub fn fetch(
        &self,
        object: &RemoteObject,
        dest: &mut std::fs::File,
    ) -> Result<String, DataError> {
        use std::io::Write;
        let store = self.store.clone();
        let location = object.location.clone();
        let options = GetOptions {
            if_match: object.etag.clone(),
            ..Default::default()
        };
        let changed = |message: String| DataError::Remote {
            url: object.name.clone(),
            message,
            hint: RemoteHint::Changed,
        };
        // (error, bytes that arrived before it): a stream that breaks off is a short body
        let (hash, size) = block_on(async {
            let got = store.get_opts(&location, options).await.map_err(|e| (e, None))?;
            let mut stream = got.into_stream();
            let mut hasher = blake3::Hasher::new();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| (e, Some(size)))?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                dest.write_all(&chunk).map_err(|e| {
                    let e = object_store::Error::Generic {
                        store: "cache",
                        source: Box::new(e),
                    };
                    (e, None)
                })?;
            }
            Ok::<_, (object_store::Error, Option<u64>)>((
                hasher.finalize().to_hex().to_string(),
                size,
            ))
        })
        .map_err(|(e, arrived)| match (e, arrived) {
            (_, Some(arrived)) => changed(format!(
                "the download was cut short: {arrived} of {} bytes arrived; nothing was recorded: run again",
                object.size
            )),
            (object_store::Error::Precondition { .. }, _) => changed(
                "the object was replaced after it was listed (its ETag changed); nothing was recorded: run again".into(),
            ),
            (object_store::Error::NotFound { .. }, _) => changed(
                "the object was deleted after it was listed; nothing was recorded: run again".into(),
            ),
            (e, _) => store_error(&object.name, location.as_ref(), e),
        })?;
        if size != object.size {
            return Err(changed(format!(
                "the download was cut short: {size} of {} bytes arrived; nothing was recorded: run again",
                object.size
            )));
        }
        Ok(hash)
    }
}

/// The bytes of the object at `url` (an artifact: small enough to hold).
pub fn get(url: &str) -> Result<Vec<u8>, DataError> {
    let parsed = url::Url::parse(url).map_err(|e| bad_url(url, e.to_string()))?;
    let (store, key) = open(&parsed, url)?;
    let location = ObjectPath::from(key.as_str());
    block_on(async move {
        let got = store.get(&location).await?;
        got.bytes().await
    })
    .map(|b| b.to_vec())
    .map_err(|e| store_error(url, &key, e))
}

/// Writes `bytes` as the object at `url`, unless an object of that size is there
/// already (keys named by a digest: the same bytes). One PUT: the store shows the object
/// whole or not at all.
pub fn put(url: &str, bytes: Vec<u8>) -> Result<(), DataError> {
    let parsed = url::Url::parse(url).map_err(|e| bad_url(url, e.to_string()))?;
    let (store, key) = open(&parsed, url)?;
    let location = ObjectPath::from(key.as_str());
    let size = bytes.len() as u64;
    block_on(async move {
        match store.head(&location).await {
            Ok(meta) if meta.size == size => return Ok(()),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        store.put(&location, bytes.into()).await.map(|_| ())
    })
    .map_err(|e| store_error(url, &key, e))
}

/// The store of a URL, with credentials from the environment, and the key (pattern)
/// inside it.
fn open(url: &url::Url, text: &str) -> Result<(Arc<dyn ObjectStore>, String), DataError> {
    use object_store::ObjectStoreScheme as S;
    let (scheme, _) = S::parse(url).map_err(|_| {
        bad_url(
            text,
            format!(
                "the scheme `{}` is not one retrain reads; use one of {}",
                url.scheme(),
                crate::config::URL_SCHEMES.join(", ")
            ),
        )
    })?;
    // the key as written (object_store's `Path` would percent-encode a glob's `[`, `]`)
    let host = url.host_str().unwrap_or("");
    let bucket_in_path = url.scheme() == "https"
        && match scheme {
            S::MicrosoftAzure => true,
            S::AmazonS3 => host.starts_with("s3") || host.ends_with("r2.cloudflarestorage.com"),
            _ => false,
        };
    let path = percent_decode(url.path().trim_start_matches('/'));
    let key = if bucket_in_path {
        path.split_once('/')
            .map(|(_, k)| k.to_string())
            .unwrap_or_default()
    } else {
        path
    };
    let build = |e: object_store::Error| bad_url(text, redact(&e.to_string()));
    let store: Arc<dyn ObjectStore> = match scheme {
        S::AmazonS3 => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_url(text)
                .build()
                .map_err(build)?,
        ),
        S::GoogleCloudStorage => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(text)
                .build()
                .map_err(build)?,
        ),
        S::MicrosoftAzure => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(text)
                .build()
                .map_err(build)?,
        ),
        S::Http => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(&url[..url::Position::BeforePath])
                .build()
                .map_err(build)?,
        ),
        _ => {
            return Err(bad_url(
                text,
                format!(
                    "the scheme `{}` is not one retrain reads; use one of {}",
                    url.scheme(),
                    crate::config::URL_SCHEMES.join(", ")
                ),
            ))
        }
    };
    Ok((store, key))
}

/// The part of `url` before its key, ending in `/`: object names are `<root><key>`.
fn root_of(url: &str, key: &str) -> String {
    let root = url.strip_suffix(key).unwrap_or_else(|| {
        // a percent-encoded key: up to the path
        let after = url.find("://").map_or(0, |i| i + 3);
        url[after..].find('/').map_or(url, |j| &url[..after + j])
    });
    if root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn bad_url(url: &str, message: String) -> DataError {
    DataError::Remote {
        url: url.to_string(),
        message,
        hint: RemoteHint::Url,
    }
}

/// What went wrong at the store, in words that say what to do.
fn store_error(url: &str, key: &str, e: object_store::Error) -> DataError {
    use object_store::Error as E;
    let detail = concise(&redact(&e.to_string()));
    let (message, hint) = match &e {
        E::NotFound { .. } if key.is_empty() || url.contains(['*', '?', '[']) => (
            format!("the bucket or container does not exist, or the key prefix `{key}` is not there ({detail})"),
            RemoteHint::NotFound,
        ),
        E::NotFound { .. } => (format!("there is no object `{key}` ({detail})"), RemoteHint::NotFound),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => (
            format!("the store refused access to `{key}` ({detail})"),
            RemoteHint::Credentials,
        ),
        _ if detail.starts_with("401") || detail.starts_with("403") => (
            format!("the store refused access to `{key}` ({detail})"),
            RemoteHint::Credentials,
        ),
        _ if detail.contains("NoSuchBucket") => (
            format!("the bucket does not exist ({detail})"),
            RemoteHint::NotFound,
        ),
        _ if detail.contains("ContainerNotFound") => (
            format!("the container does not exist ({detail})"),
            RemoteHint::NotFound,
        ),
        _ => (detail, RemoteHint::Network),
    };
    DataError::Remote {
        url: url.to_string(),
        message,
        hint,
    }
}

/// An object_store error in one line: the HTTP status and the store's own error code and
/// message when its answer has them (S3's and Azure's XML, GCS's JSON), else the text.
fn concise(text: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + end].trim().to_string())
    };
    let status = text
        .find("non-2xx status code: ")
        .map(|i| &text[i + 21..])
        .and_then(|t| t.split(':').next())
        .map(str::trim);
    // Azure's message goes on with its request id and time, on lines of their own
    let message = tag("Message").map(|m| {
        let m = m.split("RequestId:").next().unwrap_or(&m);
        m.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    match (status, tag("Code"), message) {
        (Some(status), Some(code), Some(message)) => format!("{status}: {code}: {message}"),
        (Some(status), _, _) => format!("{status}: {}", text.lines().last().unwrap_or("").trim()),
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Which advice goes with a [`DataError::Remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteHint {
    Url,
    NotFound,
    Credentials,
    Network,
    Changed,
}

impl RemoteHint {
    /// The advice for `url`'s store (its cloud's own settings).
    pub fn text(self, url: &str) -> String {
        let cloud = match url.split_once("://").map(|(s, _)| s) {
            Some("s3" | "s3a") => Cloud::Aws,
            Some("gs") => Cloud::Google,
            Some("az" | "abfs" | "abfss" | "adl" | "azure") => Cloud::Azure,
            _ => Cloud::Any,
        };
        let credentials = match cloud {
            Cloud::Aws => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE from GitHub's OIDC",
            Cloud::Google => "GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT_KEY",
            Cloud::Azure => "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or a SAS, or AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE from GitHub's OIDC",
            Cloud::Any => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE from GitHub's OIDC; GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_ACCOUNT_NAME + AZURE_STORAGE_ACCOUNT_KEY",
        };
        match self {
            RemoteHint::Url => "write `data.url` as s3://bucket/prefix/*.parquet, gs://bucket/..., az://container/... or https://host/file.csv".into(),
            RemoteHint::NotFound => match cloud {
                Cloud::Azure => "check the container and prefix in `data.url` (and the account: AZURE_STORAGE_ACCOUNT_NAME)".into(),
                Cloud::Google => "check the bucket and prefix in `data.url`".into(),
                _ => "check the bucket and prefix in `data.url` (and the region: AWS_REGION)".into(),
            },
            RemoteHint::Credentials => format!(
                "check the credentials the environment gives ({credentials}) and that they may list and read the objects"
            ),
            RemoteHint::Network => match cloud {
                Cloud::Azure => "check that the store is reachable (AZURE_STORAGE_ENDPOINT for another endpoint, e.g. Azurite) and run again".into(),
                Cloud::Google => "check that the store is reachable (GOOGLE_BASE_URL for another endpoint) and run again".into(),
                _ => "check that the store is reachable (AWS_ENDPOINT_URL for an S3-compatible store) and run again".into(),
            },
            RemoteHint::Changed => "another writer changed the objects while retrain read them; run again once it is done (writers that add new keys instead of rewriting old ones never collide with a reader)".into(),
        }
    }
}

/// Whose credentials a URL needs.
enum Cloud {
    Aws,
    Google,
    Azure,
    Any,
}

/// `text` with the value of every credential in the environment replaced by `***`
/// (a server may echo what it was sent).
pub fn redact(text: &str) -> String {
    const SECRET: &[&str] = &["SECRET", "TOKEN", "PASSWORD", "KEY", "CREDENTIAL", "SAS"];
    let mut out = text.to_string();
    for (name, value) in std::env::vars() {
        let n = name.to_ascii_uppercase();
        let credential =
            (n.starts_with("AWS_") || n.starts_with("GOOGLE_") || n.starts_with("AZURE_"))
                && SECRET.iter().any(|s| n.contains(s))
                && !n.ends_with("_FILE")
                && !n.ends_with("_ID")
                && value.len() >= 8;
        if credential {
            out = out.replace(&value, "***");
        }
    }
    out
}

/// Runs a store future to completion on a runtime of its own, on a thread of its own
/// (the callers may be inside a tokio runtime, where blocking on one is not allowed).
fn block_on<T: Send>(fut: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime starts")
                .block_on(fut)
        })
        .join()
        .expect("the store thread does not panic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_the_root_and_the_key() {
        assert_eq!(root_of("s3://b/p/*.csv", "p/*.csv"), "s3://b/");
        assert_eq!(root_of("s3://b", ""), "s3://b/");
        assert_eq!(root_of("https://h:8/x/y.csv", "x/y.csv"), "https://h:8/");
        assert_eq!(root_of("s3://b/a%20b.csv", "a b.csv"), "s3://b/");
    }

    #[test]
    fn store_answers_are_one_line() {
        let e = "Generic S3 error: Error performing list request: Error performing GET https://h/b?list-type=2 in 8ms - Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The signature does not match.</Message></Error>";
        assert_eq!(
            concise(e),
            "403 Forbidden: SignatureDoesNotMatch: The signature does not match."
        );
        assert_eq!(concise("a\n  b"), "a b");
    }

    #[test]
    fn credentials_are_redacted() {
        std::env::set_var("AWS_SECRET_ACCESS_KEY_REDACT_TEST", "s3cr3t-value-xyz");
        assert_eq!(
            redact("signed with s3cr3t-value-xyz here"),
            "signed with *** here"
        );
    }
}

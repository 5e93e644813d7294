//! Releases: the candidate's draft release, its asset, publishing on promotion.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;

/// A release, as much of it as retrain reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    pub html_url: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub body: Option<String>,
    pub upload_url: String,
    #[serde(default)]
    pub assets: Vec<ReleaseAsset>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReleaseAsset {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    pub size: u64,
}

impl GitHub {
    /// The release of a tag, drafts included (the tag of a draft does not exist yet,
    /// so `GET /releases/tags/{tag}` cannot see it).
    pub async fn find_release(&self, tag: &str) -> Result<Option<Release>, GitHubError> {
        let mut page = 1;
        loop {
            let path = self.repo_path(&format!("/releases?per_page=100&page={page}"));
            let list: Vec<Release> =
                Self::decode(&path, self.request(Method::GET, &path, None).await?)?;
            if let Some(r) = list.iter().find(|r| r.tag_name == tag) {
                return Ok(Some(r.clone()));
            }
            if list.len() < 100 {
                return Ok(None);
            }
            page += 1;
        }
    }

    pub async fn create_release(
        &self,
        tag: &str,
        name: &str,
        body: &str,
        draft: bool,
        target: Option<&str>,
    ) -> Result<Release, GitHubError> {
        let path = self.repo_path("/releases");
        let mut req = json!({ "tag_name": tag, "name": name, "body": body, "draft": draft });
        if let Some(t) = target {
            req["target_commitish"] = json!(t);
        }
        let v = self.request(Method::POST, &path, Some(&req)).await?;
        Self::decode(&path, v)
    }

    /// Publishes a draft release (creating its tag on `target` when GitHub must).
    pub async fn publish_release(&self, id: u64, body: &str) -> Result<Release, GitHubError> {
        let path = self.repo_path(&format!("/releases/{id}"));
        let v = self
            .request(
                Method::PATCH,
                &path,
                Some(&json!({ "draft": false, "body": body })),
            )
            .await?;
        Self::decode(&path, v)
    }

    /// Uploads bytes as an asset of a release (`upload_url` as GitHub gives it).
    pub async fn upload_asset(
        &self,
        release: &Release,
        name: &str,
        label: &str,
        bytes: &[u8],
    ) -> Result<ReleaseAsset, GitHubError> {
        let base = release
            .upload_url
            .split('{')
            .next()
            .unwrap_or(&release.upload_url);
        let uri = format!("{base}?name={}&label={}", urlencode(name), urlencode(label));
        let v = self
            .send(
                Method::POST,
                &uri,
                None,
                Some(("application/octet-stream", bytes)),
            )
            .await?;
        Self::decode(&uri, v)
    }

    /// The bytes of a release asset (`GET .../releases/assets/{id}` with
    /// `Accept: application/octet-stream`: GitHub answers 302 to a storage URL, which
    /// is followed without the token), retried like every request.
    pub async fn download_asset(&self, id: u64) -> Result<Vec<u8>, GitHubError> {
        let uri = format!(
            "{}{}",
            self.api,
            self.repo_path(&format!("/releases/assets/{id}"))
        );
        self.send_bytes(Method::GET, &uri, None, None, Some("application/octet-stream"))
            .await
            .map(|b| b.to_vec())
            .map_err(|e| match e {
                GitHubError::Http {
                    method,
                    endpoint,
                    status: 404,
                    message,
                    ..
                } => GitHubError::Http {
                    method,
                    endpoint,
                    status: 404,
                    message,
                    hint: Some("the asset was deleted from the release, or the token cannot read the repository's releases (Contents: Read)".into()),
                },
                e => e,
            })
    }
}

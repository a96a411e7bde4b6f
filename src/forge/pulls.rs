//! Pull requests: the one open for a branch, a new draft, and one by number.

use super::{Forge, ForgeError};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A pull request, as orch reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub url: String,
    /// `open` or `closed`.
    pub state: String,
    pub draft: bool,
    pub merged: bool,
    pub head: String,
    pub head_sha: String,
    pub base: String,
}

impl Pull {
    fn from_api(v: &serde_json::Value) -> Result<Pull, ForgeError> {
        let text = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
        let number = v["number"].as_u64();
        match (
            number,
            text("/html_url"),
            text("/head/ref"),
            text("/base/ref"),
        ) {
            (Some(number), Some(url), Some(head), Some(base)) => Ok(Pull {
                number,
                url,
                state: text("/state").unwrap_or_else(|| "open".to_owned()),
                draft: v["draft"].as_bool().unwrap_or(false),
                merged: v["merged"].as_bool().unwrap_or(false) || !v["merged_at"].is_null(),
                head,
                head_sha: text("/head/sha").unwrap_or_default(),
                base,
            }),
            _ => Err(ForgeError::Decode {
                request: "a pull request".to_owned(),
                message: "no number, html_url, head.ref or base.ref".to_owned(),
            }),
        }
    }
}

/// A draft to open.
#[derive(Debug, Clone)]
pub struct NewPull {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
}

impl Forge {
    /// The open pull request whose head is `branch` of this repository, if there is one.
    pub async fn open_pull_for(&self, branch: &str) -> Result<Option<Pull>, ForgeError> {
        let path = format!(
            "{}/pulls?state=open&head={}:{}&per_page=10",
            self.repo_path(),
            query_escape(&self.repo.owner),
            query_escape(branch)
        );
        let answer = self.client.get(&path).await?;
        let list = answer.as_array().cloned().unwrap_or_default();
        (list.iter())
            .map(Pull::from_api)
            .find(|p| p.as_ref().map_or(true, |p| p.head == branch))
            .transpose()
    }

    /// Opens `new` as a draft.
    pub async fn create_draft(&self, new: &NewPull) -> Result<Pull, ForgeError> {
        let body = json!({
            "title": new.title,
            "head": new.head,
            "base": new.base,
            "body": new.body,
            "draft": true,
            "maintainer_can_modify": true,
        });
        let answer = (self.client)
            .post(&format!("{}/pulls", self.repo_path()), &body)
            .await?;
        Pull::from_api(&answer)
    }

    /// The pull request numbered `number`.
    pub async fn pull(&self, number: u64) -> Result<Pull, ForgeError> {
        let answer = (self.client)
            .get(&format!("{}/pulls/{number}", self.repo_path()))
            .await?;
        Pull::from_api(&answer)
    }
}

/// Percent-escapes what a query value must not carry raw.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_reads_from_the_api_and_an_odd_one_is_refused() {
        let v = json!({"number": 7, "html_url": "https://g/p/7", "state": "open", "draft": true,
            "merged_at": null, "head": {"ref": "a/b", "sha": "abc"}, "base": {"ref": "main"}});
        let pull = Pull::from_api(&v).unwrap();
        assert_eq!((pull.number, pull.draft, pull.merged), (7, true, false));
        assert_eq!((pull.head.as_str(), pull.base.as_str()), ("a/b", "main"));
        assert!(Pull::from_api(&json!({"number": 7})).is_err());
    }

    #[test]
    fn branch_names_are_escaped_in_queries() {
        assert_eq!(query_escape("orch/M1/A-1"), "orch/M1/A-1");
        assert_eq!(query_escape("a+b c#"), "a%2Bb%20c%23");
    }
}

//! Review threads (GraphQL: REST has no thread ids or resolution), change requests, and
//! what orch says back: a reply in a thread, a thread resolved (only when `[forge] resolve`
//! says so), a comment on the PR.

use super::{text, Forge, ForgeError};
use serde_json::{json, Value};

/// One review thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: String,
    pub path: String,
    pub line: Option<u64>,
    pub resolved: bool,
    pub outdated: bool,
    /// (author, body, url), oldest first.
    pub comments: Vec<(String, String, String)>,
}

/// A review that requested changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    pub id: String,
    pub author: String,
    pub body: String,
    pub url: String,
}

const THREADS: &str = r#"query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id isResolved isOutdated path line
          comments(last: 50) { nodes { author { login } body url } }
        }
      }
      reviews(last: 50, states: [CHANGES_REQUESTED]) {
        nodes { id author { login } body url }
      }
    }
  }
}"#;

const REPLY: &str = r#"mutation($threadId: ID!, $body: String!) {
  addPullRequestReviewThreadReply(input: {pullRequestReviewThreadId: $threadId, body: $body}) {
    comment { id url }
  }
}"#;

const RESOLVE: &str = r#"mutation($threadId: ID!) {
  resolveReviewThread(input: {threadId: $threadId}) { thread { id isResolved } }
}"#;

impl Forge {
    /// PR `number`'s review threads (every page) and its change requests.
    pub async fn threads(
        &self,
        number: u64,
    ) -> Result<(Vec<Thread>, Vec<ChangeRequest>), ForgeError> {
        let mut threads = Vec::new();
        let mut requests = Vec::new();
        let mut after: Option<String> = None;
        for _page in 0..20 {
            let vars = json!({"owner": self.repo.owner, "name": self.repo.name,
                              "number": number, "after": after});
            let data = self.client.graphql(THREADS, vars).await?;
            let pull = &data["repository"]["pullRequest"];
            if pull.is_null() {
                return Err(ForgeError::GraphQl {
                    message: format!("no pull request #{number} in {}", self.repo.slug()),
                });
            }
            for node in pull["reviewThreads"]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
            {
                threads.push(thread(node));
            }
            if requests.is_empty() {
                for node in pull["reviews"]["nodes"].as_array().into_iter().flatten() {
                    requests.push(ChangeRequest {
                        id: text(node, "/id"),
                        author: text(node, "/author/login"),
                        body: text(node, "/body"),
                        url: text(node, "/url"),
                    });
                }
            }
            let page = &pull["reviewThreads"]["pageInfo"];
            match page["endCursor"].as_str() {
                Some(cursor) if page["hasNextPage"].as_bool() == Some(true) => {
                    after = Some(cursor.to_owned())
                }
                _ => break,
            }
        }
        Ok((threads, requests))
    }

    /// Replies in thread `thread_id`.
    pub async fn reply(&self, thread_id: &str, body: &str) -> Result<(), ForgeError> {
        let vars = json!({"threadId": thread_id, "body": body});
        self.client.graphql(REPLY, vars).await.map(drop)
    }

    /// Resolves thread `thread_id`.
    pub async fn resolve(&self, thread_id: &str) -> Result<(), ForgeError> {
        let vars = json!({"threadId": thread_id});
        self.client.graphql(RESOLVE, vars).await.map(drop)
    }

    /// Comments on PR `number` (what answers a change request, which has no thread).
    pub async fn comment(&self, number: u64, body: &str) -> Result<(), ForgeError> {
        let path = format!("{}/issues/{number}/comments", self.repo_path());
        self.client
            .post(&path, &json!({"body": body}))
            .await
            .map(drop)
    }
}

fn thread(node: &Value) -> Thread {
    Thread {
        id: text(node, "/id"),
        path: text(node, "/path"),
        line: node["line"].as_u64(),
        resolved: node["isResolved"].as_bool().unwrap_or(false),
        outdated: node["isOutdated"].as_bool().unwrap_or(false),
        comments: (node["comments"]["nodes"].as_array().into_iter().flatten())
            .map(|c| (text(c, "/author/login"), text(c, "/body"), text(c, "/url")))
            .collect(),
    }
}

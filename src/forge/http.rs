//! One HTTP client for the forge: the token in every request (and nowhere else), GitHub's
//! media type and API version, conditional GETs (a `304` answers from the cached body of the
//! `ETag` it matched, and costs no rate limit), the rate-limit replies honoured (`Retry-After`,
//! `X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`, a minute for a secondary limit that
//! names no wait; each up to `[forge] max_rate_wait`), and a read that failed transiently
//! (transport errors, 5xx) tried again with a doubling wait. A write is sent once.

use super::token::Token;
use super::ForgeError;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tries of a request that failed transiently.
const ATTEMPTS: u32 = 4;
/// The wait before the first retry; doubled before each next.
const BACKOFF: Duration = Duration::from_millis(500);
/// A secondary rate limit that names no wait is waited out this long (GitHub's advice).
const SECONDARY_WAIT: Duration = Duration::from_secs(60);
/// Rate-limit waits of one request before orch gives up on it.
const RATE_WAITS: u32 = 5;

/// A wait orch took for a rate limit: what it waited for, and how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWait {
    pub request: String,
    pub waited: Duration,
}

pub struct Client {
    http: reqwest::Client,
    api: String,
    graphql: String,
    token: Token,
    /// URL → (ETag, body) of the last 200 answer that carried an ETag.
    cache: Mutex<HashMap<String, (String, Value)>>,
    max_rate_wait: Duration,
    waits: Mutex<Vec<RateWait>>,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Client {
    pub fn new(
        api: String,
        graphql: String,
        token: Token,
        max_rate_wait: Duration,
        cancel: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<Client, ForgeError> {
        // rustls with ring (aws-lc would build a C library on every fresh machine): installed
        // once per process, a second install refused harmlessly. Its lack of post-quantum key
        // exchange is what the deprecation says.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept",
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static("2022-11-28"),
        );
        let http = reqwest::Client::builder()
            .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ForgeError::Transport {
                request: "the HTTP client".to_owned(),
                message: e.to_string(),
            })?;
        Ok(Client {
            http,
            api,
            graphql,
            token,
            cache: Mutex::default(),
            max_rate_wait,
            waits: Mutex::default(),
            cancel,
        })
    }

    /// The rate-limit waits so far.
    pub fn waits(&self) -> Vec<RateWait> {
        self.waits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `GET <api><path>` as JSON, conditional on the ETag of its last answer.
    pub async fn get(&self, path: &str) -> Result<Value, ForgeError> {
        let url = format!("{}{path}", self.api);
        let cached = self.cached(&url);
        let response = self
            .send(
                Method::GET,
                &url,
                None,
                cached.as_ref().map(|(e, _)| e.as_str()),
                true,
            )
            .await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            if let Some((_, body)) = cached {
                return Ok(body);
            }
        }
        let etag = header(response.headers(), "etag");
        let body = json_of(&url, response).await?;
        if let Some(etag) = etag {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.insert(url, (etag, body.clone()));
        }
        Ok(body)
    }

    /// `GET <api><path>` as text (a job's log: GitHub answers with a redirect to storage,
    /// which the client follows without the token).
    pub async fn get_text(&self, path: &str) -> Result<String, ForgeError> {
        let url = format!("{}{path}", self.api);
        let response = self.send(Method::GET, &url, None, None, true).await?;
        let response = checked(&url, response).await?;
        response.text().await.map_err(|e| ForgeError::Transport {
            request: format!("GET {url}"),
            message: e.to_string(),
        })
    }

    /// `POST <api><path>` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ForgeError> {
        let url = format!("{}{path}", self.api);
        let response = self
            .send(Method::POST, &url, Some(body), None, false)
            .await?;
        json_of(&url, response).await
    }

    /// `PATCH <api><path>` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ForgeError> {
        let url = format!("{}{path}", self.api);
        let response = self
            .send(Method::PATCH, &url, Some(body), None, false)
            .await?;
        json_of(&url, response).await
    }

    /// A GraphQL query or mutation: its `data`, or its first error.
    pub async fn graphql(&self, query: &str, variables: Value) -> Result<Value, ForgeError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let url = self.graphql.clone();
        // A query may be sent again; a mutation (a reply) may not.
        let read = !query.trim_start().starts_with("mutation");
        let response = self
            .send(Method::POST, &url, Some(&body), None, read)
            .await?;
        let mut answer = json_of(&url, response).await?;
        if let Some(first) = answer["errors"].as_array().and_then(|e| e.first()) {
            return Err(ForgeError::GraphQl {
                message: first["message"].as_str().unwrap_or("an error").to_owned(),
            });
        }
        Ok(answer["data"].take())
    }

    fn cached(&self, url: &str) -> Option<(String, Value)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(url).cloned()
    }

    /// Sends until the answer is neither a rate limit (waited out, up to [`RATE_WAITS`]
    /// times) nor, for a request that may be sent twice (`idempotent`: a read), transient
    /// (tried again up to [`ATTEMPTS`] times). A write that failed in transit is not sent
    /// again: GitHub may have taken it (a second reply in a thread, a second draft).
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        etag: Option<&str>,
        idempotent: bool,
    ) -> Result<reqwest::Response, ForgeError> {
        let request = format!("{method} {}", path_of(url));
        let mut backoff = BACKOFF;
        let (mut attempt, mut rate_waits) = (1, 0);
        loop {
            let mut builder = (self.http.request(method.clone(), url))
                .header("authorization", self.token.bearer());
            if let Some(etag) = etag {
                builder = builder.header("if-none-match", etag);
            }
            if let Some(body) = body {
                builder = (builder.header("content-type", "application/json"))
                    .body(serde_json::to_vec(body).unwrap_or_default());
            }
            let sent = builder.send().await;
            let response = match sent {
                Ok(response) => response,
                Err(e) if !idempotent || attempt >= ATTEMPTS => {
                    return Err(ForgeError::Transport {
                        request,
                        message: e.to_string(),
                    })
                }
                Err(_) => {
                    (attempt, backoff) = (attempt + 1, backoff * 2);
                    self.sleep(backoff / 2).await?;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let mut wait = rate_wait(status, response.headers(), now_epoch());
            let server_error = response.status().is_server_error();
            if wait.is_none() && status == 403 {
                // A secondary limit may come as a bare 403 whose message says so.
                let text = response.text().await.unwrap_or_default();
                if !text.to_ascii_lowercase().contains("rate limit") {
                    return Err(status_error(url, 403, &text));
                }
                wait = Some(SECONDARY_WAIT);
            } else if wait.is_none() && !(server_error && idempotent && attempt < ATTEMPTS) {
                return Ok(response);
            }
            if let Some(wait) = wait {
                rate_waits += 1;
                if rate_waits > RATE_WAITS {
                    return Err(ForgeError::StillLimited {
                        request,
                        waits: RATE_WAITS,
                    });
                }
                self.wait_for_rate(&request, wait).await?;
                continue;
            }
            // A read the server failed: tried again.
            (attempt, backoff) = (attempt + 1, backoff * 2);
            self.sleep(backoff / 2).await?;
        }
    }

    async fn wait_for_rate(&self, request: &str, wait: Duration) -> Result<(), ForgeError> {
        if wait > self.max_rate_wait {
            return Err(ForgeError::RateLimited {
                request: request.to_owned(),
                wait,
                max: self.max_rate_wait,
            });
        }
        (self.waits.lock().unwrap_or_else(|e| e.into_inner())).push(RateWait {
            request: request.to_owned(),
            waited: wait,
        });
        self.sleep(wait).await
    }

    /// Sleeps, or stops early with [`ForgeError::Interrupted`] on the interrupt.
    async fn sleep(&self, wait: Duration) -> Result<(), ForgeError> {
        let Some(mut cancel) = self.cancel.clone() else {
            tokio::time::sleep(wait).await;
            return Ok(());
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = cancel.wait_for(|stop| *stop) => Err(ForgeError::Interrupted),
        }
    }
}

/// How long a rate-limited answer asks to wait: `Retry-After`, else until
/// `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0, else a minute for a secondary limit
/// that names no wait; `None` for an answer that is no rate limit.
pub fn rate_wait(status: u16, headers: &HeaderMap, now: u64) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    let number = |name: &str| header(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(secs) = number("retry-after") {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if number("x-ratelimit-remaining") == Some(0) {
        let reset = number("x-ratelimit-reset").unwrap_or(now + 60);
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    (status == 429).then_some(SECONDARY_WAIT)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    (headers.get(name)?.to_str().ok()).map(str::to_owned)
}

fn now_epoch() -> u64 {
    (SystemTime::now().duration_since(UNIX_EPOCH)).map_or(0, |d| d.as_secs())
}

/// The URL without its scheme and host: what errors name.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or(url, |i| &rest[i..])
}

/// The answer when it is a success, else the error it says.
async fn checked(url: &str, response: reqwest::Response) -> Result<reqwest::Response, ForgeError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    Err(status_error(url, status.as_u16(), &text))
}

/// The error an answer of `status` with body `text` says (GitHub's `message` and `errors`).
fn status_error(url: &str, status: u16, text: &str) -> ForgeError {
    let said: Option<Value> = serde_json::from_str(text).ok();
    let message = said
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(200).collect());
    let details = said
        .as_ref()
        .and_then(|v| v["errors"].as_array())
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["message"].as_str().or(e["code"].as_str()))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|d| !d.is_empty());
    ForgeError::Status {
        request: path_of(url).to_owned(),
        status,
        message: match details {
            Some(d) => format!("{message}: {d}"),
            None => message,
        },
    }
}

async fn json_of(url: &str, response: reqwest::Response) -> Result<Value, ForgeError> {
    let response = checked(url, response).await?;
    let text = response.text().await.map_err(|e| ForgeError::Transport {
        request: path_of(url).to_owned(),
        message: e.to_string(),
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| ForgeError::Decode {
        request: path_of(url).to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn rate_limit_replies_say_how_long_to_wait() {
        let now = 1_000;
        let secs = |s| Some(Duration::from_secs(s));
        type Row<'a> = (u16, &'a [(&'static str, &'a str)], Option<Duration>);
        let rows: &[Row<'_>] = &[
            (200, &[("x-ratelimit-remaining", "0")], None),
            (403, &[], None),
            (403, &[("retry-after", "7")], secs(7)),
            (429, &[("retry-after", "0")], secs(1)),
            (
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1030"),
                ],
                secs(30),
            ),
            (
                403,
                &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "900")],
                secs(1),
            ),
            (403, &[("x-ratelimit-remaining", "12")], None),
            (429, &[], secs(60)),
        ];
        for (status, pairs, want) in rows {
            assert_eq!(
                rate_wait(*status, &headers(pairs), now),
                *want,
                "{status} {pairs:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_path_not_the_host() {
        assert_eq!(path_of("https://api.github.com/repos/a/b"), "/repos/a/b");
        assert_eq!(path_of("http://127.0.0.1:9/graphql"), "/graphql");
    }
}

//! A local stand-in for the subset of GitHub's REST and GraphQL APIs orch uses: the
//! repository, pull requests (listed by head, opened, read), check runs and statuses of a
//! commit, Actions job logs (a redirect to storage, as GitHub answers), review threads and
//! replies, issue comments. Served on 127.0.0.1 over HTTP/1.1 with ETags (a matching
//! `If-None-Match` gets a 304), checking the bearer token, with one-off replies scripted per
//! scenario (a 403 rate limit, a 500). Branches are read from the bare repository the test
//! pushes to, as GitHub reads its own: a PR whose head or base is not there is refused (422).
#![allow(dead_code)]

pub mod actions;
mod ci;
pub use ci::Ci;
use ci::Kind;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

/// A scripted reply to the next request matching `method` and `path_prefix`.
#[derive(Debug, Clone)]
pub struct OneOff {
    pub method: String,
    pub path_prefix: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A pull request it holds.
#[derive(Debug, Clone)]
pub struct Pr {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub state: String,
    pub merged: bool,
}

/// A review thread on a PR.
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: String,
    pub pr: u64,
    pub path: String,
    pub line: u64,
    pub resolved: bool,
    /// (author, body) in order.
    pub comments: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    pulls: Vec<Pr>,
    /// sha → check runs (`{id, name, status, conclusion, app: {slug}, output, html_url}`).
    check_runs: BTreeMap<String, Vec<Value>>,
    /// sha → statuses (`{context, state, target_url, description}`).
    statuses: BTreeMap<String, Vec<Value>>,
    /// job id → log text.
    job_logs: BTreeMap<u64, String>,
    /// What CI reports on each new head of a branch, in order, as check runs and as
    /// commit statuses; heads whose report was "running" at the last look.
    ci: BTreeMap<(Kind, String), VecDeque<Ci>>,
    running: BTreeSet<(Kind, String)>,
    /// Change requests: (PR, review id, author, body).
    reviews: Vec<(u64, String, String, String)>,
    /// Branches whose PR someone closes (unmerged) when orch next looks at it.
    close_on_look: BTreeSet<String>,
    /// Workflow runs, and the runner that runs each dispatch.
    workflow_runs: Vec<actions::Run>,
    runner: Option<Arc<crate::support::actions_runner::ActionsRunner>>,
    threads: Vec<Thread>,
    comments: Vec<(u64, String)>,
    one_offs: VecDeque<OneOff>,
    requests: Vec<Request>,
}

pub struct MockGithub {
    pub port: u16,
    pub owner: String,
    pub name: String,
    pub token: String,
    remote: PathBuf,
    state: Arc<Mutex<State>>,
}

impl MockGithub {
    /// Serves `owner/name`, whose branches are those of the bare repository `remote`,
    /// accepting only `token`.
    pub fn start(owner: &str, name: &str, token: &str, remote: &Path) -> MockGithub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let server = Server {
            port,
            slug: format!("{owner}/{name}"),
            token: token.to_owned(),
            remote: remote.to_owned(),
            state: state.clone(),
        };
        let server = Arc::new(server);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || {
                    let _ = server.serve(stream);
                });
            }
        });
        MockGithub {
            port,
            owner: owner.to_owned(),
            name: name.to_owned(),
            token: token.to_owned(),
            remote: remote.to_owned(),
            state,
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `[forge]` table that points orch here.
    pub fn forge_toml(&self) -> String {
        format!(
            "[forge]\napi_url = \"{}\"\nrepo = \"{}/{}\"\npoll_interval = \"200ms\"\n",
            self.api_url(),
            self.owner,
            self.name
        )
    }

    pub fn one_off(&self, method: &str, path_prefix: &str, status: u16, headers: &[(&str, &str)]) {
        self.one_off_saying(
            method,
            path_prefix,
            (status, &format!("scripted {status}")),
            headers,
        );
    }

    /// The same, with GitHub's `message`.
    pub fn one_off_saying(
        &self,
        method: &str,
        path_prefix: &str,
        (status, message): (u16, &str),
        headers: &[(&str, &str)],
    ) {
        let body = json!({ "message": message }).to_string();
        self.state.lock().unwrap().one_offs.push_back(OneOff {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            status,
            headers: (headers.iter())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
        });
    }

    pub fn pulls(&self) -> Vec<Pr> {
        self.state.lock().unwrap().pulls.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn set_check_runs(&self, sha: &str, runs: Vec<Value>) {
        self.state
            .lock()
            .unwrap()
            .check_runs
            .insert(sha.to_owned(), runs);
    }

    pub fn set_statuses(&self, sha: &str, statuses: Vec<Value>) {
        self.state
            .lock()
            .unwrap()
            .statuses
            .insert(sha.to_owned(), statuses);
    }

    pub fn set_job_log(&self, job: u64, text: &str) {
        self.state
            .lock()
            .unwrap()
            .job_logs
            .insert(job, text.to_owned());
    }

    pub fn add_thread(&self, thread: Thread) {
        self.state.lock().unwrap().threads.push(thread);
    }

    /// An unresolved thread `id` on line 1 of `path` in PR `pr`, opened by `author` saying
    /// `body`.
    pub fn open_thread(&self, pr: u64, id: &str, path: &str, (author, body): (&str, &str)) {
        self.add_thread(Thread {
            id: id.to_owned(),
            pr,
            path: path.to_owned(),
            line: 1,
            resolved: false,
            comments: vec![(author.to_owned(), body.to_owned())],
        });
    }

    pub fn threads(&self) -> Vec<Thread> {
        self.state.lock().unwrap().threads.clone()
    }

    /// Review thread `id` as it stands.
    pub fn thread(&self, id: &str) -> Thread {
        (self.threads().into_iter())
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("no thread {id}"))
    }

    pub fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }

    /// The tip of `branch` in the bare repository, as GitHub sees it.
    pub fn branch_sha(&self, branch: &str) -> Option<String> {
        branch_sha(&self.remote, branch)
    }

    /// A review of PR `pr` by `author` requesting changes, saying `body`.
    pub fn request_changes(&self, pr: u64, id: &str, (author, body): (&str, &str)) {
        let review = (pr, id.to_owned(), author.to_owned(), body.to_owned());
        self.state.lock().unwrap().reviews.push(review);
    }

    /// Someone closes the PR of `branch`, unmerged, as orch next looks at it.
    pub fn close_on_look(&self, branch: &str) {
        let mut st = self.state.lock().unwrap();
        st.close_on_look.insert(branch.to_owned());
    }

    /// Marks PR `number` merged (and closed).
    pub fn merge(&self, number: u64) {
        let mut st = self.state.lock().unwrap();
        if let Some(pr) = st.pulls.iter_mut().find(|p| p.number == number) {
            pr.merged = true;
            pr.state = "closed".to_owned();
        }
    }
}

struct Server {
    port: u16,
    slug: String,
    token: String,
    remote: PathBuf,
    state: Arc<Mutex<State>>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, json!({"message": message}))
    }
}

impl Server {
    fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        loop {
            let Some(incoming) = super::http::read_request(&mut reader)? else {
                return Ok(());
            };
            let mut request = Request {
                method: incoming.method,
                path: incoming.path,
                headers: incoming.headers,
                body: String::from_utf8_lossy(&incoming.body).into_owned(),
                status: 0,
            };
            let reply = self.answer(&request);
            request.status = reply.status;
            self.state.lock().unwrap().requests.push(request);
            let mut head = format!(
                "HTTP/1.1 {} Mock\r\ncontent-length: {}\r\n",
                reply.status,
                reply.body.len()
            );
            for (k, v) in &reply.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            stream.write_all(format!("{head}\r\n").as_bytes())?;
            stream.write_all(reply.body.as_bytes())?;
            stream.flush()?;
        }
    }

    fn answer(&self, request: &Request) -> Reply {
        let mut st = self.state.lock().unwrap();
        // Job logs are fetched from "storage" after the redirect, with no token.
        if let Some(job) = request.path.strip_prefix("/storage/job-logs/") {
            let text = job
                .parse()
                .ok()
                .and_then(|j: u64| st.job_logs.get(&j).cloned());
            return match text {
                Some(text) => Reply {
                    status: 200,
                    headers: vec![("content-type".into(), "text/plain".into())],
                    body: text,
                },
                None => Reply::error(404, "Not Found"),
            };
        }
        if request.headers.get("authorization") != Some(&format!("Bearer {}", self.token)) {
            return Reply::error(401, "Bad credentials");
        }
        let scripted = (st.one_offs.iter())
            .position(|o| o.method == request.method && request.path.starts_with(&o.path_prefix));
        if let Some(i) = scripted {
            let o = st.one_offs.remove(i).unwrap();
            let mut headers = o.headers;
            headers.push(("content-type".into(), "application/json".into()));
            return Reply {
                status: o.status,
                headers,
                body: o.body,
            };
        }
        let reply = self.route(&mut st, request);
        etagged(request, reply)
    }

    fn route(&self, st: &mut State, request: &Request) -> Reply {
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let query: BTreeMap<&str, String> = (query.split('&'))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, unescape(v)))
            .collect();
        if request.method == "POST" && path == "/graphql" {
            return self.graphql(st, request);
        }
        let repo = format!("/repos/{}", self.slug);
        let Some(rest) = path.strip_prefix(&repo) else {
            return Reply::error(404, "Not Found");
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        if segments.first() == Some(&"actions")
            && matches!(segments.get(1), Some(&"workflows" | &"runs"))
        {
            return self.actions(st, &request.method, &segments[1..], &body);
        }
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", []) => Reply::json(
                200,
                json!({"full_name": self.slug, "default_branch": "main"}),
            ),
            ("GET", ["pulls"]) => {
                let head = query.get("head").cloned();
                let state = query.get("state").cloned().unwrap_or_else(|| "open".into());
                let owner = self.slug.split('/').next().unwrap();
                let list: Vec<Value> = (st.pulls.iter())
                    .filter(|p| state == "all" || p.state == state)
                    .filter(|p| {
                        head.as_ref()
                            .is_none_or(|h| *h == format!("{owner}:{}", p.head))
                    })
                    .map(|p| self.pull_json(p))
                    .collect();
                Reply::json(200, Value::Array(list))
            }
            ("POST", ["pulls"]) => {
                let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
                let (head, base) = (text("head"), text("base"));
                for branch in [&head, &base] {
                    if self.branch_sha(branch).is_none() {
                        return Reply::json(
                            422,
                            json!({"message": "Validation Failed",
                            "errors": [{"message": format!("no branch {branch}"), "code": "invalid"}]}),
                        );
                    }
                }
                if st.pulls.iter().any(|p| p.head == head && p.state == "open") {
                    return Reply::json(
                        422,
                        json!({"message": "Validation Failed",
                        "errors": [{"message": format!("A pull request already exists for {head}.")}]}),
                    );
                }
                let pr = Pr {
                    number: st.pulls.len() as u64 + 1,
                    title: text("title"),
                    body: text("body"),
                    head,
                    base,
                    draft: body["draft"].as_bool().unwrap_or(false),
                    state: "open".into(),
                    merged: false,
                };
                let value = self.pull_json(&pr);
                st.pulls.push(pr);
                Reply::json(201, value)
            }
            ("GET", ["pulls", n]) => {
                let closing = st.close_on_look.clone();
                match (st.pulls.iter_mut()).find(|p| p.number.to_string() == *n) {
                    Some(p) => {
                        if closing.contains(&p.head) {
                            p.state = "closed".into();
                        }
                        Reply::json(200, self.pull_json(p))
                    }
                    None => Reply::error(404, "Not Found"),
                }
            }
            ("GET", ["commits", sha, "check-runs"]) => {
                self.run_ci(st, sha, Kind::CheckRun);
                let runs = st.check_runs.get(*sha).cloned().unwrap_or_default();
                Reply::json(200, json!({"total_count": runs.len(), "check_runs": runs}))
            }
            ("GET", ["commits", sha, "status"]) => {
                self.run_ci(st, sha, Kind::Status);
                let statuses = st.statuses.get(*sha).cloned().unwrap_or_default();
                Reply::json(200, json!({"sha": sha, "statuses": statuses}))
            }
            ("GET", ["actions", "jobs", job, "logs"]) => Reply {
                status: 302,
                headers: vec![(
                    "location".into(),
                    format!("http://127.0.0.1:{}/storage/job-logs/{job}", self.port),
                )],
                body: String::new(),
            },
            ("POST", ["issues", n, "comments"]) => {
                let n: u64 = n.parse().unwrap_or(0);
                let text = body["body"].as_str().unwrap_or_default().to_owned();
                st.comments.push((n, text.clone()));
                Reply::json(201, json!({"id": st.comments.len(), "body": text}))
            }
            _ => Reply::error(404, "Not Found"),
        }
    }

    fn graphql(&self, st: &mut State, request: &Request) -> Reply {
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        let query = body["query"].as_str().unwrap_or_default();
        let vars = &body["variables"];
        if query.contains("addPullRequestReviewThreadReply") {
            let id = vars["threadId"].as_str().unwrap_or_default();
            let text = vars["body"].as_str().unwrap_or_default();
            let Some(thread) = st.threads.iter_mut().find(|t| t.id == id) else {
                return Reply::json(
                    200,
                    json!({"errors": [{"message": format!("no thread {id}")}]}),
                );
            };
            thread.comments.push(("orch-bot".into(), text.to_owned()));
            return Reply::json(
                200,
                json!({"data": {"addPullRequestReviewThreadReply": {"comment": {"id": "C", "url": "u"}}}}),
            );
        }
        if query.contains("resolveReviewThread") {
            let id = vars["threadId"].as_str().unwrap_or_default();
            if let Some(thread) = st.threads.iter_mut().find(|t| t.id == id) {
                thread.resolved = true;
            }
            return Reply::json(
                200,
                json!({"data": {"resolveReviewThread": {"thread": {"id": id, "isResolved": true}}}}),
            );
        }
        if query.contains("reviewThreads") {
            let number = vars["number"].as_u64().unwrap_or(0);
            let reviews: Vec<Value> = (st.reviews.iter())
                .filter(|(pr, ..)| *pr == number)
                .map(|(_, id, author, body)| json!({"id": id, "author": {"login": author}, "body": body,
                    "url": format!("https://github.test/{}/pull/{number}#pullrequestreview-{id}", self.slug)}))
                .collect();
            let nodes: Vec<Value> = (st.threads.iter())
                .filter(|t| t.pr == number)
                .map(|t| {
                    let comments: Vec<Value> = (t.comments.iter().enumerate())
                        .map(|(i, (author, body))| json!({
                            "author": {"login": author}, "body": body,
                            "url": format!("https://github.test/{}/pull/{number}#discussion_{}_{i}", self.slug, t.id),
                        }))
                        .collect();
                    json!({"id": t.id, "isResolved": t.resolved, "isOutdated": false,
                           "path": t.path, "line": t.line, "comments": {"nodes": comments}})
                })
                .collect();
            return Reply::json(
                200,
                json!({"data": {"repository": {"pullRequest": {
                    "reviewDecision": null,
                    "reviewThreads": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": nodes},
                    "reviews": {"nodes": reviews}
                }}}}),
            );
        }
        Reply::json(
            200,
            json!({"errors": [{"message": "the stand-in does not know this query"}]}),
        )
    }

    fn pull_json(&self, p: &Pr) -> Value {
        json!({
            "number": p.number,
            "html_url": format!("https://github.test/{}/pull/{}", self.slug, p.number),
            "state": p.state,
            "draft": p.draft,
            "merged": p.merged,
            "merged_at": if p.merged { json!("2026-01-02T03:04:05Z") } else { Value::Null },
            "title": p.title,
            "head": {"ref": p.head, "sha": self.branch_sha(&p.head).unwrap_or_default()},
            "base": {"ref": p.base, "sha": self.branch_sha(&p.base).unwrap_or_default()},
        })
    }

    fn branch_sha(&self, branch: &str) -> Option<String> {
        branch_sha(&self.remote, branch)
    }
}

/// The tip of `branch` in the bare repository `remote`.
fn branch_sha(remote: &Path, branch: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ])
        .output()
        .ok()?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

/// A GET's reply with an ETag of its body; a 304 when the request already holds it.
fn etagged(request: &Request, mut reply: Reply) -> Reply {
    if request.method != "GET" || reply.status != 200 {
        return reply;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    reply.body.hash(&mut hasher);
    let etag = format!("\"{:016x}\"", hasher.finish());
    if request.headers.get("if-none-match") == Some(&etag) {
        return Reply {
            status: 304,
            headers: vec![("etag".into(), etag)],
            body: String::new(),
        };
    }
    reply.headers.push(("etag".into(), etag));
    reply
}

fn unescape(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! A local stand-in for the model: speaks the OpenAI Responses API (for codex) and the
//! Anthropic Messages API (for Claude Code) over SSE on 127.0.0.1, so the real `codex` and
//! `claude` binaries run offline, from the same per-phase scripts. Replies are scripted per phase: orch writes
//! `orch-phase-key: <issue>/<NN-phase>` into every prompt, and the server answers each
//! request from the queue of the last key found in the request body.
//!
//! A key with no script gets a default playbook: dev and fix phases commit a file, then
//! report `pass`; reviews pass. Results follow the dev-auto contract: a final message that is
//! a JSON object without the identity fields (`phase`, `issueId`, `milestoneId`, `branch`,
//! `worktreePath`) gets them from the ORCH_CONTEXT block of the phase's prompt, as a model
//! that read its context would; a field the script sets stays as it is.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One model response.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `exec_command` tool calls (shell command lines), run by codex; a new request follows.
    /// Each asks codex to wait up to 30 s (its maximum) for the command to end: under load
    /// a command that outlived the default wait would be cut off when the phase ends.
    Commands(Vec<String>),
    /// Claude Code tool calls by name and input (`Write`, `Read`, …); claude only (codex
    /// gets an empty answer).
    Tools(Vec<(String, Value)>),
    /// A final assistant message (the phase's JSON, or anything else).
    Message(String),
    /// An HTTP error status.
    Status(u16),
    /// Accept the request and never answer.
    Hang,
}

#[derive(Default)]
struct State {
    scripts: BTreeMap<String, VecDeque<Reply>>,
    requests: Vec<(String, Value)>,
    default_playbook: bool,
}

pub struct MockModel {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl MockModel {
    /// Starts the server on an ephemeral loopback port; it lives until the process ends.
    pub fn start() -> MockModel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            default_playbook: true,
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        MockModel { port, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Queues replies for a phase key such as `A-1/02-review`.
    pub fn script(&self, key: &str, replies: Vec<Reply>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(key.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every request received: (phase key, body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The `codex exec` arguments that point codex at this server.
    pub fn codex_args(&self) -> Vec<String> {
        vec![
            "-c".into(),
            format!(
                "model_providers.mock={{name=\"mock\",base_url=\"{}\",wire_api=\"responses\",env_key=\"ORCH_MOCK_API_KEY\",request_max_retries=0,stream_max_retries=0}}",
                self.base_url()
            ),
            "-c".into(),
            "model_provider=mock".into(),
            "-m".into(),
            "mock-model".into(),
        ]
    }
}

fn serve(mut stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let Some(request) = super::http::read_request(&mut reader)? else {
            return Ok(());
        };
        let (body, path) = (request.body, request.path.as_str());
        let api = match () {
            _ if request.method != "POST" => None,
            _ if path.contains("/v1/messages/count_tokens") => {
                let body = r#"{"input_tokens":100}"#;
                write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())?;
                continue;
            }
            _ if path.contains("/v1/messages") => Some(Api::Messages),
            _ if path.contains("/responses") => Some(Api::Responses),
            _ => None,
        };
        let Some(api) = api else {
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
            )?;
            continue;
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let key = phase_key(&text);
        let reply = {
            let mut st = state.lock().unwrap();
            st.requests.push((key.clone(), value.clone()));
            let scripted = st.scripts.get_mut(&key).and_then(|q| q.pop_front());
            match scripted {
                Some(r) => r,
                None if st.default_playbook => default_reply(&key, &value, api),
                None => Reply::Message(format!("no script for {key}")),
            }
        };
        match reply {
            Reply::Status(code) => {
                let body = match api {
                    Api::Responses => {
                        r#"{"error":{"message":"mock server error","type":"server_error"}}"#
                    }
                    Api::Messages => {
                        r#"{"type":"error","error":{"type":"api_error","message":"mock server error"}}"#
                    }
                };
                write!(stream, "HTTP/1.1 {code} Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())?;
            }
            Reply::Hang => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            reply => {
                let reply = match reply {
                    Reply::Message(text) => Reply::Message(with_identity(&text, &value)),
                    other => other,
                };
                let sse = match api {
                    Api::Responses => sse_for(&reply),
                    Api::Messages => super::mock_claude::sse_for(&reply),
                };
                write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {}\r\n\r\n{sse}", sse.len())?;
            }
        }
        stream.flush()?;
    }
}

/// Which API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Responses,
    Messages,
}

/// The last `orch-phase-key: …` in the request (a resumed session carries earlier ones too).
fn phase_key(body: &str) -> String {
    let marker = "orch-phase-key: ";
    body.rfind(marker)
        .map(|at| {
            body[at + marker.len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '\\' && *c != '"')
                .collect()
        })
        .unwrap_or_default()
}

/// Whether codex already ran our tool calls in this turn (a `function_call_output` after the
/// last user message).
fn tools_done(body: &Value, api: Api) -> bool {
    if api == Api::Messages {
        return super::mock_claude::tools_done(body);
    }
    let Some(input) = body.get("input").and_then(|i| i.as_array()) else {
        return false;
    };
    let last_user = input
        .iter()
        .rposition(|i| i.get("role").and_then(|r| r.as_str()) == Some("user"));
    input
        .iter()
        .skip(last_user.map_or(0, |u| u + 1))
        .any(|i| i.get("type").and_then(|t| t.as_str()) == Some("function_call_output"))
}

fn default_reply(key: &str, body: &Value, api: Api) -> Reply {
    let (issue, phase) = key.split_once('/').unwrap_or(("issue", key));
    let phase_name = phase.split_once('-').map_or(phase, |(_, p)| p);
    match phase_name {
        "review" => Reply::Message(review_json("pass", &[])),
        _ if !tools_done(body, api) => Reply::Commands(vec![format!(
            "mkdir -p orch-demo && printf '%s\\n' 'Work for {issue} ({phase})' >> orch-demo/{issue}.md && git add orch-demo && git commit -q -m '{issue}: {phase}'"
        )]),
        "fix" => Reply::Message(fix_json("pass")),
        _ => Reply::Message(dev_json("pass")),
    }
}

/// A dev result in the contract's shape (identity fields filled in when it is served).
pub fn dev_json(status: &str) -> String {
    json!({
        "status": status, "summary": "Implemented the issue.",
        "testsRun": [{"command": "true", "status": "pass", "notes": ""}],
        "docsUpdated": [], "draftPrs": [], "stackBranches": [], "deferred": [], "openQuestions": []
    })
    .to_string()
}

/// A fix result: a dev result that says it addressed the review.
pub fn fix_json(status: &str) -> String {
    let mut v: Value = serde_json::from_str(&dev_json(status)).unwrap();
    v["summary"] = json!("Addressed every required action.");
    v.to_string()
}

pub fn review_json(status: &str, required: &[&str]) -> String {
    json!({
        "status": status, "summary": format!("Review verdict: {status}."),
        "issues": required.iter().map(|r| json!({"severity": "medium", "title": r, "details": r, "evidence": ""})).collect::<Vec<_>>(),
        "requiredActions": required, "followups": [], "reviewDocPath": "", "confidence": "high"
    })
    .to_string()
}

/// The last ORCH_CONTEXT block of the request (`input` of a Responses request, `messages`
/// of a Messages one; a resumed session carries earlier phases' blocks before it).
pub fn context_of(body: &Value) -> Option<Value> {
    let input = body
        .get("input")
        .or_else(|| body.get("messages"))?
        .as_array()?;
    // A message's content is a list of blocks, or (Claude Code, in later requests) a string.
    let texts = input.iter().flat_map(|item| match item.get("content") {
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text")?.as_str())
            .collect::<Vec<_>>(),
        Some(Value::String(text)) => vec![text.as_str()],
        _ => Vec::new(),
    });
    texts.rev().find_map(|text| {
        let at = text.rfind("ORCH_CONTEXT:")?;
        serde_json::Deserializer::from_str(&text[at + "ORCH_CONTEXT:".len()..])
            .into_iter::<Value>()
            .next()?
            .ok()
    })
}

/// `text` with the identity fields it lacks taken from the request's context.
pub(crate) fn with_identity(text: &str, body: &Value) -> String {
    let (Ok(Value::Object(mut result)), Some(ctx)) =
        (serde_json::from_str::<Value>(text), context_of(body))
    else {
        return text.to_owned();
    };
    for (key, from) in [
        ("phase", "phase"),
        ("issueId", "issueId"),
        ("milestoneId", "milestoneId"),
        ("branch", "branchName"),
        ("worktreePath", "worktreePath"),
    ] {
        if let (false, Some(v)) = (result.contains_key(key), ctx.get(from)) {
            result.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(result).to_string()
}

fn sse_for(reply: &Reply) -> String {
    let mut events = vec![(
        "response.created",
        json!({"type": "response.created", "response": {"id": "resp_mock"}}),
    )];
    let items: Vec<Value> = match reply {
        Reply::Commands(cmds) => cmds
            .iter()
            .enumerate()
            .map(|(i, cmd)| {
                json!({"type": "function_call", "id": format!("fc_{i}"), "call_id": format!("call_{}_{i}", std::process::id()),
                       "name": "exec_command", "arguments": json!({"cmd": cmd, "yield_time_ms": 30_000}).to_string()})
            })
            .collect(),
        Reply::Message(text) => vec![json!({"type": "message", "role": "assistant", "id": "msg_mock",
                                             "content": [{"type": "output_text", "text": text}]})],
        _ => Vec::new(),
    };
    for (i, item) in items.into_iter().enumerate() {
        events.push((
            "response.output_item.added",
            json!({"type": "response.output_item.added", "output_index": i, "item": item}),
        ));
        events.push((
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": i, "item": item}),
        ));
    }
    events.push((
        "response.completed",
        json!({"type": "response.completed", "response": {"id": "resp_mock", "usage": {
            "input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}}}),
    ));
    events
        .into_iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

//! The Anthropic Messages API side of the mock model server (see `mock_model`): the same
//! scripted replies, as Claude Code expects them. `Reply::Commands` becomes `tool_use` blocks
//! of Claude's `Bash` tool; `Reply::Message` with a JSON object becomes a call of the
//! `StructuredOutput` tool `--json-schema` adds (after which Claude Code ends the run), any
//! other text a plain end of turn. Usage: 100 input and 20 output tokens per request.
#![allow(dead_code)]

use super::mock_model::Reply;
use serde_json::{json, Value};

/// The environment that points the real `claude` at the mock on `port` (no `/v1`: Claude
/// Code appends `/v1/messages`), offline, with its state in `config_dir`.
pub fn claude_env(port: u16, config_dir: &std::path::Path) -> Vec<(String, String)> {
    [
        ("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{port}")),
        (
            "ANTHROPIC_API_KEY",
            "mock-anthropic-key-not-secret".to_owned(),
        ),
        ("CLAUDE_CONFIG_DIR", config_dir.display().to_string()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
        ("DISABLE_TELEMETRY", "1".to_owned()),
        ("DISABLE_ERROR_REPORTING", "1".to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Whether Claude already ran our tool calls in this phase: a tool result follows the last
/// message holding a phase prompt (a resumed session carries earlier phases, and Claude Code
/// may add reminder messages after the results).
pub(crate) fn tools_done(body: &Value) -> bool {
    let Some(messages) = body.get("messages").and_then(|m| m.as_array()) else {
        return false;
    };
    let blocks = |m: &Value| {
        m.get("content")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default()
    };
    // Content is a list of blocks, or (in later requests) a plain string.
    let prompt = messages.iter().rposition(|m| {
        m["content"]
            .as_str()
            .is_some_and(|t| t.contains("orch-phase-key: "))
            || blocks(m).iter().any(|b| {
                b["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("orch-phase-key: "))
            })
    });
    messages
        .iter()
        .skip(prompt.map_or(0, |p| p + 1))
        .any(|m| blocks(m).iter().any(|b| b["type"] == "tool_result"))
}

/// The SSE stream of one assistant message answering with `reply`.
pub(crate) fn sse_for(reply: &Reply) -> String {
    // Tool-use ids must be unique in a session (a resumed one holds earlier phases' calls).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = format!(
        "{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let blocks: Vec<Value> = match reply {
        Reply::Commands(cmds) => cmds
            .iter()
            .enumerate()
            .map(|(i, cmd)| {
                json!({"type": "tool_use", "id": format!("toolu_{id}_{i}"), "name": "Bash",
                       "input": {"command": cmd, "description": "scripted command"}})
            })
            .collect(),
        Reply::Tools(calls) => calls
            .iter()
            .enumerate()
            .map(|(i, (name, input))| {
                json!({"type": "tool_use", "id": format!("toolu_{id}_{i}"), "name": name,
                       "input": input})
            })
            .collect(),
        Reply::Message(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => {
                vec![json!({"type": "tool_use", "id": format!("toolu_{id}_out"),
                                                    "name": "StructuredOutput", "input": v})]
            }
            _ => vec![json!({"type": "text", "text": text})],
        },
        _ => Vec::new(),
    };
    let stop = if blocks.iter().any(|b| b["type"] == "tool_use") {
        "tool_use"
    } else {
        "end_turn"
    };
    let mut events = vec![json!({"type": "message_start", "message": {
        "id": format!("msg_{id}"), "type": "message", "role": "assistant", "model": "mock-claude",
        "content": [], "stop_reason": null, "usage": {"input_tokens": 100, "output_tokens": 1}}})];
    for (i, block) in blocks.iter().enumerate() {
        let (start, delta) = match block["type"].as_str() {
            Some("tool_use") => (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            ),
            _ => (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": block["text"]}),
            ),
        };
        events.push(json!({"type": "content_block_start", "index": i, "content_block": start}));
        events.push(json!({"type": "content_block_delta", "index": i, "delta": delta}));
        events.push(json!({"type": "content_block_stop", "index": i}));
    }
    events.push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                       "usage": {"output_tokens": 20}}),
    );
    events.push(json!({"type": "message_stop"}));
    events
        .into_iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or("message")
            )
        })
        .collect()
}

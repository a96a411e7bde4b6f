//! Codex's `exec --json` event stream, as typed structs that tolerate event and item types
//! they do not know (codex adds new ones; an unknown line is kept in the log and skipped).

use super::Usage;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "thread.started")]
    ThreadStarted { thread_id: String },
    #[serde(rename = "turn.started")]
    TurnStarted,
    #[serde(rename = "turn.completed")]
    TurnCompleted {
        #[serde(default)]
        usage: Usage,
    },
    #[serde(rename = "turn.failed")]
    TurnFailed { error: ErrorBody },
    /// Not fatal by itself (codex reports reconnects this way).
    #[serde(rename = "error")]
    Error { message: String },
    #[serde(rename = "item.started")]
    ItemStarted { item: Item },
    #[serde(rename = "item.updated")]
    ItemUpdated { item: Item },
    #[serde(rename = "item.completed")]
    ItemCompleted { item: Item },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    AgentMessage {
        text: String,
    },
    CommandExecution {
        command: String,
        #[serde(default)]
        exit_code: Option<i32>,
        #[serde(default)]
        status: Option<String>,
        /// What the command printed (stdout and stderr), when it finished.
        #[serde(default)]
        aggregated_output: Option<String>,
    },
    FileChange {
        #[serde(default)]
        changes: Vec<FileChange>,
    },
    Error {
        message: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FileChange {
    pub path: String,
    #[serde(default)]
    pub kind: Option<String>,
}

/// Parses one line; `None` for lines that are not JSON objects with a known shape.
pub fn parse(line: &str) -> Option<Event> {
    serde_json::from_str(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_lines() {
        assert_eq!(
            parse(r#"{"type":"thread.started","thread_id":"t-1"}"#),
            Some(Event::ThreadStarted {
                thread_id: "t-1".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"item.plan.delta","item_id":"x","delta":"y"}"#),
            Some(Event::Unknown)
        );
        assert_eq!(
            parse(
                r#"{"type":"item.completed","item":{"id":"item_3","type":"web_search","query":"q"}}"#
            ),
            Some(Event::ItemCompleted { item: Item::Other })
        );
        let usage = parse(
            r#"{"type":"turn.completed","usage":{"input_tokens":5,"cached_input_tokens":1,"cache_write_input_tokens":0,"output_tokens":2,"reasoning_output_tokens":0}}"#,
        );
        assert!(
            matches!(usage, Some(Event::TurnCompleted { usage }) if usage.input_tokens == 5 && usage.output_tokens == 2)
        );
        assert_eq!(parse("not json"), None);
    }
}

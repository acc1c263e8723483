//! The conformance suite's fixtures (`@modelcontextprotocol/conformance`,
//! the "everything server" names its server scenarios call), as one
//! [`Extension`]. Definitions are written as the JSON the wire carries and
//! parsed once, at start.
//!
//! Two eras of server-to-client input live side by side here, as they do
//! in the suite:
//! - 2025-11-25 sessions: `test_sampling` and the `test_elicitation*` tools
//!   send real `sampling/createMessage` and `elicitation/create` requests;
//! - 2026-07-28 (stateless, no server-to-client requests): the
//!   `test_input_required_result_*` tools and prompt answer with an
//!   input-required result (MRTR), carrying a sealed `requestState` (HMAC,
//!   bound to the tool's name, 10 minutes) that holds the round and the
//!   answers so far; a tampered state is refused.

// Logging and sampling are deprecated by 2026-07-28 (SEP-2577); 2025-11-25 sessions use them.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::time::Duration;

use docspace_mcp::{Answer, Extension};
use futures::FutureExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, CompleteRequestParams, CompleteResult,
    ElicitRequestParams, GetPromptRequestParams, GetPromptResponse, GetPromptResult, InputRequests,
    InputRequiredResult, InputResponses, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    Prompt, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, RequestStateCodec, Resource,
    ResourceTemplate, SealOptions, ServerCapabilities, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

/// A 1×1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// A WAV file of no samples.
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

/// How long a sealed `requestState` is accepted.
const STATE_TTL: Duration = Duration::from_secs(600);

/// The fixtures, parsed.
pub(crate) struct Fixtures {
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
    /// Seals and opens the MRTR `requestState`.
    states: RequestStateCodec,
}

impl Fixtures {
    /// The fixtures, with a new random key for `requestState`.
    pub(crate) fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| "the system's random source failed")?;
        Ok(Self {
            tools: serde_json::from_value(tools())?,
            resources: serde_json::from_value(json!([
                // First: the caching scenario reads the first resource listed.
                {"uri": "test://static-text", "name": "Static Text Resource", "mimeType": "text/plain",
                 "description": "A static text resource for testing"},
                {"uri": "test://static-binary", "name": "Static Binary Resource", "mimeType": "image/png",
                 "description": "A static binary resource (a 1x1 PNG) for testing"},
            ]))?,
            templates: serde_json::from_value(json!([
                {"uriTemplate": "test://template/{id}/data", "name": "Dynamic Resource",
                 "mimeType": "application/json", "description": "A resource whose data depends on its id"},
            ]))?,
            prompts: serde_json::from_value(prompts())?,
            states: RequestStateCodec::try_new(key.to_vec())?,
        })
    }
}

/// A tool of no arguments.
fn plain(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description, "inputSchema": {"type": "object", "properties": {}}})
}

fn tools() -> Value {
    let mut tools = vec![
        plain("test_simple_text", "Returns a simple text response"),
        plain("test_image_content", "Returns an image"),
        plain("test_audio_content", "Returns audio"),
        plain("test_embedded_resource", "Returns an embedded resource"),
        plain("test_multiple_content_types", "Returns text, an image and an embedded resource"),
        plain("test_tool_with_logging", "Sends three log messages while it runs"),
        plain("test_error_handling", "Always answers with a tool error"),
        plain("test_tool_with_progress", "Reports progress three times while it runs"),
        json!({"name": "test_sampling", "description": "Asks the client's model (sampling, 2025-11-25 sessions)",
               "inputSchema": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}}),
        json!({"name": "test_elicitation", "description": "Asks the user for a name and an e-mail address (elicitation, 2025-11-25 sessions)",
               "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}),
        plain("test_elicitation_sep1034_defaults", "Asks the user with a form whose fields have defaults (SEP-1034)"),
        plain("test_elicitation_sep1330_enums", "Asks the user with every kind of enum field (SEP-1330)"),
        plain("test_reconnection", "Answers after a short wait"),
        plain("test_missing_capability", "Needs the client's sampling capability (-32021 without it)"),
        plain("test_streaming_elicitation", "Asks for a value with an input-required result, at once"),
        plain("test_logging_tool", "Logs only when the request's _meta names a log level (2026-07-28)"),
        json!({"name": "json_schema_2020_12_tool", "description": "Tool with JSON Schema 2020-12 features",
               "inputSchema": {
                   "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                             "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                   "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                                  "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                                  "phone": {"type": "string"}, "email": {"type": "string"}},
                   "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
                   "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
                   "then": {"required": ["phone"]}, "else": {"required": ["email"]},
                   "additionalProperties": false}}),
        json!({"name": "test_custom_header", "description": "Echoes a value also sent as the Mcp-Param-Value header",
               "inputSchema": {"type": "object", "properties": {"value": {"type": "string", "x-mcp-header": "Value"}},
                               "required": ["value"]}}),
    ];
    for (name, _) in FLOWS {
        tools.push(plain(name, "Asks the client for input with an input-required result (2026-07-28)"));
    }
    Value::Array(tools)
}

fn prompts() -> Value {
    json!([
        {"name": "test_simple_prompt", "description": "A prompt of no arguments"},
        {"name": "test_prompt_with_arguments", "description": "A prompt of two arguments",
         "arguments": [{"name": "arg1", "description": "The first argument", "required": true},
                       {"name": "arg2", "description": "The second argument", "required": true}]},
        {"name": "test_prompt_with_embedded_resource", "description": "A prompt with an embedded resource",
         "arguments": [{"name": "resourceUri", "description": "The resource's URI", "required": true}]},
        {"name": "test_prompt_with_image", "description": "A prompt with an image"},
        {"name": PROMPT_FLOW, "description": "Asks the client for context with an input-required result (2026-07-28)"},
    ])
}

/// The multi-round (MRTR) fixtures: each round's input requests, by key.
type Rounds = fn(&ClientCapabilities) -> Vec<Value>;

const FLOWS: [(&str, Rounds); 8] = [
    ("test_input_required_result_elicitation", |_| {
        vec![json!({"user_name": ask("What is your name?", "name", "string")})]
    }),
    ("test_input_required_result_sampling", |_| {
        vec![json!({"capital_question": sample("What is the capital of France?", 100)})]
    }),
    ("test_input_required_result_list_roots", |_| {
        vec![json!({"client_roots": {"method": "roots/list", "params": {}}})]
    }),
    ("test_input_required_result_request_state", |_| vec![json!({"confirm": ask("Please confirm", "ok", "boolean")})]),
    ("test_input_required_result_multiple_inputs", |_| {
        vec![json!({"user_name": ask("What is your name?", "name", "string"),
                    "greeting": sample("Generate a greeting", 50),
                    "client_roots": {"method": "roots/list", "params": {}}})]
    }),
    ("test_input_required_result_multi_round", |_| {
        vec![
            json!({"step1": ask("Step 1: What is your name?", "name", "string")}),
            json!({"step2": ask("Step 2: What is your favorite color?", "color", "string")}),
        ]
    }),
    ("test_input_required_result_tampered_state", |_| vec![json!({"confirm": ask("Please confirm", "ok", "boolean")})]),
    // Only what the client can answer.
    ("test_input_required_result_capabilities", |capabilities| {
        let mut round = serde_json::Map::new();
        if capabilities.sampling.is_some() {
            round.insert("greeting".into(), sample("Generate a greeting", 50));
        }
        if capabilities.elicitation.is_some() {
            round.insert("user_name".into(), ask("What is your name?", "name", "string"));
        }
        if capabilities.roots.is_some() {
            round.insert("client_roots".into(), json!({"method": "roots/list", "params": {}}));
        }
        vec![Value::Object(round)]
    }),
];

/// The prompt that asks for input.
const PROMPT_FLOW: &str = "test_input_required_result_prompt";

/// An elicitation of one required field.
fn ask(message: &str, field: &str, kind: &str) -> Value {
    json!({"method": "elicitation/create", "params": {"message": message, "requestedSchema":
        {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}}})
}

/// A sampling request of one user message.
fn sample(text: &str, max_tokens: u32) -> Value {
    json!({"method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}], "maxTokens": max_tokens}})
}

/// What a sealed `requestState` holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    /// The round the client answers.
    round: usize,
    /// The answers of the rounds before it.
    answers: BTreeMap<String, Value>,
}

/// Where a multi-round exchange stands after this request.
enum Step {
    /// More input is needed.
    Ask(InputRequiredResult),
    /// Every round is answered: the answers, by key.
    Done(BTreeMap<String, Value>),
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(|e| ErrorData::internal_error(format!("a fixture is malformed: {e}"), None))
}

fn text(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    content(json!([{"type": "text", "text": text.into()}]))
}

fn content(blocks: Value) -> Result<CallToolResponse, ErrorData> {
    from_json::<CallToolResult>(json!({"content": blocks})).map(Into::into)
}

impl Fixtures {
    /// One round of a multi-round exchange named `name` (a tool or the
    /// prompt): the client's answers so far, or what to ask next.
    fn step(
        &self,
        name: &str,
        rounds: &[Value],
        responses: Option<&InputResponses>,
        state: Option<&str>,
    ) -> Result<Step, ErrorData> {
        let State { round, mut answers } = match state {
            None => State { round: 0, answers: BTreeMap::new() },
            Some(sealed) => self.states.open_json_with(sealed, name.as_bytes()).map_err(|e| {
                ErrorData::invalid_params(format!("requestState failed integrity verification: {e}"), None)
            })?,
        };
        let Some(asked) = rounds.get(round).and_then(Value::as_object) else {
            return Err(ErrorData::invalid_params("requestState names no round of this exchange", None));
        };
        // Answers are objects (an elicitation's, a sampling's, a roots list); anything else counts as missing.
        let answered = |key: &String| responses.and_then(|r| r.get(key)).filter(|a| a.is_object());
        if asked.keys().all(|key| answered(key).is_some()) {
            for key in asked.keys() {
                if let Some(answer) = answered(key) {
                    answers.insert(key.clone(), answer.clone());
                }
            }
            if round + 1 == rounds.len() {
                return Ok(Step::Done(answers));
            }
            return self.ask(name, rounds, State { round: round + 1, answers });
        }
        self.ask(name, rounds, State { round, answers })
    }

    fn ask(&self, name: &str, rounds: &[Value], state: State) -> Result<Step, ErrorData> {
        let requests: InputRequests = from_json(rounds.get(state.round).cloned().unwrap_or_default())?;
        let sealed = self
            .states
            .seal_json_with(&state, &SealOptions::new().associated_data(name.as_bytes()).ttl(STATE_TTL))
            .map_err(|e| ErrorData::internal_error(format!("could not seal the request state: {e}"), None))?;
        Ok(Step::Ask(InputRequiredResult::new(Some(requests), Some(sealed))))
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let argument = |name: &str| {
            request.arguments.as_ref().and_then(|a| a.get(name)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        let name = request.name.as_ref();
        if let Some((_, rounds)) = FLOWS.iter().find(|(flow, _)| *flow == name) {
            let capabilities = context.client_capabilities().unwrap_or_default();
            let rounds = rounds(&capabilities);
            let step = self.step(name, &rounds, request.input_responses.as_ref(), request.request_state.as_deref())?;
            return match step {
                Step::Ask(ask) => Ok(ask.into()),
                Step::Done(answers) => text(summary(name, &answers)),
            };
        }
        match name {
            "test_simple_text" => text("This is a simple text response for testing."),
            "test_image_content" => content(json!([{"type": "image", "data": PNG, "mimeType": "image/png"}])),
            "test_audio_content" => content(json!([{"type": "audio", "data": WAV, "mimeType": "audio/wav"}])),
            "test_embedded_resource" => content(json!([{"type": "resource", "resource": {
                "uri": "test://embedded-resource", "mimeType": "text/plain",
                "text": "This is an embedded resource content."}}])),
            "test_multiple_content_types" => content(json!([
                {"type": "text", "text": "Multiple content types test:"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "test://mixed-content-resource",
                 "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"}},
            ])),
            "test_error_handling" => from_json::<CallToolResult>(json!({"isError": true, "content": [
                {"type": "text", "text": "This tool intentionally returns an error for testing"}]}))
            .map(Into::into),
            "test_tool_with_logging" => {
                for message in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
                    log(context, LoggingLevel::Info, message).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                text("Tool with logging completed")
            }
            "test_tool_with_progress" => {
                if let Some(token) = context.meta.get_progress_token() {
                    for (progress, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
                        let update = ProgressNotificationParam::new(token.clone(), progress)
                            .with_total(100.0)
                            .with_message(message);
                        if context.peer.notify_progress(update).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                text("Tool with progress completed")
            }
            "test_sampling" => {
                let answer = context
                    .peer
                    .create_message(from_json(json!({"messages": [{"role": "user", "content":
                        {"type": "text", "text": argument("prompt")}}], "maxTokens": 100}))?)
                    .await
                    .map_err(|e| ErrorData::internal_error(format!("sampling failed: {e}"), None))?;
                let answer = serde_json::to_value(&answer).unwrap_or_default();
                text(format!(
                    "LLM response: {}",
                    answer.pointer("/content/text").and_then(Value::as_str).unwrap_or_default()
                ))
            }
            "test_elicitation" => {
                elicit(
                    context,
                    json!({"message": argument("message"), "requestedSchema": {"type": "object",
                    "properties": {"username": {"type": "string", "description": "User's response"},
                                   "email": {"type": "string", "description": "User's email address"}},
                    "required": ["username", "email"]}}),
                )
                .await
            }
            "test_elicitation_sep1034_defaults" => {
                elicit(
                    context,
                    json!({"message": "Please provide values (all have defaults)", "requestedSchema": {
                    "type": "object", "properties": {
                        "name": {"type": "string", "default": "John Doe"},
                        "age": {"type": "integer", "default": 30},
                        "score": {"type": "number", "default": 95.5},
                        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                        "verified": {"type": "boolean", "default": true}}}}),
                )
                .await
            }
            "test_elicitation_sep1330_enums" => {
                elicit(
                    context,
                    json!({"message": "Please choose from each kind of list", "requestedSchema": {
                    "type": "object", "properties": {
                        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                        "titledSingle": {"type": "string", "oneOf": [
                            {"const": "value1", "title": "First Option"},
                            {"const": "value2", "title": "Second Option"},
                            {"const": "value3", "title": "Third Option"}]},
                        "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                                       "enumNames": ["Option One", "Option Two", "Option Three"]},
                        "untitledMulti": {"type": "array", "items": {"type": "string",
                                          "enum": ["option1", "option2", "option3"]}},
                        "titledMulti": {"type": "array", "items": {"anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"}]}}}}}),
                )
                .await
            }
            "test_reconnection" => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                text("Reconnection test completed")
            }
            "test_missing_capability" => {
                let capabilities = context.client_capabilities().unwrap_or_default();
                if capabilities.sampling.is_none() {
                    return Err(ErrorData::missing_required_client_capability(from_json(json!({"sampling": {}}))?));
                }
                text("The client declared sampling")
            }
            "test_streaming_elicitation" => {
                let requests: InputRequests = from_json(json!({"streaming_elicitation": {
                    "method": "elicitation/create", "params": {"message": "Provide a value", "requestedSchema":
                        {"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}}}}))?;
                Ok(InputRequiredResult::from_input_requests(requests).into())
            }
            "test_logging_tool" => {
                if let Some(level) = context.meta.log_level() {
                    log(context, level, "logLevel was requested").await;
                }
                text("Logging tool completed")
            }
            "json_schema_2020_12_tool" => text("JSON Schema 2020-12 tool called"),
            "test_custom_header" => text(argument("value")),
            _ => Err(ErrorData::invalid_params(format!("no fixture tool {name}"), None)),
        }
    }

    async fn prompt(
        &self,
        request: GetPromptRequestParams,
        _context: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let argument = |name: &str| {
            request.arguments.as_ref().and_then(|a| a.get(name)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        let messages = match request.name.as_str() {
            "test_simple_prompt" => {
                json!([{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}])
            }
            "test_prompt_with_arguments" => json!([{"role": "user", "content": {"type": "text", "text":
                format!("Prompt with arguments: arg1='{}', arg2='{}'", argument("arg1"), argument("arg2"))}}]),
            "test_prompt_with_embedded_resource" => json!([
                {"role": "user", "content": {"type": "resource", "resource": {"uri": argument("resourceUri"),
                 "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}},
            ]),
            "test_prompt_with_image" => json!([
                {"role": "user", "content": {"type": "image", "data": PNG, "mimeType": "image/png"}},
                {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}},
            ]),
            PROMPT_FLOW => {
                let rounds = [json!({"user_context": {"method": "elicitation/create", "params": {
                    "message": "What context should the prompt use?", "requestedSchema": {"type": "object",
                    "properties": {"context": {"type": "string"}}, "required": ["context"]}}}})];
                let step = self.step(
                    PROMPT_FLOW,
                    &rounds,
                    request.input_responses.as_ref(),
                    request.request_state.as_deref(),
                )?;
                let answers = match step {
                    Step::Ask(ask) => return Ok(ask.into()),
                    Step::Done(answers) => answers,
                };
                let context = answers.get("user_context").and_then(|a| a.pointer("/content/context"));
                let context = context.and_then(Value::as_str).unwrap_or_default().to_owned();
                json!([{"role": "user", "content": {"type": "text", "text":
                    format!("Answer with this context in mind: {context}")}}])
            }
            other => return Err(ErrorData::invalid_params(format!("no fixture prompt {other}"), None)),
        };
        from_json::<GetPromptResult>(json!({"messages": messages})).map(Into::into)
    }
}

/// The text a finished exchange answers with.
fn summary(name: &str, answers: &BTreeMap<String, Value>) -> String {
    let field = |key: &str, field: &str| {
        answers.get(key).and_then(|a| a.get("content")?.get(field)).cloned().unwrap_or_default()
    };
    match name {
        "test_input_required_result_elicitation" => {
            format!("Hello, {}!", field("user_name", "name").as_str().unwrap_or("friend"))
        }
        "test_input_required_result_request_state" => "state-ok: the confirmation arrived".to_owned(),
        "test_input_required_result_multi_round" => format!(
            "{} likes {}",
            field("step1", "name").as_str().unwrap_or_default(),
            field("step2", "color").as_str().unwrap_or_default()
        ),
        _ => format!("Received {}", serde_json::to_string(answers).unwrap_or_default()),
    }
}

async fn log(context: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
    let message = LoggingMessageNotificationParam::new(level, json!(message)).with_logger("conformance-fixtures");
    let _ = context.peer.notify_logging_message(message).await;
}

/// An `elicitation/create` request (2025-11-25 sessions) and the tool's text of its answer.
async fn elicit(context: &RequestContext<RoleServer>, params: Value) -> Result<CallToolResponse, ErrorData> {
    let params: ElicitRequestParams = from_json(params)?;
    let answer = context
        .peer
        .create_elicitation(params)
        .await
        .map_err(|e| ErrorData::internal_error(format!("elicitation failed: {e}"), None))?;
    let answer = serde_json::to_value(&answer).unwrap_or_default();
    let part = |name: &str| answer.get(name).cloned().unwrap_or_default();
    text(format!("Elicitation completed: action={}, content={}", part("action"), part("content")))
}

impl Extension for Fixtures {
    fn capabilities(&self, capabilities: &mut ServerCapabilities) {
        let mut with = serde_json::to_value(&*capabilities).unwrap_or_default();
        if let Some(with) = with.as_object_mut() {
            with.insert("prompts".into(), json!({}));
            with.insert("resources".into(), json!({"subscribe": true}));
            with.insert("completions".into(), json!({}));
        }
        if let Ok(with) = serde_json::from_value(with) {
            *capabilities = with;
        }
    }

    fn tools(&self) -> Vec<Tool> {
        self.tools.clone()
    }

    fn call_tool<'a>(
        &'a self,
        request: CallToolRequestParams,
        context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, CallToolResponse> {
        self.tools.iter().any(|t| t.name == request.name).then(|| self.call(request, context).boxed())
    }

    fn resources(&self) -> Vec<Resource> {
        self.resources.clone()
    }

    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.templates.clone()
    }

    fn read_resource<'a>(
        &'a self,
        request: ReadResourceRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ReadResourceResponse> {
        let uri = request.uri.as_str();
        let contents = match uri {
            "test://static-text" => {
                json!({"uri": uri, "mimeType": "text/plain", "text": "This is the content of the static text resource."})
            }
            "test://static-binary" => json!({"uri": uri, "mimeType": "image/png", "blob": PNG}),
            _ => {
                let id = uri.strip_prefix("test://template/")?.strip_suffix("/data").filter(|id| !id.is_empty())?;
                let data = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                json!({"uri": uri, "mimeType": "application/json", "text": data.to_string()})
            }
        };
        let read = from_json::<ReadResourceResult>(json!({"contents": [contents]})).map(Into::into);
        Some(futures::future::ready(read).boxed())
    }

    fn prompts(&self) -> Vec<Prompt> {
        self.prompts.clone()
    }

    fn get_prompt<'a>(
        &'a self,
        request: GetPromptRequestParams,
        context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, GetPromptResponse> {
        self.prompts.iter().any(|p| p.name == request.name).then(|| self.prompt(request, context).boxed())
    }

    fn complete<'a>(
        &'a self,
        request: CompleteRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, CompleteResult> {
        let request = serde_json::to_value(&request).unwrap_or_default();
        let typed = request.pointer("/argument/value").and_then(Value::as_str).unwrap_or_default();
        let offered: &[&str] = match (
            request.pointer("/ref/type").and_then(Value::as_str),
            request.pointer("/argument/name").and_then(Value::as_str),
        ) {
            (Some("ref/prompt"), Some("arg1" | "arg2")) => &["test", "testValue1", "testValue2"],
            (Some("ref/resource"), Some("id")) => &["1", "2", "3", "123"],
            _ => &[],
        };
        let values: Vec<&str> = offered.iter().copied().filter(|v| v.starts_with(typed)).collect();
        let total = values.len();
        let result = from_json(json!({"completion": {"values": values, "total": total, "hasMore": false}}));
        Some(futures::future::ready(result).boxed())
    }

    fn subscribe<'a>(
        &'a self,
        _request: SubscribeRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ()> {
        Some(futures::future::ready(Ok(())).boxed())
    }

    fn unsubscribe<'a>(
        &'a self,
        _request: UnsubscribeRequestParams,
        _context: &'a RequestContext<RoleServer>,
    ) -> Answer<'a, ()> {
        Some(futures::future::ready(Ok(())).boxed())
    }
}

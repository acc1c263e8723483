//! Tool arguments against the generated dispatch (target 3): an operation
//! id from the catalogue (or a made-up one) and JSON arguments shaped by
//! that tool's input schema — its parameter names with values of the right
//! type, the wrong type, dot segments, huge numbers, deep nesting — straight
//! into `docspace_mcp_client::dispatch`, with a client pointed at the
//! sandbox (the call goes through) or at a closed port on 127.0.0.1 (it
//! fails to connect). The answer must be an `Output` or a `CallError`, never
//! a panic; the body of every request the client sends is bounded by what
//! the arguments hold.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use docspace_mcp::catalogue;
use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::dispatch::Args;
use docspace_mcp_client::reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use docspace_mcp_client::{Client, dispatch, has_operation};
use serde_json::Value;

use crate::harness::{self, CI_ITERATIONS, CI_TIME, MAX_LEN};
use crate::input;

/// One call.
#[derive(Debug)]
pub struct Call {
    /// The operation id.
    pub operation: String,
    /// Its arguments.
    pub args: Args,
    /// Sent to the closed port rather than the sandbox.
    pub nowhere: bool,
}

impl<'a> Arbitrary<'a> for Call {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        // Half the time an operation the sandbox implements, so answers are decoded too.
        let served: Vec<&str> = sandbox::operations().map(|o| o.id).collect();
        let served_only = u.ratio(1, 2)?;
        let ops: Vec<_> = catalogue::TOOLS
            .iter()
            .filter(|t| has_operation(t.operation_id))
            .filter(|t| !served_only || served.contains(&t.operation_id))
            .collect();
        let (operation, args) = if u.ratio(1, 20)? {
            (input::string(u, &["getFileInfo", "", "GETFILEINFO"])?, input::value(u, 2, input::argument_names(), &[])?)
        } else {
            let tool = *u.choose(&ops)?;
            // The operation's own parameter names and body, as `tools::invoke`
            // hands them over (the tool's arguments renamed, body members nested).
            let schema: Value = serde_json::from_str(tool.input_schema_text()).unwrap_or(Value::Null);
            let mut args = input::from_schema(u, &schema, 4)?;
            if let Some(map) = args.as_object_mut() {
                for (argument, target) in tool.arguments {
                    let Some(v) = map.remove(*argument) else { continue };
                    match target.strip_prefix("body.") {
                        Some(member) => {
                            let body = map.entry("body").or_insert_with(|| Value::Object(Default::default()));
                            if let Value::Object(body) = body {
                                body.insert(member.to_owned(), v);
                            }
                        }
                        None => {
                            map.insert((*target).to_owned(), v);
                        }
                    }
                }
                if tool.flatten_body || u.ratio(1, 10)? {
                    let body = input::from_schema(u, &schema, 3)?;
                    map.entry("body").or_insert(body);
                }
            }
            (tool.operation_id.to_owned(), args)
        };
        let args = match args {
            Value::Object(map) => map,
            other => Args::from_iter([("body".to_owned(), other)]),
        };
        Ok(Self { operation, args, nowhere: u.ratio(1, 5)? })
    }
}

fn client(base: &str) -> Client {
    let mut headers = HeaderMap::new();
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", sandbox::API_KEY)).expect("a header value");
    auth.set_sensitive(true);
    headers.insert(AUTHORIZATION, auth);
    let http = docspace_mcp_client::tls::builder().timeout(Duration::from_secs(3)).build().expect("an HTTP client");
    Client::with_headers(base, http, headers).with_max_response(1024 * 1024)
}

#[test]
fn dispatch_arguments() {
    let rt = harness::runtime("dispatch_arguments");
    let portal = rt.block_on(Sandbox::start(([127, 0, 0, 1], 0).into())).expect("the sandbox portal");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
    let sandboxed = client(portal.base_url());
    let nowhere = client(&format!("http://{closed}"));
    // A panic fails the target, so nothing is used after one.
    let (rt, nowhere, sandboxed) = (AssertUnwindSafe(rt), AssertUnwindSafe(nowhere), AssertUnwindSafe(sandboxed));
    bolero::check!()
        .with_arbitrary::<Call>()
        .with_iterations(CI_ITERATIONS)
        .with_test_time(CI_TIME)
        .with_max_len(MAX_LEN)
        .for_each(|call| {
            let c = if call.nowhere { &*nowhere } else { &*sandboxed };
            // Ok or a CallError: both are answers.
            let out =
                harness::run(&rt, "dispatch_arguments", &call.operation, dispatch(c, &call.operation, &call.args));
            if std::env::var_os("FUZZ_VERBOSE").is_some() {
                let what = match &out {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.to_string().chars().take(60).collect(),
                };
                eprintln!("{} -> {what}", call.operation);
            }
        });
}

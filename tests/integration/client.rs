//! The generated client through its JSON dispatch, against a scripted HTTP
//! server on 127.0.0.1: headers injected by the hooks, raw results kept,
//! responses that do not match the spec returned (flagged) rather than lost,
//! DocSpace's 2xx error envelope and HTTP errors turned into clear errors,
//! timeouts and refused connections reported, multipart uploads encoded.

use std::time::Duration;

use base64::Engine as _;
use docspace_mcp_client::dispatch::{Args, CallError, Output};
use docspace_mcp_client::reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use docspace_mcp_client::{Client, dispatch, multipart};
use serde_json::{Value, json};

use crate::common::{Reply, Upstream};

fn client(base: &str, timeout: Duration) -> Client {
    let mut headers = HeaderMap::new();
    let mut auth = HeaderValue::from_static("Bearer sk-test-key");
    auth.set_sensitive(true);
    headers.insert(AUTHORIZATION, auth);
    let http = docspace_mcp_client::tls::builder().timeout(timeout).build().unwrap();
    Client::with_headers(base, http, headers)
}

fn args(v: Value) -> Args {
    v.as_object().cloned().unwrap()
}

fn file_body() -> Value {
    json!({
        "response": {"id": 42, "title": "Report.docx", "created": "2025-01-01T10:00:00.0000000+03:00",
                     "fileExst": ".docx", "extraField": {"kept": true}},
        "count": 1, "links": [], "status": 0, "statusCode": 200
    })
}

#[tokio::test]
async fn path_parameters_cannot_reach_another_endpoint() {
    let upstream = Upstream::start(|_| Reply::json(200, json!({"response": {"displayName": "Someone"}}))).await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    // `files/share/{key}` turned into `people/@self` by URL normalisation
    // (a backslash is a slash, dot segments collapse), and a DELETE of an
    // OAuth application turned into a DELETE of a file.
    for (operation, arguments) in [
        ("getExternalShareData", json!({"key": "..\\..\\people\\@self"})),
        ("getExternalShareData", json!({"key": ".."})),
        ("getExternalShareData", json!({"key": ""})),
        ("deleteClient", json!({"clientId": "..\\files\\file\\5"})),
    ] {
        let e = dispatch(&c, operation, &args(arguments.clone())).await.unwrap_err();
        assert!(
            matches!(&e, CallError::InvalidArgument { message, .. } if message.contains("request path")),
            "{operation} {arguments}: {e:?}"
        );
    }
    assert!(upstream.requests().is_empty(), "nothing was sent: {:?}", upstream.requests().first().map(|r| &r.target));
    // Values that merely look odd are encoded and stay in their segment.
    dispatch(&c, "getExternalShareData", &args(json!({"key": "a/../b?c#d"}))).await.unwrap();
    assert_eq!(upstream.requests()[0].target, "/api/2.0/files/share/a%2F..%2Fb%3Fc%23d");
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_not_read() {
    let big = json!({"response": {"id": 42, "title": "x".repeat(300_000)}, "status": 0, "statusCode": 200});
    let upstream = Upstream::start(move |_| Reply::json(200, big.clone())).await;
    let c = client(&upstream.base_url, Duration::from_secs(5)).with_max_response(256 * 1024);
    let e = dispatch(&c, "getFileInfo", &args(json!({"fileId": 42}))).await.unwrap_err();
    assert_eq!(e, CallError::TooLarge { limit: 256 * 1024 });
    assert!(e.to_string().contains("DOCSPACE_MAX_RESPONSE_BYTES"), "{e}");
    // Within the limit, the same answer is whole.
    let c = client(&upstream.base_url, Duration::from_secs(5)).with_max_response(512 * 1024);
    let Output::Json { value, .. } = dispatch(&c, "getFileInfo", &args(json!({"fileId": 42}))).await.unwrap() else {
        panic!("JSON expected")
    };
    assert_eq!(value["response"]["title"].as_str().unwrap().len(), 300_000);
}

#[tokio::test]
async fn a_call_sends_credentials_and_returns_the_raw_body() {
    let upstream = Upstream::start(|_| Reply::json(200, file_body())).await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let out = dispatch(&c, "getFileInfo", &args(json!({"fileId": 42, "version": "2"}))).await.unwrap();
    assert_eq!(out, Output::Json { status: 200, value: file_body(), mismatch: None }, "extra fields survive");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, "/api/2.0/files/file/42?version=2");
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(seen[0].header("api-version"), Some("3.7.0"));
}

#[tokio::test]
async fn a_body_that_breaks_the_spec_is_returned_and_flagged() {
    let odd = json!({"response": {"id": "forty-two", "title": ["not", "a", "string"]}, "status": 0, "statusCode": 200});
    let body = odd.clone();
    let upstream = Upstream::start(move |_| Reply::json(200, body.clone())).await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    match dispatch(&c, "getFileInfo", &args(json!({"fileId": 1}))).await.unwrap() {
        Output::Json { value, mismatch, .. } => {
            assert_eq!(value, odd);
            assert!(mismatch.is_some(), "the mismatch is reported");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_an_error_and_other_text_is_returned() {
    let broken =
        Upstream::start(|_| Reply::text(200, "application/json; charset=utf-8", "{\"response\": {\"id\": 4")).await;
    let c = client(&broken.base_url, Duration::from_secs(5));
    let e = dispatch(&c, "createFolder", &args(json!({"folderId": 1, "body": {"title": "x"}}))).await.unwrap_err();
    assert_eq!(e, CallError::Malformed { status: 200, message: "{\"response\": {\"id\": 4".into() });
    let text = Upstream::start(|_| Reply::text(200, "text/plain", "just words")).await;
    let c = client(&text.base_url, Duration::from_secs(5));
    match dispatch(&c, "getFileInfo", &args(json!({"fileId": 1}))).await.unwrap() {
        Output::Bytes { status: 200, bytes, .. } => assert_eq!(&bytes[..], b"just words"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_error_envelope_with_http_200_is_an_error() {
    let upstream = Upstream::start(|_| {
        Reply::json(200, json!({"status": 1, "statusCode": 403, "error": {"message": "Access denied"}}))
    })
    .await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let e = dispatch(&c, "getFileInfo", &args(json!({"fileId": 1}))).await.unwrap_err();
    assert_eq!(e, CallError::Upstream { status: 403, message: "Access denied".into() });
    assert_eq!(e.to_string(), "DocSpace answered HTTP 403: Access denied");
}

#[tokio::test]
async fn http_errors_carry_docspace_s_message() {
    let upstream = Upstream::start(|_| Reply::json(500, json!({"error": {"message": "Database is down"}}))).await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let e = dispatch(&c, "getFileInfo", &args(json!({"fileId": 1}))).await.unwrap_err();
    assert_eq!(e, CallError::Upstream { status: 500, message: "Database is down".into() });
    let html = Upstream::start(|_| Reply::text(502, "text/html", "<h1>Bad gateway</h1>")).await;
    let e = dispatch(&client(&html.base_url, Duration::from_secs(5)), "getFileInfo", &args(json!({"fileId": 1})))
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Upstream { status: 502, message: "<h1>Bad gateway</h1>".into() });
}

#[tokio::test]
async fn bad_arguments_fail_before_any_request() {
    let upstream = Upstream::start(|_| Reply::json(200, file_body())).await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let e = dispatch(&c, "getFileInfo", &Args::new()).await.unwrap_err();
    assert_eq!(e, CallError::MissingArgument("fileId".into()));
    let e = dispatch(&c, "getFileInfo", &args(json!({"fileId": "abc"}))).await.unwrap_err();
    assert!(matches!(&e, CallError::InvalidArgument { name, .. } if name == "fileId"), "{e}");
    let e = dispatch(&c, "createRoom", &args(json!({"body": {"title": 7}}))).await.unwrap_err();
    assert!(
        matches!(&e, CallError::InvalidArgument { name, message } if name == "body" && message.starts_with("`title`: invalid type")),
        "{e}"
    );
    let e = dispatch(&c, "noSuchOperation", &Args::new()).await.unwrap_err();
    assert_eq!(e, CallError::UnknownOperation("noSuchOperation".into()));
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn bodies_are_sent_as_json() {
    let upstream = Upstream::start(|_| {
        Reply::json(200, json!({"response": {"id": 7, "title": "Team"}, "status": 0, "statusCode": 200}))
    })
    .await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let out = dispatch(&c, "createRoom", &args(json!({"body": {"title": "Team", "roomType": 2}}))).await.unwrap();
    assert!(matches!(out, Output::Json { status: 200, .. }));
    let seen = &upstream.requests()[0];
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", "/api/2.0/files/rooms"));
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent["title"], "Team");
    assert_eq!(sent["roomType"], 2);
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_reported() {
    let slow = Upstream::start(|_| Reply { delay_ms: 3000, ..Reply::json(200, file_body()) }).await;
    let e = dispatch(&client(&slow.base_url, Duration::from_millis(200)), "getFileInfo", &args(json!({"fileId": 1})))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Timeout(_)), "{e:?}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = dispatch(
        &client(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)),
        "getFileInfo",
        &args(json!({"fileId": 1})),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CallError::Transport(_)), "{e:?}");
    assert!(!e.to_string().contains("sk-test-key"));
}

#[tokio::test]
async fn multipart_uploads_encode_file_parts() {
    let upstream = Upstream::start(|_| {
        Reply::json(200, json!({"response": {"id": 99, "title": "a.bin"}, "status": 0, "statusCode": 200}))
    })
    .await;
    let c = client(&upstream.base_url, Duration::from_secs(5));
    let op = multipart::operation("uploadFile").expect("uploadFile is multipart");
    let bytes = [0u8, 1, 2, 255, b'x'];
    let content = base64::engine::general_purpose::STANDARD.encode(bytes);
    let call = json!({"folderId": 5, "body": {"File": {"filename": "a.bin", "content_base64": content}, "CreateNewIfExist": true}});
    let out = multipart::send(&c, op, &args(call)).await.unwrap();
    assert!(matches!(out, Output::Json { status: 200, .. }), "{out:?}");
    let seen = &upstream.requests()[0];
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", "/api/2.0/files/5/upload"));
    assert!(seen.header("content-type").unwrap().starts_with("multipart/form-data; boundary="));
    assert_eq!(seen.header("authorization"), Some("Bearer sk-test-key"));
    let body = &seen.body;
    assert!(body.windows(bytes.len()).any(|w| w == bytes), "the raw bytes are in the body");
    let text = String::from_utf8_lossy(body);
    assert!(text.contains("name=\"File\"; filename=\"a.bin\""), "{text}");
    assert!(text.contains("name=\"CreateNewIfExist\"\r\n\r\ntrue"), "{text}");

    let e = multipart::send(&c, op, &args(json!({"folderId": 5, "body": {"File": {"content_base64": "%%%"}}})))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("body.File"), "{e}");
    let e = multipart::send(&c, op, &args(json!({"body": {}}))).await.unwrap_err();
    assert_eq!(e, CallError::MissingArgument("folderId".into()));
}

use serde_json::json;

use super::*;

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn query_is_appended_and_fragment_kept() {
    assert_eq!(with_query("https://a.example/cb", &[("code", "x y")]), "https://a.example/cb?code=x+y");
    assert_eq!(with_query("https://a.example/cb?k=1", &[("code", "c")]), "https://a.example/cb?k=1&code=c");
    assert_eq!(with_query("cursor://x/cb#f", &[("a", "b")]), "cursor://x/cb?a=b#f");
    assert_eq!(with_query("https://a.example/cb", &[]), "https://a.example/cb");
}

#[test]
fn an_authorization_request_needs_a_client_id_of_sane_length() {
    let r = AuthorizeRequest::parse(&params(&[("client_id", " c "), ("state", ""), ("response_type", "code")]));
    let r = r.unwrap();
    assert_eq!((r.client_id.as_str(), r.state, r.response_type.as_deref()), ("c", None, Some("code")));
    assert_eq!(
        AuthorizeRequest::parse(&params(&[("client_id", "  ")])),
        Err(Step::refused(400, "client_id is required"))
    );
    let long = "c".repeat(MAX_PARAMETER_LEN + 1);
    assert_eq!(
        AuthorizeRequest::parse(&params(&[("client_id", &long)])),
        Err(Step::refused(400, "client_id is too long"))
    );
}

#[test]
fn grants_are_told_apart_and_their_parameters_required() {
    let code = TokenRequest::parse(&params(&[("grant_type", "authorization_code"), ("code", "c"), ("resource", "r")]));
    assert_eq!(
        code,
        Ok(TokenRequest::AuthorizationCode {
            code: "c".into(),
            redirect_uri: None,
            code_verifier: None,
            resource: Some("r".into())
        })
    );
    let refresh = TokenRequest::parse(&params(&[("grant_type", "refresh_token"), ("refresh_token", "r")]));
    assert_eq!(refresh, Ok(TokenRequest::RefreshToken { refresh_token: "r".into() }));
    for (form, code, says) in [
        (vec![], ErrorCode::InvalidRequest, "grant_type is required"),
        (vec![("grant_type", "password")], ErrorCode::UnsupportedGrantType, "grant_type `password` is not supported"),
        (vec![("grant_type", "authorization_code")], ErrorCode::InvalidRequest, "code is required"),
        (vec![("grant_type", "refresh_token")], ErrorCode::InvalidRequest, "refresh_token is required"),
    ] {
        let e = TokenRequest::parse(&params(&form)).unwrap_err();
        assert_eq!((e.code, e.status, e.description.as_str()), (code, 400, says));
    }
    assert_eq!(RevokeRequest::parse(&params(&[])).unwrap_err().description, "token is required");
    let r = RevokeRequest::parse(&params(&[("token", " t "), ("token_type_hint", "refresh_token")])).unwrap();
    assert_eq!(r, RevokeRequest { token: "t".into(), refresh_hint: true });
    assert!(!RevokeRequest::parse(&params(&[("token", "t"), ("token_type_hint", "x")])).unwrap().refresh_hint);
    assert_eq!(IntrospectRequest::parse(&params(&[("token", "")])).unwrap_err().code, ErrorCode::InvalidRequest);
}

#[test]
fn client_credentials_come_from_basic_or_the_body_never_both() {
    let basic = ClientAuth { basic: Some(("id".into(), "secret".into())) };
    let c = ClientCredentials::parse(&params(&[("client_id", "id")]), &basic).unwrap().unwrap();
    assert_eq!((c.client_id.as_str(), c.client_secret.map(|s| s.expose().to_owned())), ("id", Some("secret".into())));
    let e = ClientCredentials::parse(&params(&[("client_secret", "s")]), &basic).unwrap_err();
    assert_eq!((e.code, e.status), (ErrorCode::InvalidRequest, 400));
    let e = ClientCredentials::parse(&params(&[("client_id", "other")]), &basic).unwrap_err();
    assert!(e.description.contains("differs"));
    let body =
        ClientCredentials::parse(&params(&[("client_id", "id"), ("client_secret", " s ")]), &ClientAuth::default());
    assert_eq!(body.unwrap().unwrap().client_secret.unwrap().expose(), "s");
    assert!(ClientCredentials::parse(&params(&[]), &ClientAuth::default()).unwrap().is_none());
    let empty = ClientAuth { basic: Some(("id".into(), String::new())) };
    assert!(ClientCredentials::parse(&params(&[]), &empty).unwrap().unwrap().client_secret.is_none());
}

#[test]
fn consent_forms_and_callbacks_are_read_as_sent() {
    let f = ConsentForm::parse(&params(&[("request", " r "), ("decision", "allow")]));
    assert_eq!(f, ConsentForm { request: " r ".into(), csrf: String::new(), decision: Some(Decision::Allow) });
    assert_eq!(ConsentForm::parse(&params(&[("decision", "maybe")])).decision, None);
    let c = CallbackRequest::parse(&params(&[("code", " c "), ("error", "")]));
    assert_eq!((c.state.as_str(), c.code.as_deref(), c.error), ("", Some("c"), None));
}

/// The answers serialise exactly as the `json!` values they replace.
#[test]
fn answers_serialise_as_before() {
    let t = TokenResponse { access_token: "a".into(), token_type: "Bearer", expires_in: 60, refresh_token: None };
    let old = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60});
    assert_eq!(serde_json::to_string(&t).unwrap(), old.to_string());
    let t = TokenResponse { refresh_token: Some("r".into()), ..t };
    let mut old = old;
    old.as_object_mut().unwrap().insert("refresh_token".into(), json!("r"));
    assert_eq!(serde_json::to_string(&t).unwrap(), old.to_string());
    assert_eq!(
        serde_json::to_string(&IntrospectionResponse::inactive()).unwrap(),
        json!({"active": false}).to_string()
    );
    let a = Authenticated {
        upstream: Secret::new("u"),
        subject: "me".into(),
        client_id: "c".into(),
        audience: "https://x.example/mcp".into(),
        expires_at: 99,
    };
    let old = json!({"active": true, "token_type": "Bearer", "exp": 99, "aud": "https://x.example/mcp", "sub": "me",
                     "iss": "https://x.example"});
    assert_eq!(
        serde_json::to_string(&IntrospectionResponse::active(&a, "https://x.example")).unwrap(),
        old.to_string()
    );
}

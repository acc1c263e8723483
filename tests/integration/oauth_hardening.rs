//! The OAuth attack suite's second half: the regressions of issue 14
//! ("hardening"), each an attack or a failure the proxy once let through.
//! Each test names its item; the first half is `the_attack_suite_is_refused`
//! in `oauth.rs`.
//!
//! - 5: consent is bound to the (client, redirect URI) pair, in both modes;
//! - 10: `/authorize` errors are pages until the user consented to the pair.

use docspace_mcp::sandbox::oauth as sandbox_oauth;
use docspace_mcp_client::reqwest;

use crate::common::oauth::*;
use crate::common::server::{OAuth, TestServer};

/// The consent cookie a browser got for allowing `flow`.
async fn consent_cookie(http: &reqwest::Client, base: &str, flow: &Flow) -> String {
    let (_, _, consent) = consent_page(http, &flow.url(base, &[])).await;
    let r = decide(http, base, &consent.expect("the consent page"), "allow", true).await;
    assert_eq!(r.status(), 303);
    set_cookies(&r).into_iter().find(|c| c.starts_with("docspace_mcp_consent=")).expect("a consent cookie")
}

/// Item 5: after a user allowed a client once, a link with another redirect
/// URI for the same client shows the consent page again (naming that URI)
/// instead of sending the code there.
#[tokio::test(flavor = "multi_thread")]
async fn consent_is_bound_to_the_redirect_uri() {
    for mode in [OAuth::Shared, OAuth::Own] {
        let s = TestServer::builder().oauth(mode).start().await;
        let b = s.base.as_str();
        let http = browser();
        let (client, elsewhere) = match mode {
            OAuth::Shared => {
                (register(b, &[REDIRECT, "https://app.example/cb"], "Two URIs").await, "https://app.example/cb")
            }
            OAuth::Own => (sandbox_oauth::CLIENT_ID.to_owned(), "https://attacker.example/cb"),
        };
        let flow = Flow::new(&client, REDIRECT);
        let cookie = consent_cookie(&http, b, &flow).await;
        let r = http.get(flow.url(b, &[])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 302, "{mode:?}: the same client and redirect URI go straight on");
        assert!(location(&r).starts_with(&format!("{}/oauth2/authorize?", s.portal.base_url())), "{mode:?}");
        let attack = Flow::new(&client, elsewhere);
        let r = http.get(attack.url(b, &[])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{mode:?}: another redirect URI asks again");
        assert!(r.headers().get("location").is_none(), "{mode:?}");
        assert!(r.text().await.unwrap().contains(elsewhere), "{mode:?}: the page names the new redirect URI");
    }
}

/// Item 10: an invalid authorization request is shown on a page, never
/// redirected, until the user consented to the client with that redirect
/// URI; after that, errors go back to the client (RFC 6749 §4.1.2.1).
#[tokio::test(flavor = "multi_thread")]
async fn authorize_errors_are_pages_until_the_user_consented() {
    for mode in [OAuth::Shared, OAuth::Own] {
        let s = TestServer::builder().oauth(mode).start().await;
        let b = s.base.as_str();
        let http = browser();
        let client = match mode {
            OAuth::Shared => register(b, &[REDIRECT, "https://evil.example/cb"], "Open redirector").await,
            OAuth::Own => sandbox_oauth::CLIENT_ID.to_owned(),
        };
        for uri in [REDIRECT, "https://evil.example/cb"] {
            let flow = Flow::new(&client, uri);
            for extra in [[("response_type", "token")], [("code_challenge_method", "plain")]] {
                let r = http.get(flow.url(b, &extra)).send().await.unwrap();
                assert_eq!(r.status(), 400, "{mode:?} {uri} {extra:?}");
                assert!(r.headers().get("location").is_none(), "{mode:?} {uri} {extra:?}: no redirect before consent");
                let page = r.text().await.unwrap();
                assert!(page.contains("is not valid"), "{mode:?} {uri}: {page}");
            }
        }
        let flow = Flow::new(&client, REDIRECT);
        let cookie = consent_cookie(&http, b, &flow).await;
        let r = http.get(flow.url(b, &[("response_type", "token")])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 302, "{mode:?}: consented, so the error goes to the client");
        assert!(location(&r).starts_with(REDIRECT), "{mode:?}");
        let q = query_of(&location(&r));
        assert_eq!((q["error"].as_str(), q["state"].as_str()), ("unsupported_response_type", flow.state.as_str()));
        let other = Flow::new(&client, "https://evil.example/cb");
        let r = http.get(other.url(b, &[("response_type", "token")])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 400, "{mode:?}: consent to one redirect URI does not cover another");
    }
}

//! The proxy's own pages: the consent page (which client, which redirect URI,
//! which DocSpace sign-in — before anything is sent upstream) and the page
//! that says why a sign-in cannot go on. Plain HTML with inline style, no
//! script; the handler adds `X-Frame-Options: DENY` and a CSP.

use super::protocol::ConsentPage;

/// HTML-escapes `s` for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px;word-break:break-all}\
.warn{background:#fff6e0;border:1px solid #f0d48a;padding:.6rem .8rem;border-radius:4px}\
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem;border-radius:4px;border:1px solid #888;cursor:pointer}\
#allow{background:#2d6cdf;color:#fff;border-color:#2d6cdf}";

/// The consent page; the form posts to `action`.
pub(crate) fn page(p: &ConsentPage, action: &str) -> String {
    let name = p.client_name.as_deref().map_or_else(
        || "An MCP client that gave no name".to_owned(),
        |n| format!("<strong id=\"client-name\">{}</strong>", escape(n)),
    );
    let host = url::Url::parse(&p.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| p.redirect_uri.clone());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Allow access to DocSpace?</title><style>{STYLE}</style></head><body>\
         <h1>Allow access to your DocSpace?</h1>\
         <p>{name} (<code id=\"client-id\">{label}</code>) asks to use ONLYOFFICE DocSpace tools on your behalf \
         through this MCP server.</p>\
         <p>If you allow it, you will sign in to <code id=\"portal\">{portal}</code>, and the authorization will be \
         sent to:</p><p><code id=\"redirect-uri\">{redirect}</code></p>\
         <p class=\"warn\">Continue only if you started this sign-in from your MCP client yourself and you trust \
         <strong>{host}</strong>. Otherwise choose Deny.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\
         </form></body></html>",
        label = escape(&p.client_label),
        portal = escape(&p.portal),
        redirect = escape(&p.redirect_uri),
        host = escape(&host),
        action = escape(action),
        request = escape(&p.request),
        csrf = escape(&p.csrf),
    )
}

/// A page saying why the sign-in stops.
pub(crate) fn message_page(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in stopped</title>\
         <style>{STYLE}</style></head><body><h1>This sign-in cannot continue</h1><p id=\"error\">{}</p></body></html>",
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        let p = ConsentPage {
            client_name: Some("<script>alert(1)</script>".into()),
            client_label: "id\"><b>".into(),
            redirect_uri: "https://evil.example/cb?a=<x>".into(),
            portal: "https://portal.example".into(),
            request: "r\"".into(),
            csrf: "c'".into(),
        };
        let html = page(&p, "/authorize");
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("a=<x>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && html.contains("evil.example"));
        assert!(message_page("<i>x</i>").contains("&lt;i&gt;"));
    }
}

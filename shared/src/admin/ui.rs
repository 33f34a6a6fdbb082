//! The dashboard: three static files compiled into the binary, served at `/admin/` under a strict
//! Content-Security-Policy (same-origin scripts, styles and requests only; no inline script or style, no
//! framing, no plugins). It signs in with an admin API key kept in `sessionStorage` (never a cookie or a
//! URL) and calls the admin API with it; everything a backend supplied is rendered as text.

use ::http::{header, HeaderValue, Method, Response, StatusCode};
use lambda_http::{Body, Request};

use super::AdminError;

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/app.css");

/// Nothing but this origin's own files and API; `'none'` for everything the page does not use.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) fn serve(request: &Request, path: &str) -> Result<Response<Body>, AdminError> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(AdminError::MethodNotAllowed("GET"));
    }
    let (body, content_type) = match path {
        "" | "/" | "/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/app.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return Err(AdminError::NotFound("no such page".into())),
    };
    let mut response = crate::http::text(StatusCode::OK, content_type, body.to_owned());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if request.method() == Method::HEAD {
        *response.body_mut() = Body::Empty;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_nothing_foreign() {
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="), "inline code would need 'unsafe-inline'");
        assert!(!INDEX.contains("http://") && !INDEX.contains("https://"), "no CDN, nothing foreign");
        assert!(
            !SCRIPT.contains("innerHTML") && !SCRIPT.contains("outerHTML") && !SCRIPT.contains("insertAdjacentHTML")
        );
        assert!(!SCRIPT.contains("eval(") && !SCRIPT.contains("localStorage") && !SCRIPT.contains("document.cookie"));
    }
}

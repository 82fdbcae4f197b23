"""The security headers the web app is served with.

One source for two users: the frontend tier's CloudFront response headers policy, and the
loopback stand-in for CloudFront in ``app/e2e/edge_proxy.py``, so that the browser test
runs the built app under exactly the policy production sends.
"""

from __future__ import annotations

# The app loads only its own hashed script and stylesheet and calls /api on the same origin:
# nothing inline, no eval, no third-party origin, and no framing (clickjacking, PCI DSS 6.4.3).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# HSTS for a year, for every subdomain, with ``preload``: the form browsers' preload list
# requires (a year at least, includeSubDomains). The directive alone commits nothing: a
# domain joins the list only when its owner submits the registrable domain at
# hstspreload.org, which then binds every subdomain to HTTPS (docs/security.md).
HSTS_MAX_AGE_SECONDS = 31536000
STRICT_TRANSPORT_SECURITY = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains; preload"

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": STRICT_TRANSPORT_SECURITY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}

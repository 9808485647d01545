"""A flow run's cookie jar, offered only the responses that set a cookie.

httpx hands every response to its cookie jar, and builds a urllib request and response around it
first so that the standard library's CookieJar can read them: in a profile of the benchmark that
was about 8% of the client's time per request, for responses that set no cookie at all (most API
responses). Only the `Set-Cookie` header can add a cookie (RFC 6265; `Set-Cookie2` is obsolete
and httpx's jar ignores it too), so a response without one is not offered.
"""

from __future__ import annotations

import httpx


class _Cookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def lean_cookies(client: httpx.AsyncClient | httpx.Client) -> None:
    """Give `client` the jar above, holding the same cookies. httpx keeps its jar in `_cookies`
    (every release since 0.18); if a release moves it, the client keeps httpx's own jar."""
    current = getattr(client, "_cookies", None)
    if type(current) is httpx.Cookies:
        client._cookies = _Cookies(current.jar)

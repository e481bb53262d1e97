"""Credentials out of URLs before they reach a message, a log, a report or a checkpoint."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry a credential (libpq's password and sslpassword, common API tokens).
SECRET_PARAMS = frozenset(
    {"password", "passwd", "pwd", "sslpassword", "secret", "token", "access_token", "api_key", "apikey", "key"}
)


def redacted(url: str) -> str:
    """``url`` with its whole user part (name and password) and every credential parameter masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL (a bad IPv6 host): mask anything before an @
        return re.sub(r"//[^/?#]*@", f"//{MASK}@", url)
    netloc = f"{MASK}@{parts.netloc.rpartition('@')[2]}" if "@" in parts.netloc else parts.netloc
    params = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(key.lower() in SECRET_PARAMS for key, _ in params):
        masked = [(key, MASK if key.lower() in SECRET_PARAMS else value) for key, value in params]
        query = urlencode(masked, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))

"""Optional bearer-token authentication shared by both receivers."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from agenttrace.collector.errors import Unauthenticated


class BearerAuth:
    """Accepts ``Authorization: Bearer <token>`` for any configured token; none = open."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [t.encode() for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def check(self, authorization: str | None) -> None:
        if not self._tokens:
            return
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
        candidate = presented.strip().encode()
        # Compare against every token so timing reveals neither which one matched nor how far.
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(candidate, token)
        if not matched:
            raise Unauthenticated("invalid bearer token")

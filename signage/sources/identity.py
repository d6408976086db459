"""Stable ids for upstreams whose records carry none (MyTimetable's events, the WebUntis
monitor's rows): a blake2b digest of the record's content, the same in every process (never
`hash()`, which Python salts per process)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

ID_BYTES = 6  # 48-bit ids: exact in JSON everywhere (JavaScript too), collisions negligible


def stable_id(*parts: Any) -> int:
    """Return a 48-bit integer id for JSON-able parts, the same in every process."""
    data = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=ID_BYTES).digest(), "big")

"""The sample `signage check --save-sample DIR` writes: the upstream's answers, people hidden.

`SampleWriter.record` is a requests response hook on the check's own session: it keeps every
JSON body the adapter received, in order, and `write` puts them into DIR as numbered files named
by the request path (`003-WebUntis_api_rest_extern_v3_timetable.json`; a JSON-RPC answer adds its
method). Never the query string (UniTime's token rides there), never headers, never a request body
(JSON-RPC's carries the password). Before writing:

- people's names become pseudonyms: "Teacher-", "Student-" or "Person-" and 6 hex digits of an
  HMAC-SHA256 of the name. The key is random per sample and never written: the same name maps to
  the same pseudonym in every file of a sample, but a teacher's three initials cannot be found
  again by hashing every guess, as a plain sha256 would allow;
- such a name standing in any other text (a note "Vertretung durch MÜL") is replaced the same way;
- credentials an answer carries (an access token, a JSON-RPC session id) become "(hidden)", and
  so does any configured secret found in a text.

Where people stand, per source: WebUntis v3 `masterData.teachers`/`students` (`displayName`,
`externKey`, …); Affect IT the objects of `/teachers` and `/students`; JSON-RPC `getTeachers`,
`getStudents` and the `te` entries of `getTimetable`; UniTime an event's `instructors` and
`contact`; MyTimetable `staffMembers`, `students` and the `staff`/`student`/`user` listings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from html.entities import codepoint2name
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

HIDDEN = "(hidden)"
# Keys whose value lists (or is) people, anywhere in an answer, and the pseudonyms' prefix.
PEOPLE = {"teachers": "Teacher", "students": "Student", "staffmembers": "Teacher",
          "instructors": "Teacher", "te": "Teacher", "contact": "Person", "staff": "Teacher"}
# A person's fields that name them (lower case); ids and statuses stay.
NAME_FIELDS = frozenset({
    "displayname", "externkey", "externalkey", "externalid", "name", "longname", "shortname",
    "forename", "firstname", "lastname", "middlename", "formattedname", "fullname", "email",
    "orgname", "initials", "abbreviation", "description", "value",
})
CREDENTIAL_FIELDS = frozenset({
    "access_token", "refresh_token", "id_token", "token", "apitoken", "api_key", "apikey",
    "sessionid", "password", "secret", "client_secret",
})
# Answers that are a list of people as a whole: by the path's last segment, JSON-RPC method, or
# MyTimetable listing type.
PEOPLE_PATHS = {"teachers": "Teacher", "students": "Student"}
PEOPLE_METHODS = {"getTeachers": "Teacher", "getStudents": "Student"}
PEOPLE_LISTINGS = {"staff": "Teacher", "student": "Student", "user": "Person"}
SHORT_NAME_CHARS = 5  # shorter names ("MÜL") are replaced in texts only as they are spelt
PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,40}")


class SampleWriter:
    """Collects the upstream's JSON answers (`record`) and writes them pseudonymised (`write`)."""

    def __init__(self, folder: Path, hidden: Iterable[str] = ()) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._hidden = sorted({s for s in hidden if len(s) >= 4}, key=len, reverse=True)
        self._key = secrets.token_bytes(32)
        self._answers: list[tuple[str, Any, str | None]] = []  # (name, body, people's role)
        self._names: dict[str, str] = {}  # real name -> pseudonym

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the answer's body when it is JSON (a response hook)."""
        if not response.content:
            return
        try:
            body = json.loads(response.content)
        except ValueError:  # an HTML error page: not an answer the adapter could use anyway
            return
        url = urlsplit(response.url or "")
        method = _rpc_method(response.request.body if response.request is not None else None)
        role = PEOPLE_PATHS.get(url.path.rstrip("/").rsplit("/", 1)[-1])
        role = role or PEOPLE_METHODS.get(method or "")
        if url.path.endswith("/timetables"):
            role = role or PEOPLE_LISTINGS.get(parse_qs(url.query).get("type", [""])[0])
        self._answers.append((self._file_name(url.path, method), body, role))

    def write(self, teachers: Iterable[str] = ()) -> int:
        """Write every answer kept, pseudonymised; return how many files were written.
        `teachers` are names to hide in any text too, as spelt and HTML-escaped (`M&Uuml;L`)."""
        bodies = [self._people(body, role, top=True) for _, body, role in self._answers]
        for name in teachers:
            if name.strip():
                self._names.setdefault(_entities(name), self.pseudonym("Teacher", name))
        pattern = self._names_pattern()
        for number, ((name, _, _), body) in enumerate(zip(self._answers, bodies, strict=True), 1):
            text = json.dumps(self._texts(body, pattern), ensure_ascii=False, indent=1)
            (self.folder / f"{number:03d}-{name}.json").write_text(text + "\n", encoding="utf-8")
        return len(bodies)

    def pseudonym(self, role: str, name: str) -> str:
        """Return the stable pseudonym of a name within this sample."""
        if name not in self._names:
            self._names[name] = f"{role}-{self._digest(name)}"
        return self._names[name]

    def _digest(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:6]

    def _people(self, value: Any, role: str | None, top: bool = False) -> Any:
        """Return `value` with people's names (under `role`) and credentials replaced."""
        if isinstance(value, list):
            return [self.pseudonym(role, v) if role and isinstance(v, str) and v.strip()
                    else self._people(v, role) for v in value]
        if not isinstance(value, dict):
            return value
        found = {}
        for key, item in value.items():
            folded = key.lower()
            if folded in CREDENTIAL_FIELDS and isinstance(item, str):
                found[key] = HIDDEN
            elif role and folded in NAME_FIELDS and isinstance(item, str) and item.strip():
                found[key] = self.pseudonym(role, item)
            elif top and role and isinstance(item, list):  # {"result": [people]} and the like
                found[key] = self._people(item, role)
            else:
                found[key] = self._people(item, PEOPLE.get(folded))
        return found

    def _names_pattern(self) -> re.Pattern[str] | None:
        """Return a pattern finding the names met anywhere in a text (as whole words)."""
        words = sorted((n for n in self._names if len(n.strip()) >= 2), key=len, reverse=True)
        if not words:
            return None
        short = "|".join(re.escape(w) for w in words if len(w) < SHORT_NAME_CHARS)
        long_ = "|".join(f"(?i:{re.escape(w)})" for w in words if len(w) >= SHORT_NAME_CHARS)
        either = "|".join(part for part in (long_, short) if part)
        return re.compile(rf"(?<![^\W_])(?:{either})(?![^\W_])")

    def _texts(self, value: Any, pattern: re.Pattern[str] | None) -> Any:
        """Return `value` with names in any text pseudonymised and configured secrets hidden."""
        if isinstance(value, list):
            return [self._texts(v, pattern) for v in value]
        if isinstance(value, dict):
            return {k: self._texts(v, pattern) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        for secret in self._hidden:
            value = value.replace(secret, HIDDEN)
        if pattern is not None and value not in self._names.values():
            value = pattern.sub(lambda m: self._names.get(m[0]) or self._folded(m[0]), value)
        return value

    def _folded(self, found: str) -> str:
        return next(p for n, p in self._names.items() if n.casefold() == found.casefold())

    def _file_name(self, path: str, method: str | None) -> str:
        """Return a file name for an answer: the path's segments (any that is no plain word, a
        key that might hold a name, as a pseudonym) and a JSON-RPC method."""
        parts = [s if PLAIN_SEGMENT.fullmatch(s) else "key-" + self._digest(s)
                 for s in path.split("/") if s]
        if method and PLAIN_SEGMENT.fullmatch(method):
            parts.append(method)
        return "_".join(parts)[:120] or "root"


def _entities(text: str) -> str:
    """Return `text` with every character that has a named HTML entity written as one."""
    return "".join(f"&{codepoint2name[ord(c)]};" if ord(c) > 127 and ord(c) in codepoint2name
                   else c for c in text)


def _rpc_method(body: Any) -> str | None:
    """Return a JSON-RPC request's method (nothing else of a body that holds a password)."""
    if not body:
        return None
    try:
        request = json.loads(body)
    except (ValueError, TypeError):
        return None
    method = request.get("method") if isinstance(request, dict) else None
    return method if isinstance(method, str) else None

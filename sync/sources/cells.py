"""Characters no HR cell may hold, found before a row goes anywhere near the database.

PostgreSQL ``text`` and ``jsonb`` cannot store U+0000, and no encoding can store a lone
surrogate (a JSON API can send ``"\\ud800"``): one such cell used to abort the whole import
with a traceback. Control characters have no place in a name, an address or a date either;
they come from a broken export (a binary field dumped into the file, a legacy encoding read
as Latin-1). So a row holding one is rejected, with its column and the character, on every
database, and the rest of the feed goes on.

Allowed: tab, line feed and carriage return (a quoted CSV cell may legitimately span
lines, and a tab inside a quoted cell is just text). Refused: every other C0 control
(U+0000-U+001F), DEL (U+007F), the C1 controls (U+0080-U+009F: cp1252 text read as
Latin-1) and surrogates (U+D800-U+DFFF). Undecodable bytes in a file never get this far:
``decoding`` rejects their rows first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_forbidden(text: str) -> bool:
    """One C-speed scan: a whole file's text, or one cell."""
    return FORBIDDEN.search(text) is not None


def forbidden_problem(values: Mapping[str, str]) -> str | None:
    """Why the row is rejected (the first bad column, the character and where), or None."""
    for column, value in values.items():
        found = FORBIDDEN.search(value)
        if found is not None:
            return (f"{column}: holds the control character {_name(found.group())} at character "
                    f"{found.start() + 1}: fix the cell in the HR system (or the export)")
    return None


def visible(values: Mapping[str, str]) -> dict[str, str]:
    """The row with each forbidden character written as an escape (``\\x00``), so the
    rejects report, a held run and the audit log can keep it on any database."""
    return {escaped(column): escaped(value) for column, value in values.items()}


def escaped(text: str) -> str:
    return FORBIDDEN.sub(lambda m: _escape(m.group()), text)


def _escape(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _name(char: str) -> str:
    return f"U+{ord(char):04X}"

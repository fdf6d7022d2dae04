"""The canonical key of a userName or group name: one spelling for "the same" name.

Identity providers, HR feeds and the BI platform spell one person's userName in many
ways that look identical: "José" composed (NFC) or decomposed (NFD), full-width letters
from an East Asian input method, stray spaces, zero-width characters pasted from a chat,
"STRASSE" and "straße". hr2bi decides uniqueness, matching and planning on the key
below, never on the raw text, so each of those is one account.

* NFKC, not just NFC: compatibility forms (full-width "ｊｏｓｅ", ligatures, the "ﬁ"
  of a PDF copy) are the same letters to a person reading a login screen (UTS #39 treats
  them as confusable); NFKC folds them, and it includes NFC.
* ``casefold()`` (Unicode full case folding), not ``lower()``: "ß" and "SS" compare equal,
  as they do for a human; NFKC is applied again after folding because folding can
  produce unnormalised text.
* Leading and trailing whitespace is trimmed; default-ignorable code points (zero-width
  space and joiners, BOM, soft hyphen, bidi controls, variation selectors...) are removed
  from the key. The SCIM endpoint refuses them in a userName outright (``has_invisible``);
  group names and names from other feeds keep them as sent, only the key drops them.

No imports from the rest of hr2bi: ``scim`` and every part of ``sync`` use this module.
"""

from __future__ import annotations

import re
import unicodedata

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt, stable since 6.x).
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def name_key(name: str) -> str:
    """The canonical key: NFKC, case-folded, trimmed, default-ignorables removed."""
    return fold(name).strip()


def fold(text: str) -> str:
    """``name_key`` without the trimming: for a prefix or substring of a name (``sw "ad"``)."""
    text = _IGNORABLE.sub("", text)
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def has_invisible(name: str) -> bool:
    """Whether ``name`` holds a default-ignorable (invisible) code point."""
    return _IGNORABLE.search(name) is not None

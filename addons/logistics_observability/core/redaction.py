"""Bounded redaction: secrets masked in any text, in time linear in the (truncated) text.

Text is truncated *before* it is redacted (:func:`truncate`), and :func:`redact` finds its
keywords with plain substring searches, then runs only anchored patterns with bounded
quantifiers at those places; in a long text, keywords are searched only near ``:``/``=``
separators. Used by the JSON log formatter (:mod:`.logfmt`) and the traceback text
(:mod:`.tracebacks`).
"""

import re
import sys

REDACTED = "[REDACTED]"

#: Longest ``msg`` / ``exc.message`` kept (head and tail of longer text, see :func:`truncate`).
MAX_MSG = 2048
#: Longest value of an ``extra=`` string field.
MAX_FIELD = 1024
_TAIL = 512
#: Past this many secrets in one text, the rest of it is masked wholesale (bounded cost).
MAX_SECRETS = 8
_MARK = "...[truncated]..."  # no space nor quote: an access line still parses around it

# Secret keywords (lowercase) found by substring search; each hit is checked by an
# anchored pattern with bounded quantifiers, so no input makes redaction super-linear.
_KEY_SUFFIX = r"[\w\-]{0,32}[\"']?\s{0,8}[:=]\s{0,8}"
_VALUE = r"(\"[^\"\n]{0,4096}\"?|'[^'\n]{0,4096}'?|[^\s&,;}\])\"']+)"
_KV = re.compile(r"(?i)(?:password|passwd|pwd|secret|token|key|session_id)" + _KEY_SUFFIX + _VALUE)
_KEY_PREFIX = re.compile(r"(?:api|access|private)[_-]?\Z")  # "key" alone is not a secret name
_AUTH = re.compile(
    r"(?i)authorization"
    + _KEY_SUFFIX
    + r"([\"']?)(?:(bearer|basic|digest|token|negotiate)\s{1,8})?([^\s'\",;}]+)"
)
_BEARER = re.compile(r"(?i)bearer\s{1,8}(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}")
_USERINFO = re.compile(r"://([^/\s@\"'<>]+)@")
_TRIGGERS = ("passw", "pwd", "secret", "token", "key", "session_id", "authorization", "bearer", "://")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def truncate(text, limit=MAX_MSG):
    """``text`` if short, else its head and its last ``_TAIL`` characters around a marker."""
    if len(text) <= limit:
        return text
    tail = min(_TAIL, limit // 4)
    return text[: limit - tail - len(_MARK)] + _MARK + text[-tail:]


#: Every trigger but "bearer" stands just before a ``:`` or ``=`` (its own for "://"): at most
#: this many characters from the keyword's start to that separator (``authorization`` + the suffix).
_REACH = 13 + 32 + 1 + 8
#: More separators than this: scan the whole text for every keyword (still linear).
MAX_ANCHORS = 16
_ANCHORED = tuple(w for w in _TRIGGERS if w != "bearer")
_WHOLE = tuple((w, 0, sys.maxsize) for w in _TRIGGERS)  # every keyword, end to end


def _windows(low):
    """Disjoint (start, end) ranges of a long text where an anchored keyword can stand, or None
    for all of it.

    Separators are found with single-character searches (memchr speed); a long text with a few
    of them is searched for keywords only near them, instead of once per keyword end to end.
    """
    anchors = []
    for sep in ":=":
        pos = low.find(sep)
        while pos != -1:
            if len(anchors) >= MAX_ANCHORS:
                return None
            anchors.append(pos)
            pos = low.find(sep, pos + 1)
    anchors.sort()
    windows = []
    for pos in anchors:
        start, end = max(0, pos - _REACH), pos + 3  # "://" starts at its separator
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    return windows


def _spans(text, low):
    """(start, end, replacement) of every secret in ``text``; ``low`` is its ASCII lowercase."""
    found = []
    windows = _windows(low) if len(low) > 4 * _REACH else None
    if windows is None:
        searches = _WHOLE
    else:
        searches = [("bearer", 0, len(low))]
        searches += [(word, start, end) for start, end in windows for word in _ANCHORED]
    for word, start, end in searches:
        pos = low.find(word, start, end)
        while pos != -1:
            if len(found) >= MAX_SECRETS:
                return found, _first_trigger(low, pos)
            span = _match(text, low, word, pos)
            if span:
                found.append(span)
            pos = low.find(word, span[1] if span else pos + 1, end)
    if len(found) > 1:
        found.sort()
        kept, last = [], -1
        for span in found:
            if span[0] >= last:  # overlapping hits: the first one wins
                kept.append(span)
                last = span[1]
        found = kept
    return found, None


def _first_trigger(low, cut):
    """Where the first keyword of ``low`` stands (one is at ``cut``): each search ends at the best so far."""
    for word in _TRIGGERS:
        pos = low.find(word, 0, cut)
        if pos != -1:
            cut = pos
    return cut


def _match(text, low, word, pos):
    if word == "://":
        m = _USERINFO.match(text, pos)
        return (m.start(1), m.end(1), REDACTED) if m else None
    if word == "bearer":
        m = _BEARER.match(text, pos)
        return (pos, m.end(), text[pos : pos + 6] + " " + REDACTED) if m else None
    if word == "authorization":
        m = _AUTH.match(text, pos)
        if not m or m.group(3).startswith(REDACTED):
            return None
        scheme = m.group(2) + " " if m.group(2) else ""
        return (m.start(1), m.end(3), m.group(1) + scheme + REDACTED)
    if word == "key" and not _KEY_PREFIX.search(low, max(0, pos - 8), pos):
        return None
    m = _KV.match(text, pos)
    if not m or text.startswith(REDACTED, m.start(1) + (text[m.start(1)] in "\"'")):  # done already
        return None
    value = m.group(1)
    quote = value[:1] if value[:1] in "\"'" else ""
    replacement = quote + REDACTED + quote
    return (m.start(1), m.end(1), replacement)


#: Any keyword, case-insensitively: a short text without one is returned as it is after one
#: search (most messages and fields). ``re.I`` matches a superset of the ASCII-lowered keywords.
_ANY_TRIGGER = re.compile("|".join(re.escape(w) for w in _TRIGGERS), re.I)
_SHORT = 4 * _REACH


def redact(text):
    """Return ``text`` with passwords, tokens, API keys, Authorization values and URL
    credentials masked. Linear in ``len(text)``; callers truncate first."""
    if not text or (len(text) <= _SHORT and _ANY_TRIGGER.search(text) is None):
        return text
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters change length when lowered
        low = text.translate(_ASCII_LOWER)
    spans, cut = _spans(text, low)
    if cut is not None:  # too many secrets to check one by one: mask all from the first one
        return text[:cut] + REDACTED
    if not spans:
        return text
    parts, last = [], 0
    for start, end, replacement in spans:
        parts.append(text[last:start])
        parts.append(replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def text_of(value):
    """``str(value)``, or ``<type name>`` when that raises."""
    try:
        return str(value)
    except Exception:
        return "<%s>" % type(value).__name__


def short_str(value):
    """``default=`` of json.dumps: a bounded string for any object, never raising."""
    return redact(truncate(text_of(value), MAX_FIELD))

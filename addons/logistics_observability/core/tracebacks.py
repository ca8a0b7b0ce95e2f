"""Traceback text: what Python prints for an exception (chained ones too), in bounded time.

Each frame's lines are formatted and redacted once per process (a cache keyed by code object
and line), the column carets are left out, a frame repeated more than three times in a row is
told in one line, and only the last :data:`MAX_STACK` characters are kept.
"""

import linecache
import traceback

from .redaction import MAX_FIELD, MAX_MSG, redact, short_str, text_of, truncate

#: Longest ``exc.stack`` / ``stack`` kept (their tail: the innermost frames).
MAX_STACK = 8192

# (id(code), line) -> (code, the frame's lines as a traceback shows them, redacted); the code
# object is held, so its id cannot be reused while the entry exists
_FRAMES = {}
MAX_FRAMES_CACHED = 20000
MAX_CHAIN = 8  # chained exceptions (cause / context) shown at most
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _frame(code, lineno):
    hit = _FRAMES.get((id(code), lineno))
    if hit is not None and hit[0] is code:
        return hit[1]
    line = linecache.getline(code.co_filename, lineno or 0).strip()
    text = '  File "%s", line %s, in %s\n' % (code.co_filename, lineno, code.co_name)
    text = redact(truncate(text + ("    %s\n" % line if line else ""), MAX_FIELD))
    if len(_FRAMES) < MAX_FRAMES_CACHED:
        _FRAMES[id(code), lineno] = (code, text)
    return text


def _repeated(count):
    count -= 3
    return "  [Previous line repeated %d more time%s]\n" % (count, "s" if count > 1 else "")


def _frames(tb, parts):
    """The frames of ``tb`` as Python prints them (without the column carets; a line seen more
    than three times in a row told in one line); each frame's text is formatted and redacted once."""
    last_code, last_line, count = None, None, 0
    append = parts.append
    while tb is not None:
        code, line = tb.tb_frame.f_code, tb.tb_lineno
        tb = tb.tb_next
        if code is not last_code or line != last_line:
            if count > 3:
                append(_repeated(count))
            last_code, last_line, count = code, line, 0
        count += 1
        if count <= 3:
            append(_frame(code, line))
    if count > 3:
        append(_repeated(count))


def _exception_only(etype, evalue, message):
    if isinstance(evalue, SyntaxError):  # its text shows the offending line
        return redact(truncate("".join(traceback.format_exception_only(etype, evalue)), MAX_MSG))
    name = getattr(etype, "__qualname__", None) or str(etype)
    module = getattr(etype, "__module__", None)
    if isinstance(module, str) and module not in ("__main__", "builtins"):
        name = module + "." + name
    text = "%s: %s\n" % (name, message) if message else name + "\n"
    for note in (getattr(evalue, "__notes__", None) or ())[:8] if evalue is not None else ():
        text += redact(truncate(short_str(note), MAX_FIELD)) + "\n"
    return text


def format_exception(etype, evalue, tb, message):
    """The traceback text Python prints (chained exceptions too), in bounded time: the frames'
    text comes from a cache, ``message`` (of ``evalue``) is already truncated and redacted, the
    other exceptions' messages are; the last ``MAX_STACK`` characters are kept."""
    chain = [(etype, evalue, tb, message, "")]  # the last one first; sep: what follows it when printed
    seen = {id(evalue)}
    exc = evalue
    while exc is not None and len(chain) < MAX_CHAIN:
        cause = exc.__cause__
        if cause is not None:
            sep = _CAUSE
        elif exc.__context__ is not None and not exc.__suppress_context__:
            cause, sep = exc.__context__, _CONTEXT
        else:
            break
        if id(cause) in seen:
            break
        seen.add(id(cause))
        chain.append((type(cause), cause, cause.__traceback__, redact(truncate(text_of(cause))), sep))
        exc = cause
    parts = []
    for etype_, evalue_, tb_, message_, sep in reversed(chain):
        if tb_ is not None:
            parts.append("Traceback (most recent call last):\n")
            _frames(tb_, parts)
        parts.append(_exception_only(etype_, evalue_, message_))
        if sep:
            parts.append(sep)
    return "".join(parts)[-MAX_STACK:]

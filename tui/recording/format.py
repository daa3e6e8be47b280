"""The recording format: a stream of msgpack maps, one record each, written append-only.

Invariants (the full description for other tools is ``recordings/README.md``):
- A file is a plain concatenation of msgpack objects. Each is a map with a ``k`` (kind) key. The first is the
  header. A record is only ever appended whole, so a file cut anywhere reads back to its last whole record.
- Timestamps ``t`` are integer microseconds of ``time.monotonic`` since the recording started.
- A websocket frame is stored parsed (``m``) with its base64 media payloads as raw msgpack ``bin`` and enough
  encoding facts (``j`` JSON style, ``b`` base64 flavour, ``bin`` binary opcode) to re-create the exact wire
  bytes; a frame that cannot be re-created exactly is stored verbatim (``raw``). Encoding is verified at write
  time, so decoding always gives back the wire bytes that were seen (after redaction).
- A ``bin`` identical to the payload of a recent ``in`` record is stored as a reference (msgpack ext type 1 holding
  that record's index) so mic audio and camera frames are not stored twice.
- Every record after the header is string-interned: the first time a string of 4..64 UTF-8 bytes appears (map
  keys and values, in msgpack order) it is stored literally and numbered; later copies are ext type 2 holding the
  number. Keys such as ``serverContent`` and values such as ``audio/pcm;rate=24000`` then cost 3-4 bytes.

Pure functions, no I/O: the writer thread and the reader call them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

import msgpack

try:  # ~20x faster than binascii on media payloads; the stdlib gives the same bytes where it is missing
    import pybase64 as _b64
except ImportError:  # pragma: no cover - a declared dependency
    _b64 = base64  # type: ignore[misc]

FORMAT_NAME: Final = "gemini-live-recording"
VERSION: Final = (1, 0)
"""(major, minor). A reader refuses another major; older minors are migrated, newer minors read best-effort."""

REF_EXT: Final = 1
"""msgpack ext type: a reference to the payload of an earlier ``in`` record (data = msgpack uint record index)."""
REF_WINDOW: Final = 1024
"""A reference points at most this many records back, so readers need to keep only a bounded window of blobs."""

STR_EXT: Final = 2
"""msgpack ext type: a reference to an interned string (data = its number, 1 or 2 bytes big-endian)."""
STR_MIN: Final = 4
STR_MAX: Final = 64
"""Strings of this many UTF-8 bytes (inclusive) are interned."""
STR_TABLE_MAX: Final = 65536
"""The table stops growing at this many strings (both sides apply the same rule, so they stay in step)."""

Direction: TypeAlias = Literal["c2s", "s2c"]

# JSON styles: how ``json.dumps`` must be called to re-create a frame's text exactly. The SDK sends style 0
# (Python's default); servers differ, so a few common shapes are tried and anything else is stored verbatim.
_JSON_STYLES: Final[tuple[dict[str, Any], ...]] = (
    {},
    {"separators": (",", ":")},
    {"ensure_ascii": False},
    {"separators": (",", ":"), "ensure_ascii": False},
    {"indent": 2, "ensure_ascii": False},
    {"indent": 2},
)

_B64_FLAVOURS: Final = ("u", "s", "un", "sn")
"""u: URL-safe padded (the SDK), s: standard padded, un/sn: the same without ``=`` padding."""
_MIN_BLOB_CHARS: Final = 4


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    """The first record: what made the file and how to replay it."""

    version: tuple[int, int]
    created: str
    """Wall-clock creation time, ISO 8601 UTC."""
    app: str
    sdk: str
    model: str
    config: dict[str, Any]
    """The client's settings (redacted), enough to start a client the same way."""
    description: str = ""
    redacted: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    """Any further header fields (tolerated, kept)."""


@dataclass(frozen=True, slots=True)
class Open:
    """A websocket connection opened: a new segment starts (a reconnect or resumption is segment 1, 2…)."""

    t_us: int
    seg: int
    url: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Frame:
    """One websocket frame. ``data`` is exactly what crossed the seam; ``msg`` is its JSON (None if not JSON)."""

    t_us: int
    direction: Direction
    data: str | bytes
    msg: Any
    seg: int = 0
    """The segment (connection) it belongs to: the number of the last ``open`` before it."""
    index: int = -1
    """The record's position in the file (the header is 0)."""


@dataclass(frozen=True, slots=True)
class Close:
    """The connection of the current segment closed (``code`` None when no close frame was seen)."""

    t_us: int
    seg: int
    code: int | None
    reason: str
    by: str | None = None
    """Who started the closing handshake: ``client``, ``server``, or None (unknown, or no close frame)."""


@dataclass(frozen=True, slots=True)
class Input:
    """A local input the client acted on (``FrameTap.on_input`` kinds: text, audio, frame, activity, action)."""

    t_us: int
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Gap:
    """The recorder dropped records (the disk could not keep up, or writing failed): the file is incomplete here."""

    t_us: int
    dropped: int
    dropped_bytes: int
    reason: str


@dataclass(frozen=True, slots=True)
class End:
    """Written by a clean close. A file without it was cut short (crash, kill, power loss)."""

    t_us: int
    records: int
    wire_bytes: int


Record: TypeAlias = Open | Frame | Close | Input | Gap | End


# --------------------------------------------------------------------------------------------------
# Base64 payloads
# --------------------------------------------------------------------------------------------------


def _b64_candidates(s: str) -> tuple[str, ...]:
    """Flavours that could have produced ``s`` (empty when ``s`` is not canonical base64 of any)."""
    return _candidates_of(len(s), "-" in s or "_" in s, "+" in s or "/" in s, s.endswith("="))


@functools.cache  # a handful of distinct arguments (the length only matters below 4 and modulo 4)
def _candidates_facts(short: bool, url: bool, std: bool, padded: bool, unpadded: bool) -> tuple[str, ...]:
    if short or (url and std):
        return ()
    out: list[str] = []
    for flav in _B64_FLAVOURS:
        is_url = flav.startswith("u")
        has_pad = not flav.endswith("n")
        if (is_url and std) or (not is_url and url):
            continue
        if (has_pad and unpadded) or (not has_pad and padded):
            continue
        out.append(flav)
    return tuple(out)


def _candidates_of(n: int, url: bool, std: bool, padded: bool) -> tuple[str, ...]:
    """:func:`_b64_candidates` from the facts about a string of ``n`` characters."""
    return _candidates_facts(n < _MIN_BLOB_CHARS, url, std, padded, n % 4 != 0)


def b64_encode(data: bytes, flavour: str) -> str:
    """Encode ``data`` in one of the stored flavours (u, s, un, sn)."""
    text = (_b64.urlsafe_b64encode(data) if flavour.startswith("u") else _b64.b64encode(data)).decode("ascii")
    return text.rstrip("=") if flavour.endswith("n") else text


def b64_flavour_of(s: str) -> str | None:
    """The flavour that re-creates ``s`` exactly from its decoded bytes, or None if ``s`` is not such base64."""
    cands = _b64_candidates(s)
    if not cands:
        return None
    raw = b64_decode(s)
    if raw is None:
        return None
    return next((flav for flav in cands if b64_encode(raw, flav) == s), None)


def json_style(obj: Any, text: str) -> dict[str, Any] | None:
    """The ``json.dumps`` keyword arguments that re-create ``text`` from ``obj``, or None."""
    i = _json_style_index(obj, text)
    return None if i is None else dict(_JSON_STYLES[i])


def _json_style_index(obj: Any, text: str) -> int | None:
    return next((i for i, kw in enumerate(_JSON_STYLES) if json.dumps(obj, **kw) == text), None)


def b64_decode(s: str) -> bytes | None:
    """Standard or URL-safe base64, padded or not, strictly (None when it is not base64)."""
    t = s.replace("-", "+").replace("_", "/") if "-" in s or "_" in s else s
    if len(t) % 4:
        t += "=" * (-len(t) % 4)
    try:
        return _b64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Frame codec
# --------------------------------------------------------------------------------------------------


class Ref:
    """A stored reference to the payload of input record ``index`` (resolved by the reader)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"Ref({self.index})"


class StrRef:
    """A stored reference to interned string ``index`` (resolved by :meth:`StringTable.resolve`)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __hash__(self) -> int:
        return hash(("StrRef", self.index))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StrRef) and other.index == self.index

    def __repr__(self) -> str:
        return f"StrRef({self.index})"


def ext_hook(code: int, data: bytes) -> Any:
    """msgpack ext hook: type 1 is a :class:`Ref`, type 2 a :class:`StrRef`; any other type is refused (ValueError)."""
    if code == REF_EXT:
        return Ref(int(msgpack.unpackb(data)))
    if code == STR_EXT:
        return StrRef(int.from_bytes(data, "big"))
    # Nothing else is part of the format: refusing here makes the reader stop at this record ("corrupt data at
    # byte N") instead of handing an ExtType to code that expects str/bytes (tests/reliability/test_reader_fuzz.py).
    raise ValueError(f"unknown msgpack extension type {code}")


def _internable(s: str) -> bool:
    return STR_MIN <= len(s) <= STR_MAX and STR_MIN <= len(s.encode("utf-8")) <= STR_MAX


class StringTable:
    """The per-file string table. The writer calls :meth:`intern` on each record before packing it; the reader
    calls :meth:`resolve` on each unpacked record. Both walk maps key-then-value in order, so they number the
    same strings the same way. (Both run once per record: plain scalars are handled inline, without a call.)"""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._strings: list[str] = []
        self._refs: list[msgpack.ExtType] = []

    def __len__(self) -> int:
        return len(self._strings)

    def _add(self, s: str) -> None:
        if len(self._strings) < STR_TABLE_MAX and _internable(s):
            i = len(self._strings)
            self._index[s] = i
            self._strings.append(s)
            self._refs.append(msgpack.ExtType(STR_EXT, i.to_bytes(1 if i < 256 else 2, "big")))

    def _intern_str(self, s: str) -> Any:
        i = self._index.get(s)
        if i is not None:
            return self._refs[i]
        self._add(s)
        return s

    def intern(self, v: Any) -> Any:
        """``v`` with repeated strings replaced by ext type 2 references (registering first sightings)."""
        t = type(v)
        if t is str:
            return self._intern_str(v)
        if t is dict:
            out: dict[Any, Any] = {}
            for k, x in v.items():
                kk = self._intern_str(k) if type(k) is str else self.intern(k)
                tx = type(x)
                if tx is str:
                    out[kk] = self._intern_str(x)
                elif tx is int or tx is bytes or tx is bool or tx is float or x is None:
                    out[kk] = x
                else:
                    out[kk] = self.intern(x)
            return out
        if t is list or t is tuple:
            return [self.intern(x) for x in v]
        if isinstance(v, msgpack.ExtType):  # a namedtuple: must not be walked as a list
            return v
        if isinstance(v, str):
            return self._intern_str(v)
        if isinstance(v, dict | list | tuple):
            return self.intern(dict(v) if isinstance(v, dict) else list(v))
        return v

    def intern_known(self, v: Any) -> Any | None:
        """:meth:`intern` without adding anything: None when ``v`` holds a string that would be added."""
        t = type(v)
        if t is str:
            i = self._index.get(v)
            if i is not None:
                return self._refs[i]
            return None if len(self._strings) < STR_TABLE_MAX and _internable(v) else v
        if t is dict:
            out: dict[Any, Any] = {}
            for k, x in v.items():
                kk = self.intern_known(k)
                xx = self.intern_known(x)
                if (kk is None and k is not None) or (xx is None and x is not None):
                    return None
                out[kk] = xx
            return out
        if t is list or t is tuple:
            items = [self.intern_known(x) for x in v]
            return None if any(a is None and b is not None for a, b in zip(items, v, strict=True)) else items
        return v

    def _resolve_str(self, s: str) -> str:
        if s not in self._index and STR_MIN <= len(s) <= STR_MAX:
            self._add(s)
        return s

    def resolve(self, v: Any) -> Any:
        """The inverse of :meth:`intern`, applied to an unpacked record."""
        t = type(v)
        if t is str:
            return self._resolve_str(v)
        if t is StrRef:
            return self._string(v)
        if t is dict:
            out: dict[Any, Any] = {}
            for k, x in v.items():
                tk = type(k)
                kk = self._resolve_str(k) if tk is str else self._string(k) if tk is StrRef else self.resolve(k)
                tx = type(x)
                if tx is str:
                    out[kk] = self._resolve_str(x)
                elif tx is StrRef:
                    out[kk] = self._string(x)
                elif tx is int or tx is bytes or tx is bool or tx is float or x is None:
                    out[kk] = x
                else:
                    out[kk] = self.resolve(x)
            return out
        if t is list:
            return [self.resolve(x) for x in v]
        return v

    def restore_split(
        self, v: Any, flavour: str, resolve: Callable[[Ref], bytes], payloads: list[str]
    ) -> tuple[Any, Any]:
        """:meth:`resolve` and :func:`_restore_split` in one walk, for the unpacked message of a frame: its JSON
        value and its skeleton (payloads appended to ``payloads``). Strings are registered in the same order as
        :meth:`resolve` would. Raises ValueError on a key that is not a string (a frame's JSON has none)."""
        t = type(v)
        if t is dict:
            index = self._index
            msg: dict[str, Any] = {}
            skel: dict[str, Any] = {}
            for k, x in v.items():
                tk = type(k)
                if tk is str:
                    if k not in index and STR_MIN <= len(k) <= STR_MAX:
                        self._add(k)
                elif tk is StrRef:
                    k = self._string(k)
                else:
                    raise ValueError(f"frame has a non-string key {k!r}")
                tx = type(x)
                if tx is str:
                    if x not in index and STR_MIN <= len(x) <= STR_MAX:
                        self._add(x)
                    msg[k] = skel[k] = x
                elif tx is StrRef:
                    msg[k] = skel[k] = self._string(x)
                elif tx is int or tx is bool or x is None or tx is float:
                    msg[k] = skel[k] = x
                else:
                    msg[k], skel[k] = self.restore_split(x, flavour, resolve, payloads)
            return msg, skel
        if t is list:
            pairs = [self.restore_split(x, flavour, resolve, payloads) for x in v]
            return [a for a, _ in pairs], [b for _, b in pairs]
        if t is bytes or t is Ref:
            s = b64_encode(v if t is bytes else resolve(v), flavour)
            payloads.append(s)
            return s, _HOLE
        if t is str:
            return self._resolve_str(v), v
        if t is StrRef:
            s = self._string(v)
            return s, s
        return v, v

    def ext_hook(self, code: int, data: bytes) -> Any:
        """:func:`ext_hook` for a reader of this table: a reference to a string already in the table unpacks as the
        string itself (which :meth:`resolve` then leaves alone: it is registered), saving a :class:`StrRef` and a
        lookup per reference. One to a string its own record adds unpacks as a :class:`StrRef`, resolved in turn."""
        if code == STR_EXT:
            i = int.from_bytes(data, "big")
            strings = self._strings
            return strings[i] if i < len(strings) else StrRef(i)
        return ext_hook(code, data)

    def _string(self, ref: StrRef) -> str:
        if ref.index >= len(self._strings):
            raise ValueError(f"reference to string {ref.index}, which is not in the table")
        return self._strings[ref.index]


def _ref_ext(index: int) -> msgpack.ExtType:
    return msgpack.ExtType(REF_EXT, msgpack.packb(index))


# Splicing. A media frame is mostly one long base64 string; parsing, re-serialising (to find the JSON style and to
# verify the encoding) and scanning that string in Python costs ~0.3 ms for 15 kB, while the rest of the frame is a
# few dozen bytes. So long ``"data"`` values are cut out of the text first, leaving a hole (the JSON string
# ``"\u0000"``, which a frame never otherwise holds: it is checked), and everything else works on the small
# skeleton. The result is the same as without splicing: every cut value sits under a ``data`` key (checked when
# the skeleton is walked), a base64 value serialises to itself between quotes in every JSON style, and the final
# check decodes what was encoded and compares it with the wire text.
_HOLE: Final = "\x00"
_HOLE_JSON: Final = '"\\u0000"'
_DATA_KEY: Final = '"data":'
_SPLICE_MIN: Final = 64
"""``data`` values at least this long (characters) are spliced out."""
_KEY_BEFORE: Final = frozenset("{, \t\r\n")


class _Unspliced(Exception):
    """The holes of a spliced skeleton did not line up with its ``data`` keys: use the whole text instead."""


def _splice(text: str) -> tuple[str, list[str]] | None:
    """``text`` with each long ``"data"`` string value replaced by a hole, and the values cut out (in order).

    None when there is nothing to cut or the text already holds a hole. Only a ``"data":`` preceded by ``{``, ``,``
    or whitespace is a key (inside a string a quote is always escaped); only ASCII values without a backslash are cut.
    """
    i = text.find(_DATA_KEY)
    if i < 0 or _HOLE_JSON in text:
        return None
    n = len(text)
    pieces: list[str] = []
    blobs: list[str] = []
    pos = 0
    while i >= 0:
        j = i + len(_DATA_KEY)
        while j < n and text[j] in " \t\r\n":
            j += 1
        if i > 0 and text[i - 1] in _KEY_BEFORE and j < n and text[j] == '"':
            end = text.find('"', j + 1)
            if end < 0:
                return None
            if end - j - 1 >= _SPLICE_MIN:
                value = text[j + 1 : end]
                # ASCII without escapes reads the same in every JSON style (base64 always is).
                if value.isascii() and "\\" not in value:
                    pieces.append(text[pos:j])
                    pieces.append(_HOLE_JSON)
                    blobs.append(value)
                    pos = end + 1
            j = end + 1
        i = text.find(_DATA_KEY, j)
    if not blobs:
        return None
    pieces.append(text[pos:])
    return "".join(pieces), blobs


@dataclass(slots=True)
class PreparedFrame:
    """A frame's JSON text, parsed (spliced when it carries long payloads), with its JSON style found.

    ``skeleton`` is the text with the ``blobs`` cut out (``text`` itself when nothing was cut); ``obj`` is the
    parsed skeleton, holding a hole (``"\\x00"``) where each blob was. See :func:`prepare_frame`.
    """

    data: str | bytes
    text: str
    skeleton: str
    obj: dict[str, Any]
    style: int
    blobs: list[str]


def prepare_frame(data: str | bytes) -> PreparedFrame | None:
    """Parse one frame for encoding; None when it is not a UTF-8 JSON object in a known style (stored verbatim)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        return None
    spliced = _splice(text)
    if spliced is not None:
        skeleton, blobs = spliced
        try:
            obj = json.loads(skeleton)
        except ValueError:
            obj = None
        # A skeleton that does not parse, or parses to something else than an object, means a cut went wrong
        # (or the text is not JSON): decide on the whole text.
        if isinstance(obj, dict):
            style = _json_style_index(obj, skeleton)
            # Base64 values and holes serialise the same in every style, so the skeleton's style is the text's.
            return PreparedFrame(data, text, skeleton, obj, style, blobs) if style is not None else None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    style = _json_style_index(obj, text)
    return PreparedFrame(data, text, text, obj, style, []) if style is not None else None


def encode_frame(data: str | bytes, find_ref: Callable[[bytes], int | None] | None = None) -> dict[str, Any]:
    """The stored fields of one frame: ``{"m": ..., "j"?, "b"?, "bin"?}`` or ``{"raw": data}``.

    ``find_ref`` maps a payload to the index of an input record holding the same bytes (or None). The result is
    checked by decoding it again; anything that would not come back byte-identical is stored verbatim instead.
    """
    prepared = prepare_frame(data)
    if prepared is None:
        return {"raw": data}
    return encode_prepared(prepared, find_ref)


def encode_prepared(p: PreparedFrame, find_ref: Callable[[bytes], int | None] | None = None) -> dict[str, Any]:
    """:func:`encode_frame` for a frame :func:`prepare_frame` has parsed."""
    if p.blobs:
        try:
            return _encode(p.data, p.obj, p.style, p.blobs, find_ref)
        except _Unspliced:
            whole = prepare_frame_unspliced(p.data)
            if whole is None:
                return {"raw": p.data}
            p = whole
    return _encode(p.data, p.obj, p.style, [], find_ref)


def prepare_frame_unspliced(data: str | bytes) -> PreparedFrame | None:
    """:func:`prepare_frame` without splicing (the reference behaviour; also the fallback)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    style = _json_style_index(obj, text)
    return PreparedFrame(data, text, text, obj, style, []) if style is not None else None


def _encode(
    data: str | bytes,
    obj: dict[str, Any],
    style: int,
    blobs: list[str],
    find_ref: Callable[[bytes], int | None] | None,
) -> dict[str, Any]:
    """Encode a parsed frame; ``obj`` holds holes for ``blobs`` (raises :class:`_Unspliced` if they misalign)."""
    holes = len(blobs)
    used = 0

    def fill(v: str, key: str | None) -> str:
        """The value a string stands for (a hole: the next blob, which must be under a ``data`` key)."""
        nonlocal used
        if holes and v == _HOLE:
            if key != "data" or used >= holes:
                raise _Unspliced
            v = blobs[used]
            used += 1
        return v

    # Pass 1: which "data" strings are base64, and which single flavour fits as many of them as possible.
    allowed: set[str] = set(_B64_FLAVOURS)
    found = False

    def scan(v: Any, key: str | None) -> None:
        nonlocal found
        if isinstance(v, dict):
            for k, x in v.items():
                scan(x, k)
        elif isinstance(v, list):
            for x in v:
                scan(x, key)
        elif isinstance(v, str):
            v = fill(v, key)
            if key == "data":
                cands = _b64_candidates(v)
                if cands and allowed.intersection(cands):
                    allowed.intersection_update(cands)
                    found = True

    scan(obj, None)
    if used != holes:
        raise _Unspliced
    flavour = next((f for f in _B64_FLAVOURS if f in allowed), "u") if found else None

    refs: dict[int, bytes] = {}
    used = 0

    def swap(v: Any, key: str | None) -> Any:
        if isinstance(v, dict):
            return {k: swap(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x, key) for x in v]
        if isinstance(v, str):
            v = fill(v, key)
            if key == "data" and flavour is not None and flavour in _b64_candidates(v):
                raw = b64_decode(v)
                if raw is not None and b64_encode(raw, flavour) == v:
                    idx = find_ref(raw) if find_ref is not None else None
                    if idx is None:
                        return raw
                    refs[idx] = raw
                    return _ref_ext(idx)
        return v

    out: dict[str, Any] = {"m": swap(obj, None) if flavour is not None or holes else obj}
    if style:
        out["j"] = style
    if flavour is not None and flavour != "u":
        out["b"] = flavour
    if isinstance(data, bytes):
        out["bin"] = True
    try:  # the safety net: never store a frame that would not come back exactly
        again, _ = decode_frame(_as_read(out), lambda r: refs[r.index])
    except (KeyError, ValueError, TypeError):
        return {"raw": data}
    return out if again == data else {"raw": data}


def _as_read(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as a reader would see them (ext references unpacked into :class:`Ref`)."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, msgpack.ExtType) and v.code == REF_EXT:
            return Ref(int(msgpack.unpackb(v.data)))
        return v

    out: dict[str, Any] = conv(fields)
    return out


def restore_message(m: Any, flavour: str, resolve: Callable[[Ref], bytes]) -> Any:
    """The JSON value of a stored ``m``: bin payloads (and references) back to base64 strings."""
    if isinstance(m, dict):
        return {k: restore_message(v, flavour, resolve) for k, v in m.items()}
    if isinstance(m, list):
        return [restore_message(v, flavour, resolve) for v in m]
    if isinstance(m, bytes):
        return b64_encode(m, flavour)
    if isinstance(m, Ref):
        return b64_encode(resolve(m), flavour)
    return m


def _restore_split(m: Any, flavour: str, resolve: Callable[[Ref], bytes], payloads: list[str]) -> tuple[Any, Any]:
    """``restore_message`` that also returns the skeleton (a hole for each payload, appended to ``payloads``)."""
    t = type(m)
    if t is dict:
        msg: dict[Any, Any] = {}
        skel: dict[Any, Any] = {}
        for k, v in m.items():
            tv = type(v)
            if tv is str or tv is int or tv is bool or v is None or tv is float:
                msg[k] = skel[k] = v
            else:
                msg[k], skel[k] = _restore_split(v, flavour, resolve, payloads)
        return msg, skel
    if t is list:
        pairs = [_restore_split(v, flavour, resolve, payloads) for v in m]
        return [a for a, _ in pairs], [b for _, b in pairs]
    if t is bytes or t is Ref:
        s = b64_encode(m if t is bytes else resolve(m), flavour)
        payloads.append(s)
        return s, _HOLE
    if isinstance(m, dict | list | bytes | Ref):  # subclasses: the general path
        r = restore_message(m, flavour, resolve)
        return r, r
    return m, m


def decode_frame(fields: dict[str, Any], resolve: Callable[[Ref], bytes]) -> tuple[str | bytes, Any]:
    """The exact wire data and parsed JSON of a stored frame (inverse of :func:`encode_frame`)."""
    if "raw" in fields:
        raw = fields["raw"]
        if not isinstance(raw, str | bytes):
            raise ValueError(f"a raw frame must be text or bytes, not {type(raw).__name__}")
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, ValueError, TypeError):
            parsed = None
        return raw, parsed
    payloads: list[str] = []
    msg, skel = _restore_split(fields["m"], str(fields.get("b", "u")), resolve, payloads)
    return frame_text(fields, msg, skel, payloads), msg


def frame_text(fields: dict[str, Any], msg: Any, skel: Any, payloads: list[str]) -> str | bytes:
    """The exact wire data of a stored frame from its restored message (``msg``, its skeleton and payloads)."""
    style = int(fields.get("j", 0))
    if not 0 <= style < len(_JSON_STYLES):
        raise ValueError(f"unknown JSON style {style}")
    kw = _JSON_STYLES[style]
    text: str | None = None
    if payloads:
        # The payloads are base64, which every style writes as is between quotes: splice them into the skeleton's
        # text. Any other "\u0000" string in the message shows up as an extra part, and the whole is dumped instead.
        parts = json.dumps(skel, **kw).split(_HOLE_JSON)
        if len(parts) == len(payloads) + 1:
            out = [parts[0]]
            for payload, part in zip(payloads, parts[1:], strict=True):
                out += ('"', payload, '"', part)
            text = "".join(out)
    if text is None:
        text = json.dumps(msg, **kw)
    return text.encode("utf-8") if fields.get("bin") else text


# Templates. Frames of one shape (say, model audio chunks) differ only in their payloads, so a writer can keep the
# packed record of the first one with placeholders where the time and the payloads go, and fill them in for the
# next ones: see ``RecordWriter``. These helpers are the format's side of that.
_PH_T: Final = msgpack.ExtType(127, b"\xfft\xff\xfe\xfd\xfc\xfb\xfa")
"""Stands for the record's time in a packed template (an ext type the format never uses)."""


def _ph_payload(i: int) -> msgpack.ExtType:
    return msgpack.ExtType(126, b"\xffp" + i.to_bytes(6, "big"))


_DATA_KEY_B: Final = _DATA_KEY.encode()
_HOLE_JSON_B: Final = _HOLE_JSON.encode()
_WS_B: Final = frozenset(b" \t\r\n")
_KEY_BEFORE_B: Final = frozenset(b"{, \t\r\n")


def splice_spans(b: bytes) -> tuple[bytes, list[tuple[int, int]]] | None:
    """:func:`_splice` on the UTF-8 bytes of a frame, giving the cut values as ``(start, end)`` offsets.

    For the writer's template path (no copies of the payloads, no decoding of the text). It looks at the same
    places as :func:`_splice` but cuts every long value there, without ``_splice``'s ASCII/backslash test: a value
    ``_splice`` would keep is never base64, so a caller that decodes each cut value strictly (as the template path
    does) falls back to the general path for it. Otherwise the skeleton is the UTF-8 of ``_splice``'s.
    """
    i = b.find(_DATA_KEY_B)
    if i < 0 or _HOLE_JSON_B in b:
        return None
    n = len(b)
    pieces: list[bytes] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    while i >= 0:
        j = i + len(_DATA_KEY_B)
        while j < n and b[j] in _WS_B:
            j += 1
        if i > 0 and b[i - 1] in _KEY_BEFORE_B and j < n and b[j] == 0x22:  # '"'
            end = b.find(b'"', j + 1)
            if end < 0:
                return None
            if end - j - 1 >= _SPLICE_MIN:
                pieces.append(b[pos:j])
                pieces.append(_HOLE_JSON_B)
                spans.append((j + 1, end))
                pos = end + 1
            j = end + 1
        i = b.find(_DATA_KEY_B, j)
    if not spans:
        return None
    pieces.append(b[pos:])
    return b"".join(pieces), spans


def span_flavour(b: bytes, spans: list[tuple[int, int]]) -> str | None:
    """:func:`payload_flavour` of the values at ``spans`` in ``b`` (searched in place)."""
    allowed = set(_B64_FLAVOURS)
    found = False
    for start, end in spans:
        url = b.find(b"-", start, end) >= 0 or b.find(b"_", start, end) >= 0
        std = b.find(b"+", start, end) >= 0 or b.find(b"/", start, end) >= 0
        cands = _candidates_of(end - start, url, std, b[end - 1] == 0x3D)  # '='
        if cands and allowed.intersection(cands):
            allowed.intersection_update(cands)
            found = True
    return next((f for f in _B64_FLAVOURS if f in allowed), "u") if found else None


def b64_decode_bytes(v: bytes, flavour: str) -> bytes | None:
    """Strictly decode the ASCII bytes ``v`` of base64 in ``flavour`` (None when it is not such base64)."""
    if flavour.endswith("n"):
        v += b"=" * (-len(v) % 4)
    try:
        out: bytes = _b64.b64decode(v, altchars=b"-_" if flavour.startswith("u") else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return out


_URL_TABLE: Final = bytes.maketrans(b"+/", b"-_")
_STD_TABLE: Final = bytes.maketrans(b"-_", b"+/")


def b64_body_end(v: bytes, start: int, end: int) -> int:
    """Where the groups of four in ``v[start:end]`` that decode to three bytes each end: the whole when it has no
    padding and a whole number of groups, else where its last (possibly partial) group starts."""
    n = end - start
    if n % 4 == 0 and n and v[end - 1] != 0x3D:  # '='
        return end
    return start + max(0, (n - 1) // 4 * 4)


def b64_decode_bodies(bodies: list[bytes], flavour: str) -> list[bytes] | None:
    """Decode the whole-group prefixes (:func:`b64_body_end`) of many payloads of one flavour in a single call (the
    bytes of each, in order), or None when any of them is not strictly base64 of that flavour's alphabet.

    One call instead of one per payload: a decoding call on a large payload gives up the GIL, and the recorder's
    writer thread then has to win it back from the busy event loop, once per payload."""
    joined = b"".join(bodies)
    url = flavour[0] == "u"
    if b"=" in joined or ((b"+" in joined or b"/" in joined) if url else (b"-" in joined or b"_" in joined)):
        return None
    raw = b64_decode_bytes(joined, flavour[0])
    if raw is None or len(raw) != len(joined) // 4 * 3:
        return None
    out: list[bytes] = []
    pos = 0
    for body in bodies:
        n = len(body) // 4 * 3
        out.append(raw[pos : pos + n])
        pos += n
    return out


def b64_decode_exact(v: bytes, flavour: str, body: bytes | None = None) -> bytes | None:
    """The bytes the ASCII base64 ``v`` spells in ``flavour``, or None unless encoding them gives back ``v`` exactly.

    As strict as decoding and comparing a full re-encoding, with one encoding call less (each such call on a large
    payload gives up the GIL, which the recorder's writer thread then has to win back from the event loop): ``v``
    must use only its flavour's alphabet and padding, decode strictly, and every group of four characters but the
    last stands for its three bytes in exactly one way, so only the last group (where unused bits can be set) is
    re-encoded and compared.
    """
    url = b"-" in v or b"_" in v
    std = b"+" in v or b"/" in v
    if flavour not in _candidates_facts(False, url, std, v.endswith(b"="), len(v) % 4 != 0):
        return None
    cut = b64_body_end(v, 0, len(v))
    if body is not None and len(body) != cut // 4 * 3:
        return None
    if body is not None and cut == len(v):
        return body  # whole groups only, each standing for its three bytes in exactly one way
    if body is None:
        raw = b64_decode_bytes(v, flavour)
        if raw is None:
            return None
    else:  # ``body``: the bytes of ``v[:cut]`` (b64_decode_bodies); decode the last group here
        last = v[cut:]
        if flavour.endswith("n"):
            last += b"=" * (-len(last) % 4)
        if flavour[0] == "u":
            last = last.translate(_STD_TABLE)
        try:
            raw = body + binascii.a2b_base64(last, strict_mode=True)  # 4 characters: holds the GIL
        except binascii.Error:
            return None
    tail = binascii.b2a_base64(raw[cut // 4 * 3 :], newline=False)  # at most 3 bytes: holds the GIL
    if flavour[0] == "u":
        tail = tail.translate(_URL_TABLE)
    if flavour.endswith("n"):
        tail = tail.rstrip(b"=")
    return raw if tail == v[cut:] else None


def bin_header(n: int) -> bytes:
    """The msgpack ``bin`` header of an ``n``-byte payload (what ``packb(payload, use_bin_type=True)`` starts with)."""
    if n < 0x100:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 0x10000:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


def payload_flavour(blobs: list[str]) -> str | None:
    """The base64 flavour :func:`encode_frame` picks for a frame whose only ``data`` values are ``blobs``."""
    allowed = set(_B64_FLAVOURS)
    found = False
    for v in blobs:
        cands = _b64_candidates(v)
        if cands and allowed.intersection(cands):
            allowed.intersection_update(cands)
            found = True
    return next((f for f in _B64_FLAVOURS if f in allowed), "u") if found else None


def make_template(
    kind: str, prepared: PreparedFrame, fields: dict[str, Any], strings: StringTable
) -> tuple[str, tuple[bytes, ...]] | None:
    """``(flavour, chunks)`` for frames shaped like ``prepared``, from the fields :func:`encode_prepared` gave it.

    The chunks are the packed record (as ``strings`` would intern it) cut at the time and at each payload; None
    when the frame does not qualify: payloads not all stored as bytes or references, other ``data`` strings in the
    skeleton (they would take part in choosing the flavour), or strings the table does not hold yet.
    """
    if not prepared.blobs or "m" not in fields:
        return None
    count = 0

    def place(skel: Any, stored: Any, key: str | None) -> Any:
        nonlocal count
        if isinstance(skel, dict):
            if not isinstance(stored, dict) or list(skel) != list(stored):
                raise _Unspliced
            return {k: place(skel[k], stored[k], k) for k in skel}
        if isinstance(skel, list):
            if not isinstance(stored, list) or len(skel) != len(stored):
                raise _Unspliced
            return [place(a, b, key) for a, b in zip(skel, stored, strict=True)]
        if key == "data" and isinstance(skel, str):
            is_payload = isinstance(stored, bytes) or (isinstance(stored, msgpack.ExtType) and stored.code == REF_EXT)
            if skel != _HOLE or not is_payload:
                raise _Unspliced
            count += 1
            return _ph_payload(count - 1)
        return stored

    try:
        m = place(prepared.obj, fields["m"], None)
    except _Unspliced:
        return None
    if count != len(prepared.blobs):
        return None
    record = {"k": kind, "t": _PH_T, "m": m, **{k: v for k, v in fields.items() if k != "m"}}
    interned = strings.intern_known(record)
    if interned is None:
        return None
    packed: bytes = msgpack.packb(interned, use_bin_type=True)
    marks = [msgpack.packb(_PH_T), *(msgpack.packb(_ph_payload(i)) for i in range(count))]
    chunks: list[bytes] = []
    rest = packed
    for mark in marks:
        head, sep, rest = rest.partition(mark)
        if not sep or mark in head:
            return None
        chunks.append(head)
    if any(mark in rest for mark in marks):
        return None
    chunks.append(rest)
    return str(fields.get("b", "u")), tuple(chunks)


def pack_payload(raw: bytes, ref: int | None) -> bytes:
    """A payload as it sits in a packed frame record: its bytes, or a reference to input record ``ref``."""
    out: bytes = msgpack.packb(raw if ref is None else _ref_ext(ref), use_bin_type=True)
    return out


def wire_len(data: str | bytes) -> int:
    """Bytes a frame took on the wire (its UTF-8 payload length)."""
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# Migrations between minor versions
# --------------------------------------------------------------------------------------------------

MIGRATIONS: dict[tuple[int, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``(1, n)`` → a function rewriting one raw record map of minor ``n`` into minor ``n + 1``. Chained by the reader."""


def migrate(raw: dict[str, Any], version: tuple[int, int], target: tuple[int, int] = VERSION) -> dict[str, Any]:
    """Bring a raw record of an older minor version up to ``target`` (the current version)."""
    major, minor = version
    while (major, minor) < target:
        step = MIGRATIONS.get((major, minor))
        if step is not None:
            raw = step(raw)
        minor += 1
    return raw

"""Wire format between the trusted parent and the untrusted child worker.

A frame is::

    b"AGF1" | u32 header_len | u32 n_blobs | JSON header | n_blobs x (u32 len | .npy bytes)

All integers are little-endian. The JSON header holds the message (``op``, ``id``, ``status`` ...)
and *value trees*: JSON values in which arrays are replaced by ``{"$nd": i}`` references to
blob ``i``. Nothing here can execute code: no pickle, and ``.npy`` blobs are parsed by a small
hand-written reader that accepts only a few plain dtypes and checks every size before it
allocates anything.

The child (``worker.py``) carries its own copy of the encoder because it may import only the
standard library and numpy; ``tests/harness`` round-trips the two implementations.
"""

from __future__ import annotations

import ast
import json
import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .support import KIND_NAME, Support  # noqa: F401  (Support: re-exported)

MAGIC = b"AGF1"
_PREFIX = struct.Struct("<4sII")
_U32 = struct.Struct("<I")
NPY_MAGIC = b"\x93NUMPY"
MAX_NPY_HEADER = 4096
MAX_TREE_DEPTH = 32
MAX_TREE_NODES = 10_000


class ProtocolError(Exception):
    """A frame, value tree or ``.npy`` blob broke the protocol (treated as hostile)."""


@dataclass(frozen=True)
class Caps:
    """Size limits applied while *reading* a frame.

    Parameters
    ----------
    max_header : int
        Largest JSON header accepted, in bytes.
    max_blobs : int
        Largest number of ``.npy`` blobs in one frame.
    max_total_bytes : int
        Largest sum of the blob lengths of one frame.
    max_elements : int
        Largest element count of a single array.
    max_ndim : int
        Largest number of array dimensions.
    dtypes : tuple of str
        ``.npy`` ``descr`` strings accepted.
    """

    max_header: int = 64 * 1024
    max_blobs: int = 16
    max_total_bytes: int = 64 * 1024 * 1024 + 16 * 4096
    max_elements: int = 8 * 1024 * 1024
    max_ndim: int = 4
    dtypes: tuple[str, ...] = ("<f8",)


#: Caps for responses from the child: float64 results only, 64 MiB in all.
RESPONSE_CAPS = Caps()
#: Caps for requests to the child (used by tests and by the worker's mirror of this code).
REQUEST_CAPS = Caps(
    max_header=8 * 1024 * 1024,
    max_blobs=256,
    max_total_bytes=512 * 1024 * 1024,
    max_elements=64 * 1024 * 1024,
    dtypes=("<f8", "<i8", "|b1"),
)


@dataclass
class CallableSpec:
    """A function the child must build itself, because code never crosses the pipe.

    The homework's support module (:class:`Support`) says which kinds exist and how the worker
    builds each from its parameters; the protocol only carries the kind's name and the data.

    Parameters
    ----------
    kind : str
        A name the homework's support module defines in ``CALLABLES`` (an identifier).
    params : dict
        Its parameters: arrays and scalars only, like any other argument.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- frames


def encode_frame(header: dict[str, Any], blobs: Sequence[bytes] = ()) -> bytes:
    """Serialize one frame.

    Parameters
    ----------
    header : dict
        JSON-serializable message; non-finite floats are refused.
    blobs : sequence of bytes
        ``.npy`` payloads referenced by the header.

    Returns
    -------
    bytes
        The complete frame.
    """
    body = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    parts = [_PREFIX.pack(MAGIC, len(body), len(blobs)), body]
    for blob in blobs:
        parts.append(_U32.pack(len(blob)))
        parts.append(blob)
    return b"".join(parts)


def read_frame(
    read_exact: Callable[[int], bytes | bytearray], caps: Caps = RESPONSE_CAPS
) -> tuple[dict[str, Any], list[bytearray]]:
    """Read one frame through ``read_exact``, checking every length before reading it.

    Parameters
    ----------
    read_exact : callable
        ``read_exact(n)`` returns exactly ``n`` bytes or raises.
    caps : Caps
        Limits to enforce.

    Returns
    -------
    header : dict
        The decoded JSON header.
    blobs : list of bytearray
        The raw ``.npy`` payloads (not yet parsed).

    Raises
    ------
    ProtocolError
        Bad magic, a length over its cap, or invalid JSON.
    """
    magic, header_len, n_blobs = _PREFIX.unpack(bytes(read_exact(_PREFIX.size)))
    if magic != MAGIC:
        raise ProtocolError("bad magic")
    if header_len > caps.max_header:
        raise ProtocolError("header too large")
    if n_blobs > caps.max_blobs:
        raise ProtocolError("too many blobs")
    header = parse_json(read_exact(header_len))
    blobs: list[bytearray] = []
    total = 0
    for _ in range(n_blobs):
        (length,) = _U32.unpack(bytes(read_exact(_U32.size)))
        total += length
        if total > caps.max_total_bytes:
            raise ProtocolError("frame too large")
        blobs.append(bytearray(read_exact(length)))
    return header, blobs


def decode_frame(data: bytes, caps: Caps = RESPONSE_CAPS) -> tuple[dict[str, Any], list[bytearray]]:
    """Decode a frame held entirely in memory (tests, tools); trailing bytes are an error.

    Parameters
    ----------
    data : bytes
        The frame.
    caps : Caps
        Limits to enforce.

    Returns
    -------
    header : dict
    blobs : list of bytearray
    """
    view = memoryview(data)
    pos = 0

    def read_exact(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(view):
            raise ProtocolError("truncated frame")
        chunk = view[pos : pos + n].tobytes()
        pos += n
        return chunk

    header, blobs = read_frame(read_exact, caps)
    if pos != len(view):
        raise ProtocolError("trailing bytes after frame")
    return header, blobs


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"JSON constant {name} not allowed")


def _parse_int(text: str) -> int:
    # A megabyte of digits would take seconds to convert on Python 3.10.
    if len(text) > 20:
        raise ProtocolError("JSON integer too long")
    return int(text)


def parse_json(data: bytes | bytearray) -> dict[str, Any]:
    """Parse a JSON header strictly: no NaN/Infinity, short integers, an object at the top.

    Parameters
    ----------
    data : bytes
        UTF-8 JSON text.

    Returns
    -------
    dict
    """
    try:
        value = json.loads(
            bytes(data).decode("utf-8"),
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except ProtocolError:
        raise
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"invalid JSON header ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise ProtocolError("JSON header is not an object")
    return value


# --------------------------------------------------------------------------- .npy


def _npy_descr(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Coerce an array to one of the wire dtypes (float64, int64, bool)."""
    if arr.dtype == np.bool_:
        return arr, "|b1"
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype("<i8", copy=False), "<i8"
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype("<f8", copy=False), "<f8"
    raise TypeError(f"cannot send arrays of dtype {arr.dtype}")


def write_npy(arr: np.ndarray) -> bytes:
    """Serialize an array as ``.npy`` version 1.0 (C order, little-endian).

    Parameters
    ----------
    arr : np.ndarray
        Float, integer or bool array; other dtypes raise ``TypeError``.

    Returns
    -------
    bytes
    """
    arr, descr = _npy_descr(np.asarray(arr))
    arr = np.asarray(arr, order="C")  # not ascontiguousarray: it turns 0-d into 1-d
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(arr.shape)!r}, }}"
    pad = -(len(NPY_MAGIC) + 4 + len(text) + 1) % 64
    header = (text + " " * pad + "\n").encode("latin1")
    data = memoryview(arr).cast("B") if arr.size else b""
    return b"".join((NPY_MAGIC, b"\x01\x00", struct.pack("<H", len(header)), header, data))


# The header every encoder of ours writes (write_npy here, its twin in worker.py), padded with
# spaces. Read with this, not literal_eval, which costs a cold grade ~3 ms over its 60 arrays;
# any other header still goes through literal_eval and the same checks.
_DIM = r"(?:0|[1-9][0-9]{0,19})"  # a Python int literal: no leading zero
_CANONICAL = re.compile(
    r"\{'descr': '([<>|=][a-z][0-9]{1,2})', 'fortran_order': (False|True), "
    rf"'shape': \((|{_DIM},|{_DIM}(?:, {_DIM})+)\), \}} *\n?"
)


def _canonical_header(text: str) -> dict[str, Any] | None:
    """The header dict of a header in :data:`_CANONICAL` form, else None."""
    found = _CANONICAL.fullmatch(text)
    if found is None:
        return None
    descr, fortran, dims = found.groups()
    shape = tuple(int(d) for d in dims.replace(",", " ").split())
    return {"descr": descr, "fortran_order": fortran == "True", "shape": shape}


def _npy_header(data: bytes | bytearray) -> tuple[dict[str, Any], int]:
    """Return the parsed ``.npy`` header dict and the offset of the data."""
    if len(data) < 10 or bytes(data[:6]) != NPY_MAGIC:
        raise ProtocolError("invalid array: bad .npy magic")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", bytes(data[8:10]))
        start = 10
    elif major in (2, 3) and len(data) >= 12:
        (hlen,) = struct.unpack("<I", bytes(data[8:12]))
        start = 12
    else:
        raise ProtocolError("invalid array: unsupported .npy version")
    if hlen > MAX_NPY_HEADER:
        raise ProtocolError("invalid array: .npy header too large")
    if start + hlen > len(data):
        raise ProtocolError("invalid array: truncated .npy header")
    try:
        text = bytes(data[start : start + hlen]).decode("latin1")
        meta = _canonical_header(text) or ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise ProtocolError("invalid array: unparsable .npy header") from None
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        raise ProtocolError("invalid array: .npy header keys")
    return meta, start + hlen


def _checked_shape(shape: Any, caps: Caps) -> tuple[int, ...]:
    """Validate a declared shape against the caps without allocating anything."""
    if not isinstance(shape, tuple) or len(shape) > caps.max_ndim:
        raise ProtocolError("invalid array: shape")
    count = 1
    for dim in shape:
        if type(dim) is not int or dim < 0:
            raise ProtocolError("invalid array: shape")
        count *= dim
    if count > caps.max_elements:
        raise ProtocolError("invalid array: too many elements")
    return shape


def read_npy(data: bytes | bytearray, caps: Caps = RESPONSE_CAPS) -> np.ndarray:
    """Parse a ``.npy`` blob by hand: allowed dtype, C order, capped shape, exact length.

    Parameters
    ----------
    data : bytes or bytearray
        The blob. A ``bytearray`` gives a writable array without a copy.
    caps : Caps
        Limits; ``caps.dtypes`` lists the accepted ``descr`` strings.

    Returns
    -------
    np.ndarray

    Raises
    ------
    ProtocolError
        Anything unexpected, before any allocation proportional to the declared shape.
    """
    meta, offset = _npy_header(data)
    descr = meta["descr"]
    if not isinstance(descr, str) or descr not in caps.dtypes:
        raise ProtocolError("invalid array: dtype not allowed")
    if meta["fortran_order"] is not False:
        raise ProtocolError("invalid array: fortran order")
    shape = _checked_shape(meta["shape"], caps)
    dtype = np.dtype(descr)
    count = math.prod(shape)
    if len(data) - offset != count * dtype.itemsize:
        raise ProtocolError("invalid array: byte count does not match shape")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape)


# --------------------------------------------------------------------------- value trees

_TAGS = ("$nd", "$float", "$tuple", "$dict", "$callable")


def encode_tree(value: Any, blobs: list[bytes] | None = None) -> tuple[Any, list[bytes]]:
    """Turn an argument into a JSON value tree plus ``.npy`` blobs.

    Parameters
    ----------
    value : object
        ``np.ndarray``, numpy scalar, ``float``, ``int``, ``bool``, ``str``, ``None``,
        ``list``/``tuple``/``dict`` (str keys) of those, or :class:`CallableSpec`.
    blobs : list of bytes, optional
        Blob list to append to (shared across a whole message).

    Returns
    -------
    node : object
        JSON-serializable tree.
    blobs : list of bytes
    """
    blobs = [] if blobs is None else blobs
    return _encode(value, blobs, 0), blobs


def _encode(value: Any, blobs: list[bytes], depth: int) -> Any:
    if depth > MAX_TREE_DEPTH:
        raise TypeError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.ndarray):
        value = value.item()
        if isinstance(value, complex):
            raise TypeError("complex values are not supported")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, np.ndarray):
        blobs.append(write_npy(value))
        return {"$nd": len(blobs) - 1}
    if isinstance(value, list):
        return [_encode(v, blobs, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, blobs, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("dict keys must be str")
        return {"$dict": {k: _encode(v, blobs, depth + 1) for k, v in value.items()}}
    if isinstance(value, CallableSpec):
        if not isinstance(value.kind, str) or not KIND_NAME.fullmatch(value.kind):
            raise TypeError(f"invalid CallableSpec kind {value.kind!r}")
        params = _encode(dict(value.params), blobs, depth + 1)
        return {"$callable": {"kind": value.kind, "params": params}}
    raise TypeError(f"cannot send a value of type {type(value).__name__}")


def decode_tree(node: Any, arrays: Sequence[np.ndarray]) -> Any:
    """Rebuild a value tree whose array leaves reference already-parsed arrays.

    Parameters
    ----------
    node : object
        JSON value tree.
    arrays : sequence of np.ndarray
        Parsed blobs; each may be referenced at most once.

    Returns
    -------
    object
    """
    used: set[int] = set()
    budget = [MAX_TREE_NODES]
    return _decode(node, arrays, used, budget, 0)


def _decode(
    node: Any, arrays: Sequence[np.ndarray], used: set[int], budget: list[int], depth: int
) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_TREE_DEPTH:
        raise ProtocolError("value tree too large")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, used, budget, depth + 1) for v in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise ProtocolError("malformed value tree")
    ((tag, inner),) = node.items()
    if tag == "$nd":
        if type(inner) is not int or not 0 <= inner < len(arrays) or inner in used:
            raise ProtocolError("bad array reference")
        used.add(inner)
        return arrays[inner]
    if tag == "$float":
        if inner not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float tag")
        return float(inner)
    if tag == "$tuple" and isinstance(inner, list):
        return tuple(_decode(v, arrays, used, budget, depth + 1) for v in inner)
    if tag == "$dict" and isinstance(inner, dict):
        return {str(k): _decode(v, arrays, used, budget, depth + 1) for k, v in inner.items()}
    if tag == "$callable" and isinstance(inner, dict) and _is_kind(inner.get("kind")):
        params = _decode(inner.get("params"), arrays, used, budget, depth + 1)
        if not isinstance(params, dict):
            raise ProtocolError("bad callable params")
        return CallableSpec(inner["kind"], params)
    raise ProtocolError(f"unknown value tag {tag[:20]!r}")


def _is_kind(kind: object) -> bool:
    return isinstance(kind, str) and KIND_NAME.fullmatch(kind) is not None

"""Frames, value trees and the hand-written .npy reader: round-trips and rejections."""

from __future__ import annotations

import ast
import importlib.util
import io
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.harness import protocol
from autograder.harness.protocol import (
    REQUEST_CAPS,
    CallableSpec,
    Caps,
    ProtocolError,
    decode_frame,
    decode_tree,
    encode_frame,
    encode_tree,
    read_npy,
    write_npy,
)

WORKER = Path(protocol.__file__).with_name("worker.py")


def npy_with_header(text: str, payload: bytes = b"", version: int = 1) -> bytes:
    """A .npy blob with an arbitrary (possibly hostile) header text."""
    head = text.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + payload
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(head)) + head + payload


def frame_bytes(header: bytes, blobs: list[bytes], magic: bytes = b"AGF1") -> bytes:
    out = magic + struct.pack("<II", len(header), len(blobs)) + header
    for blob in blobs:
        out += struct.pack("<I", len(blob)) + blob
    return out


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12.0).reshape(3, 4),
        np.array(3.5),
        np.zeros((0, 3)),
        np.array([np.nan, np.inf, -np.inf, -0.0]),
        np.arange(24.0).reshape(2, 3, 4)[:, ::2].T,  # non-contiguous input
        np.ones((1, 1, 1, 1)),
    ],
    ids=["2d", "0d", "empty", "nonfinite", "noncontig", "4d"],
)
def test_npy_roundtrip_float(arr):
    back = read_npy(bytearray(write_npy(arr)))
    assert back.dtype == np.float64 and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable


def test_npy_matches_numpy_format():
    """Our writer produces files numpy reads, and numpy's files are accepted by our reader."""
    arr = np.linspace(0, 1, 10).reshape(2, 5)
    np.testing.assert_array_equal(np.load(io.BytesIO(write_npy(arr)), allow_pickle=False), arr)
    buf = io.BytesIO()
    np.save(buf, arr)
    np.testing.assert_array_equal(read_npy(buf.getvalue()), arr)


def _header(blob: bytes) -> str:
    (length,) = struct.unpack("<H", blob[8:10])
    return blob[10 : 10 + length].decode("latin1")


def _numpy_header(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr)
    return _header(buf.getvalue())


def test_a_header_literal_eval_refuses_is_refused():
    """A leading zero is no Python integer: the pattern must not accept what literal_eval would
    not."""
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (03,), }"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")
    with pytest.raises(ProtocolError, match="unparsable"):
        protocol._npy_header(data)


@pytest.mark.parametrize(
    "text",
    [
        *(_header(write_npy(a)) for a in (np.array(1.0), np.ones(3), np.ones((2, 3)))),
        *(_numpy_header(a) for a in (np.ones((0, 4)), np.ones((2, 1, 3)), np.array([True]))),
        "{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 10), }",
        # not in canonical form: literal_eval reads them, as before
        "{'shape': (1,), 'descr': '<f8', 'fortran_order': False}",
        "{'descr':'<f8','fortran_order':False,'shape':(1,2)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1 ,), }",
    ],
)
def test_npy_headers_read_as_literal_eval_reads_them(text):
    """The canonical form is parsed by a pattern (it is 60 headers per grading); anything else by
    literal_eval. Both must give the same dict."""
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")
    meta, offset = protocol._npy_header(data)
    assert meta == ast.literal_eval(text) and offset == len(data)


@pytest.mark.parametrize(
    "arr", [np.arange(5), np.array([True, False]), np.arange(4, dtype=np.int32)]
)
def test_npy_request_dtypes(arr):
    back = read_npy(write_npy(arr), REQUEST_CAPS)
    np.testing.assert_array_equal(back, arr)
    with pytest.raises(ProtocolError, match="dtype"):
        read_npy(write_npy(arr))  # responses accept float64 only


def test_value_tree_roundtrip():
    value = [
        np.eye(2),
        1.5,
        float("nan"),
        7,
        True,
        None,
        "s",
        (1, [2.0, np.arange(3)]),
        {"k": -np.inf},
        CallableSpec("quadratic", {"A": np.eye(2), "b": np.zeros(2), "c": 0.5}),
        np.float64(2.0),
        np.int64(3),
    ]
    node, blobs = encode_tree(value)
    frame = encode_frame({"args": node}, blobs)
    header, raw = decode_frame(frame, REQUEST_CAPS)
    back = decode_tree(header["args"], [read_npy(b, REQUEST_CAPS) for b in raw])
    np.testing.assert_array_equal(back[0], np.eye(2))
    assert back[1] == 1.5 and np.isnan(back[2]) and back[3] == 7 and back[4] is True
    assert back[5] is None and back[6] == "s"
    assert isinstance(back[7], tuple) and back[7][0] == 1 and back[7][1][0] == 2.0
    assert back[8] == {"k": -np.inf}
    assert isinstance(back[9], CallableSpec) and back[9].kind == "quadratic"
    assert back[10] == 2.0 and back[11] == 3 and isinstance(back[11], int)


@pytest.mark.parametrize(
    "bad", [1 + 2j, object(), {1: 2}, np.array(["a"]), CallableSpec("ev il", {})]
)
def test_encode_refuses_unsupported(bad):
    with pytest.raises(TypeError):
        encode_tree([bad])


def _load_worker_module():
    """Import worker.py's helpers without running its start-up (it shuffles fds at import)."""
    source = WORKER.read_text()
    start = source.index(
        "# --------------------------------------------------------------------------- frames"
    )
    end = source.index("class BadResult")
    helpers = "import ast, math, re, struct, json\nimport numpy as np\nMAGIC=b'AGF1'\nNPY_MAGIC=b'\\x93NUMPY'\n"
    helpers += "REQ_DTYPES = {'<f8': 'float64', '<i8': 'int64', '|b1': 'bool'}\n"
    namespace: dict = {}
    exec(compile(helpers + source[start:end], str(WORKER), "exec"), namespace)
    return namespace


def test_worker_codec_agrees_with_protocol():
    """The worker's private copy of the codec matches the parent's (they must not drift)."""
    worker = _load_worker_module()
    for arr in (np.arange(6.0).reshape(2, 3), np.array(2.0), np.zeros((0,))):
        blob = worker["write_npy"](arr)
        np.testing.assert_array_equal(read_npy(bytearray(blob)), arr)
        assert read_npy(blob).shape == arr.shape
    node, blobs = encode_tree([np.arange(3), (1.0, float("inf")), {"a": None}])
    arrays = [worker["read_npy"](bytearray(b)) for b in blobs]
    back = worker["decode"](node, arrays)
    np.testing.assert_array_equal(back[0], np.arange(3))
    assert back[1] == (1.0, float("inf")) and back[2] == {"a": None}


@pytest.mark.parametrize(
    "arr",
    [np.array(2.5), np.arange(3.0), np.ones((2, 3)), np.zeros((0, 4)), np.array([True, False])]
    + [np.arange(4), np.ones((1, 1, 1, 2))],
    ids=["0d", "1d", "2d", "empty", "bool", "int64", "4d"],
)
def test_the_worker_reads_every_array_the_parent_sends(arr):
    worker = _load_worker_module()
    back = worker["read_npy"](bytearray(write_npy(arr)))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_the_worker_reads_a_header_in_another_spelling_too():
    worker = _load_worker_module()
    text = "{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + b"\0" * 16
    assert worker["read_npy"](bytearray(blob)).shape == (2,)


def test_worker_has_no_forbidden_imports():
    text = WORKER.read_text()
    for forbidden in ("import pickle", "multiprocessing", "autograder", "bpnet_ref", "np.load("):
        assert forbidden not in text.replace("must not import autograder", "").replace(
            "never ``autograder``", ""
        ).replace("or ``bpnet_ref``", ""), forbidden


def test_no_pickle_in_harness():
    for path in Path(protocol.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "import multiprocessing" not in text, path
        assert "allow_pickle=True" not in text, path


# ----------------------------------------------------------------------------- rejections

BAD_NPY = {
    "huge declared shape": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    ),
    "1e10 elements": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000,), }"
    ),
    "object dtype": npy_with_header(
        "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8
    ),
    "big-endian": npy_with_header(
        "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8
    ),
    "complex": npy_with_header(
        "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", b"\0" * 16
    ),
    "float32": npy_with_header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4
    ),
    "structured": npy_with_header(
        "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 8
    ),
    "fortran order": npy_with_header(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", b"\0" * 8
    ),
    "truncated data": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", b"\0" * 31
    ),
    "trailing data": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 9
    ),
    "truncated header": b"\x93NUMPY\x01\x00\xff\x00{'descr'",
    "oversize header": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }" + " " * 5000
    ),
    "oversize v2 header": npy_with_header("{" + " " * 70000 + "}", version=2),
    "extra key": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", b"\0" * 8
    ),
    "missing key": npy_with_header("{'descr': '<f8', 'shape': (1,)}", b"\0" * 8),
    "negative dim": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"),
    "bool dim": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }", b"\0" * 8
    ),
    "float dim": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1.0,), }", b"\0" * 8
    ),
    "5 dims": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1), }", b"\0" * 8
    ),
    "list shape": npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': [1], }", b"\0" * 8
    ),
    "code in header": npy_with_header(
        "{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,)}"
    ),
    "not a dict": npy_with_header("[1, 2, 3]"),
    "deep nesting": npy_with_header("(" * 1000 + ")" * 1000),
    "bad magic": b"\x93NUMPX\x01\x00\x10\x00" + b" " * 16,
    "unknown version": b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16,
    "pickle payload": b"\x80\x04\x95" + b"cos\nsystem\n" * 3,
    "empty": b"",
}


@pytest.mark.parametrize("blob", list(BAD_NPY.values()), ids=list(BAD_NPY))
def test_read_npy_rejects(blob):
    with pytest.raises(ProtocolError, match="invalid array"):
        read_npy(blob)


def test_huge_shape_rejected_without_allocation():
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ProtocolError):
        read_npy(BAD_NPY["1e10 elements"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20


GOOD_HEADER = b'{"id":"x"}'
BAD_FRAMES = {
    "bad magic": frame_bytes(GOOD_HEADER, [], magic=b"AGF2"),
    "pickle instead of frame": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00.",
    "header over cap": b"AGF1" + struct.pack("<II", 10**9, 0),
    "too many blobs": b"AGF1" + struct.pack("<II", len(GOOD_HEADER), 10**6) + GOOD_HEADER,
    "blob over cap": frame_bytes(GOOD_HEADER, [])[:8]
    + struct.pack("<I", 1)
    + GOOD_HEADER
    + struct.pack("<I", 2**31),
    "truncated header": b"AGF1" + struct.pack("<II", 100, 0) + b'{"id":',
    "truncated blob": b"AGF1"
    + struct.pack("<II", len(GOOD_HEADER), 1)
    + GOOD_HEADER
    + struct.pack("<I", 100)
    + b"x",
    "trailing bytes": frame_bytes(GOOD_HEADER, []) + b"junk",
    "NaN in JSON": frame_bytes(b'{"elapsed": NaN}', []),
    "Infinity in JSON": frame_bytes(b'{"elapsed": Infinity}', []),
    "-Infinity in JSON": frame_bytes(b'{"elapsed": -Infinity}', []),
    "JSON list": frame_bytes(b"[1, 2]", []),
    "invalid JSON": frame_bytes(b"{'id': 1}", []),
    "invalid UTF-8": frame_bytes(b'{"a": "\xff"}', []),
    "huge integer": frame_bytes(b'{"a": ' + b"9" * 5000 + b"}", []),
    "deep JSON": frame_bytes(b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}", []),
}


@pytest.mark.parametrize("data", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
def test_decode_frame_rejects(data):
    caps = Caps(max_header=1 << 20)
    with pytest.raises((ProtocolError, struct.error)):
        decode_frame(data, caps)


def test_total_cap_checked_before_reading():
    """A declared length over the cap is refused before its bytes are requested."""
    requested: list[int] = []
    stream = io.BytesIO(b"AGF1" + struct.pack("<II", 2, 1) + b"{}" + struct.pack("<I", 100 << 20))

    def read_exact(n: int) -> bytes:
        requested.append(n)
        return stream.read(n)

    with pytest.raises(ProtocolError, match="too large"):
        protocol.read_frame(read_exact, Caps())
    assert max(requested) < 1 << 20


def test_decode_tree_rejects_malformed():
    arrays = [np.zeros(1)]
    for node in (
        {"$nd": 5},
        {"$nd": "0"},
        {"$nd": True},
        {"$float": "1e400"},
        {"$x": 1},
        {"a": 1, "b": 2},
    ):
        with pytest.raises(ProtocolError):
            decode_tree(node, arrays)
    with pytest.raises(ProtocolError):
        decode_tree([{"$nd": 0}, {"$nd": 0}], arrays)  # one blob, referenced twice
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ProtocolError):
        decode_tree(deep, arrays)


@pytest.mark.skipif(
    importlib.util.find_spec("hypothesis") is None, reason="hypothesis not installed"
)
def test_read_npy_fuzz_never_crashes():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def check(tail):
        blob = write_npy(np.arange(3.0))
        for data in (tail, blob[:10] + tail, blob[: len(blob) // 2] + tail):
            try:
                arr = read_npy(data)
            except ProtocolError:
                continue
            assert arr.dtype == np.float64 and arr.size <= Caps().max_elements

    check()


def test_protocol_module_is_importable_without_side_effects():
    assert "autograder.harness.worker" not in sys.modules

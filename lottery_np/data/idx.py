"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number, ``ndim`` big-endian uint32 dimensions and
then the array itself, big-endian, in C order::

    byte 0, 1   0x00 0x00
    byte 2      dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64)
    byte 3      ndim
    4 * ndim    the dimensions d_1 ... d_ndim
    payload     d_1 * ... * d_ndim * itemsize bytes, nothing before or after

Files are often gzip-compressed; :func:`read_idx` recognises gzip by its magic
bytes ``1f 8b`` rather than by the file name, so a renamed file still loads, and
inflates no more than the header says the file holds (a small file that would
inflate to gigabytes is refused after one byte too many). Every length is checked,
so a truncated or padded file is an error, never a silently reshaped array.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"

# IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a native-endian array.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the first two bytes.

    Returns
    -------
    ndarray of shape ``(d_1, ..., d_ndim)``
        A writable, native-endian copy of the payload, with the dtype that the
        header's dtype code names (``uint8`` for MNIST).

    Raises
    ------
    ValueError
        If the gzip stream is corrupt, or the header or the payload length is
        wrong. The message names the file and what is wrong.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        data = _inflate(data, str(path))
    return parse_idx(data, source=str(path))


def _inflate(compressed: bytes, source: str) -> bytes:
    """The IDX bytes of a gzip stream, inflated only as far as the header's shape needs, plus one byte.

    One byte beyond the payload is enough to refuse trailing data, so a stream that would
    inflate far beyond what its header declares costs no more memory than an honest file
    of that header.
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            head = stream.read(4)
            ndim = head[3] if len(head) == 4 else 0
            head += stream.read(4 * ndim)
            shape, dtype, expected = _header(head, source)
            payload = stream.read(expected + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{source}: corrupt gzip stream ({err})") from err
    if len(payload) > expected:
        raise ValueError(f"{source}: extra trailing bytes after the {expected} payload bytes that shape {shape} "
                         f"of {dtype.name} needs (inflated no further)")
    return head + payload


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the uncompressed bytes of an IDX file.

    Parameters
    ----------
    data : bytes
        The whole file, uncompressed.
    source : str, default "<bytes>"
        Where the bytes came from, used in error messages.

    Returns
    -------
    ndarray
        See :func:`read_idx`.
    """
    shape, dtype, expected = _header(data, source)
    header_size = 4 + 4 * len(shape)
    found = len(data) - header_size
    if found < expected:
        raise ValueError(
            f"{source}: truncated, shape {shape} of {dtype.name} needs {expected} payload bytes, "
            f"found {found}"
        )
    if found > expected:
        raise ValueError(
            f"{source}: {found - expected} extra trailing bytes after the {expected} payload bytes "
            f"that shape {shape} of {dtype.name} needs"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _header(data: bytes, source: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, payload bytes)`` of the IDX header at the start of ``data``, every field checked."""
    if len(data) < 4:
        raise ValueError(f"{source}: {len(data)} bytes, too short for the 4-byte IDX magic number")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{source}: not an IDX file, magic number 0x{data[:4].hex()} must start with 0x0000"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {t.name}" for c, t in IDX_DTYPES.items())
        raise ValueError(f"{source}: unknown IDX dtype code 0x{code:02X}; known codes: {known}")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header gives ndim 0, need at least 1 dimension")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{source}: file ends inside the header ({len(data)} bytes, "
            f"an IDX header with {ndim} dimensions needs {header_size})"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints are exact: np.prod in int64 wraps, and dimensions such as
    # 2**31 x 2**31 x 2**31 would "need" 0 bytes and pass for an empty file.
    return shape, dtype, math.prod(shape) * dtype.itemsize


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    array : ndarray
        At least 1-D, with a dtype that IDX supports (uint8, int8, int16,
        int32, float32, float64).
    """
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        names = ", ".join(t.name for t in codes)
        raise ValueError(f"array dtype must be one IDX supports ({names}), got {array.dtype}")
    if array.ndim == 0:
        raise ValueError("array must have at least 1 dimension, got a 0-d array")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)

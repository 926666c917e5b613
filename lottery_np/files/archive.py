"""Reading a ``.npz`` that may be damaged or hostile, and saying exactly what is wrong with it.

``np.load`` trusts its file. A member's ``.npy`` header may declare an array of any
size, and numpy allocates that array before reading a byte of it, so a 600 KB file can
ask for gigabytes; a text file earns advice about pickles; a NaN weight loads without
a word. :class:`NpzArchive` reads every member's header itself and refuses one whose
declared size does not match the bytes the zip holds for it, before numpy allocates
anything. Its methods then hand out arrays only after checking their shape, dtype and
values. Whatever is wrong, the caller gets one :class:`CorruptFileError` naming the
file and the key.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping, NoReturn

import numpy as np

# We write stored (uncompressed) members, so a member's data is as long as its bytes in the
# zip. A compressed member may legitimately be smaller, but not this much smaller: a
# member that inflates past both bounds is a zip bomb, not a network.
_MAX_INFLATION = 100
_SMALL_MEMBER = 1 << 20

# Everything zipfile and numpy raise on a damaged archive or member (zlib.error on bad
# deflate data, RuntimeError on an encrypted member, NotImplementedError on an unknown method).
_DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError, OSError, zlib.error)


class CorruptFileError(ValueError):
    """A file that is not what lottery_np wrote, or was damaged since.

    Attributes
    ----------
    path : Path
        The file.
    key : str or None
        The culprit array or field, when one is to blame.
    """

    def __init__(self, path: str | os.PathLike, what: str, problem: str, key: str | None = None):
        self.path, self.key = Path(path), key
        super().__init__(f"{path} is not a valid {what}: {problem}")


class NpzArchive:
    """The arrays of a ``.npz`` file, each checked before it is handed out.

    Parameters
    ----------
    path : path
        The file. A missing or unreadable file raises the usual ``OSError``.
    what : str
        What the file should be (``"winning ticket"``), for messages.

    Raises
    ------
    CorruptFileError
        If the file is not a zip of ``.npy`` members, or a member is damaged, holds
        Python objects, or declares more data than it holds.
    """

    def __init__(self, path: str | os.PathLike, what: str = "lottery_np file"):
        self.path, self.what = Path(path), what
        self._zipped = self.path.read_bytes()  # the file as stored: members are inflated one by one, when asked for
        self._members = self._scan_members()
        self._arrays: dict[str, np.ndarray] = {}

    @property
    def keys(self) -> set[str]:
        """The names of the arrays in the file (read from its directory and headers: no member is inflated)."""
        return set(self._members)

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise the :class:`CorruptFileError` of ``key``."""
        raise CorruptFileError(self.path, self.what, f"{key} {problem}", key)

    def require(self, keys: Iterable[str]) -> None:
        """Refuse a file lacking one of ``keys`` or holding any other key."""
        keys = set(keys)
        missing, extra = sorted(keys - self.keys), sorted(self.keys - keys)
        if missing:
            raise CorruptFileError(self.path, self.what, f"missing {', '.join(missing)}", missing[0])
        if extra:
            raise CorruptFileError(self.path, self.what, f"unexpected {', '.join(extra)}", extra[0])

    def array(self, key: str) -> np.ndarray:
        """The array ``key``, unchecked (inflated on first use)."""
        if key not in self._members:
            raise CorruptFileError(self.path, self.what, f"missing {key}", key)
        if key not in self._arrays:
            try:
                with zipfile.ZipFile(io.BytesIO(self._zipped)) as archive, archive.open(self._members[key]) as member:
                    self._arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
            except _DAMAGE as error:
                raise CorruptFileError(self.path, self.what, f"{key} is damaged ({type(error).__name__}: {error})",
                                       key) from error
        return self._arrays[key]

    def floats(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """The float32 or float64 array ``key`` of shape ``shape``, every entry finite (what lottery_np writes)."""
        array = self._shaped(key, shape)
        if array.dtype not in (np.float32, np.float64):
            self.fail(key, f"must hold float32 or float64, got dtype {array.dtype}")
        if not np.isfinite(array).all():
            self.fail(key, f"holds {np.count_nonzero(~np.isfinite(array))} NaN or infinite values")
        return array

    def mask(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """The 0/1 mask ``key`` of shape ``shape`` (stored as integers or floats), as float32."""
        array = self._shaped(key, shape)
        if array.dtype.kind not in "biuf":
            self.fail(key, f"must hold integers or floats, got dtype {array.dtype}")
        if not ((array == 0) | (array == 1)).all():
            bad = array[(array != 0) & (array != 1)].flat[0].item()
            self.fail(key, f"must hold only 0 and 1, got {bad!r}")
        return array.astype(np.float32)

    def layer_sizes(self, key: str) -> tuple[int, ...]:
        """The layer sizes ``key``: at least two positive integers, input first."""
        array = self.array(key)
        if array.ndim != 1 or array.dtype.kind not in "iu" or len(array) < 2 or (array <= 0).any():
            self.fail(key, f"must be at least 2 positive integers, got {array.tolist()!r} (dtype {array.dtype})")
        return tuple(int(size) for size in array)

    def json(self, key: str, fields: Mapping[str, type | tuple[type, ...]]) -> dict:
        """The JSON object stored as the string ``key``, holding exactly ``fields`` (see :func:`check_fields`)."""
        array = self.array(key)
        if array.shape != () or array.dtype.kind != "U":
            self.fail(key, f"must be a JSON string, got dtype {array.dtype} and shape {array.shape}")
        try:
            value = parse_json(str(array))
        except ValueError as error:
            self.fail(key, f"is not JSON ({error})")
        try:
            return check_fields(value, fields, exact=True)
        except ValueError as error:
            self.fail(key, str(error))

    def _shaped(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        array = self.array(key)
        if array.shape != tuple(shape):
            self.fail(key, f"has shape {array.shape}, expected {tuple(shape)}")
        return array

    def _scan_members(self) -> dict[str, zipfile.ZipInfo]:
        """Every member's name and ``.npy`` header, checked before any member is inflated whole."""
        size, stream = len(self._zipped), io.BytesIO(self._zipped)
        if not zipfile.is_zipfile(stream):
            reason = ("it is empty" if size == 0 else "a truncated or damaged zip archive"
                      if self._zipped[:4] == b"PK\x03\x04" else "not a zip archive")
            raise CorruptFileError(self.path, self.what, f"not a lottery_np file ({reason})")
        members, key = {}, "the zip directory"
        try:
            with zipfile.ZipFile(stream) as archive:
                for info in archive.infolist():
                    key = info.filename.removesuffix(".npy")
                    if key == info.filename:
                        self.fail(key, "is not a .npy member")
                    if key in members:
                        self.fail(key, "is in the file twice (a zip may hold a name twice; lottery_np never "
                                       "writes one)")
                    self._check_header(archive, info, key, size)
                    members[key] = info
        except CorruptFileError:
            raise
        except _DAMAGE as error:
            raise CorruptFileError(self.path, self.what, f"{key} is damaged ({type(error).__name__}: {error})",
                                   key) from error
        return members

    def _check_header(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, size: int) -> None:
        """Refuse a member whose header declares other data than it holds, before numpy allocates it."""
        if info.compress_size > size:
            self.fail(key, f"claims {info.compress_size} bytes, more than the whole file's {size}")
        if info.file_size > max(_MAX_INFLATION * info.compress_size, _SMALL_MEMBER):
            self.fail(key, f"inflates {info.compress_size} bytes to {info.file_size}, an implausible ratio")
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in read_header:
                self.fail(key, f"has .npy format version {version}, which lottery_np never writes")
            shape, _, dtype = read_header[version](member)
            header_length = member.tell()
        if dtype.hasobject:
            self.fail(key, "holds Python objects (pickled data), which lottery_np never writes")
        declared = math.prod(shape) * dtype.itemsize
        if declared != info.file_size - header_length:
            self.fail(key, f"declares shape {shape} of {dtype} ({declared} bytes) but holds "
                           f"{info.file_size - header_length} bytes")


def parse_json(text: str):
    """``json.loads(text)``, with a document nested too deeply for Python's parser refused like any malformed one.

    Every reader of a file the library wrote catches ``ValueError`` (a JSON syntax error, bad
    UTF-8) to name the file; nesting a few thousand levels deep raises ``RecursionError``
    instead, which would escape them all.

    >>> parse_json("[" * 100_000)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested too deeply to read
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def check_fields(value: Any, fields: Mapping[str, type | tuple[type, ...]], exact: bool = False) -> dict:
    """``value``, if it is a JSON object whose ``fields`` hold values of the given types.

    ``int`` never accepts a ``bool`` (JSON ``true`` is not a round number), and ``float``
    also accepts an ``int``. With ``exact``, keys other than ``fields`` are refused too.

    Raises
    ------
    ValueError
        Naming the first missing, unexpected or mistyped field.
    """
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, got {type(value).__name__}")
    missing = [name for name in fields if name not in value]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    extra = sorted(set(value) - set(fields))
    if exact and extra:
        raise ValueError(f"has unexpected {', '.join(extra)}")
    for name, kinds in fields.items():
        if not is_instance(value[name], kinds):
            raise ValueError(f"{name} must be {_describe(kinds)}, got {value[name]!r}")
    return value


def is_instance(value: Any, kinds: type | tuple[type, ...]) -> bool:
    """``isinstance`` as JSON means it: a bool is not an int, an int is a float."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds) or (float in kinds and isinstance(value, int))


def _describe(kinds: type | tuple[type, ...]) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return " or ".join(names.get(kind, kind.__name__) for kind in (kinds if isinstance(kinds, tuple) else (kinds,)))

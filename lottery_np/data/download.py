"""Download MNIST and Fashion-MNIST from their official mirrors, checksum-verified.

Each file is streamed into a temporary file next to its destination, its
sha256 compared with the official one, and only then moved into place with
``os.replace``; an interrupted or corrupt download never leaves a file behind
that a later run would trust. Each mirror is tried once per file with a short
socket timeout, so a machine without network fails within seconds.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

from .paths import IDX_FILES

MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

# sha256 of the official .gz archives.
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

# Seconds a socket may block (connecting, or waiting for the next chunk).
TIMEOUT_S = 3.0

_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


def download_file(url: str, dest: Path, sha256: str, timeout: float = TIMEOUT_S) -> None:
    """Fetch ``url`` into ``dest`` atomically, keeping it only if its sha256 matches.

    Parameters
    ----------
    url : str
        Any URL ``urllib`` opens (``https://``, ``http://``, ``file://``).
    dest : Path
        Final path; its folder must exist.
    sha256 : str
        Expected hex digest of the downloaded bytes.
    timeout : float
        Socket timeout in seconds.

    Raises
    ------
    DownloadError
        On a checksum mismatch. Network errors propagate as ``OSError`` or
        ``http.client.HTTPException``. Either way no file is left behind.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DownloadError(f"sha256 {digest.hexdigest()} does not match the expected {sha256}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download_dataset(dataset: str, folder: Path) -> None:
    """Download the four ``.gz`` files of ``dataset`` that ``folder`` lacks.

    Mirrors are tried in order, each once per file; a mirror that worked is
    tried first for the remaining files. The first file that no mirror
    delivers stops the download.

    Parameters
    ----------
    dataset : str
        A key of :data:`MIRRORS`.
    folder : Path
        Destination, created if needed.

    Raises
    ------
    DownloadError
        Listing every URL tried and why it failed.
    """
    mirrors = list(MIRRORS[dataset])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"cannot create the download folder {folder}: {err}") from err
    for name in (f"{base}.gz" for base in IDX_FILES):
        dest = folder / name
        if dest.is_file():
            continue
        failures = []
        for mirror in mirrors:
            url = mirror + name
            try:
                download_file(url, dest, SHA256[dataset][name], TIMEOUT_S)
            except (OSError, http.client.HTTPException) as err:
                failures.append(f"  {url}: {err}")
                continue
            mirrors.remove(mirror)
            mirrors.insert(0, mirror)
            break
        else:
            raise DownloadError("Download failed:\n" + "\n".join(failures))

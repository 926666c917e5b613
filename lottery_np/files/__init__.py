"""File safety: reading files that may be damaged or hostile, and writing files that an interrupt cannot tear.

This folder imports nothing from the rest of the package, so that what guards the
files can be read, and trusted, on its own.

* :mod:`.archive` -- :class:`NpzArchive`, a ``.npz`` reader that checks every member's
  header before numpy allocates anything, and hands out arrays only after checking
  their shape, dtype and values; :class:`CorruptFileError` names the file and the key;
* :mod:`.storage` -- atomic writes (a temporary file, ``fsync``, ``os.replace``), and the
  ``.npz`` and JSON helpers every saved file goes through;
* :mod:`.lock` -- :func:`owned_folder`: one live process writes an output folder.
"""
from .archive import CorruptFileError, NpzArchive, check_fields, is_instance, parse_json
from .lock import FolderInUseError, owned_folder
from .storage import json_array, load_npz, read_json_array, save_npz_atomic, write_text_atomic

__all__ = ["CorruptFileError", "FolderInUseError", "NpzArchive", "owned_folder", "check_fields", "is_instance", "json_array", "load_npz",
           "parse_json", "read_json_array", "save_npz_atomic", "write_text_atomic"]

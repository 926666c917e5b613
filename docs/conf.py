"""Sphinx configuration of the lottery_np site: the API reference from the docstrings, and the book.

Build it with one command from the repository's root (``pip install -e ".[docs]"`` first)::

    sphinx-build -W -n --keep-going -c docs -b html . docs/_build/html

The source folder is the repository's root, with this configuration in ``docs/`` (``-c docs``): the pages are
``docs/`` and the book's chapters where they are (``book/``), so that a chapter's links to its figures, its
results tables and the other chapters resolve in the site as they do on GitHub. The front page is
``docs/index.html``, and ``index.html`` leads there.

``-W`` turns every warning into an error and ``-n`` (nitpicky) makes every cross-reference that does not
resolve a warning, so a broken reference in a docstring or a chapter fails the build, and CI with it.
"""
import importlib
import inspect
import logging
import os
import sys
import warnings

from docutils import nodes
from sphinx.util import logging as sphinx_logging
from sphinx.util.nodes import make_refnode

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)  # the working tree, installed or not

import lottery_np  # noqa: E402

project = "lottery_np"
author = "the lottery_np authors"
copyright = "2024, the lottery_np authors"
release = version = lottery_np.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "docs/index"
# Only the site's pages and the book are sources; the book's notebooks are built from it (and git-ignored).
include_patterns = ["docs/**", "book/**"]
exclude_patterns = ["docs/_build", "book/notebooks", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]  # relative to docs/
html_additional_pages = {"index": "redirect.html"}  # the front page is docs/index.html

# --- autodoc and numpydoc ------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
# The types are stated in each docstring's Parameters and Returns sections (the NumPy style, which help()
# shows too); the annotations would repeat them in the signature as unresolvable NumPy and typing names.
autodoc_typehints = "none"
autoclass_content = "class"
numpydoc_show_class_members = False  # autodoc's :members: lists them, with their docstrings
numpydoc_xref_param_type = False

# --- the chapters (MyST markdown) -----------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # links to a chapter's sections, as GitHub writes them (file.md#1-the-hypothesis)

# --- cross-references ----------------------------------------------------------------------------------
nitpicky = True
# Names from outside the library, which no inventory here describes (the build is offline).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|torch|sklearn|matplotlib|joblib|dask|ray|tqdm|argparse|pathlib|os|typing)(\..*)?"),
]

html_theme = "alabaster"
html_title = f"lottery_np {release}"
html_static_path = []


# A docstring names an object where its reader imports it (lottery_np.MLP, lottery_np.pruning.prune_global)
# or where it is defined (lottery_np.model.MLP, lottery_np.pruning.masks.prune_global), and sometimes names a
# module's helper that the reference leaves out (lottery_np.engine.threads.idle_cores). The site documents each
# public object once, and every module. A reference that does not resolve as written is resolved here when
# the name imports: to the page of that very object (a class, function, method, property or module) where it
# is documented under another name, or else to the module that defines it. A name that does not import (a
# typo, a renamed or removed function) stays a broken reference, and fails the build.
_DOCUMENTED = {}


def _import(path):
    """The object a dotted name imports as, or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _identifiable(obj):
    return inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(
        obj, (property, staticmethod, classmethod))


def _documented(domain):
    """id(object) -> (documented name, entry) for every documented object with an identity of its own."""
    if not _DOCUMENTED:
        for name, entry in list(domain.modules.items()) + list(domain.objects.items()):
            obj = _import(name)
            if obj is not None and _identifiable(obj):
                _DOCUMENTED.setdefault(id(obj), (name, entry))
    return _DOCUMENTED


def _docstring_module(node):
    """The module that defines the object whose docstring holds ``node``, from its source line, or None.

    An object documented where users import it (lottery_np.experiment.run_benchmark) is read in the page's
    module, but its docstring names things as the module that defines it sees them (runner.run_jobs).
    """
    source = node.source or ""
    if "docstring of " not in source:
        return None
    name = source.split("docstring of ", 1)[1]
    obj = _import(name)
    module = _defining_module(obj) if obj is not None and _identifiable(obj) else None
    if module in sys.modules:
        return module
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        if module in sys.modules and inspect.ismodule(sys.modules[module]):
            return module
    return None


def _candidates(node):
    """The full names a reference may mean, in the order Python's scoping would try them."""
    target = node["reftarget"].lstrip("~").lstrip(".")
    module, cls = node.get("py:module"), node.get("py:class")
    names = []
    if module and cls:
        names.append(f"{module}.{cls}.{target}")
    for scope in (module, _docstring_module(node)):
        while scope:  # the module itself, then the packages around it (sibling modules: .store, jobs.run_job)
            names.append(f"{scope}.{target}")
            scope = scope.rpartition(".")[0]
    names.append(target)
    return [name for name in names if name.startswith("lottery_np")]


def _defining_module(obj):
    if inspect.ismodule(obj):
        return None
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return getattr(obj, "__module__", None)


def resolve_alias(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    documented = _documented(domain)
    for candidate in _candidates(node):
        obj = _import(candidate)
        if obj is None:
            continue
        found = documented.get(id(obj)) if _identifiable(obj) else None
        if found is None:  # a helper the reference leaves out, or a constant: its module's entry
            module = _defining_module(obj) if _identifiable(obj) else candidate.rpartition(".")[0]
            if module not in domain.modules:
                continue
            found = (module, domain.modules[module])
        name, entry = found
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)
    return None


def _forget(app, env, docnames):
    _DOCUMENTED.clear()


# Warnings from docstrings in files that their owners are rewriting now; each entry is (the file, a piece of
# the message). They are the known gaps listed in tests/test_api_examples.py's report: remove an entry when
# its file is fixed (an entry that matches nothing is harmless, but keep the list short and true).
KNOWN_GAPS = [
    ("lottery_np/exercises/gradcheck.py", "Undefined substitution referenced"),  # |a - b| in the module docstring
    ("lottery_np/experiment/paper.py", "more than one target found for cross-reference 'store'"),  # :mod:`.store`
    ("lottery_np/experiment/runner.py", "more than one target found for cross-reference 'store'"),  # :mod:`.store`
    ("lottery_np/schema.py", "reference target not found: add_options"),  # no such function
]


class _KnownGaps(logging.Filter):
    def filter(self, record):
        location = getattr(record, "location", None)
        if isinstance(location, nodes.Node):
            location = sphinx_logging.get_node_location(location)
        try:
            message = record.msg % record.args if record.args else str(record.msg)
        except (TypeError, ValueError):
            message = str(record.msg)
        return not any(path in str(location or "") and piece in message for path, piece in KNOWN_GAPS)


_logger = sphinx_logging.getLogger("lottery_np.docs")


def _numpydoc_warnings_to_sphinx():
    """numpydoc reports a docstring it cannot parse (an unknown section) as a Python UserWarning, which
    Sphinx does not count; make it a Sphinx warning, so that -W fails the build on it."""
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if "numpydoc" in str(filename):
            _logger.warning("numpydoc: %s", message)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    warnings.filterwarnings("always", category=UserWarning, module="numpydoc")


def setup(app):
    app.connect("missing-reference", resolve_alias)
    app.connect("env-before-read-docs", _forget)
    for handler in logging.getLogger(sphinx_logging.NAMESPACE).handlers:
        if isinstance(handler, sphinx_logging.WarningStreamHandler):
            handler.filters.insert(0, _KnownGaps())  # before Sphinx counts the warning, or raises on it
    _numpydoc_warnings_to_sphinx()

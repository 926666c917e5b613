"""The book's chapters and exercises as Jupyter notebooks, generated from the markdown.

    python book/build_notebooks.py [--execute] [--out DIR]

The markdown chapter is the source and the notebook a build product (git-ignored):
edit ``book/<chapter>.md``, never the ``.ipynb``. Every chapter in ``book/`` with
```python blocks becomes ``DIR/<chapter>.ipynb`` (``DIR`` is ``book/notebooks/``):

* each python block is one code cell, in order, its code unchanged (jupytext parses
  the markdown);
* everything else is markdown, shell blocks included: jupytext would make them
  ``%%bash`` cells, and the chapter shows those commands (``pip install``, hour-long
  benchmarks), it does not run them;
* relative links point at the same files from ``DIR``;
* two cells come first, tagged ``notebook-only``: how to run it yourself, and a set-up
  cell that shows every figure the chapter saves under the cell that saves it.

The graded exercises, ``book/exercises/NN-<name>.md``, become two notebooks each
(``tests/test_exercise_notebooks.py`` builds and runs them):

* ``DIR/exercises/teacher/NN-<name>.ipynb``, nbgrader's *source* version: every
  solution in place between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, every
  hidden check between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, and the
  cells carrying nbgrader's metadata (schema 3), so ``nbgrader generate_assignment``
  takes it as it is;
* ``DIR/exercises/student/NN-<name>.ipynb``, what nbgrader would release: each solution
  replaced by nbgrader's stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``)
  and the hidden checks removed, for a course without nbgrader.

A sheet marks its cells in the fence of the python block (jupytext reads the words after
``python`` as the cell's metadata): ```` ```python solution="masked_forward" ```` for the
cell a student writes, ```` ```python check="masked_forward" points=2 ```` for the graded
cell that checks it. Every other block is an ordinary cell, the same in both versions.

``--execute`` runs each chapter's notebook, and each exercise's teacher notebook, top to
bottom in a kernel of this interpreter (nbclient) and saves the outputs; with
``LOTTERY_NP_BOOK_SMALL=1`` in the environment the chapters take seconds, as in the test
suite (``tests/test_notebooks.py``).
"""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import jupytext
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

BOOK = Path(__file__).resolve().parent
OUT = BOOK / "notebooks"
NOTEBOOK_ONLY = "notebook-only"   # the tag of the cells that are not the chapter's

# A cell jupytext made from a fenced block in another language: "%%bash" and the block's body.
OTHER_LANGUAGE = re.compile(r"%%(\w+)\n(.*)", re.DOTALL)
# The target of a markdown link or image that is a relative path (not http:, mailto:, #anchor).
LINK = re.compile(r"(!?\[[^\]]*\]\()((?![a-z][a-z0-9+.-]*:|#)[^)\s]+)(\))")

RUN_IT_YOURSELF = """\
**Run it yourself.** This notebook is generated from [the chapter]({chapter}); edit the markdown, not the
notebook. From the repository root: `pip install -e ".[notebook]" && python book/build_notebooks.py`, then
`jupyter lab book/notebooks/{name}` (the `notebook` extra brings jupytext and JupyterLab)."""

SHOW_FIGURES = '''\
# Notebook set-up, not part of the chapter. lottery_np.plots draws each figure on its own
# matplotlib Figure and saves it to a file, never through pyplot, so Jupyter has nothing to show
# by itself: this shows every .png a figure is saved to, under the cell that saves it.
import functools
import os

from IPython.display import Image, display
from matplotlib.figure import Figure

_savefig = getattr(Figure.savefig, "__wrapped__", Figure.savefig)   # re-running this cell is harmless


@functools.wraps(_savefig)
def _savefig_and_show(figure, fname, *args, **kwargs):
    _savefig(figure, fname, *args, **kwargs)
    if isinstance(fname, (str, os.PathLike)) and os.fspath(fname).endswith(".png"):
        display(Image(filename=os.fspath(fname)))


Figure.savefig = _savefig_and_show'''


def chapters() -> list[Path]:
    """The chapters of the book: every markdown file in ``book/`` but its README."""
    return [path for path in sorted(BOOK.glob("*.md")) if path.name != "README.md"]


def build_notebook(chapter: Path, out_dir: Path) -> Optional[nbformat.NotebookNode]:
    """The notebook of ``chapter`` as it will sit in ``out_dir``; None when it has no python block."""
    source = jupytext.read(chapter, fmt="md")
    if not any(cell.cell_type == "code" and not OTHER_LANGUAGE.match(cell.source) for cell in source.cells):
        return None
    link_base = os.path.relpath(chapter.parent, out_dir)
    notebook = new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(
            RUN_IT_YOURSELF.format(chapter=Path(link_base, chapter.name).as_posix(),
                                   name=chapter.with_suffix(".ipynb").name),
            metadata={"tags": [NOTEBOOK_ONLY]}),
        nbformat.v4.new_code_cell(SHOW_FIGURES, metadata={"tags": [NOTEBOOK_ONLY]}),
    ]
    for cell in source.cells:
        add_cell(notebook, cell, link_base)
    return finish(notebook)


def add_cell(notebook: nbformat.NotebookNode, cell: nbformat.NotebookNode, link_base: str,
             code: Optional[Callable[[nbformat.NotebookNode], nbformat.NotebookNode]] = None) -> None:
    """Append jupytext's ``cell`` to ``notebook``: a python block as a code cell, the rest as markdown.

    A block in another language is shown as text, relative links are made to work from
    ``link_base``, and markdown runs on into the previous markdown cell (one cell per stretch
    of prose). ``code`` makes the code cell from jupytext's (default: the source alone).
    """
    other = OTHER_LANGUAGE.match(cell.source) if cell.cell_type == "code" else None
    if cell.cell_type == "code" and not other:
        notebook.cells.append(code(cell) if code else nbformat.v4.new_code_cell(cell.source))
        return
    text = f"```{other.group(1)}\n{other.group(2)}\n```" if other else cell.source
    text = LINK.sub(lambda m: m.group(1) + Path(link_base, m.group(2)).as_posix() + m.group(3), text)
    previous = notebook.cells[-1]
    if previous.cell_type == "markdown" and NOTEBOOK_ONLY not in previous.metadata.get("tags", []):
        previous.source += "\n\n" + text
    else:
        notebook.cells.append(nbformat.v4.new_markdown_cell(text))


def finish(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Number the cells and validate: the same markdown builds the same notebook, byte for byte."""
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    nbformat.validate(notebook)
    return notebook


def new_notebook() -> nbformat.NotebookNode:
    """An empty notebook for a python 3 kernel."""
    return nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })


# ---------------------------------------------------------------------------------------- the exercises
EXERCISES = BOOK / "exercises"
VERSIONS = ("teacher", "student")
# nbgrader's markers and its default stub (ClearSolutions.code_stub), indented like the BEGIN marker.
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[ \t]*\n.*?^[ \t]*### END SOLUTION[ \t]*(\n|\Z)", re.S | re.M)
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*(\n|\Z)",
                          re.S | re.M)
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")   # what nbgrader accepts as a grade_id

ABOUT_EXERCISES = {
    "teacher": """\
**Exercises, teacher's version.** Generated from [the sheet]({sheet}) by `python book/build_notebooks.py`;
edit the markdown, not the notebook. Each solution sits between `### BEGIN SOLUTION` and `### END SOLUTION`,
each graded cell's checks between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`, and the cells carry
nbgrader's metadata: put this notebook in an nbgrader course's `source/<assignment>/` and
`nbgrader generate_assignment` makes the students' copy. Without nbgrader, hand out
`../student/{name}` (the same notebook with the solutions and hidden checks stripped).""",
    "student": """\
**Exercises.** Fill in every cell that says `# YOUR CODE HERE` (delete
the `raise NotImplementedError()`), then run the check under it: it prints whether your function is right
and, if not, on which input, by how much, and the likely mistake. The cells that say they are graded run
more checks when your teacher grades the notebook.""",
}


def exercise_sheets() -> list[Path]:
    """The exercise sheets, in order: ``book/exercises/NN-<name>.md``."""
    return sorted(EXERCISES.glob("[0-9][0-9]-*.md"))


def nbgrader_metadata(cell: nbformat.NotebookNode, where: str) -> Optional[dict]:
    """nbgrader's metadata for a sheet's cell marked ``solution="ID"`` or ``check="ID" points=N``; None if neither.

    Raises
    ------
    ValueError
        For a marked cell without its markers, points or a valid ID, naming ``where``.
    """
    kind = "solution" if "solution" in cell.metadata else "check" if "check" in cell.metadata else None
    if kind is None:
        return None
    name = cell.metadata[kind]
    if not isinstance(name, str) or not GRADE_ID.fullmatch(name):
        raise ValueError(f"{where}: {kind} must name the exercise in letters, digits, _ and -, got {name!r}")
    base = {"schema_version": 3, "task": False}
    if kind == "solution":
        if not SOLUTION.search(cell.source):
            raise ValueError(f"{where}: the solution cell {name!r} has no ### BEGIN SOLUTION ... ### END SOLUTION")
        return dict(base, grade=False, grade_id=name, locked=False, solution=True)
    points = cell.metadata.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise ValueError(f"{where}: the check cell {name!r} needs points=N, N > 0, got {points!r}")
    if not HIDDEN_TESTS.search(cell.source):
        raise ValueError(f"{where}: the check cell {name!r} has no ### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS")
    return dict(base, grade=True, grade_id=f"{name}-check", locked=True, points=points, solution=False)


def strip_solutions(source: str) -> str:
    """``source`` with each solution region replaced by nbgrader's stub, at the marker's indentation."""
    return SOLUTION.sub(lambda m: "".join(m.group(1) + line + "\n" for line in CODE_STUB.split("\n")), source)


def strip_hidden_tests(source: str) -> str:
    """``source`` without its hidden checks (markers included)."""
    return HIDDEN_TESTS.sub("", source).rstrip("\n")


def build_exercise(sheet: Path, out_dir: Path, version: str = "teacher") -> nbformat.NotebookNode:
    """The ``version`` ("teacher" or "student") of an exercise ``sheet``, as it will sit in ``out_dir``.

    Raises
    ------
    ValueError
        For an unknown version, a marked cell without its markers or points, or a grade ID used twice.
    """
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    source = jupytext.read(sheet, fmt="md")
    link_base = os.path.relpath(sheet.parent, out_dir)
    notebook = new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(
        ABOUT_EXERCISES[version].format(sheet=Path(link_base, sheet.name).as_posix(),
                                        name=sheet.with_suffix(".ipynb").name),
        metadata={"tags": [NOTEBOOK_ONLY]})]
    seen: set = set()

    def code(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
        where = f"{sheet.name}, the python block starting `{cell.source.splitlines()[0] if cell.source else ''}`"
        nbgrader = nbgrader_metadata(cell, where)
        if nbgrader is None:
            return nbformat.v4.new_code_cell(cell.source)
        if nbgrader["grade_id"] in seen:
            raise ValueError(f"{where}: the grade ID {nbgrader['grade_id']!r} is used twice")
        seen.add(nbgrader["grade_id"])
        text = cell.source
        if version == "student":
            text = strip_solutions(text) if nbgrader["solution"] else strip_hidden_tests(text)
        return nbformat.v4.new_code_cell(text, metadata={"nbgrader": nbgrader})

    for cell in source.cells:
        add_cell(notebook, cell, link_base, code)
    return finish(notebook)


class ThisInterpreterKernel(AsyncKernelManager):
    """A kernel manager whose ``python3`` kernel is ipykernel in the interpreter running this code.

    With no kernel directories to search, jupyter_client falls back to ipykernel's own
    spec, ``[sys.executable, "-m", "ipykernel_launcher", ...]``, so a ``python3`` spec
    installed elsewhere (a user's, another environment's) is never picked up.
    """

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])


def execute_notebook(notebook: nbformat.NotebookNode, cwd: Path, env: Optional[Mapping[str, str]] = None,
                     timeout: Optional[int] = None, on_cell_executed: Optional[Callable[..., None]] = None,
                     allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run every code cell of ``notebook`` in order, in place, in a fresh kernel of this interpreter.

    Parameters
    ----------
    notebook : NotebookNode
        Its outputs are replaced.
    cwd : Path
        The kernel's working directory.
    env : mapping, optional
        The kernel's environment (default: this process's).
    timeout : int, optional
        Seconds each cell may take (default: no limit).
    on_cell_executed : callable, optional
        nbclient's hook, called as ``on_cell_executed(cell=, cell_index=, execute_reply=)``.
    allow_errors : bool
        Run on past a cell that raises (its output holds the error), as a grader does.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        At the first cell that raises, unless ``allow_errors``; that cell holds the error output.
    """
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            kernel_manager_class=ThisInterpreterKernel, on_cell_executed=on_cell_executed)
    return client.execute(cwd=str(cwd), env=dict(os.environ if env is None else env))


def main(argv: Optional[Sequence[str]] = None) -> list[Path]:
    """Build (and with ``--execute`` run) the notebook of every chapter and exercise; returns the files written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the notebooks (default: {OUT})")
    parser.add_argument("--execute", action="store_true",
                        help="run each chapter's and each teacher's exercise notebook and save its outputs "
                             "(set LOTTERY_NP_BOOK_SMALL=1 for seconds)")
    args = parser.parse_args(argv)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters():
        notebook = build_notebook(chapter, out_dir)
        if notebook is None:
            continue
        if args.execute:
            execute_notebook(notebook, cwd=out_dir)
        path = out_dir / chapter.with_suffix(".ipynb").name
        nbformat.write(notebook, path)
        print("wrote", path)
        written.append(path)
    for version in VERSIONS:
        folder = out_dir / "exercises" / version
        folder.mkdir(parents=True, exist_ok=True)
        for sheet in exercise_sheets():
            notebook = build_exercise(sheet, folder, version)
            if args.execute and version == "teacher":   # the student's stubs raise
                execute_notebook(notebook, cwd=folder)
            path = folder / sheet.with_suffix(".ipynb").name
            nbformat.write(notebook, path)
            print("wrote", path)
            written.append(path)
    return written


if __name__ == "__main__":
    main()

"""The book's chapters as Jupyter notebooks, generated from the markdown.

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

``--execute`` runs each notebook top to bottom in a kernel of this interpreter
(nbclient) and saves the outputs; with ``LOTTERY_NP_BOOK_SMALL=1`` in the environment
the runs take seconds, as in the test suite (``tests/test_notebooks.py``).
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
    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    notebook.cells = [
        nbformat.v4.new_markdown_cell(
            RUN_IT_YOURSELF.format(chapter=Path(link_base, chapter.name).as_posix(),
                                   name=chapter.with_suffix(".ipynb").name),
            metadata={"tags": [NOTEBOOK_ONLY]}),
        nbformat.v4.new_code_cell(SHOW_FIGURES, metadata={"tags": [NOTEBOOK_ONLY]}),
    ]
    for cell in source.cells:
        other = OTHER_LANGUAGE.match(cell.source) if cell.cell_type == "code" else None
        if cell.cell_type == "code" and not other:
            notebook.cells.append(nbformat.v4.new_code_cell(cell.source))
            continue
        text = f"```{other.group(1)}\n{other.group(2)}\n```" if other else cell.source
        text = LINK.sub(lambda m: m.group(1) + Path(link_base, m.group(2)).as_posix() + m.group(3), text)
        previous = notebook.cells[-1]
        if previous.cell_type == "markdown" and NOTEBOOK_ONLY not in previous.metadata.get("tags", []):
            previous.source += "\n\n" + text
        else:
            notebook.cells.append(nbformat.v4.new_markdown_cell(text))
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"   # the same markdown builds the same notebook, byte for byte
    nbformat.validate(notebook)
    return notebook


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
                     timeout: Optional[int] = None,
                     on_cell_executed: Optional[Callable[..., None]] = None) -> nbformat.NotebookNode:
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

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        At the first cell that raises; that cell holds the error output.
    """
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            kernel_manager_class=ThisInterpreterKernel, on_cell_executed=on_cell_executed)
    return client.execute(cwd=str(cwd), env=dict(os.environ if env is None else env))


def main(argv: Optional[Sequence[str]] = None) -> list[Path]:
    """Build (and with ``--execute`` run) the notebook of every chapter; returns the files written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the notebooks (default: {OUT})")
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook and save its outputs (set LOTTERY_NP_BOOK_SMALL=1 for seconds)")
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
    return written


if __name__ == "__main__":
    main()

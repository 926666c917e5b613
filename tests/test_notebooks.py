"""The book's notebooks cannot drift from the markdown: built fresh from it, they run.

Each chapter with python blocks is built by ``book/build_notebooks.py`` into a
temporary folder and executed top to bottom in a kernel of this interpreter, with the
environment ``tests/test_book.py`` gives the chapter (``LOTTERY_NP_BOOK_SMALL=1``,
one thread). The checks: the code cells are the chapter's python blocks, one for one
and in order; every cell ran; and every figure the chapter saves is shown, as an
image, under the cell that saved it. A failure names the cell and the chapter line.
"""
import base64
import importlib.util
import re
import sys
import time
from pathlib import Path

import pytest
from nbclient.exceptions import CellExecutionError
from test_book import BOOK, LINK, chapter_env, code_blocks

spec = importlib.util.spec_from_file_location("build_notebooks", BOOK / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_notebooks)

CHAPTERS = [chapter for chapter in build_notebooks.chapters() if code_blocks("python", chapter)]


def chapter_cells(notebook) -> list:
    """The code cells that come from the chapter (not the notebook's own set-up)."""
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and build_notebooks.NOTEBOOK_ONLY not in cell.metadata.get("tags", [])]


def png_files(folder: Path) -> dict[Path, tuple[int, int]]:
    return {path: (path.stat().st_mtime_ns, path.stat().st_size) for path in folder.rglob("*.png")}


def test_every_chapter_with_code_has_a_notebook():
    assert CHAPTERS, "expected at least book/lottery-ticket-pruning.md"
    assert (BOOK / "lottery-ticket-pruning.md") in CHAPTERS


def test_the_kernel_is_this_interpreter():
    """Not whatever ``python3`` kernel spec a user or another environment installed."""
    kernel = build_notebooks.ThisInterpreterKernel(kernel_name="python3").kernel_spec
    assert kernel.argv[:3] == [sys.executable, "-m", "ipykernel_launcher"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_code_cells_are_the_chapters_python_blocks(chapter, tmp_path):
    notebook = build_notebooks.build_notebook(chapter, tmp_path)
    cells = chapter_cells(notebook)
    blocks = code_blocks("python", chapter)
    assert len(cells) == len(blocks), f"{len(cells)} code cells for {len(blocks)} python blocks"
    for number, (cell, (line, code)) in enumerate(zip(cells, blocks), 1):
        assert cell.source == code.rstrip("\n"), f"code cell {number} is not the block at chapter line {line}"
    added = [cell for cell in notebook.cells if cell not in cells and cell.cell_type == "code"]
    assert added == notebook.cells[1:2], "the only code the chapter does not hold is the set-up cell on top"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_notebook_says_how_to_run_it_and_its_links_resolve(chapter, tmp_path):
    notebook = build_notebooks.build_notebook(chapter, tmp_path)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("**Run it yourself.**")
    assert 'pip install -e ".[notebook]"' in first.source and "jupyter lab book/notebooks/" in first.source
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for line, code in code_blocks("bash", chapter):
        assert f"```bash\n{code}```" in text, f"the shell block at chapter line {line} is not shown as text"
    targets = LINK.findall(text)
    missing = [target for target in targets if not (tmp_path / target.split("#")[0]).exists()]
    assert targets and not missing, f"links that do not resolve from the notebook's folder: {missing}"


def failure(chapter: Path, notebook, error: CellExecutionError) -> str:
    """Which cell failed (its index, and the python block and chapter line it comes from), and how."""
    failed = next(index for index, cell in enumerate(notebook.cells)
                  if any(output.output_type == "error" for output in cell.get("outputs", [])))
    cells = chapter_cells(notebook)
    where = "the notebook's set-up cell"
    if notebook.cells[failed] in cells:
        number = cells.index(notebook.cells[failed])
        where = f"python block {number + 1} (chapter line {code_blocks('python', chapter)[number][0]})"
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", str(error))   # without the terminal colours
    return f"notebook cell {failed} of {chapter.stem}.ipynb, {where}, failed:\n{traceback}"


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda path: path.stem)
def executed(request, tmp_path_factory):
    """``(chapter, notebook, {cell index: png files written by that cell})``, run at the small size."""
    chapter, tmp_path = request.param, tmp_path_factory.mktemp("notebook")
    out_dir = tmp_path / "notebooks"
    build_notebooks.main(["--out", str(out_dir)])
    notebook = build_notebooks.nbformat.read(out_dir / chapter.with_suffix(".ipynb").name, as_version=4)
    written, seen = {}, png_files(tmp_path)

    def record_figures(cell, cell_index, execute_reply):
        nonlocal seen
        now = png_files(tmp_path)
        written[cell_index] = sorted(path for path, stamp in now.items() if seen.get(path) != stamp)
        seen = now

    start = time.perf_counter()
    try:
        build_notebooks.execute_notebook(notebook, cwd=out_dir, env=chapter_env(tmp_path, small=True),
                                         timeout=600, on_cell_executed=record_figures)
    except CellExecutionError as error:
        raise pytest.fail.Exception(failure(chapter, notebook, error), pytrace=False) from None
    print(f"{chapter.stem}.ipynb executed in {time.perf_counter() - start:.1f} s")
    return chapter, notebook, written


def test_every_code_cell_ran_in_order(executed):
    _, notebook, _ = executed
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    errors = [index for index, cell in enumerate(notebook.cells)
              if any(output.output_type == "error" for output in cell.get("outputs", []))]
    assert not errors, f"cells {errors} hold errors"


def test_figures_render_inline_where_the_chapter_saves_them(executed):
    chapter, notebook, written = executed
    plots = any("lottery_np.plots" in code for _, code in code_blocks("python", chapter))
    assert any(written.values()) == plots, f"{chapter.name} uses lottery_np.plots: {plots}; figures saved: {written}"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        shown = sorted(base64.b64decode(output.data["image/png"]) for output in cell.outputs
                       if "image/png" in output.get("data", {}))
        saved = sorted(path.read_bytes() for path in written[index])
        assert shown == saved, (f"notebook cell {index} saved {[p.name for p in written[index]]} "
                                f"and shows {len(shown)} image(s)")

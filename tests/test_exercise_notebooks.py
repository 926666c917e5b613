"""The exercise notebooks cannot drift from the library: their solutions pass, a blank answer fails.

Each sheet ``book/exercises/NN-<name>.md`` is built by ``book/build_notebooks.py`` into a
teacher's notebook (nbgrader's source version: solutions and hidden checks in place) and a
student's (solutions replaced by nbgrader's stub, hidden checks removed). The checks:

* the two versions differ only where they should, and carry nbgrader's metadata: each
  exercise is a solution cell, a check the student runs, and a graded cell worth the points
  its checks are called with; each says what to expect and how long it takes;
* the teacher's notebook runs top to bottom and every check and graded cell prints ``passed``;
* a student's notebook handed in untouched, with the hidden checks put back as nbgrader's
  autograder does, fails every graded cell with the check's feedback: the checks can fail.

The notebooks run on the 8x8 digits and tiny arrays, in a kernel of this interpreter with
the chapter's one-thread environment (``tests/test_book.py``).
"""
import copy
import importlib.util
import re

import pytest
from nbclient.exceptions import CellExecutionError
from test_book import BOOK, chapter_env

spec = importlib.util.spec_from_file_location("build_notebooks", BOOK / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_notebooks)

SHEETS = build_notebooks.exercise_sheets()
CHECK_CALL = re.compile(r"\bcheck_\w+\(")


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def exercises(notebook) -> list:
    """``(solution cell, the student's check cell, graded cell)`` for every exercise, in order."""
    cells = code_cells(notebook)
    found = []
    for index, cell in enumerate(cells):
        if nbgrader(cell).get("solution"):
            assert index + 2 < len(cells), f"the solution cell {nbgrader(cell)['grade_id']!r} is not followed by checks"
            found.append((cell, cells[index + 1], cells[index + 2]))
    return found


def stdout(cell) -> str:
    return "".join(output.text for output in cell.outputs if output.output_type == "stream" and output.name == "stdout")


def errors(cell) -> list:
    return [output for output in cell.outputs if output.output_type == "error"]


def run(notebook, folder, allow_errors=False):
    """Execute ``notebook`` in ``folder``; a failure names the sheet's cell and the error, without colours."""
    try:
        build_notebooks.execute_notebook(notebook, cwd=folder, env=chapter_env(folder, small=True), timeout=120,
                                         allow_errors=allow_errors)
    except CellExecutionError as error:
        raise pytest.fail.Exception(re.sub(r"\x1b\[[0-9;]*m", "", str(error)), pytrace=False) from None
    return notebook


def test_there_is_a_set_of_sheets():
    assert 3 <= len(SHEETS) <= 6, SHEETS
    assert [sheet.name[:3] for sheet in SHEETS] == [f"{n:02d}-" for n in range(1, len(SHEETS) + 1)]


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda path: path.stem)
def test_each_exercise_has_a_stub_a_check_and_a_graded_cell(sheet, tmp_path):
    teacher = build_notebooks.build_exercise(sheet, tmp_path, "teacher")
    student = build_notebooks.build_exercise(sheet, tmp_path, "student")
    found = exercises(teacher)
    assert found, f"{sheet.name} has no exercise"
    ids = [nbgrader(cell)["grade_id"] for cell in teacher.cells if nbgrader(cell)]
    assert len(ids) == len(set(ids)) == 2 * len(found)
    for solution, check, graded in found:
        name = nbgrader(solution)["grade_id"]
        assert nbgrader(solution) == {"grade": False, "grade_id": name, "locked": False, "schema_version": 3,
                                      "solution": True, "task": False}
        assert not nbgrader(check) and CHECK_CALL.search(check.source) and "print(" in check.source, name
        points = nbgrader(graded)["points"]
        assert nbgrader(graded) == {"grade": True, "grade_id": f"{name}-check", "locked": True, "points": points,
                                    "schema_version": 3, "solution": False, "task": False}
        assert f"points={points}" in check.source and f"points={points}" in graded.source, name
        assert ".assert_passed()" in graded.source, f"the graded cell of {name} cannot fail"
    # Each exercise says what to expect and how long it takes.
    text = sheet.read_text()
    headings = len(re.findall(r"^## Exercise ", text, re.M))
    assert headings >= len(found) and text.count("*Expected:*") == text.count("*Time:*") == headings

    assert len(student.cells) == len(teacher.cells)
    for ours, theirs in zip(student.cells[1:], teacher.cells[1:]):
        assert ours.metadata == theirs.metadata
        if ours.cell_type == "code":
            compile(ours.source, f"{sheet.name}, student's cell", "exec")   # the stub leaves valid Python
        if nbgrader(theirs).get("solution"):
            assert "BEGIN SOLUTION" not in ours.source and "raise NotImplementedError()" in ours.source
            assert ours.source == build_notebooks.strip_solutions(theirs.source)
        elif nbgrader(theirs).get("grade"):
            assert all(line.startswith("#") for line in ours.source.splitlines()), "a hidden check is showing"
        else:
            assert ours.source == theirs.source
    assert "### BEGIN" not in "".join(cell.source for cell in student.cells)


def test_a_marked_cell_without_its_markers_or_points_is_refused(tmp_path):
    sheet = tmp_path / "01-broken.md"
    sheet.write_text('# Broken\n\n```python solution="f"\ndef f():\n    return 1\n```\n')
    with pytest.raises(ValueError, match=r"01-broken.md.*'f' has no ### BEGIN SOLUTION"):
        build_notebooks.build_exercise(sheet, tmp_path)
    sheet.write_text('# Broken\n\n```python check="f"\n### BEGIN HIDDEN TESTS\npass\n### END HIDDEN TESTS\n```\n')
    with pytest.raises(ValueError, match="needs points=N"):
        build_notebooks.build_exercise(sheet, tmp_path)


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda path: path.stem)
def test_the_teachers_notebook_runs_and_every_check_passes(sheet, tmp_path):
    notebook = run(build_notebooks.build_exercise(sheet, tmp_path, "teacher"), tmp_path)
    cells = code_cells(notebook)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    for solution, check, graded in exercises(notebook):
        points = f"{nbgrader(graded)['points']:g}"
        for cell in (check, graded):
            assert f": passed ({points}/{points} points)" in stdout(cell), stdout(cell)
            assert "FAILED" not in stdout(cell), stdout(cell)


@pytest.mark.parametrize("sheet", SHEETS[:1], ids=lambda path: path.stem)
def test_an_untouched_students_notebook_fails_every_graded_cell(sheet, tmp_path):
    teacher = build_notebooks.build_exercise(sheet, tmp_path, "teacher")
    handed_in = build_notebooks.build_exercise(sheet, tmp_path, "student")
    # What nbgrader's autograder does: the graded cells go back to the teacher's, hidden checks and all.
    hidden = {nbgrader(cell)["grade_id"]: cell for cell in teacher.cells if nbgrader(cell).get("grade")}
    handed_in.cells = [copy.deepcopy(hidden.get(nbgrader(cell).get("grade_id"), cell)) for cell in handed_in.cells]
    notebook = run(handed_in, tmp_path, allow_errors=True)
    for solution, check, graded in exercises(notebook):
        points = f"{nbgrader(graded)['points']:g}"
        assert f": FAILED (0/{points} points)" in stdout(check) and "It raised NotImplementedError" in stdout(check)
        [error] = errors(graded)
        assert error.ename == "AssertionError" and f": FAILED (0/{points} points)" in error.evalue
        assert "It raised NotImplementedError" in error.evalue   # the feedback, shown to the grader

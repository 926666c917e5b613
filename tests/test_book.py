"""The book's chapters cannot go stale: their code runs, their links resolve, their commands exist.

Each chapter of :data:`CHAPTERS` is read like a notebook: every ```python block is
executed in order, in one shared namespace, in a fresh interpreter with
``LOTTERY_NP_BOOK_SMALL=1`` (the chapter reads it and shrinks every run to seconds).
A failure names the block and its line in the chapter, and the traceback points at
the chapter's own lines. ```bash blocks are not run, but every script and option
they name must exist.
"""
import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTER = BOOK / "lottery-ticket-pruning.md"
CHAPTERS = [CHAPTER, BOOK / "stability.md", BOOK / "sparse-from-the-start.md", BOOK / "anatomy-of-a-ticket.md"]
"""Every chapter, in reading order; each one's python blocks form one program."""

# A fenced block: an opening ``` line with an optional language, the body, a closing ``` line.
FENCE = re.compile(r"^```([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
# Markdown links and images whose target is a relative path (not http:, mailto:, #anchor).
LINK = re.compile(r"!?\[[^\]]*\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)")

# Runs in the child interpreter: reads [[line, code], ...] from stdin and executes the
# blocks in one namespace. Each block is padded with blank lines so that its line
# numbers, under the chapter's file name, are the chapter's line numbers.
RUNNER = r"""
import json, sys, time, traceback
chapter, blocks = sys.argv[1], json.load(sys.stdin)
namespace = {"__name__": "__book__"}
total = time.perf_counter()
for number, (line, code) in enumerate(blocks, 1):
    start = time.perf_counter()
    try:
        exec(compile("\n" * (line - 1) + code, chapter, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"BOOK BLOCK {number} of {len(blocks)} (chapter line {line}) FAILED", flush=True)
        sys.exit(1)
    print(f"BOOK BLOCK {number:2d} (line {line:4d}) {time.perf_counter() - start:6.2f} s", flush=True)
print(f"BOOK TOTAL {time.perf_counter() - total:.2f} s", flush=True)
"""


def code_blocks(language: str, chapter: Path = CHAPTER) -> list[tuple[int, str]]:
    """``(first line of the code, code)`` of every fenced block in ``language``, in order."""
    text = chapter.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) == language:
            first_line = text.count("\n", 0, match.start(2)) + 1
            blocks.append((first_line, match.group(2)))
    return blocks


def chapter_env(tmp_path: Path, small: bool) -> dict[str, str]:
    """The environment the chapter's code runs in (here and in tests/test_notebooks.py)."""
    # One thread for BLAS and for Numba's parallel kernels: the chapter's matrices are small,
    # and on a busy machine idle threads spin against other processes. Measured on a loaded
    # two-core machine: 32 s for the small run with two Numba threads, 7 s with one.
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", TMPDIR=str(tmp_path))  # the chapter's files land here
    if small:
        env["LOTTERY_NP_BOOK_SMALL"] = "1"
    else:
        env.pop("LOTTERY_NP_BOOK_SMALL", None)
    return env


def run_chapter(tmp_path: Path, small: bool, timeout: float, chapter: Path = CHAPTER) -> subprocess.CompletedProcess:
    """Execute ``chapter``'s python blocks in a fresh interpreter inside ``tmp_path``."""
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(chapter)],
        input=json.dumps(code_blocks("python", chapter)), capture_output=True, text=True,
        cwd=tmp_path, env=chapter_env(tmp_path, small), timeout=timeout,
    )


def check_run(process: subprocess.CompletedProcess) -> None:
    print(process.stdout[-4000:])  # per-block timings, shown with pytest -s or on failure
    if process.returncode != 0:
        pytest.fail(f"the chapter's code failed:\n{process.stdout[-6000:]}\n{process.stderr[-6000:]}")


each_chapter = pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)


@each_chapter
def test_chapter_has_python_blocks_that_parse(chapter):
    blocks = code_blocks("python", chapter)
    assert len(blocks) >= 5, f"expected the chapter's walkthrough in >= 5 python blocks, found {len(blocks)}"
    for line, code in blocks:
        try:
            ast.parse(code)
        except SyntaxError as error:
            pytest.fail(f"python block at chapter line {line}: {error}")


@each_chapter
def test_chapter_code_runs_top_to_bottom(tmp_path, chapter):
    """Every python block, in order, in one namespace, at the small size (about half a minute)."""
    check_run(run_chapter(tmp_path, small=True, timeout=600, chapter=chapter))


@pytest.mark.slow
@each_chapter
def test_chapter_code_runs_at_full_size(tmp_path, chapter):
    """The chapter as a student runs it: MNIST if it is on disk, else the digits (minutes)."""
    check_run(run_chapter(tmp_path, small=False, timeout=3600, chapter=chapter))


@each_chapter
def test_fences_are_balanced_and_labelled(chapter):
    """Every code fence names its language, so no shell command is mistaken for python or vice versa."""
    text = chapter.read_text(encoding="utf-8")
    fences = [line for line in text.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0, "unbalanced ``` fences"
    openers = fences[0::2]
    unlabelled = [fence for fence in openers if fence.strip() == "```"]
    assert not unlabelled, f"{len(unlabelled)} code blocks without a language"
    assert {fence[3:].strip() for fence in openers} <= {"python", "bash", "text"}


@each_chapter
def test_relative_links_resolve(chapter):
    """Links to files exist; the benchmark's figures are checked once book/figures/ exists."""
    text = chapter.read_text(encoding="utf-8")
    missing, pending = [], []
    for target in LINK.findall(text):
        path = (BOOK / target.split("#")[0]).resolve()
        if path.exists():
            continue
        if target.startswith("figures/") and not (BOOK / "figures").is_dir():
            pending.append(target)
        else:
            missing.append(target)
    assert not missing, f"broken links in {chapter.name}: {missing}"
    if pending:
        pytest.skip(f"book/figures/ not generated yet: {pending}")


def _commands(chapter: Path) -> list[list[str]]:
    """The shell commands of ``chapter``'s bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for _, code in code_blocks("bash", chapter):
        for line in code.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def _options(words: list[str]) -> list[str]:
    return [word.split("=")[0] for word in words if word.startswith("--")]


@each_chapter
def test_shell_commands_name_real_scripts_and_options(chapter):
    """``python some/script.py --opt`` and ``lottery-np CMD --opt``: the script, command and options exist."""
    checked = 0
    for words in _commands(chapter):
        if "python" in words and any(w.endswith(".py") for w in words):
            script = next(w for w in words if w.endswith(".py"))
            assert (ROOT / script).is_file(), f"the chapter runs {script}, which does not exist"
            help_text = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True,
                                       text=True, timeout=120).stdout
            for option in _options(words[words.index(script) + 1:]):
                assert option in help_text, f"{script} has no option {option} (see its --help)"
            checked += 1
        elif words[0] == "lottery-np":
            from lottery_np.cli import build_parser

            command = words[1]
            parser = build_parser()
            subcommands = next(a for a in parser._actions if a.dest == "command").choices
            assert command in subcommands, f"lottery-np has no command {command!r}"
            if command == "benchmark":  # its options belong to the benchmark's own parser
                from lottery_np.experiment import build_parser as benchmark_parser

                help_text = benchmark_parser().format_help()
            else:
                help_text = subcommands[command].format_help()
            for option in _options(words[2:]):
                assert option in help_text, f"lottery-np {command} has no option {option}"
            checked += 1
    assert checked >= 2, "expected the chapter to show the benchmark script and the command line"

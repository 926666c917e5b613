"""The numbers the first chapter quotes from the results tables are the tables' numbers.

``book/lottery-ticket-pruning.md`` quotes the MNIST benchmark (``book/figures/results.md``)
and the paper grid (``book/figures/paper/results.md``) in its prose. Both tables are parsed
here; each entry of :data:`QUOTES` names a short phrase that finds one sentence of the
chapter, and the text that sentence must contain, built from the table's row and column.
A failure prints the chapter's sentence next to what the table gives. When a benchmark is
rerun, the tables change, this test fails, and it names every sentence to update.
"""
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "lottery-ticket-pruning.md"
MNIST = ROOT / "book" / "figures" / "results.md"
PAPER = ROOT / "book" / "figures" / "paper" / "results.md"

WINDOW = 400
"""Characters after a phrase in which its quoted numbers must appear (about two lines of prose)."""

# `method  round  density %  acc ± std  ES  to-dense-best (k/n)  time s  seeds`, from results.md's table.
MNIST_ROW = re.compile(r"^(\w+)\s+(\d+)\s+([\d.]+)\s+([\d.]+) ± ([\d.]+)\s+(\d+)\s+(\d+|never) \((\d+)/(\d+)\)"
                       r"\s+[\d.]+\s+\d+$", re.MULTILINE)
# `round  Pm %  method (note)  ES mean [min, max]  acc mean [min, max]  seeds`, from paper/results.md's table.
PAPER_ROW = re.compile(r"^\s*(\d+)\s+([\d.]+)\s+(.+?)\s{2,}(\d+) \[\s*(\d+),\s*(\d+)\]\s+([\d.]+) \[\s*([\d.]+),"
                       r"\s*([\d.]+)\]\s+\d+$", re.MULTILINE)
PAPER_METHODS = {"winning ticket (rewind to init)": "ticket", "random reinit (ticket's mask)": "reinit",
                 "random mask (original init)": "mask", "one-shot pruning (rewind to init)": "one_shot"}


def normalise(text: str) -> str:
    """Runs of whitespace (line breaks, list indentation) as one space, so a phrase may cross lines."""
    return re.sub(r"\s+", " ", text)


def mnist_table(text: str) -> dict:
    """``{(method, density "54.82"): row}``; acc and std as printed, ES an int, reached None for "never"."""
    rows = {}
    for method, _, density, acc, std, es, reached, k, n in MNIST_ROW.findall(text):
        rows[method, density] = SimpleNamespace(acc=acc, std=std, es=int(es), k=int(k), n=int(n),
                                                reached=None if reached == "never" else int(reached))
    assert rows, f"no table rows found in {MNIST}"
    return rows


def paper_table(text: str) -> dict:
    """``{(round, "ticket" | "reinit" | "mask" | "one_shot"): row}``, numbers as printed (ES as ints)."""
    rows = {}
    for r, pm, label, es, es_min, es_max, acc, acc_min, acc_max in PAPER_ROW.findall(text):
        rows[int(r), PAPER_METHODS[label]] = SimpleNamespace(pm=pm, es=int(es), es_min=int(es_min),
                                                             es_max=int(es_max), acc=acc, acc_min=acc_min,
                                                             acc_max=acc_max)
    assert rows, f"no table rows found in {PAPER}"
    return rows


def one_match(pattern: str, text: str, where: Path) -> re.Match:
    match = re.search(pattern, text)
    assert match, f"{where.name} no longer says {pattern!r}"
    return match


def n(value: int) -> str:
    """An iteration count as the chapter writes it: 2,333."""
    return f"{value:,}"


def points(a: str, b: str) -> str:
    """``a - b`` in percentage points, from two printed accuracies, to two decimals."""
    return f"{float(a) - float(b):.2f}"


def quotes(m: dict, p: dict, mnist_text: str, paper_text: str) -> list[tuple[str, str, str]]:
    """``(phrase, expected text, where in the tables)`` for every quoted number checked."""
    t = lambda d: m["lottery_ticket", d]   # noqa: E731 -- short names keep the list below readable
    late = lambda d: m["late_rewind", d]       # noqa: E731
    reinit = lambda d: m["random_reinit", d]   # noqa: E731
    mask = lambda d: m["random_mask", d]       # noqa: E731
    mag = lambda d: m["magnitude", d]          # noqa: E731
    dense = m["dense", "100.00"]
    later = ["30.08", "16.51", "9.08", "5.00"]
    ratios = [reinit(d).es / t(d).es for d in later]
    gaps = {d: float(t(d).acc) - float(reinit(d).acc) for d in ["54.82", *later]}
    smallest = min(gaps, key=gaps.get)
    label = {"54.82": "55 %", "30.08": "30 %", "16.51": "16.5 %", "9.08": "9 %", "5.00": "5 %"}
    reached = [(d, reinit(d).reached) for d in ["54.82", *later] if reinit(d).reached is not None]
    wall = one_match(r"Wall time (\d+) s \((\d+) min\)", mnist_text, MNIST)
    jobs = one_match(r"\((\d+) jobs, two at a time\)", paper_text, PAPER)
    hours = one_match(r"Wall time on 2 cores: (\d+ h \d+ min)", paper_text, PAPER)
    plateau = [p[r, "ticket"].acc for r in range(4, 12)]
    ticket, dense0 = (lambda r: p[r, "ticket"]), p[0, "ticket"]
    return [
        # --- section 6.1, figures/results.md ---
        ("To regenerate the figures, run from the repository root", f"({wall.group(2)} minutes on our two cores", "wall time"),
        ("Dense LeNet-300-100 reaches", f"reaches {dense.acc} ± {dense.std} %", "dense, acc"),
        ("the 16.5 % ticket reaches", f"reaches {t('16.51').acc} ± {t('16.51').std} % and the 5 % ticket "
         f"{t('5.00').acc} ± {t('5.00').std} %", "lottery_ticket 16.51/5.00, acc"),
        ("late rewinding gives", f"gives {late('16.51').acc} ± {late('16.51').std} % and "
         f"{late('5.00').acc} ± {late('5.00').std} %", "late_rewind 16.51/5.00, acc"),
        ("Even the largest ticket", f"(54.8 %, {t('54.82').acc} ± {t('54.82').std} %)", "lottery_ticket 54.82"),
        ("Dense training reaches its minimum validation loss", f"at iteration {n(dense.es)}", "dense, ES"),
        ("on average; the tickets at", f"at {n(min(t(d).es for d in later[:3]))}-{n(max(t(d).es for d in later[:3]))}"
         f" for densities 30-9 %, and {n(t('5.00').es)} at 5 %", "lottery_ticket 30.08-9.08 and 5.00, ES"),
        ("The tickets at 30 % and 16.5 % reach", f"after {n(t('30.08').reached)} and {n(t('16.51').reached)} "
         "iterations on average, in every seed", "lottery_ticket 30.08/16.51, to dense best"),
        ("in every seed; at 9 % and 5 %", f"after {n(t('9.08').reached)} and {n(t('5.00').reached)}, in two seeds "
         "of three", "lottery_ticket 9.08/5.00, to dense best"),
        ("The dense network itself needs", f"needs {n(dense.reached)}", "dense, to dense best"),
        ("With the ticket's mask but fresh weights", f"falls to {reinit('16.51').acc} % at 16.5 % and "
         f"{reinit('5.00').acc} % at 5 %", "random_reinit 16.51/5.00, acc"),
        ("and early stopping comes", f"comes {min(ratios):.1f}-{max(ratios):.1f} times later than the ticket's "
         f"({n(min(reinit(d).es for d in later))}-{n(max(reinit(d).es for d in later))} at 30-5 %)",
         "random_reinit / lottery_ticket, ES, 30.08-5.00"),
        ("at 30-5 %);", f"{sum(reinit(d).k for d in ['54.82', *later])} of these 15 runs", "random_reinit, k/3"),
        ("best validation accuracy (at 54.8 %", "(" + " and ".join(
            f"at {label[d] if d != '54.82' else '54.8 %'} after {n(r)}" + (" iterations" if i == 0 else "")
            for i, (d, r) in enumerate(reached)) + ")", "random_reinit, to dense best"),
        ("A random mask over the original weights", f"({mask('5.00').acc} % at 5 %) and also gets there in "
         f"{sum(mask(d).k for d in ['54.82', *later])} of 15 runs", "random_mask 5.00 acc, k/3"),
        ("The gap between ticket and reinitialization is smallest", f"smallest at {label[smallest]} (random reinit "
         f"{reinit(smallest).acc} ± {reinit(smallest).std} % against the ticket's {t(smallest).acc} ± "
         f"{t(smallest).std} %, {gaps[smallest]:.2f} points) and widens from there to {gaps['5.00']:.2f} points at 5 % "
         f"({reinit('5.00').acc} % against {t('5.00').acc} %)", "lottery_ticket - random_reinit, acc"),
        ("is the strongest method while the network is still large", f"({mag('54.82').acc} % at 55 %, "
         f"{mag('30.08').acc} % at 30 %; {mag('16.51').acc} % at 16.5 %", "magnitude 54.82-16.51, acc"),
        ("It collapses at high sparsity", f"({mag('9.08').acc} % at 9 %, {mag('5.00').acc} % at 5 %)",
         "magnitude 9.08/5.00, acc"),
        ("still falling at the end of the", f"end of the {n(mag('9.08').es)} fine-tuning iterations",
         "magnitude 9.08, ES"),
        # --- section 6.2, figures/paper/results.md ---
        ("results/paper_lenet/*.png book/figures/paper/", f"That is {jobs.group(1)} jobs", "jobs"),
        ("On our two-core machine (the box in section 4.3)", f"the run took {hours.group(1)}", "wall time"),
        ("| dense test accuracy |", f"| {dense0.acc} % [{dense0.acc_min}, {dense0.acc_max}] |", "round 0"),
        ("| Pm at which the ticket learns fastest |", f"{float(ticket(7).pm):.1f} % (early stopping at "
         f"{n(ticket(7).es)} against {n(dense0.es)} dense)", "round 7 and 0, ES"),
        ("| accuracy gain at Pm 13.5 % |", f"| +{points(ticket(9).acc, dense0.acc)} points |", "round 9 - round 0"),
        ("| Pm at which the ticket falls back", f"at 3.6 % still {ticket(15).acc} %", "round 15, acc"),
        ("| ticket against random reinitialization at 21 % |", f"{p[7, 'reinit'].es / ticket(7).es:.2f}x faster, "
         f"+{points(ticket(7).acc, p[7, 'reinit'].acc)} points", "round 7, reinit / ticket"),
        ("| iterative against one-shot pruning |", f"at 1.85 %: {ticket(18).acc} % against {p[18, 'one_shot'].acc} %, "
         f"early stopping {n(ticket(18).es)} against {n(p[18, 'one_shot'].es)}", "round 18, ticket and one-shot"),
        ("Early stopping falls from", f"from {n(dense0.es)} iterations (dense) to {n(ticket(7).es)} at 21.1 %",
         "rounds 0 and 7, ES"),
        ("then rises again:", f"{n(ticket(12).es)} at 6.95 %, {n(ticket(15).es)} at 3.58 %", "rounds 12 and 15, ES"),
        ("(about the dense network's) and", f"and {n(ticket(18).es)} at 1.85 %", "round 18, ES"),
        ("It rises from", f"from {dense0.acc} % to a plateau of {min(plateau)}-{max(plateau)} % between 41 % and 8.7 %",
         "rounds 4-11, acc"),
        ("keeps the dense network's accuracy down to 21 %", f"down to 21 % ({p[7, 'reinit'].acc} %)", "round 7 reinit"),
        ("falls behind in accuracy too:", f"{p[12, 'reinit'].acc} % at 6.95 % and {p[18, 'reinit'].acc} % at 1.85 %, "
         f"against the ticket's {ticket(12).acc} % and {ticket(18).acc} %", "rounds 12 and 18, reinit and ticket"),
        ("a random mask does worse still:", f"{p[12, 'mask'].acc} % at 6.95 % and {p[18, 'mask'].acc} % at 1.85 %",
         "rounds 12 and 18, mask"),
        ("varies most from seed to seed", f"({n(dense0.es_min)}, ", "round 0, ES min"),
        ("varies most from seed to seed", f" and {n(dense0.es_max)})", "round 0, ES max"),
        ("Past the paper's figures", f"{ticket(21).acc} % at 0.96 % and {ticket(24).acc} % at 0.50 %",
         "rounds 21 and 24, acc"),
        ("Its early stopping comes ever later", f"({n(ticket(24).es)} at 0.50 %)", "round 24, ES"),
        ("Every control collapses by 0.50 %:", f"random reinitialization: {float(p[24, 'reinit'].acc):.1f} %", "round 24"),
        ("Every control collapses by 0.50 %:", f"one-shot pruning: {float(p[24, 'one_shot'].acc):.1f} %", "round 24"),
        ("Every control collapses by 0.50 %:", f"a random mask: {float(p[24, 'mask'].acc):.1f} %", "round 24"),
    ]


def mismatches(chapter: str, mnist_text: str, paper_text: str) -> list[str]:
    """One readable line per quote whose phrase is missing or ambiguous, or whose number is not the table's."""
    text = normalise(chapter)
    found = []
    for phrase, expected, where in quotes(mnist_table(mnist_text), paper_table(paper_text), mnist_text, paper_text):
        phrase, expected = normalise(phrase), normalise(expected)
        starts = [m.start() for m in re.finditer(re.escape(phrase), text)]
        if not starts:
            found.append(f"phrase {phrase!r} not in the chapter (reworded? update tests/test_book_numbers.py)")
        elif len(starts) > 1 and not any(expected in text[s:s + WINDOW] for s in starts):
            found.append(f"phrase {phrase!r} occurs {len(starts)} times and none is followed by {expected!r}")
        elif not any(expected in text[s:s + WINDOW] for s in starts):
            found.append(f"chapter: {text[starts[0]:starts[0] + 200]!r}\n  table ({where}): {expected!r}")
    return found


@pytest.fixture(scope="module")
def texts():
    return (CHAPTER.read_text(encoding="utf-8"), MNIST.read_text(encoding="utf-8"), PAPER.read_text(encoding="utf-8"))


def test_the_tables_parse(texts):
    _, mnist_text, paper_text = texts
    mnist, paper = mnist_table(mnist_text), paper_table(paper_text)
    assert len(mnist) == 26                                     # dense + 5 methods x 5 rounds
    assert len(paper) == 25 + 3 * 6                             # rounds 0-24 + 3 controls x 6 rounds
    assert mnist["dense", "100.00"].acc == "97.89" and paper[7, "reinit"].es == 7233


def test_every_quoted_number_is_the_tables(texts):
    problems = mismatches(*texts)
    assert not problems, f"{len(problems)} quoted numbers disagree with the tables:\n" + "\n".join(problems)


@pytest.mark.parametrize("wrong, right", [
    ("1.8-3.0 times later", "1.8-3.3 times later"),             # the chapter's old ratio
    ("smallest at 30 %", "smallest at 55 %"),                   # and its old place
    ("That is 42 jobs", "That is 42 trainings"),                 # and its old count
    ("(97.70 % at 9 %", "(97.71 % at 9 %"),                      # one digit of one accuracy
    ("7,633 against 30,400", "7,633 against 30,500"),            # one early-stopping iteration
])
def test_a_wrong_number_in_the_chapter_is_caught(texts, wrong, right):
    chapter, mnist_text, paper_text = texts
    assert chapter.count(wrong) == 1
    assert mismatches(chapter.replace(wrong, right), mnist_text, paper_text)


def test_a_changed_table_is_caught(texts):
    chapter, mnist_text, paper_text = texts
    rerun_mnist = mnist_text.replace("random_reinit        4      9.08     97.45 ± 0.09     8267",
                                     "random_reinit        4      9.08     97.45 ± 0.09     9267")
    rerun_paper = paper_text.replace("98.29 [ 98.18,  98.42]", "98.31 [ 98.18,  98.42]")
    assert rerun_mnist != mnist_text and rerun_paper != paper_text
    assert any("times later" in line for line in mismatches(chapter, rerun_mnist, paper_text))
    assert any("+0.39 points" in line for line in mismatches(chapter, mnist_text, rerun_paper))

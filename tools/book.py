"""The book's pages, and how the tests and tools read them: one reader, so every check sees the same pages.

The book is in two languages, each a folder of pages:

    README.md, README.zh-CN.md      the front pages: where to start, the chapter table
    book/en/1-perceptron.md ...     one page per chapter, in reading order
    book/en/options.md ...          reference pages (options, GPUs and clusters, benchmarks, versions)
    book/zh-CN/...                  the same pages in Chinese, with the same names

A chapter page opens with a line of links (the front page, the other language), then its title
("# Chapter 1: ..."), its lab sections ("## Lab _01: ...") and last its exercises ("## Exercises");
a line "---" and the links to the previous and next chapter close it.
"""
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = REPO_ROOT / "book"
LANGUAGES = ("en", "zh-CN")
FRONT_PAGES = {"en": "README.md", "zh-CN": "README.zh-CN.md"}
CHAPTER_PAGES = ("1-perceptron.md", "2-linear-networks.md", "3-backpropagation.md", "4-quadratic-regression.md",
                 "5-mnist.md")
REFERENCE_PAGES = ("options.md", "gpus-and-clusters.md", "benchmarks.md", "versions.md")
EXERCISES_HEADING = {"en": "## Exercises", "zh-CN": "## 练习"}
ANSWER_LABEL = {"en": "Answer", "zh-CN": "答案"}
TRY_WORD = {"en": r"\bTry\b", "zh-CN": r"试试|再试"}
# A row of the front page's chapter table: | chapter | `lab` | what you will see | notebook |
LAB_ROW = re.compile(r"^\|[^|\n]*\| `((?:\w+/)?_\d+_\w+)` \|", re.MULTILINE)
FOOTER = re.compile(r"\n---\n(?!.*\n---\n)", re.DOTALL)


def read(relative: str) -> str:
    """A page's text, by its path in the checkout (``book/en/1-perceptron.md``, ``README.md``)."""
    return (REPO_ROOT / relative).read_text(encoding="utf-8")


def chapter_path(language: str, number: int) -> str:
    """``book/en/3-backpropagation.md`` for ("en", 3)."""
    return f"book/{language}/{CHAPTER_PAGES[number - 1]}"


def reference_path(language: str, name: str) -> str:
    return f"book/{language}/{name}"


def body(page: str) -> str:
    """A chapter page without its links above the title and below the last "---"."""
    start = page.find("\n# ")
    page = page[start + 1:] if start != -1 else page
    return FOOTER.split(page, 1)[0]


def chapters(language: str) -> dict:
    """{chapter number: the chapter's text, from its title to its last exercise}."""
    return {number: body(read(chapter_path(language, number))) for number in range(1, len(CHAPTER_PAGES) + 1)}


def pages(language: str) -> dict:
    """{path: text} of every page of one language: the front page, the chapters, the reference pages."""
    paths = [FRONT_PAGES[language]] + [chapter_path(language, number) for number in range(1, 6)]
    paths += [reference_path(language, name) for name in REFERENCE_PAGES]
    return {path: read(path) for path in paths}


def all_pages() -> dict:
    """{path: text} of every page of the book in both languages, and CONTRIBUTING.md."""
    found = {"CONTRIBUTING.md": read("CONTRIBUTING.md")}
    for language in LANGUAGES:
        found.update(pages(language))
    return found


def labs_in_order(language: str = "en") -> list:
    """The labs of the front page's chapter table, in reading order: ``_01_perceptron_learn_rule``, ...

    The labs are numbered in the order they were written; chapter 3 reads _09, _10, _11, _07, _12-_16,
    and chapter 4 is _08. The table, and each chapter page, list them as a reader meets them.
    """
    return LAB_ROW.findall(read(FRONT_PAGES[language]))


def lab_token(lab: str) -> str:
    """How a heading names a lab: ``_07`` for ``_07_bp_xor``, ``mnist/_02`` for ``mnist/_02_cnn``."""
    folder, _, stem = lab.rpartition("/")
    number = stem.split("_")[1]
    return f"{folder}/_{number}" if folder else f"_{number}"


def section_for(language: str, lab: str) -> tuple:
    """(chapter number, the "## " section about ``lab``, up to the next heading of its level or above)."""
    mention = re.compile(rf"(?<![\w/]){re.escape(lab_token(lab))}(?!\w)")
    for number, text in chapters(language).items():
        lines = text.splitlines()
        for start, line in enumerate(lines):
            if line.startswith("## ") and mention.search(line):
                end = next((i for i in range(start + 1, len(lines)) if re.match(r"#{1,2} ", lines[i])), len(lines))
                return number, "\n".join(lines[start:end]).strip()
    raise LookupError(f"no section about {lab} in the {language} chapters")


def exercises_section(language: str, number: int) -> str:
    """The exercises of a chapter, from their heading to the end of the chapter."""
    text = chapters(language)[number]
    heading = EXERCISES_HEADING[language]
    if f"\n{heading}\n" not in text:
        raise LookupError(f"chapter {number} ({language}) has no section {heading!r}")
    return heading + text.split(f"\n{heading}\n", 1)[1]

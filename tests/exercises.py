"""The book's exercises and "Try" suggestions, read from its chapter pages and the labs' docstrings.

Each chapter page (book/en/*.md) ends with a section "## Exercises" (book/zh-CN:
"## 练习"). An exercise starts with a comment naming what answers it, one run
or several separated by ";", each a lab, constants changed in its code
(``NAME=VALUE``, no spaces) and flags:

    <!-- exercise 1.2: labs/_01_perceptron_learn_rule.py TARGET=-1.0 -->
    **1.2** ... the question, with the command or the change to make ...

    <details>
    <summary>Answer</summary>

    ... the answer, whose numbers the lab prints ...

    </details>

The runs of one exercise happen in order, in one folder, so a later run can
use what an earlier one wrote (a trained model, drawn digits).
"""
import ast
import dataclasses
import re

from labtools import REPO_ROOT, discover_labs, load_lab

book = load_lab("tools/book.py")
LANGUAGES = book.LANGUAGES
EXERCISES_HEADING = book.EXERCISES_HEADING
ANSWER_LABEL = book.ANSWER_LABEL
MARKER = re.compile(r"^<!-- exercise (\d+)\.(\d+): (.+?) -->$", re.MULTILINE)
CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]*)=(\S+)$")

# A number as a person writes it: 0.13, -0.00005 (with a typographic minus too), 1,000, 98.1, 2.1e+08.
# Letters are ASCII here: in Chinese prose a number may touch a character ("3次") and still counts.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.,:/^-])([-−]?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)"
                    r"(?![A-Za-z0-9_]|\.\d)(\s?%)?")


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a lab: its path, the constants changed in its code, its command-line flags."""
    lab: str
    constants: tuple = ()
    flags: tuple = ()

    @classmethod
    def parse(cls, text: str) -> "Run":
        lab, *words = text.split()
        constants = tuple(word for word in words if CONSTANT.match(word))
        flags = tuple(word for word in words if not CONSTANT.match(word))
        return cls(lab, constants, flags)

    def command(self) -> str:
        """What a learner types for a run with no changed constants."""
        return " ".join(["python", self.lab, *self.flags])


@dataclasses.dataclass
class Exercise:
    language: str
    chapter: int
    number: int
    runs: tuple
    question: str
    answer: str

    @property
    def name(self) -> str:
        return f"{self.chapter}.{self.number}"


def exercises_of(language: str, chapters: dict | None = None) -> list:
    """Every exercise of one language's chapters ({number: text}, by default the pages'), in order."""
    chapters = chapters if chapters is not None else book.chapters(language)
    found = []
    for chapter, chapter_text in chapters.items():
        heading = f"\n{EXERCISES_HEADING[language]}\n"
        if heading not in chapter_text:
            continue
        section = chapter_text.split(heading, 1)[1]
        markers = list(MARKER.finditer(section))
        for index, marker in enumerate(markers):
            end = markers[index + 1].start() if index + 1 < len(markers) else len(section)
            block = section[marker.end():end]
            question, _, rest = block.partition("<details>")
            answer = rest.partition("</details>")[0]
            found.append(Exercise(language, int(marker.group(1)), int(marker.group(2)),
                                  tuple(Run.parse(run) for run in marker.group(3).split(";")),
                                  question.strip(), answer.strip()))
            assert int(marker.group(1)) == chapter, f"{language}: exercise {marker.group(1)}.{marker.group(2)} " \
                                                    f"is in chapter {chapter}"
    return found


def module_constants(lab: str) -> set:
    """The names a lab assigns at module level: the constants an exercise may change."""
    tree = ast.parse((REPO_ROOT / lab).read_text(encoding="utf-8"))
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


# --- Numbers ---------------------------------------------------------------------------------

def _without_code_and_math(markdown: str) -> str:
    """Prose only: no fenced blocks, code spans, formulas, HTML tags, link targets or references to formulas
    and labs."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\]\([^)\s]*\)", "] ", text)                                         # [text](5-mnist.md#...)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\((?:\d+\.\d+(?:[)–-]+|, |\)\s*and\s*\())*\d+\.\d+\)", " ", text)   # (3.6), (3.2)–(3.7)
    text = re.sub(r"(?:exercises?|练习)\s*\d+\.\d+(?:\s*(?:,|and|和|、)\s*\d+\.\d+)*", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"(?:\w+/)?_\d+\w*", " ", text)                                        # _07, mnist/_02_cnn
    return text


def prose_numbers(markdown: str) -> list:
    """The numbers of a text's prose, as written: [("0.13", 0.13, has_sign), ("83%", 83.0, False), ...]."""
    found = []
    for sign, digits, percent in NUMBER.findall(_without_code_and_math(markdown)):
        value = float(digits.replace(",", ""))
        found.append((sign + digits + percent.strip(), -value if sign else value, bool(sign)))
    return found


def printed_numbers(output: str) -> list:
    """Every number a run printed (a sign is kept; "1,000" is 1000)."""
    return [(-1 if sign else 1) * float(digits.replace(",", ""))
            for sign, digits in re.findall(r"(-?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)",
                                           output.replace("−", "-"))]


def _decimals(written: str) -> int:
    return len(written.split(".")[1].lower().split("e")[0]) if "." in written else 0


def is_printed(written: str, value: float, signed: bool, printed: list) -> bool:
    """Whether a number written in prose is one the run printed, to the digits the prose gives.

    "0.13" stands for any printed number that rounds to 0.13, "98.1" for
    98.13, "2.1e+08" for 2.1e+08 or 2.14e+08. Without a sign it may stand
    for a printed negative number's size ("falls to 0.00005").
    """
    mantissa_digits = _decimals(written.rstrip("%"))
    for number in printed:
        candidates = [number] if signed else [number, abs(number)]
        if written.endswith("%"):   # "83%" also stands for a printed accuracy of 0.8263
            candidates += [100 * candidate for candidate in candidates]
        for candidate in candidates:
            if "e" in written.lower():
                exponent = int(written.lower().rstrip("%").split("e")[1])
                step = 10.0 ** (exponent - mantissa_digits)
            else:
                step = 10.0 ** -mantissa_digits
            if abs(candidate - value) <= step / 2 * (1 + 1e-9) + 1e-12:
                return True
    return False


def unprinted_numbers(markdown: str, printed: list) -> list:
    """The numbers of ``markdown``'s prose that no run printed."""
    return [written for written, value, signed in prose_numbers(markdown)
            if not is_printed(written, value, signed, printed)]


def suggestion_prose(text: str) -> str:
    """A suggestion without its flags, whose values are settings rather than results."""
    return FLAG_GROUP.sub(" ", text)


def quoted_lines(markdown: str) -> list:
    """The lines of the ```text blocks of an answer: output it quotes."""
    return [line for block in re.findall(r"```text\n(.*?)```", markdown, flags=re.DOTALL)
            for line in block.splitlines()]


# --- "Try" suggestions -------------------------------------------------------------------------

VALUE = r"(?:[ =](?!--)[^\s;()`]+)?"
FLAG_GROUP = re.compile(rf"(?<![\w-])--[a-z][\w-]*{VALUE}(?:\s+--[a-z][\w-]*{VALUE})*")


def _flag_groups(text: str) -> list:
    """The sets of flags a suggestion names: "--init xavier --learning-rate 0.003" is one."""
    return [tuple(word.rstrip(":,.") for word in group.replace("=", " ").split()) for group in FLAG_GROUP.findall(text)]


def docstring_try(lab: str) -> str:
    """The "Try:" part of a lab's docstring (its --help), or ""."""
    doc = load_lab(lab).__doc__ or ""
    return doc.split("\nTry:", 1)[1] if "\nTry:" in doc else ""


def chapter_try(language: str, text: str | None = None) -> list:
    """[(labs, the paragraph's text from "Try" on)] for every suggestion in a chapter's lab sections."""
    texts = [text] if text is not None else list(book.chapters(language).values())
    word = re.compile(book.TRY_WORD[language])
    found = []
    for section in (part for text in texts for part in re.split(r"^(?=#{1,2} )", text, flags=re.MULTILINE)):
        heading = section.splitlines()[0] if section else ""
        labs = labs_named(heading)
        if not labs or not section.startswith("## "):
            continue
        for paragraph in section.split("\n\n"):
            if paragraph.startswith(("<!--", "```", "|")):
                continue
            start = word.search(paragraph)
            if start:
                found.append((labs, paragraph[start.start():]))
    return found


def labs_named(heading: str) -> list:
    """The labs a section heading names: "Lab _07: ..." -> ["labs/_07_bp_xor.py"]; both of "Labs mnist/_01 and ..."."""
    labs = []
    for token in re.findall(r"(?<![\w/])((?:mnist/|fashion_mnist/)?_\d\d)(?!\w)", heading):
        folder, _, number = token.rpartition("/")
        prefix = f"labs/{folder}/{number}_" if folder else f"labs/{number}_"
        labs += [lab for lab in discover_labs() if lab.startswith(prefix) and lab.count("/") == prefix.count("/")]
    return labs


def try_suggestions(language: str) -> list:
    """[(where, labs, flag groups, text)] for the labs' docstrings and one language's chapters."""
    found = [(lab, [lab], _flag_groups(text), text) for lab in discover_labs() if (text := docstring_try(lab))]
    found += [(f"{language}: {labs[0]}", labs, _flag_groups(_code_spans(text)), text)
              for labs, text in chapter_try(language)]
    return found


def _code_spans(markdown: str) -> str:
    """The code spans of a paragraph, joined; flags are always written in them."""
    return "; ".join(span for span in re.findall(r"`([^`]*)`", markdown) if span.startswith("--"))

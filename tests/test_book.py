"""The book tells the truth: quoted outputs are what the labs print, every lab is in both languages, every
figure is made, every link leads somewhere, and a number the book states twice is the same number.

The pages (tools/book.py says which) mark a lab's output with a comment naming
the lab (and any flags) just above a text block:

    <!-- output: labs/_03_single_perceptron.py -->
    ```text
    ...
    ```
"""
import re

import pytest

from labtools import REPO_ROOT, discover_labs, load_lab, same_worker

book = load_lab("tools/book.py")
PAGES = {language: book.pages(language) for language in book.LANGUAGES}
# All of one language's pages as one text, for what may stand on any of them.
TEXTS = {language: "\n".join(pages.values()) for language, pages in PAGES.items()}
OUTPUT_BLOCK = re.compile(r"<!-- output: (\S+)([^>]*?) -->\n```text\n(.*?)```", re.DOTALL)
BLOCKS = [(path, *block) for pages in PAGES.values() for path, text in pages.items()
          for block in OUTPUT_BLOCK.findall(text)]
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# Labs whose output is exact: no floating point in what they print.
EXACT = {"labs/_01_perceptron_learn_rule.py", "labs/_02_perceptron_learn_rule_matrix.py"}
LAB_PATH = re.compile(r"(?<![\w/-])labs/[\w/]+\.py")
FIGURE = re.compile(r"\]\((?:\.\./)*(resources/[^)\s]+\.png)\)")
KERAS_TIMING = re.compile(r" - (?:\d+m )?\d+s - \d+(?:\.\d+)?[mµu]?s/step - ")


def _split_numbers(line: str):
    """A line's text with numbers replaced by a marker (spaces folded), and its numbers.

    NumPy pads the numbers of a printed array to one width, which depends on their last digits
    ("[0.0260189 ]" beside "[0.9746563 ]"), so the spaces inside brackets are not part of the text.
    """
    text = " ".join(NUMBER.sub("#", line).split())
    text = re.sub(r"\[ +", "[", re.sub(r" +\]", "]", text))
    return text, [float(number) for number in NUMBER.findall(line)]


def _assert_same_output(printed: list, quoted: list, exact: bool):
    """Same lines, same words, same numbers.

    For the exact labs every character counts. For the others a number is the
    same within a relative 1e-3 (or 1e-7 absolute): float arithmetic can
    differ between processors in the last digits.
    """
    assert len(printed) == len(quoted), "\n".join(printed)
    for printed_line, quoted_line in zip(printed, quoted):
        if exact:
            assert printed_line == quoted_line
            continue
        printed_text, printed_numbers = _split_numbers(printed_line)
        quoted_text, quoted_numbers = _split_numbers(quoted_line)
        assert printed_text == quoted_text, f"printed {printed_line!r}, the book says {quoted_line!r}"
        assert printed_numbers == pytest.approx(quoted_numbers, rel=1e-3, abs=1e-7), \
            f"printed {printed_line!r}, the book says {quoted_line!r}"


def test_numpy_padding_is_not_text_but_words_and_numbers_are():
    assert _split_numbers(" [0.0260189 ]]")[0] == _split_numbers(" [0.02601888]]")[0] == "[#]]"
    _assert_same_output([" [0.0260189 ]]"], [" [0.02601888]]"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["loss 0.0100"], ["loss 0.0095"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["[0.5] outputs"], ["[0.5] output"], exact=False)


def _comparable(lines: list) -> list:
    """Lines with the parts that depend on the machine or the folder reduced to what is checked."""
    result = []
    for line in lines:
        if line.startswith("Device: "):
            line = "Device: (the device line)"
        elif line.startswith(("Figure saved: ", "Model saved: ")):
            label, saved = line.split(": ", 1)
            line = f"{label}: " + saved.replace("\\", "/").rsplit("/", 1)[-1]
        # Keras's line per epoch says how long the epoch took: a property of the machine.
        line = KERAS_TIMING.sub(" - (time) - ", line)
        result.append(line)
    return result


def _lab_names():
    """Each lab as the book names it: `_03_single_perceptron`, `mnist/_01_mlp`."""
    return [path.removeprefix("labs/").removesuffix(".py") for path in discover_labs()]


def test_both_languages_quote_outputs():
    for language in book.LANGUAGES:
        assert sum(block[0].startswith(f"book/{language}/") for block in BLOCKS) >= 15, language


def _printed(lab_path: str, flags: str, lab_run, script_run) -> list:
    """What the lab prints with these flags; each run serves both languages and the lab's other tests.

    A run with a --strategy needs a process of its own: a strategy (and a CPU
    split into logical devices) must be set up before TensorFlow first computes.
    """
    run = (script_run if "--strategy" in flags else lab_run)(lab_path, *flags.split())
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


# A lab whose quoted run trains for about a minute: its check runs with the other whole training runs
# (pytest -m training_run, which CI runs), so that the default run keeps within its three minutes.
MINUTE_LONG_RUNS = {"labs/_16_regularization.py"}


def _output_marks(lab_path: str) -> list:
    return [same_worker(lab_path)] + ([pytest.mark.training_run] if lab_path in MINUTE_LONG_RUNS else [])


@pytest.mark.parametrize("page, lab_path, flags, quoted",
                         [pytest.param(*block, marks=_output_marks(block[1])) for block in BLOCKS],
                         ids=[f"{block[0]}:{block[1]}" for block in BLOCKS])
def test_quoted_output_is_what_the_lab_prints(page, lab_path, flags, quoted, lab_run, script_run):
    printed = _printed(lab_path, flags, lab_run, script_run)
    _assert_same_output(_comparable(printed), _comparable(quoted.splitlines()), exact=lab_path in EXACT)


def test_the_comparison_catches_a_changed_number():
    # The check above must fail when a quoted number is edited; this guards it.
    printed = ["epoch 3 loss 0.012345", "done"]
    with pytest.raises(AssertionError):
        _assert_same_output(printed, ["epoch 3 loss 0.012445", "done"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(printed, ["epoch 4 loss 0.012345", "done"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["-5 0 0"], ["-5 0 0.0"], exact=True)
    _assert_same_output(printed, ["epoch 3 loss 0.0123451", "done"], exact=False)
    # Keras's epoch time may differ, its numbers may not.
    epoch = _comparable(["8/8 - 2s - 227ms/step - accuracy: 0.3106 - loss: 2.0428"])
    _assert_same_output(epoch, _comparable(["8/8 - 1s - 170ms/step - accuracy: 0.3106 - loss: 2.0428"]), exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(epoch, _comparable(["8/8 - 2s - 227ms/step - accuracy: 0.3206 - loss: 2.0428"]),
                            exact=False)


@pytest.mark.parametrize("language", book.LANGUAGES)
def test_the_front_page_lists_every_lab_once_in_its_chapters_reading_order(language):
    listed = book.labs_in_order(language)
    assert sorted(listed) == sorted(_lab_names()), f"{book.FRONT_PAGES[language]} does not list every lab once"
    # The chapters' order: each lab's section is in the chapter its row names, in the table's order.
    sections = [book.section_for(language, f"{name}") for name in listed]
    places = [(chapter, book.chapters(language)[chapter].index(text)) for chapter, text in sections]
    assert places == sorted(places), f"{book.FRONT_PAGES[language]} lists the labs out of their reading order"
    assert listed == book.labs_in_order("en")


@pytest.mark.parametrize("language", book.LANGUAGES)
def test_every_lab_is_in_its_chapter_with_its_command(language):
    chapters = book.chapters(language)
    for name in _lab_names():
        chapter, _ = book.section_for(language, name)
        text = chapters[chapter]
        assert f"python labs/{name}.py" in text, f"{language} chapter {chapter} does not show how to run {name}"
        assert f"<!-- output: labs/{name}.py" in text or name.startswith(("mnist/", "fashion_mnist/")), \
            f"{language} chapter {chapter} quotes no output of {name}"


@pytest.mark.parametrize("language", book.LANGUAGES)
def test_every_lab_a_page_names_exists(language):
    for path, text in PAGES[language].items():
        for lab in set(LAB_PATH.findall(text)):
            assert (REPO_ROOT / lab).is_file(), f"{path} names {lab}, which does not exist"


def test_each_page_links_to_the_same_page_in_the_other_language():
    assert "(README.zh-CN.md)" in PAGES["en"]["README.md"].split("\n## ", 1)[0]
    assert "(README.md)" in PAGES["zh-CN"]["README.zh-CN.md"].split("\n## ", 1)[0]
    for language, other in (("en", "zh-CN"), ("zh-CN", "en")):
        for path, text in PAGES[language].items():
            if path.startswith("book/"):
                name = path.rsplit("/", 1)[1]
                assert f"(../{other}/{name})" in text.split("\n# ", 1)[0], f"{path} has no link to its {other} page"


def _figure_table():
    return load_lab("tools/make_figures.py").FIGURES


def test_every_figure_shown_exists_and_is_made_by_a_lab():
    made = {}
    for lab, _flags, figure, name, _long in _figure_table():
        assert (REPO_ROOT / "labs" / f"{lab}.py").is_file(), lab
        assert figure in load_lab(f"labs/{lab}.py").FIGURES, f"labs/{lab}.py does not draw {figure}"
        made[f"resources/{name}"] = lab
    for tool, name in load_lab("tools/make_figures.py").SCREENSHOTS:
        assert (REPO_ROOT / tool).is_file(), tool
        made[f"resources/{name}"] = tool
    on_disk = {f"resources/{path.name}" for path in (REPO_ROOT / "resources").glob("*.png")}
    assert on_disk == set(made), "resources/ and tools/make_figures.py disagree"
    for language, text in TEXTS.items():
        shown = set(FIGURE.findall(text))
        assert shown <= on_disk, f"the {language} pages show figures that are not in resources/: {shown - on_disk}"
        assert shown == on_disk, f"the {language} pages do not show {on_disk - shown}"


# Labs that train for minutes are quoted from a full run, marked <!-- full run: labs/... -->. The
# suite cannot re-run them; what it can check is that the block is the lab's and that its final test
# accuracy is the one the chapter's table (measured by benchmarks/mnist_labs.py) reports.
FACT_MARK = r"(?:<!-- fact: [a-z0-9-]+ -->)?"   # A number the book states elsewhere too (see the end of this file).
FULL_RUN_BLOCK = re.compile(r"<!-- full run: (\S+)[^>]*? -->\n```text\n(.*?)```", re.DOTALL)
ACCURACY = re.compile(r"test accuracy[^0-9\n]*([0-9.]+)%", re.IGNORECASE)


@pytest.mark.parametrize("language", book.LANGUAGES)
def test_full_runs_agree_with_the_measured_table(language):
    text = book.chapters(language)[5]
    blocks = FULL_RUN_BLOCK.findall(text)
    quoted_elsewhere = ("fashion_mnist/_03_backprop_by_hand",)
    keras_labs = {f"labs/{name}.py" for name in _lab_names()
                  if name.startswith(("mnist/", "fashion_mnist/")) and name not in quoted_elsewhere}
    assert {lab for lab, _ in blocks} == keras_labs
    for lab, block in blocks:
        assert (REPO_ROOT / lab).is_file(), lab
        assert block.splitlines()[0].startswith("Device: "), lab
        if lab == "labs/mnist/_04_draw_a_digit.py":
            continue                    # Its accuracy is measured by benchmarks/recognizer.py instead.
        quoted = ACCURACY.findall(block)[0 if "fashion_mnist/_02" in lab else -1]
        name = lab.removeprefix("labs/").removesuffix(".py")
        row = re.search(rf"^\| `{re.escape(name)}` \| ([0-9.]+)%{FACT_MARK} \|", text, re.MULTILINE)
        assert row, f"{language}: no measured row for {name}"
        assert quoted == row.group(1), f"{language}: {name} quotes {quoted}%, the table says {row.group(1)}%"


EXPECTED_ACCURACY = re.compile(r"accuracy of about ([0-9.]+)(?:-([0-9.]+))?%")


def test_each_lab_expects_the_accuracy_the_table_measured():
    # The "Expected:" line of a lab's docstring (its --help) gives the measured accuracy, at its own precision.
    text = book.chapters("en")[5]
    row = rf"^\| `((?:mnist|fashion_mnist)/\w+)` \| ([0-9.]+)%{FACT_MARK} \|"
    measured = dict(re.findall(row, text, re.MULTILINE))
    assert len(measured) == 6, measured
    for name, value in measured.items():
        expected = re.sub(r"\s+", " ", load_lab(f"labs/{name}.py").__doc__.split("Expected:")[1].split("Try:")[0])
        found = EXPECTED_ACCURACY.search(expected)
        assert found, f"{name}: its docstring's Expected: gives no 'accuracy of about N%'"
        low, high = found.groups()
        decimals = len(low.partition(".")[2])
        rounded = round(float(value), decimals)
        assert float(low) <= rounded <= float(high or low), f"{name} expects {low}%, the table measured {value}%"


# --- Links ------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation and symbols dropped, spaces as hyphens.

    Letters and digits of every script stay: "第五章：MNIST 与 Fashion-MNIST" is "#第五章mnist-与-fashion-mnist".
    """
    import unicodedata

    kept = "".join(character for character in heading.strip().lower()
                   if character in " -_" or unicodedata.category(character)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors_of(markdown: str) -> set:
    """Every anchor a page has: its headings' (a repeated one gets -1, -2, ...) and its HTML ids."""
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", markdown), re.MULTILINE):
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # A link in a heading: its text.
        text = re.sub(r"<[^>]+>", "", text)
        anchor = github_anchor(text)
        found.add(anchor if anchor not in seen else f"{anchor}-{seen[anchor]}")
        seen[anchor] = seen.get(anchor, 0) + 1
    found |= set(re.findall(r"<[^>]+\s(?:id|name)=\"([^\"]+)\"", markdown))
    return found


def broken_links(markdown: str, where: str) -> list:
    """The relative links and anchors of ``markdown`` (a file at ``where``, relative to the checkout) that lead
    nowhere: a missing file, or an anchor its page does not have. Web addresses are not followed (offline)."""
    import posixpath
    from urllib.parse import unquote

    broken = []
    for match in LINK.finditer(CODE_SPAN.sub("", FENCE.sub("", markdown))):
        target = unquote(match.group(1) or match.group(2))
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(where), path)) if path else where
        if resolved.startswith("../") or not (REPO_ROOT / resolved).exists():
            broken.append(f"{where}: {target} (no {resolved})")
        elif anchor and resolved.endswith(".md"):
            if anchor not in anchors_of((REPO_ROOT / resolved).read_text(encoding="utf-8")):
                broken.append(f"{where}: {target} (no heading #{anchor} in {resolved})")
    return broken


def _notebook_text(path) -> str:
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def test_every_relative_link_and_anchor_of_the_pages_and_notebooks_leads_somewhere():
    broken = [link for path, text in book.all_pages().items() for link in broken_links(text, path)]
    for path in sorted((REPO_ROOT / "notebooks").rglob("*.ipynb")):
        where = path.relative_to(REPO_ROOT).as_posix()
        broken += broken_links(_notebook_text(path), where)
    broken += broken_links((REPO_ROOT / "data" / "README.md").read_text(encoding="utf-8"), "data/README.md")
    assert broken == []


def test_the_link_check_catches_a_missing_file_and_a_missing_anchor():
    assert github_anchor("第五章：MNIST 与 Fashion-MNIST") == "第五章mnist-与-fashion-mnist"
    assert github_anchor("Lab _08: fitting y = x² − 0.5") == "lab-_08-fitting-y--x²--05"
    assert anchors_of("# A\n## Exercises\n```\n# not a heading\n```\n## Exercises\n") == {"a", "exercises",
                                                                                           "exercises-1"}
    page = "book/en/1-perceptron.md"
    assert broken_links("![a figure](../../resources/single_perceptron.png) [next](2-linear-networks.md)", page) == []
    assert broken_links("[web](https://example.org/missing) `[code](nowhere.md)`", page) == []
    assert broken_links("[gone](../../resources/no_such_figure.png)", page) != []
    assert broken_links("[next](2-linear-networks.md#no-such-heading)", page) != []
    assert broken_links("[here](#exercises)", page) == []
    assert broken_links("[here](#no-such-heading)", page) != []
    assert broken_links("[out](../../../elsewhere.md)", page) != []


# --- Facts stated more than once ---------------------------------------------------------------------

# A measured number that the book states in more than one place carries a marker right after it:
# "99.55%<!-- fact: mnist-cnn-accuracy -->". Every mention of one fact, on every page of both languages,
# must state the same number, and a page may not state a marked fact's number without the marker.
FACT = re.compile(r"([-−]?\d[\d,]*(?:\.\d+)?)(\s?%|×)?<!-- fact: ([a-z0-9-]+) -->")


def facts(pages: dict) -> dict:
    """{fact: [(page, the number as written)]} of every marked mention."""
    found = {}
    for path, text in pages.items():
        for number, unit, name in FACT.findall(CODE_SPAN.sub("", FENCE.sub("", text))):
            found.setdefault(name, []).append((path, number.replace("−", "-") + (unit or "").strip()))
    return found


def drifted_facts(pages: dict) -> list:
    """The facts whose mentions disagree, each with where it says what."""
    return [f"{name}: " + ", ".join(f"{path} says {value}" for path, value in mentions)
            for name, mentions in facts(pages).items() if len({value for _, value in mentions}) > 1]


def unmarked_mentions(pages: dict) -> list:
    """Places that state a marked fact's number in prose without its marker."""
    values = {value for mentions in facts(pages).values() for _, value in mentions if "." in value}
    found = []
    for path, text in pages.items():
        prose = CODE_SPAN.sub("", FENCE.sub("", text))
        for value in values:
            number = re.escape(value.rstrip("%×")).replace("-", "[-−]")
            for mention in re.finditer(rf"(?<![\d.,])({number})(?![\d,]|\.\d)(\s?%|×)?(?!<!-- fact)", prose):
                if (mention.group(2) or "").strip() == value[len(value.rstrip("%×")):]:
                    found.append(f"{path}: {mention.group(0)} (a marked fact's number, without its marker)")
    return found


def test_a_number_stated_twice_is_the_same_number_everywhere():
    pages = book.all_pages()
    marked = facts(pages)
    assert len(marked) >= 5, marked
    assert drifted_facts(pages) == []
    assert unmarked_mentions(pages) == []


def test_both_languages_state_the_same_facts_on_the_same_pages():
    for english_path, english in PAGES["en"].items():
        chinese_path = book.FRONT_PAGES["zh-CN"] if english_path == "README.md" else english_path.replace("/en/",
                                                                                                       "/zh-CN/")
        english_facts = sorted((name, number) for number, _, name in FACT.findall(english))
        chinese_facts = sorted((name, number) for number, _, name in FACT.findall(PAGES["zh-CN"][chinese_path]))
        assert english_facts == chinese_facts, (english_path, chinese_path)


def test_the_fact_check_catches_a_drifted_number():
    pages = {"a.md": "one epoch takes 0.08<!-- fact: ratio --> of the time",
             "b.md": "a ratio of 0.08<!-- fact: ratio -->, and 99.55%<!-- fact: accuracy -->"}
    assert drifted_facts(pages) == [] and unmarked_mentions(pages) == []
    drifted = dict(pages, **{"a.md": "one epoch takes 0.06<!-- fact: ratio --> of the time"})
    assert drifted_facts(drifted) == ["ratio: a.md says 0.06, b.md says 0.08"]
    unmarked = dict(pages, **{"c.md": "it reads 99.55% of the digits, 199.55 and 99.555 are others"})
    assert unmarked_mentions(unmarked) == ["c.md: 99.55% (a marked fact's number, without its marker)"]

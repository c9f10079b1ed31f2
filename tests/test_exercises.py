"""Every exercise's answer is what the labs print, and every "Try" suggestion is an exercise.

The first tests read the chapter pages and the labs (a second or so). The tests
marked ``exercises`` run each exercise as its answer says and check the
answer's numbers against the output (minutes; ``pytest -m exercises``).
"""
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from common import distribute
from exercises import (EXERCISES_HEADING, ANSWER_LABEL, LANGUAGES, book, exercises_of, is_printed,
                       labs_named, module_constants, printed_numbers, prose_numbers, quoted_lines, suggestion_prose,
                       try_suggestions, unprinted_numbers)
from labtools import REPO_ROOT, headless_env, same_worker

EXERCISES = {language: exercises_of(language) for language in LANGUAGES}
CHAPTER_TEXTS = {language: book.chapters(language) for language in LANGUAGES}
# Every page of a language: a run quoted in full may stand on a reference page (GPUs and clusters).
PAGE_TEXTS = {language: "\n".join(book.pages(language).values()) for language in LANGUAGES}
CHAPTERS = range(1, 6)
OUTPUT_BLOCK_FLAGS = re.compile(r"<!-- output: (\S+)([^>]*?) -->")


def _by_name(language: str) -> dict:
    return {exercise.name: exercise for exercise in EXERCISES[language]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_chapter_ends_with_four_to_eight_exercises(language):
    assert sorted(CHAPTER_TEXTS[language]) == list(CHAPTERS)
    for chapter, text in CHAPTER_TEXTS[language].items():
        assert EXERCISES_HEADING[language] in text, f"{language}: chapter {chapter} has no exercises"
        last_section = text.split("\n## ")[-1]
        assert ("## " + last_section).startswith(EXERCISES_HEADING[language]), \
            f"{language}: the exercises are not the last section of chapter {chapter}"
        numbers = [exercise.number for exercise in EXERCISES[language] if exercise.chapter == chapter]
        assert numbers == list(range(1, len(numbers) + 1)), f"{language}: chapter {chapter} numbers {numbers}"
        # Four at least; chapter 3 has nine labs, one exercise for each.
        assert 4 <= len(numbers) <= (9 if chapter == 3 else 8), f"{language}: chapter {chapter}: {len(numbers)}"


def test_both_languages_set_the_same_exercises():
    english = [(exercise.name, exercise.runs) for exercise in EXERCISES["en"]]
    chinese = [(exercise.name, exercise.runs) for exercise in EXERCISES["zh-CN"]]
    assert english == chinese


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_exercise_says_what_to_run_and_hides_its_answer(language):
    for exercise in EXERCISES[language]:
        where = f"{language}: exercise {exercise.name}"
        for run in exercise.runs:
            assert (REPO_ROOT / run.lab).is_file(), f"{where}: no {run.lab}"
            assert f"`{run.command()}`" in exercise.question, f"{where} does not show `{run.command()}`"
            for assignment in run.constants:
                name, value = assignment.split("=", 1)
                assert name in module_constants(run.lab), f"{where}: {run.lab} has no constant {name}"
                assert f"`{name} = {value}`" in exercise.question, f"{where} does not say to set `{name} = {value}`"
        assert exercise.answer.startswith(f"<summary>{ANSWER_LABEL[language]}</summary>"), \
            f"{where}: the answer is not collapsed under <summary>{ANSWER_LABEL[language]}</summary>"
        assert prose_numbers(exercise.answer) or quoted_lines(exercise.answer), \
            f"{where}: the answer has no number to check"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_lab_of_a_chapter_has_an_exercise(language):
    for chapter, text in CHAPTER_TEXTS[language].items():
        sections = [line for line in text.splitlines() if line.startswith("## ")]
        labs = {lab for heading in sections for lab in labs_named(heading)}
        exercised = {run.lab for exercise in EXERCISES[language] if exercise.chapter == chapter
                     for run in exercise.runs}
        assert labs <= exercised, f"{language}: chapter {chapter} has no exercise for {sorted(labs - exercised)}"


def _named_flags(flags: tuple) -> tuple:
    """A run's flags without the folders it writes to or reads a model from, which a suggestion leaves out."""
    kept, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag in ("--out", "--model"):
            skip = True
        else:
            kept.append(flag)
    return tuple(kept)


def _exercise_of(labs: list, flags: tuple, language: str):
    """The exercise with a run of one of ``labs`` with these flags (besides --out and --model), or None."""
    for exercise in EXERCISES[language]:
        for run in exercise.runs:
            if run.lab in labs and not run.constants and _named_flags(run.flags) == flags:
                return exercise
    return None


def _output_block_flags(language: str) -> set:
    return {(lab, tuple(flags.split())) for lab, flags in OUTPUT_BLOCK_FLAGS.findall(PAGE_TEXTS[language])}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_try_suggestion_is_an_exercise(language):
    # A suggestion names flags, and each set of them is an exercise's run (whose answer the tests check)
    # or a run a page quotes in full. Its own numbers are checked with that exercise.
    quoted = _output_block_flags(language)
    for where, labs, groups, text in try_suggestions(language):
        assert groups, f"{where}: a suggestion that names no flags: {text!r}"
        answered_by = set()
        for flags in filter(None, map(_named_flags, groups)):   # "--out" alone names no run
            exercise = _exercise_of(labs, flags, language)
            assert exercise or any((lab, flags) in quoted for lab in labs), \
                f"{where}: `{' '.join(flags)}` is no exercise's run: {text!r}"
            answered_by |= {exercise.name} if exercise else set()
        # Its numbers are checked against one exercise's runs: a suggestion with numbers has one.
        assert len(answered_by) == 1 or (answered_by and not prose_numbers(suggestion_prose(text))), \
            f"{where}: a suggestion with numbers should be answered by one exercise, not {answered_by}"


def test_the_number_check_catches_a_changed_number():
    printed = printed_numbers("distance: 0.1302, to the other: 2.0941\n-3 0 -2\nloss 1.983e-05 (22028 times)")
    assert unprinted_numbers("It ends 0.13 from one point and 2.09 from the other.", printed) == []
    assert unprinted_numbers("It ends 0.14 from one point and 2.09 from the other.", printed) == ["0.14"]
    assert unprinted_numbers("a loss of 2.0e-05, 22,028 times", printed) == []
    assert unprinted_numbers("a loss of 2.1e-05", printed) == ["2.1e-05"]
    assert unprinted_numbers("w2 falls to −2, then", printed) == []
    assert unprinted_numbers("w2 falls to −3.0, then", printed) == []
    assert not is_printed("+2", 2.0, True, [-2.0]) and is_printed("2", 2.0, False, [-2.0])
    # Formulas, code, references, link targets and lab names are not measurements.
    assert unprinted_numbers("[the table](5-mnist.md#chapter-5-mnist-and-fashion-mnist)", printed) == []
    assert unprinted_numbers("By (3.6), $x = 0.8 x$ (`--epochs 7`); see lab _07 and exercise 3.4.", printed) == []


# --- Running them ------------------------------------------------------------------------------

# Chapter 5's networks compute in float32 (the Fashion-MNIST CNN in bfloat16 where the CPU has it), as networks
# are trained in practice, and the last digits of what they print depend on the processor's instructions. The
# answers below were measured on a CPU with AVX-512 and bfloat16, which the chapter's preface names; a 2-core
# AMD EPYC with AVX2 printed other numbers for these four, with the same lessons. On a CPU of another kind the
# test still runs them as the exercise says and checks each line the answer quotes, word for word, but not
# their digits. The earlier chapters' labs compute in float64 where their digits would otherwise differ.
PROCESSOR_DEPENDENT = {"5.2", "5.3", "5.4", "5.7"}


def measured_on_this_kind_of_cpu(flags: set) -> bool:
    """Whether a CPU with these flags is the kind chapter 5's answers were measured on: AVX-512 and bfloat16."""
    return "avx512f" in flags and bool(distribute.BFLOAT16_FLAGS & flags)


def test_the_kind_of_cpu_is_read_from_its_flags():
    assert measured_on_this_kind_of_cpu(distribute.cpu_flags("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 fma\n"))
    assert measured_on_this_kind_of_cpu({"avx512f", "amx_bf16", "amx_tile"})
    assert not measured_on_this_kind_of_cpu(distribute.cpu_flags("flags\t\t: fpu sse2 avx2 fma\n"))   # AMD Zen 3
    assert not measured_on_this_kind_of_cpu({"avx512f", "avx512bw"})                        # AVX-512, no bfloat16
    assert not measured_on_this_kind_of_cpu(distribute.cpu_flags(""))

# The answers were measured on a 2-core CPU, where TensorFlow splits an operation over 2 threads. How
# many threads add up a sum changes its last bits, and over epochs of training the printed digits, so
# the labs run with 2 here too, whatever the machine, and whatever the test processes are given.
EXERCISE_ENV = headless_env(TF_NUM_INTRAOP_THREADS="2")


def _run_exercise(exercise, folder: Path) -> list:
    """[(run, stdout)] of each run of ``exercise``, in order, from ``folder`` as the working directory."""
    outputs = []
    for index, run in enumerate(exercise.runs):
        argv = list(run.flags)
        if "--out" not in argv:
            argv += ["--out", str(folder / f"out{index}")]
        if run.constants:
            command = [sys.executable, str(REPO_ROOT / "tests" / "run_changed.py"), str(REPO_ROOT / run.lab),
                       *run.constants, "--", *argv]
        else:
            command = [sys.executable, str(REPO_ROOT / run.lab), *argv]
        finished = subprocess.run(command, cwd=folder, env=EXERCISE_ENV, capture_output=True, text=True,
                                  timeout=1800)
        assert finished.returncode == 0, f"exercise {exercise.name}, {run}:\n{finished.stderr[-3000:]}"
        outputs.append((run, finished.stdout))
    return outputs


@pytest.fixture(scope="session")
def exercise_outputs(tmp_path_factory):
    made = {}

    def outputs(name: str) -> list:
        if name not in made:
            made[name] = _run_exercise(_by_name("en")[name], tmp_path_factory.mktemp(f"exercise{name}"))
        return made[name]

    return outputs


KERAS_TIMING = re.compile(r" - (?:\d+m )?\d+s - \d+(?:\.\d+)?[mµu]?s/step - ")


def _same_line(printed: str, quoted: str, digits: bool = True) -> bool:
    """The same line, numbers within a relative 1e-3 (or, without ``digits``, any numbers in their places),
    Keras's time per epoch and per step left out."""
    printed, quoted = KERAS_TIMING.sub(" - (time) - ", printed), KERAS_TIMING.sub(" - (time) - ", quoted)
    number = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
    if " ".join(re.sub(number, "#", printed).split()) != " ".join(re.sub(number, "#", quoted).split()):
        return False
    if not digits:
        return True
    pairs = list(zip(re.findall(number, printed), re.findall(number, quoted)))
    return all(abs(float(p) - float(q)) <= 1e-3 * abs(float(q)) + 1e-7 for p, q in pairs)


def _assert_quoted_in_order(quoted: list, printed: list, where: str, digits: bool = True):
    position = 0
    for line in quoted:
        while position < len(printed) and not _same_line(printed[position], line, digits):
            position += 1
        assert position < len(printed), f"{where}: the lab did not print {line!r} (in this order)"
        position += 1


def test_without_digits_a_quoted_line_still_needs_its_words_in_order():
    printed = ["Test accuracy: 90.58% (942 of 10,000 test images wrong)", "Model saved: out/model.keras"]
    quoted = "Test accuracy: 90.55% (945 of 10,000 test images wrong)"
    assert _same_line(printed[0], quoted, digits=False) and not _same_line(printed[0], quoted)
    assert not _same_line(printed[0], quoted.replace("Test", "Validation"), digits=False)
    _assert_quoted_in_order([quoted, "Model saved: out/model.keras"], printed, "here", digits=False)
    with pytest.raises(AssertionError):
        _assert_quoted_in_order(["Model saved: out/model.keras", quoted], printed, "here", digits=False)


def _command_numbers(outputs: list) -> list:
    return printed_numbers(" ".join(" ".join(run.flags + run.constants) for run, _ in outputs))


@pytest.mark.exercises
@pytest.mark.parametrize("name", [pytest.param(exercise.name, marks=same_worker(f"exercise {exercise.name}"))
                                  for exercise in EXERCISES["en"]])
def test_the_answer_is_what_the_labs_print(name, exercise_outputs):
    outputs = exercise_outputs(name)
    printed = [number for _, output in outputs for number in printed_numbers(output)] + _command_numbers(outputs)
    lines = [line for _, output in outputs for line in output.splitlines()]
    digits = name not in PROCESSOR_DEPENDENT or measured_on_this_kind_of_cpu(distribute.cpu_flags())
    if not digits:
        warnings.warn(f"exercise {name}: its answer was measured on a CPU with AVX-512 and bfloat16, and this CPU "
                      "is another kind, so its runs and lines are checked but not their digits")
    for language in LANGUAGES:
        exercise = _by_name(language)[name]
        where = f"{language}: exercise {name}"
        _assert_quoted_in_order(quoted_lines(exercise.answer), lines, where, digits)
        if not digits:
            continue
        assert unprinted_numbers(exercise.answer, printed) == [], \
            f"{where}: numbers no run printed; the runs printed:\n" + "\n".join(lines)
        # The "Try" suggestions that this exercise answers: their numbers too.
        runs = {(run.lab, _named_flags(run.flags)) for run, _ in outputs if not run.constants} \
            | _output_block_flags(language)
        for suggestion, labs, groups, text in try_suggestions(language):
            groups = [named for flags in groups if (named := _named_flags(flags))]
            if groups and all(any((lab, flags) in runs for lab in labs) for flags in groups) \
                    and any(_exercise_of(labs, flags, language) is exercise for flags in groups):
                assert unprinted_numbers(suggestion_prose(text), printed) == [], \
                    f"{suggestion}: numbers no run printed: {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_notebook_ends_with_its_chapters_exercises(language):
    import json

    for chapter, text in CHAPTER_TEXTS[language].items():
        labs = {lab for line in text.splitlines() if line.startswith("## ") for lab in labs_named(line)}
        names = [exercise.name for exercise in EXERCISES[language] if exercise.chapter == chapter]
        for lab in labs:
            path = REPO_ROOT / "notebooks" / language / lab.removeprefix("labs/").replace(".py", ".ipynb")
            last = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][-1]["source"])
            assert last.startswith(EXERCISES_HEADING[language]), f"{path.name} does not end with the exercises"
            assert all(f"**{name}**" in last for name in names), f"{path.name} lacks exercises of chapter {chapter}"

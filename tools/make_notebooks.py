"""Make the notebooks in notebooks/ from the labs and the book, one English and one Chinese per lab.

Each notebook is: the lab's section of its chapter page (book/en/ or book/zh-CN/)
and its docstring as text, a setup cell, then the lab's own code in cells, in
the lab's order (imports, the constants a learner may change, each function,
and last the same ``cli.run_lab(...)`` line the script ends with), and at the
end the exercises of the lab's chapter. The labs and the pages stay the
source: the notebooks are generated, never edited by hand; run this after
changing a lab or a chapter page.

    python tools/make_notebooks.py           # write notebooks/
    python tools/make_notebooks.py --check   # exit 1 if a notebook differs from what this makes

The notebooks are written without outputs and with cell ids made from the
lab's name and the cell's place, so making them twice gives the same bytes.
"""
import argparse
import ast
import hashlib
import json
import posixpath
import re
import sys
from pathlib import Path

import book

REPO_ROOT = book.REPO_ROOT
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
LANGUAGES = book.LANGUAGES
# The recognizer has no window in a notebook: it recognizes the example digits it writes, instead.
NOTEBOOK_RUN = {
    "mnist/_04_draw_a_digit": (
        '    # No window to draw in here: write ten digits drawn as people draw them, and recognize those.\n'
        '    examples = str(paths.OUTPUTS_DIR / "mnist" / "_04_draw_a_digit" / "examples")\n'
        '    cli.run_lab(main, __doc__, add_arguments,\n'
        '                argv=["--examples", examples, "--image", examples, "--train-if-missing"])'),
}
WORDS = {
    "en": {"colab": "Open in Colab", "lab": "The lab: ", "code": "The code", "run": "Run it",
           "generated": "Made by `tools/make_notebooks.py` from `{lab}` and `{page}`: change those, then run the "
                        "tool again; an edit here is lost.",
           "in_notebook": "To run an exercise here, give its flags to the last code cell's call, as "
                          "`argv=[\"--learning-rate\", \"0.5\"]` after the other arguments of `cli.run_lab`; to "
                          "change a constant, edit it in the cells above and run the cells again from there. Or run "
                          "the commands in a terminal, from the project's folder.",
           "setup": "Run the cells from the top. The first one sets the notebook up; the last one runs the lab with "
                    "the constants above (`LAB_SMOKE=1` in the environment makes it a seconds-long smoke run)."},
    "zh-CN": {"colab": "在 Colab 中打开", "lab": "实验说明：", "code": "代码", "run": "运行",
              "generated": "本笔记本由 `tools/make_notebooks.py` 根据 `{lab}` 和 `{page}` 生成：请修改那两个文件，"
                           "再运行一次这个工具；在这里的修改会丢失。",
              "in_notebook": "要在这里做练习，就把它的选项交给最后一个代码单元里的调用：在 `cli.run_lab` 的其他参数后面加上 "
                             "`argv=[\"--learning-rate\", \"0.5\"]` 这样的参数；要改常量，就在上面的单元里修改，"
                             "再从那里往下重新运行。也可以在项目文件夹下的终端里运行这些命令。",
              "setup": "从上往下运行各单元。第一个单元设置好笔记本；最后一个单元用上面的常量运行实验"
                       "（环境变量 `LAB_SMOKE=1` 会让它以几秒钟的冒烟模式运行）。"},
}


def repository() -> str:
    """The project's public address: ``Repository`` in ``[project.urls]`` of pyproject.toml."""
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    urls = text.split("[project.urls]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^Repository\s*=\s*"([^"]+)"', urls, re.MULTILINE).group(1)


def exercises_for(language: str, chapter: int) -> str:
    """The exercises of a chapter, without the comments that name their runs."""
    return re.sub(r"<!-- exercise [^>]* -->\n", "", book.exercises_section(language, chapter)).strip()


def _relinked(markdown: str, page: str, notebook: str) -> str:
    """The relative links of ``page`` (a path in the checkout), made relative to ``notebook``.

    An anchor of the page itself ("#exercises") becomes a link to that place of the page.
    """
    page_folder, notebook_folder = posixpath.dirname(page), posixpath.dirname(notebook)

    def fix(match):
        target = match.group(2)
        if re.match(r"^(https?:|mailto:|/)", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        in_checkout = posixpath.normpath(posixpath.join(page_folder, path)) if path else page
        relative = posixpath.relpath(in_checkout, notebook_folder)
        return f"{match.group(1)}({relative}{'#' + anchor if anchor else ''})"

    return re.sub(r"(\]\s*)\(([^)\s]+)\)", fix, markdown)


def code_cells(source: str) -> tuple:
    """(docstring, cells): the lab's code split where a reader would pause, in the lab's order."""
    tree = ast.parse(source)
    lines = source.splitlines()
    body = list(tree.body)
    docstring = ast.get_docstring(tree) or ""
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        previous_end = body.pop(0).end_lineno
    else:
        previous_end = 0

    def kind(node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return "imports"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            return "constants"
        return "own"

    groups = []
    for node in body:
        # From the end of the statement before: the comment lines just above a statement belong with it.
        text = "\n".join(lines[previous_end:node.end_lineno])
        previous_end = node.end_lineno
        if groups and kind(node) != "own" and groups[-1][0] == kind(node):
            groups[-1][1].append(text)
        else:
            groups.append([kind(node), [text]])
    return docstring, ["\n".join(texts).strip("\n") for _, texts in groups]


def setup_cell(lab: str) -> str:
    return f'''# Setup. In Colab: fetch the project (Colab's own TensorFlow and Keras are used). Anywhere:
# make the project's code importable, and say what to do if it is not installed.
import subprocess
import sys
from pathlib import Path

REPOSITORY = {repository()!r}
if "google.colab" in sys.modules and not Path("nn-labs").is_dir():
    subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "nn-labs"], check=True)
root = next((folder for folder in [Path.cwd(), *Path.cwd().parents, Path("nn-labs").resolve()]
             if (folder / "common" / "cli.py").is_file()), None)
if root is None:
    print("Open this notebook from the notebooks/ folder of the project (or in Colab).")
else:
    sys.path.insert(0, str(root))
    try:
        from common import notebook
    except ImportError as error:
        print(f"{{error}}. Install what the labs need, in {{root}}: pip install -r requirements.txt; "
              "then restart the kernel.")
    else:
        notebook.start({("labs/" + lab + ".py")!r})'''


def _cell_id(lab: str, index: int) -> str:
    return hashlib.sha1(f"{lab}#{index}".encode()).hexdigest()[:12]


def notebook_for(lab: str, language: str) -> dict:
    """The notebook of ``lab`` in ``language`` ("en" or "zh-CN"), as the JSON dictionary it is saved as."""
    words = WORDS[language]
    chapter, section = book.section_for(language, lab)
    page = book.chapter_path(language, chapter)
    notebook = path_of(lab, language).relative_to(REPO_ROOT).as_posix()
    address = f"https://colab.research.google.com/github/{_github_path()}/blob/main/notebooks/{language}/{lab}.ipynb"
    docstring, cells = code_cells((REPO_ROOT / "labs" / f"{lab}.py").read_text(encoding="utf-8"))
    *body, last = cells
    if lab in NOTEBOOK_RUN:
        last = 'if __name__ == "__main__":\n' + NOTEBOOK_RUN[lab]
    generated = words["generated"].format(lab=f"labs/{lab}.py", page=page)
    markdown = [
        f"[{words['colab']}]({address})\n\n*{generated}*\n\n" + _relinked(section, page, notebook),
        f"## {words['lab']}`labs/{lab}.py`\n\n{words['setup']}\n\n```text\n{docstring}\n```",
    ]
    cells_out = [("markdown", markdown[0]), ("markdown", markdown[1]), ("code", setup_cell(lab)),
                 ("markdown", f"## {words['code']}")]
    cells_out += [("code", text) for text in body]
    cells_out += [("markdown", f"## {words['run']}"), ("code", last)]
    exercises = exercises_for(language, chapter)
    cells_out += [("markdown", _relinked(exercises.replace("\n\n", f"\n\n{words['in_notebook']}\n\n", 1),
                                         page, notebook))]
    return {
        "cells": [_cell(kind, text, _cell_id(lab, index)) for index, (kind, text) in enumerate(cells_out)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _github_path() -> str:
    """``owner/name`` of the repository's address, for Colab's links."""
    return re.sub(r"^https://github\.com/|\.git$", "", repository())


def _cell(kind: str, text: str, cell_id: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def as_text(notebook: dict) -> str:
    """The notebook as saved: sorted keys, one-space indents, a final newline, so the bytes never change."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def path_of(lab: str, language: str) -> Path:
    return NOTEBOOKS_DIR / language / f"{lab}.ipynb"


def all_notebooks() -> dict:
    """{path: text} of every notebook this tool makes."""
    labs = book.labs_in_order()
    return {path_of(lab, language): as_text(notebook_for(lab, language)) for lab in labs for language in LANGUAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    options = parser.parse_args()
    made = all_notebooks()
    stale = [path for path, text in made.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    extra = sorted(set(NOTEBOOKS_DIR.rglob("*.ipynb")) - set(made)) if NOTEBOOKS_DIR.is_dir() else []
    if options.check:
        for path in stale + extra:
            print(f"out of date: {path.relative_to(REPO_ROOT)}", file=sys.stderr)
        sys.exit(1 if stale or extra else 0)
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(made[path], encoding="utf-8", newline="\n")
    for path in extra:
        path.unlink()
    print(f"{len(made)} notebooks in {NOTEBOOKS_DIR.relative_to(REPO_ROOT)}/: {len(stale)} written, "
          f"{len(extra)} removed")


if __name__ == "__main__":
    main()

"""Run a lab as ``python <lab> <flags>`` does, with constants of its code changed first.

    python tests/run_changed.py labs/_01_perceptron_learn_rule.py TARGET=-1.0 -- --learning-rate 0.5

Each NAME=VALUE replaces the lab's one module-level assignment of NAME, as a
learner would edit the line; the lab's file itself is not touched.
"""
import ast
import sys
from pathlib import Path


def changed_source(source: str, constants: dict) -> str:
    """``source`` with the module-level assignment of each name in ``constants`` set to its value."""
    lines = source.splitlines()
    tree = ast.parse(source)
    spans = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in constants:
                    if target.id in spans:
                        raise SystemExit(f"{target.id} is assigned more than once at the top of the lab")
                    spans[target.id] = (node.lineno, node.end_lineno)
    missing = set(constants) - set(spans)
    if missing:
        raise SystemExit(f"the lab has no constant {', '.join(sorted(missing))}")
    for name, (first, last) in sorted(spans.items(), key=lambda item: -item[1][0]):
        lines[first - 1:last] = [f"{name} = {constants[name]}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    arguments = sys.argv[1:]
    split = arguments.index("--") if "--" in arguments else len(arguments)
    path = Path(arguments[0]).resolve()
    constants = dict(assignment.split("=", 1) for assignment in arguments[1:split])
    source = changed_source(path.read_text(encoding="utf-8"), constants)
    sys.argv = [str(path), *arguments[split + 1:]]
    sys.path.insert(0, str(path.parent))   # As for a script: the lab's folder first.
    exec(compile(source, str(path), "exec"), {"__name__": "__main__", "__file__": str(path)})


if __name__ == "__main__":
    main()

"""The one exception type a lab raises for a problem the user can fix."""


class LabError(Exception):
    """A mistake in the user's input or files, not a bug in the lab.

    ``cli.run_lab`` prints its message as a single line on standard error and
    exits with status 2, instead of a traceback. The message says what is
    wrong and what to do about it.
    """


def require_package(module: str, flag: str) -> None:
    """Stop with one line if the optional package ``module``, which ``flag`` needs, is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise LabError(f"{flag} needs the {module} package: pip install {module} "
                       "(pip install -r requirements.txt installs it)")

"""payments_infra/aws/function_code.py, ``function_sources``: the modules a function's archive
holds, and that they import in Lambda's way, on their own: ``handler`` and its siblings as
top-level modules at the archive's root, without the repository's ``functions`` package."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from payments_infra.aws.function_code import function_sources

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
# Every folder of functions/ with a handler: the stack's Lambda functions.
FUNCTION_DIRS = sorted(p.parent for p in FUNCTIONS.glob("*/handler.py"))

# Run as Lambda's runtime runs a handler: the archive's root first on sys.path, `handler`
# imported as a top-level module. Prints the file of every module loaded from the root.
LAMBDA_IMPORT = """
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
import handler
assert callable(handler.handler)
loaded = {
    name: module.__file__
    for name, module in sys.modules.items()
    if (getattr(module, "__file__", None) or "").startswith(root)
}
print(json.dumps({"loaded": loaded, "functions_imported": "functions" in sys.modules}))
"""


def test_the_modules_at_the_top_of_the_folder_sorted_without_init_and_tests(
    tmp_path: Path,
) -> None:
    for name in (
        "handler.py",
        "records.py",
        "batches.py",
        "__init__.py",
        "test_handler.py",
        "handler_test.py",
        "conftest.py",
        "README.md",
        "requirements.txt",
        "handler.pyc",
        "nested/module.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    sources = function_sources(tmp_path)
    assert list(sources) == ["batches.py", "handler.py", "records.py"]
    assert sources == {name: tmp_path / name for name in sources}


def test_a_folder_without_a_handler_is_refused(tmp_path: Path) -> None:
    (tmp_path / "records.py").write_text("")
    with pytest.raises(FileNotFoundError, match=r"has no handler\.py"):
        function_sources(tmp_path)


def test_every_function_is_found() -> None:
    assert [d.name for d in FUNCTION_DIRS] == [
        "alb_log_forwarder",
        "db_migration_runner",
        "db_rotation",
        "origin_header_rotation",
    ]


@pytest.mark.parametrize("directory", FUNCTION_DIRS, ids=lambda d: d.name)
def test_the_archive_imports_as_lambda_imports_it(directory: Path, tmp_path: Path) -> None:
    # Only the listed files, unpacked at the archive's root: a module the handler imports
    # that function_sources left out fails here as it would in Lambda.
    sources = function_sources(directory)
    for name, path in sources.items():
        shutil.copy(path, tmp_path / name)
    result = subprocess.run(
        [sys.executable, "-I", "-c", LAMBDA_IMPORT, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["functions_imported"] is False
    assert sorted(f"{name}.py" for name in report["loaded"]) == sorted(sources)


@pytest.mark.parametrize("directory", FUNCTION_DIRS, ids=lambda d: d.name)
def test_no_module_of_a_function_shadows_another(directory: Path) -> None:
    # At the archive's root every module is a top-level one, found before the standard
    # library and the runtime's packages: none may have the name of a module that exists.
    taken = [
        name
        for name in (Path(n).stem for n in function_sources(directory))
        if name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None
    ]
    assert taken == []

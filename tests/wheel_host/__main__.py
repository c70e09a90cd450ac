"""The package as users get it: `python -m tests.wheel_host` (run by `make test-wheel`).

1. Builds the wheel and the sdist and fails if a file of `django_defacto/` that git tracks
   is missing from either.
2. Installs the wheel (not editable) into a fresh virtualenv outside the repository.
3. Makes a host with `django-admin startproject mysite` and follows the guide's Install
   section literally: each code block marked `<!-- host: ACTION [PATH] -->` is written
   (`write`), appended (`append`), run line by line (`run`) or started and left running
   (`background`, the local sandbox), in the order of the guide. Its last step runs a
   host-side pytest that makes a loan through the public services.
4. Checks that `manage.py check` without an API key stops on `django_defacto.E001`.

Everything happens in a temporary folder (kept with `--keep`); a failure prints the
command, its output, and which step of the guide it was.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
GUIDE = REPOSITORY / "docs" / "guide.md"
PROJECT = "mysite"
SANDBOX_PORT = 8765
BLOCK = re.compile(
    r"<!-- host: (?P<action>write|append|run|background)(?: (?P<path>\S+))? -->\n"
    r"```\w*\n(?P<body>.*?)```",
    re.DOTALL,
)


class Failed(Exception):
    pass


@dataclass
class Step:
    action: str
    path: str | None
    body: str


def guide_steps() -> list[Step]:
    """The marked blocks of the guide's Install section, in order."""
    text = GUIDE.read_text()
    section = text[text.index("## Install\n") : text.index("## Settings reference")]
    steps = [Step(m["action"], m["path"], m["body"]) for m in BLOCK.finditer(section)]
    if not steps:
        raise Failed("The guide's Install section has no <!-- host: ... --> blocks.")
    return steps


def run(command: list[str] | str, *, cwd: Path, env: dict[str, str], what: str) -> str:
    print(f"  $ {command if isinstance(command, str) else ' '.join(command)}", flush=True)
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        shell=isinstance(command, str),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise Failed(
            f"{what} failed (exit {done.returncode}):\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done.stdout + done.stderr


def tracked_package_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "django_defacto"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {name for name in listed if (REPOSITORY / name).is_file()}


def build(dist: Path, env: dict[str, str]) -> tuple[Path, Path]:
    print("Building the wheel and the sdist", flush=True)
    output = run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPOSITORY)],
        cwd=REPOSITORY,
        env=env,
        what="Building",
    )
    if "would be ignored" in output:
        raise Failed("setuptools would leave packages out:\n" + output[-4000:])
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    expected = tracked_package_files()
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(root + "/") for name in archive.getnames()}
    for name, contents in (("wheel", in_wheel), ("sdist", in_sdist)):
        missing = sorted(expected - contents)
        if missing:
            raise Failed(f"The {name} lacks {len(missing)} files of django_defacto/: {missing}")
    check_metadata(wheel)
    folders = sorted({str(Path(name).parent) for name in in_wheel if name.startswith("django_")})
    print(f"  the wheel holds {len(in_wheel)} files in {len(folders)} folders", flush=True)
    return wheel, sdist


# Imported by the package but not a dependency: the pytest plugin is loaded by pytest only.
IMPORTED_NOT_REQUIRED = {"pytest"}


def imported_distributions() -> set[str]:
    """The distributions of the third-party modules django_defacto/ imports."""
    from importlib.metadata import packages_distributions

    from tests.imports import runtime_imports

    modules = {
        name.split(".")[0]
        for source in (REPOSITORY / "django_defacto").rglob("*.py")
        for name in runtime_imports(source)
    }
    third_party = modules - set(sys.stdlib_module_names) - {"django_defacto"}
    third_party -= IMPORTED_NOT_REQUIRED
    owners = packages_distributions()
    return {owners[module][0].lower().replace("_", "-") for module in third_party}


def check_metadata(wheel: Path) -> None:
    """The wheel's metadata: licence, URLs, status, and exactly the dependencies the
    package imports."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    fields = [line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines()]
    values: dict[str, list[str]] = {}
    for key, value in (field for field in fields if len(field) == 2):
        values.setdefault(key, []).append(value)
    problems = []
    if values.get("License-Expression") != ["MIT"]:
        problems.append("no License-Expression: MIT")
    if not any(url.startswith("Source, https://") for url in values.get("Project-URL", [])):
        problems.append("no Source Project-URL")
    if not any(c.startswith("Development Status ::") for c in values.get("Classifier", [])):
        problems.append("no Development Status classifier")
    required = {
        re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in values.get("Requires-Dist", [])
        if "extra ==" not in requirement
    }
    imported = imported_distributions()
    if required != imported:
        problems.append(
            f"Requires-Dist {sorted(required)} is not what the package imports {sorted(imported)}"
        )
    if problems:
        raise Failed("The wheel's metadata: " + "; ".join(problems))


def wait_for_port(port: int, process: subprocess.Popen, within: float = 30) -> None:
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise Failed(f"The background step exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise Failed(f"Nothing answered on port {port} within {within} s")


def follow_the_guide(host: Path, env: dict[str, str], background: list) -> None:
    for number, step in enumerate(guide_steps(), start=1):
        label = f"guide step {number} ({step.action} {step.path or ''})".strip()
        print(label, flush=True)
        if step.action in ("write", "append"):
            assert step.path, label
            target = host / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a" if step.action == "append" else "w") as file:
                file.write(("\n" if step.action == "append" else "") + step.body)
        elif step.action == "run":
            for line in step.body.splitlines():
                exported = re.match(r"export (\w+)=(\S*)", line.strip())
                if exported:
                    env[exported[1]] = exported[2]
                elif line.strip() and not line.lstrip().startswith("#"):
                    run(line, cwd=host, env=env, what=label)
        else:
            process = subprocess.Popen(
                step.body.strip(),
                shell=True,
                cwd=host,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            background.append(process)
            wait_for_port(SANDBOX_PORT, process)


VERSIONS_PROBE = (
    "import sys, django, rest_framework, drf_spectacular; "
    "print(f'Python {sys.version.split()[0]}, Django {django.get_version()}, "
    "DRF {rest_framework.VERSION}, drf-spectacular {drf_spectacular.__version__}')"
)

SCHEMA_PROBE = """
import django, json
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
answer = Client().get("/defacto/api/schema/", headers={"Accept": "application/json"})
assert answer.status_code == 200, answer.status_code
document = answer.json()
assert document["openapi"].startswith("3.1"), document["openapi"]
assert "/defacto/api/loans/" in document["paths"], sorted(document["paths"])
print(len(document["paths"]), "paths")
"""


def check_schema(host: Path, env: dict[str, str]) -> None:
    """The seller API's OpenAPI document in a host left with DRF's default schema class."""
    print("GET /defacto/api/schema/ in the host", flush=True)
    probe_env = {**env, "DJANGO_SETTINGS_MODULE": f"{PROJECT}.settings"}
    run(["python", "-c", SCHEMA_PROBE], cwd=host, env=probe_env, what="The schema")


def check_without_key(host: Path, env: dict[str, str]) -> None:
    print("manage.py check without DEFACTO_API_KEY", flush=True)
    without = {name: value for name, value in env.items() if name != "DEFACTO_API_KEY"}
    done = subprocess.run(
        ["python", "manage.py", "check"], cwd=host, env=without, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    if done.returncode == 0 or "django_defacto.E001" not in output or "Traceback" in output:
        raise Failed(f"Expected the check django_defacto.E001, got:\n{output[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="defacto-wheel-host-"))
    background: list[subprocess.Popen] = []
    base_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DEFACTO_", "VIRTUAL_ENV", "PYTHON"))
    }
    try:
        wheel, _ = build(work / "dist", os.environ.copy())
        print("Installing the wheel into a fresh virtualenv", flush=True)
        venv = work / "venv"
        run([sys.executable, "-m", "venv", str(venv)], cwd=work, env=base_env, what="venv")
        env = {**base_env, "PATH": f"{venv / 'bin'}{os.pathsep}{base_env.get('PATH', '')}"}
        run(
            ["python", "-m", "pip", "install", "--disable-pip-version-check", "-q", str(wheel)],
            cwd=work,
            env=env,
            what="Installing the wheel",
        )
        versions = run(
            ["python", "-c", VERSIONS_PROBE], cwd=work, env=env, what="The host's versions"
        )
        print(f"  the host runs {versions.strip().splitlines()[-1]}", flush=True)
        (work / "host").mkdir()
        run(
            ["django-admin", "startproject", PROJECT, str(work / "host")],
            cwd=work,
            env=env,
            what="startproject",
        )
        follow_the_guide(work / "host", env, background)
        check_schema(work / "host", env)
        check_without_key(work / "host", env)
    except Failed as failure:
        print(f"\nwheel host: FAILED\n{failure}", file=sys.stderr)
        return 1
    finally:
        for process in background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
        if options.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("wheel host: the installed wheel followed the guide's Install section and made a loan")
    return 0


if __name__ == "__main__":
    sys.exit(main())

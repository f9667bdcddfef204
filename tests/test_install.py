"""deploy/install.sh into a temporary root: user, files, modes, upgrade, uninstall; the unit.

The installer runs for real (useradd, pip into a venv, chown) against a copy of this
machine's passwd/group files in a temp folder; pip reads a wheelhouse fetched once
from the registry, so the test does not download everything twice.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.faces.cli import build_parser
from tests.conftest import ROOT

INSTALLER = ROOT / "deploy" / "install.sh"
UNIT = ROOT / "systemd" / "gate-agent.service"
TEMPLATE = ROOT / "config" / "gate.example.toml"
# the Pi's interpreter is Debian 12's; use the same one where this machine has it
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
DEV_TOOLS = {
    "pytest",
    "pytest-timeout",
    "pytest-xdist",
    "ruff",
    "mypy",
    "hypothesis",
    "import-linter",
}
SERVICE_GROUPS = ("gpio", "dialout", "plugdev", "input")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime dependencies and the build backend, as the registry serves them today."""
    stage = tmp_path_factory.mktemp("stage")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, stage / name)
    for name in ("agent", "drivers"):
        shutil.copytree(ROOT / name, stage / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-d", wheels, stage, "setuptools>=68", "wheel"], check=True)
    return wheels


@pytest.fixture
def target() -> Iterator[Path]:
    """An empty root with this machine's accounts; 0755 so the service user can walk in."""
    root = Path(tempfile.mkdtemp(prefix="gate-install-"))
    root.chmod(0o755)
    (root / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow"):
        shutil.copy2(Path("/etc") / name, root / "etc" / name)
    yield root
    shutil.rmtree(root)


def install(root: Path, wheels: Path, *args: str) -> str:
    argv = [str(INSTALLER), "--root", str(root), "--python", PYTHON, "--wheelhouse", str(wheels)]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def accounts(root: Path, name: str) -> dict[str, list[str]]:
    """name -> fields of the target root's etc/passwd or etc/group."""
    lines = (root / "etc" / name).read_text().splitlines()
    return {line.split(":")[0]: line.split(":") for line in lines if line}


def owner_mode(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def as_user(uid: int, gid: int, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run argv as uid:gid with no other groups, on mock GPIO (this machine has none)."""
    env = {"PATH": "/usr/bin:/bin", "GPIOZERO_PIN_FACTORY": "mock", "HOME": "/"}
    return subprocess.run(
        argv, user=uid, group=gid, extra_groups=[], env=env, cwd="/",
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def checkable_copy(root: Path) -> Path:
    """The installed config with its /etc and /var paths moved into the temp root."""
    text = (root / "etc/gate-agent/gate.toml").read_text()
    text = text.replace('"/etc/gate-agent/', f'"{root}/etc/gate-agent/')
    text = text.replace('"/var/lib/gate-agent"', f'"{root}/var/lib/gate-agent"')
    copy = root / "check.toml"
    copy.write_text(text)
    copy.chmod(0o644)
    return copy


def venv_distributions(root: Path) -> set[str]:
    code = "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))"
    python = root / "opt/gate-agent/.venv/bin/python"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return {name.lower() for name in out.stdout.split()}


def test_install_upgrade_uninstall(target: Path, wheelhouse: Path) -> None:
    out = install(target, wheelhouse)
    assert "installed gate-agent" in out

    users, groups = accounts(target, "passwd"), accounts(target, "group")
    uid, gid = int(users["gate-agent"][2]), int(groups["gate-agent"][2])
    assert users["gate-agent"][5:] == ["/var/lib/gate-agent", "/usr/sbin/nologin"]
    for group in SERVICE_GROUPS:
        assert "gate-agent" in groups[group][3].split(","), group
    etc, state = target / "etc/gate-agent", target / "var/lib/gate-agent"
    assert owner_mode(etc) == (0, gid, 0o750)
    assert owner_mode(etc / "gate.toml") == (0, gid, 0o640)
    assert (etc / "gate.toml").read_text() == TEMPLATE.read_text()
    assert owner_mode(etc / "site.key") == (0, gid, 0o640)
    assert re.fullmatch(r"[0-9a-f]{64}\n", (etc / "site.key").read_text())
    assert owner_mode(state) == (uid, gid, 0o700)
    units = target / "etc/systemd/system"
    assert (units / "gate-agent.service").read_text() == UNIT.read_text()
    wants = units / "multi-user.target.wants/gate-agent.service"
    assert os.readlink(wants) == "/etc/systemd/system/gate-agent.service"
    assert (
        os.readlink(target / "usr/local/bin/gate-agent") == "/opt/gate-agent/.venv/bin/gate-agent"
    )

    installed = venv_distributions(target)
    assert "gate-agent" in installed and not installed & DEV_TOOLS

    # the service user can use what the installer made; nobody else can read the key
    agent = str(target / "opt/gate-agent/.venv/bin/gate-agent")
    config = checkable_copy(target)
    checked = as_user(uid, gid, [agent, "check-config", str(config)])
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stderr
    locked = as_user(uid, gid, [agent, "safe-state", "-c", str(config)])
    assert locked.returncode == 0 and "door main: locked" in locked.stdout, locked.stderr
    stranger = as_user(65534, 65534, [agent, "check-config", str(config)])
    assert stranger.returncode != 0 and "Permission denied" in stranger.stderr
    assert len(stranger.stderr.strip().splitlines()) <= 3  # an error, not a traceback

    # the unit as installed, its programs pointing into the temp root, is valid
    rooted = target / "verify" / "gate-agent.service"
    rooted.parent.mkdir()
    rooted.write_text(UNIT.read_text().replace("/opt/gate-agent/", f"{target}/opt/gate-agent/"))
    verify = subprocess.run(["systemd-analyze", "verify", rooted], capture_output=True, text=True)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr

    # upgrade: the installer's edits, the key (a root-only one, as the old README made
    # it) and the state stay; the program is replaced
    with (etc / "gate.toml").open("a") as edited:
        edited.write("# the installer's own edit\n")
    (etc / "site.key").chmod(0o600)
    os.chown(etc / "site.key", 0, 0)
    (state / "events.db").write_bytes(b"the gate's events")
    before = {p: p.read_bytes() for p in (etc / "gate.toml", etc / "site.key", state / "events.db")}
    key_mtime = (etc / "site.key").stat().st_mtime_ns
    old_venv = (target / "opt/gate-agent/.venv").resolve()

    assert "upgraded gate-agent" in install(target, wheelhouse)
    assert {p: p.read_bytes() for p in before} == before
    assert (etc / "site.key").stat().st_mtime_ns == key_mtime
    assert owner_mode(etc / "site.key") == (0, gid, 0o640)  # now the service can read it
    assert owner_mode(state) == (uid, gid, 0o700)
    new_venv = (target / "opt/gate-agent/.venv").resolve()
    assert new_venv != old_venv and not old_venv.exists()
    assert list((target / "opt/gate-agent/venvs").iterdir()) == [new_venv]
    assert as_user(uid, gid, [agent, "check-config", str(checkable_copy(target))]).returncode == 0

    # uninstall (with the installed copy, as docs/install.md says) keeps config, keys,
    # state and the user; --purge removes them
    uninstaller = target / "opt/gate-agent/share/install.sh"
    done = subprocess.run([uninstaller, "--root", target, "--uninstall"], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert not (target / "opt/gate-agent").exists()
    assert not (units / "gate-agent.service").exists() and not wants.is_symlink()
    assert not (target / "usr/local/bin/gate-agent").is_symlink()
    assert {p: p.read_bytes() for p in before} == before
    assert "gate-agent" in accounts(target, "passwd")

    install(target, wheelhouse, "--uninstall", "--purge")
    assert not etc.exists() and not state.exists()
    assert "gate-agent" not in accounts(target, "passwd")
    assert "gate-agent" not in accounts(target, "group")
    assert set(SERVICE_GROUPS) <= set(accounts(target, "group"))


def test_refuses_an_install_it_did_not_make(target: Path) -> None:
    clone = target / "opt/gate-agent"
    clone.mkdir(parents=True)
    (clone / "README.md").write_text("a git clone, as the old README made")
    argv = [str(INSTALLER), "--root", str(target), "--python", PYTHON]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "move it aside" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in clone.iterdir()) == ["README.md"]
    assert not (target / "etc/gate-agent").exists()
    assert "gate-agent" not in accounts(target, "passwd")


def test_bad_options_get_usage() -> None:
    for argv in (["--bogus"], ["--root"]):
        done = subprocess.run([INSTALLER, *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "usage:" in done.stderr
    done = subprocess.run([INSTALLER, "--purge"], capture_output=True, text=True)
    assert (
        done.returncode == 1 and done.stderr == "gate-agent: error: --purge goes with --uninstall\n"
    )


def test_unit_exposure_under_4() -> None:
    argv = ["systemd-analyze", "security", "--offline=true", "--threshold=40", str(UNIT)]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert score and float(score.group(1)) < 4.0, done.stdout[-300:]


def test_unit_commands_parse() -> None:
    unit = {}
    for line in UNIT.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("Exec"):
            unit[key] = shlex.split(value)
    assert set(unit) == {"ExecStartPre", "ExecStart", "ExecStopPost"}
    assert unit["ExecStartPre"][1] == "check-config"
    for argv in unit.values():
        assert argv[0] == "/opt/gate-agent/.venv/bin/gate-agent"
        build_parser().parse_args(argv[1:])  # SystemExit if the command line is wrong


def documented_commands(text: str) -> list[list[str]]:
    """Commands in fenced blocks, and inline ones that start with sudo, split at && and |."""
    fenced = re.findall(r"```([a-z]*)\n(.*?)```", text, re.S)
    # a block marked as another language (```toml: a file's content) holds no commands
    blocks = [body for lang, body in fenced if lang in ("", "sh", "bash", "console")]
    spans = [line for block in blocks for line in block.splitlines()]
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S))
    spans += [span for span in inline if span.startswith("sudo ")]
    commands = []
    for span in spans:
        for segment in re.split(r"&&|\|\||[|;]", span):
            tokens = shlex.split(segment, comments=True)
            if tokens[:1] == ["sudo"]:
                tokens = tokens[1:]
                while tokens[:1] == ["-u"]:
                    tokens = tokens[2:]
            cut = [i for i, t in enumerate(tokens) if t in (">", ">>", "<")]
            commands.append(tokens[: cut[0]] if cut else tokens)
    return commands


def test_documented_commands_exist() -> None:
    from agent.office.cli import build_parser as office_parser

    script = INSTALLER.read_text()
    options = set(re.findall(r"^\s+(--[a-z-]+)\)", script, re.M))
    readme = (ROOT / "README.md").read_text().split("## Installing on a Pi", 1)[1]
    checked = 0
    for command in documented_commands((ROOT / "docs/install.md").read_text() + readme):
        program = Path(command[0]).name if command else ""
        try:
            if program == "gate-agent":
                build_parser().parse_args(command[1:])
            elif program == "gate-office":
                office_parser().parse_args(command[1:])
            elif program == "install.sh":
                flags = {arg for arg in command[1:] if arg.startswith("--")}
                assert flags <= options, command
            else:
                continue
        except SystemExit:
            pytest.fail(f"documented command does not parse: {shlex.join(command)}")
        checked += 1
    assert checked >= 15


def test_an_empty_root_is_refused_in_one_line() -> None:
    """``--root`` into an empty folder ended in raw awk and groupadd errors."""
    with tempfile.TemporaryDirectory(prefix="gate-empty-") as empty:
        argv = [str(INSTALLER), "--root", empty, "--python", PYTHON]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"gate-agent: error: --root {os.path.realpath(empty)} ")
        assert "etc/passwd" in done.stderr and "awk" not in done.stderr
        assert os.listdir(empty) == []  # nothing was made

"""A submission (a directory, a `.zip` or a `.tar.gz`) becomes a private working copy to grade.

The grader never changes a student's files: it grades a copy. Archives are unpacked with care,
since they come from students: no absolute or `..` paths, no links that point out of the tree,
no devices, and a cap on size and file count (a zip bomb is refused, not unpacked). Directories
get the same checks. Anything unsafe or unreadable raises `Refused`: that row of the batch is an
`error`, and the rest of the batch is graded as usual.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grading.manifest import ALWAYS_IGNORED, Limits, is_ignored

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
CHUNK = 1 << 16


class Refused(Exception):
    """This submission cannot be graded; the message says why, in words for the instructor."""


def submission_name(source: Path) -> str:
    """A folder-safe name: the directory's name, or the archive's without its suffix."""
    name = source.resolve().name if source.is_dir() else source.name
    for suffix in ARCHIVE_SUFFIXES:
        name = name.removesuffix(suffix)
    return re.sub(r"[^\w.-]", "_", name).strip(".") or "submission"


def unique_names(sources: list[Path]) -> list[str]:
    """One name per source, in order; a repeated name gets `-2`, `-3`, ... ."""
    names, seen = [], set()
    for source in sources:
        base = name = submission_name(source)
        number = 1
        while name in seen:
            number += 1
            name = f"{base}-{number}"
        seen.add(name)
        names.append(name)
    return names


def working_copy(source: Path, dest: Path, limits: Limits, ignore: tuple[str, ...]) -> Path:
    """Copy or unpack `source` into a new folder `dest`; return the submission's root in it.

    An archive holding a single folder has that folder as its root. Raises `Refused`. Besides
    `ignore`, what is never worth grading (version control, environments, caches) stays out.
    """
    ignore = (*ALWAYS_IGNORED, *ignore)
    budget = _Budget(limits)
    dest.mkdir(parents=True)
    if source.is_dir():
        _copy_directory(source, dest, budget, ignore)
    elif source.name.endswith(".zip"):
        _unpack_zip(source, dest, budget, ignore)
    elif source.name.endswith(ARCHIVE_SUFFIXES):
        _unpack_tar(source, dest, budget, ignore)
    elif source.exists():
        raise Refused(f"{source}: not a directory, a .zip or a .tar.gz")
    else:
        raise Refused(f"{source}: no such file or directory")
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return dest


def tree_digest(root: Path, ignore: tuple[str, ...] = ALWAYS_IGNORED) -> str:
    """A sha256 of every path, link target and file content under `root`, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if is_ignored(relative, ignore):
            continue
        if path.is_symlink():
            digest.update(f"L {relative} -> {os.readlink(path)}\n".encode())
        elif path.is_file():
            digest.update(f"F {relative} {file_digest(path)}\n".encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of one file's content."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


class _Budget:
    """Counts files and bytes against the limits, and refuses past them."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.max_bytes, self.max_files = limits.size_mb * 1e6, limits.files
        self.bytes = self.files = 0

    def add_file(self, size: int = 0) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise Refused(f"more than {self.max_files} files (limits.files)")
        self.add_bytes(size)

    def add_bytes(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self.max_bytes:
            raise Refused(f"larger than {self.max_bytes / 1e6:g} MB unpacked (limits.size_mb)")


def _safe_relative(name: str) -> str:
    """An archive member's name as a relative POSIX path, or `Refused` for a dangerous one."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise Refused(f"{name!r}: an absolute path in the archive")
    if ".." in path.parts:
        raise Refused(f"{name!r}: a path with '..' in the archive")
    return path.as_posix()


def _check_link(relative: str, target: str) -> None:
    """Refuse a symbolic link at `relative` whose `target` is absolute or leaves the tree."""
    if target.startswith("/"):
        raise Refused(f"{relative}: a link to an absolute path ({target})")
    resolved = os.path.normpath(PurePosixPath(relative).parent / target)
    if resolved == ".." or resolved.startswith("../"):
        raise Refused(f"{relative}: a link that points out of the submission ({target})")


def _copy_directory(source: Path, dest: Path, budget: _Budget, ignore: tuple[str, ...]) -> None:
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        for name in [*dirs, *files]:
            path = here / name
            relative = path.relative_to(source).as_posix()
            if is_ignored(relative, ignore):
                if name in dirs:
                    dirs.remove(name)
                continue
            target = dest / relative
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                link = os.readlink(path)
                _check_link(relative, link)
                budget.add_file()
                os.symlink(link, target)
            elif stat.S_ISDIR(mode):
                target.mkdir()
            elif stat.S_ISREG(mode):
                budget.add_file(path.stat().st_size)
                shutil.copy2(path, target)
            else:
                raise Refused(f"{relative}: not a regular file, folder or link")


def _unpack_zip(archive: Path, dest: Path, budget: _Budget, ignore: tuple[str, ...]) -> None:
    try:
        with zipfile.ZipFile(archive) as zip_file:
            members = zip_file.infolist()
            preview = _Budget(budget.limits)
            for member in members:  # the declared sizes first: refuse a bomb before unpacking
                preview.add_file(member.file_size)
            for member in members:
                relative = _safe_relative(member.filename).rstrip("/")
                if not relative or is_ignored(relative, ignore):
                    continue
                target = dest / relative
                mode = member.external_attr >> 16
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                elif stat.S_ISLNK(mode):
                    link = zip_file.read(member)[:4096].decode(errors="replace")
                    _check_link(relative, link)
                    budget.add_file()
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(link, target)
                elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # a device, a fifo, ...
                    raise Refused(f"{relative}: not a regular file, folder or link")
                else:
                    budget.add_file()
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _copy_counting(zip_file, member, target, budget)
                    if mode:
                        target.chmod(stat.S_IMODE(mode) & 0o755 | 0o600)
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as error:
        raise Refused(f"{archive.name}: not a readable zip ({error})") from None


def _copy_counting(
    zip_file: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: _Budget
) -> None:
    """Unpack one member, counting the bytes really written (a header may lie about its size)."""
    with zip_file.open(member) as source, open(target, "wb") as output:
        while chunk := source.read(CHUNK):
            budget.add_bytes(len(chunk))
            output.write(chunk)


def _unpack_tar(archive: Path, dest: Path, budget: _Budget, ignore: tuple[str, ...]) -> None:
    try:
        with tarfile.open(archive) as tar:
            for member in tar:  # one header at a time: a huge member is refused before its data
                relative = _safe_relative(member.name).rstrip("/")
                budget.add_file(member.size)
                if not relative or is_ignored(relative, ignore):
                    continue
                if member.issym():
                    _check_link(relative, member.linkname)
                try:
                    tar.extract(member, dest, filter="data")
                except tarfile.FilterError as error:
                    raise Refused(f"{relative}: {error}") from None
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise Refused(f"{archive.name}: not a readable tar archive ({error})") from None

"""Submissions become private working copies; unsafe or oversized archives are refused."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from grading.manifest import Limits
from grading.submissions import Refused, submission_name, tree_digest, unique_names, working_copy

pytestmark = pytest.mark.timeout(30)
LIMITS = Limits(size_mb=1, files=50)


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo], contents: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            data = contents.get(member.name, b"")
            member.size = len(data) if member.isfile() else 0
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def test_a_directory_is_copied_without_its_caches_and_left_unchanged(tmp_path):
    source = tmp_path / "alice"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "m.py").write_text("x = 1\n")
    (source / "pkg" / "__pycache__" / "m.pyc").write_bytes(b"junk")
    (source / "data").mkdir()
    (source / "data" / "big.csv").write_text("1,2\n")
    (source / "link.py").symlink_to("pkg/m.py")
    before = tree_digest(source, ignore=())
    root = working_copy(source, tmp_path / "work", LIMITS, ignore=("data", "__pycache__"))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "link.py",
        "pkg",
        "pkg/m.py",
    ]
    (root / "pkg" / "m.py").write_text("changed")
    assert tree_digest(source, ignore=()) == before


def test_an_archive_with_one_folder_has_that_folder_as_its_root(tmp_path):
    archive = make_zip(tmp_path / "bob.zip", {"bob-main/pkg/m.py": b"x = 1\n"})
    root = working_copy(archive, tmp_path / "work", LIMITS, ignore=())
    assert root.name == "bob-main" and (root / "pkg" / "m.py").read_text() == "x = 1\n"


def test_a_tar_gz_unpacks_with_its_safe_links(tmp_path):
    link = tarfile.TarInfo("sub/alias.py")
    link.type, link.linkname = tarfile.SYMTYPE, "../m.py"
    archive = make_tar(tmp_path / "c.tar.gz", [tarfile.TarInfo("m.py"), link], {"m.py": b"y"})
    root = working_copy(archive, tmp_path / "work", LIMITS, ignore=())
    assert (root / "sub" / "alias.py").read_text() == "y"


def symlink_out() -> tarfile.TarInfo:
    link = tarfile.TarInfo("secrets")
    link.type, link.linkname = tarfile.SYMTYPE, "../../etc/passwd"
    return link


def absolute_zip_member(tmp_path: Path) -> Path:
    path = tmp_path / "abs.zip"
    with zipfile.ZipFile(path, "w") as archive:  # writestr would strip the leading slash
        info = zipfile.ZipInfo("m.py")
        archive.writestr(info, b"x")
    raw = path.read_bytes().replace(b"m.py", b"/m.p")  # same length: /m.p is absolute
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize(
    ("build", "complaint"),
    [
        (lambda d: make_zip(d / "up.zip", {"../evil.py": b"x"}), "a path with '..'"),
        (absolute_zip_member, "an absolute path"),
        (lambda d: make_tar(d / "l.tar.gz", [symlink_out()], {}), "points out of the submission"),
        (lambda d: make_zip(d / "bomb.zip", {"zeros": bytes(5_000_000)}), "larger than 1 MB"),
        (lambda d: make_zip(d / "many.zip", {f"f{i}": b"" for i in range(60)}), "more than 50"),
        (lambda d: (d / "bad.zip").write_bytes(b"not a zip") and d / "bad.zip", "not a readable"),
        (lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt", "not a directory"),
    ],
)
def test_unsafe_or_broken_submissions_are_refused(tmp_path, build, complaint):
    with pytest.raises(Refused, match=complaint):
        working_copy(build(tmp_path), tmp_path / "work", LIMITS, ignore=())
    assert not (tmp_path.parent / "evil.py").exists() and not Path("/m.p").exists()


def test_a_zip_member_that_lies_about_its_size_is_stopped_at_the_limit(tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {"zeros": bytes(3_000_000)})
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # declare 10 bytes in both headers
        at = data.find(header)
        size_at = at + (22 if header == b"PK\x03\x04" else 24)
        data[size_at : size_at + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(Refused):
        working_copy(archive, tmp_path / "work", LIMITS, ignore=())
    assert sum(f.stat().st_size for f in (tmp_path / "work").rglob("*") if f.is_file()) <= 1e6


def test_a_directory_with_a_link_out_of_it_is_refused(tmp_path):
    source = tmp_path / "carol"
    source.mkdir()
    os.symlink("/etc/passwd", source / "passwd")
    with pytest.raises(Refused, match="a link to an absolute path"):
        working_copy(source, tmp_path / "work", LIMITS, ignore=())


def test_names_come_from_folders_and_archives_and_never_collide(tmp_path):
    sources = [tmp_path / "a" / "alice", tmp_path / "b" / "alice", tmp_path / "bob.tar.gz"]
    sources[0].mkdir(parents=True)
    sources[1].mkdir(parents=True)
    assert submission_name(tmp_path / "x y.zip") == "x_y"
    assert unique_names(sources) == ["alice", "alice-2", "bob"]

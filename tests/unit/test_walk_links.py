"""Issue 11: the walk's symlink policy and problems (cases 2, 11), and the local file helpers
(cases 4, 10, 14). Local files only: no server involved."""

from __future__ import annotations

import os

import pytest

from s3ferry.core.errors import SourceChangedError, UnsafeKeyError
from s3ferry.local import files
from s3ferry.local.walk import walk_local


def tree(root):
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    return root


def relatives(root, **options):
    return [(e.relative, e.problem is None) for e in walk_local(root, **options)]


def test_loop_back_into_the_tree_is_skipped(tmp_path):
    root = tree(tmp_path / "t")
    (root / "sub" / "up").symlink_to("..")
    (root / "self").symlink_to("self")
    entries = list(walk_local(root))
    assert [e.relative for e in entries if e.problem is None] == ["a.txt", "sub/b.txt"]
    assert {e.relative for e in entries if e.problem} == {"self", "sub/up"}
    assert not any(e.fatal for e in entries if e.problem)  # warnings, not failures


def test_outside_folder_followed_once(tmp_path):
    root = tree(tmp_path / "t")
    outside = tmp_path / "o"
    outside.mkdir()
    (outside / "x").write_text("x")
    (outside / "back").symlink_to(outside)  # a loop outside the tree
    (root / "ext1").symlink_to(outside)
    (root / "ext2").symlink_to(outside)
    files_ = [r for r, ok in relatives(root) if ok]
    assert files_ == ["a.txt", "ext1/x", "sub/b.txt"]


def test_no_follow_skips_every_link(tmp_path):
    root = tree(tmp_path / "t")
    (root / "link.txt").symlink_to(root / "a.txt")
    outside = tmp_path / "o"
    outside.mkdir()
    (outside / "x").write_text("x")
    (root / "ext").symlink_to(outside)
    assert [r for r, ok in relatives(root, follow_links=False) if ok] == ["a.txt", "sub/b.txt"]
    assert [r for r, ok in relatives(root) if ok] == ["a.txt", "ext/x", "link.txt", "sub/b.txt"]
    assert [r for r, ok in relatives(root, follow_dirs=False) if ok] == ["a.txt", "link.txt", "sub/b.txt"]


def test_an_unreadable_folder_is_a_problem_not_the_end(tmp_path, monkeypatch):
    root = tree(tmp_path / "t")
    (root / "z").mkdir()
    (root / "z" / "c").write_text("c")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("/sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    entries = list(walk_local(root))
    assert [e.relative for e in entries if e.problem is None] == ["a.txt", "z/c"]
    assert [(e.relative, e.fatal) for e in entries if e.problem] == [("sub", True)]


def test_pread_exact_loops_over_short_reads(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 100)
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: real(fd, min(n, 1000), off))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert files.pread_exact(fd, 25600, 0) == path.read_bytes()
        with pytest.raises(SourceChangedError):
            files.pread_exact(fd, 30000, 0)
    finally:
        os.close(fd)


def test_preallocate_without_posix_fallocate(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "posix_fallocate")
    fd = files.create_temp(tmp_path / ".x.s3ferry.tmp", 12345)
    os.close(fd)
    assert (tmp_path / ".x.s3ferry.tmp").stat().st_size == 12345
    (tmp_path / ".x.s3ferry.tmp").unlink()


def test_temporary_files_are_created_afresh(tmp_path):
    tmp = tmp_path / ".x.s3ferry.tmp"
    first = files.create_temp(tmp, 10)
    os.pwrite(first, b"old", 0)
    os.close(first)
    os.close(files.create_temp(tmp, 10))  # a killed run's leftover: replaced by a new inode
    assert tmp.read_bytes() == bytes(10)
    os.close(files.create_temp(tmp, 10, resume=True))  # a resume reopens its own
    tmp.unlink()


def test_check_inside(tmp_path):
    root = tmp_path / "d"
    (root / "real").mkdir(parents=True)
    (root / "in").symlink_to(root / "real")
    (root / "out").symlink_to(tmp_path)
    files.check_inside(root, "a/b/c")
    files.check_inside(root, "in/x")
    with pytest.raises(UnsafeKeyError):
        files.check_inside(root, "out/x")


def _realpath_check(root, relative: str) -> bool:
    """check_inside as it was: two realpaths, always (the reference for its fast path)."""
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, os.path.dirname(relative)))
    return target == base or target.startswith(base.rstrip(os.sep) + os.sep)


def test_check_inside_without_realpath_agrees_with_realpath(tmp_path):
    """The lstat-per-folder fast path says what the realpath comparison says, on every kind
    of way: plain folders, links in and out (nested, chained), a file on the way, missing
    folders, "." and ".."."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "d"
    (root / "real" / "deep").mkdir(parents=True)
    (root / "file").write_bytes(b"x")
    (root / "in").symlink_to(root / "real")
    (root / "real" / "up").symlink_to(outside)
    (root / "chain").symlink_to(root / "in")
    (root / "out").symlink_to(tmp_path)
    (root / "rel").symlink_to("real/deep")
    names = ["", "real", "real/deep", "in", "real/up", "chain", "out", "rel", "file", "nope", ".", "..",
             "real/..", "in/deep"]
    for first in names:
        for second in ["", "x", "deep", "up", ".."]:
            folder = "/".join(p for p in (first, second) if p)
            relative = f"{folder}/f.bin" if folder else "f.bin"
            inside = _realpath_check(root, relative)
            if inside:
                files.check_inside(root, relative)
            else:
                with pytest.raises(UnsafeKeyError):
                    files.check_inside(root, relative)

"""Two-way sync decisions: the truth table row by row, and a model check over every
combination of baseline, local and remote contents (hypothesis)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.twoway import (
    Act,
    Base,
    Change,
    Decision,
    Local,
    Remote,
    conflict_name,
    decide,
    is_reserved,
    local_change,
    remote_change,
    resolve,
)

T0 = 1_700_000_000


def md5(content: str) -> str:
    return hashlib.md5(content.encode()).hexdigest()


def etag(content: str, multipart: bool = False) -> str:
    # A multipart ETag is no MD5 of the file: equality needs a comparison that reads bytes.
    return (md5("mp" + content)[:32] + "-2") if multipart else md5(content)


def base(content: str, path: str = "p", multipart: bool = False) -> Base:
    return Base(path, len(content), etag(content, multipart), md5(content), T0, 7, T0)


def local(content: str, path: str = "p", *, touched: bool = True, hashed: bool = False, like: Base | None = None) -> Local:
    """A local file. ``touched`` (the default for new content): its stat differs from the
    baseline's; untouched files keep the baseline's stat exactly."""
    if like is not None and not touched:
        return Local(path, like.size, like.mtime_ns, like.ino, like.ctime_ns)
    return Local(path, len(content), T0, 7, T0 + 1, md5(content) if hashed else None)


def remote(content: str, path: str = "p", multipart: bool = False) -> Remote:
    return Remote(path, len(content), etag(content, multipart), T0)


def settle(d: Decision, local_content: str | None, remote_content: str | None) -> Decision:
    """What the I/O layer does: hash when asked, compare when asked."""
    if d.act is Act.HASH:
        assert d.local is not None and local_content is not None
        from dataclasses import replace
        d = decide(d.base, replace(d.local, md5=md5(local_content)), d.remote)
    if d.act is Act.COMPARE:
        d = resolve(d, local_content == remote_content)
    return d


# ---- the truth table, row by row ------------------------------------------------------

B = base("aaaa")
ROWS = [
    # (baseline, local, remote) -> action, expect (If-Match ETag; None: If-None-Match *)
    ("new here", None, local("aaaa"), None, Act.UPLOAD, None),
    ("new there", None, None, remote("aaaa"), Act.DOWNLOAD, etag("aaaa")),
    ("unchanged", B, local("aaaa", like=B, touched=False), remote("aaaa"), Act.NOTHING, None),
    ("changed there", B, local("aaaa", like=B, touched=False), remote("bbbb"), Act.DOWNLOAD, etag("bbbb")),
    ("deleted there", B, local("aaaa", like=B, touched=False), None, Act.DELETE_LOCAL, None),
    ("changed here (size)", B, local("aaaaa"), remote("aaaa"), Act.UPLOAD, etag("aaaa")),
    ("deleted here", B, None, remote("aaaa"), Act.DELETE_REMOTE, etag("aaaa")),
    ("deleted here, changed there", B, None, remote("bb"), Act.DOWNLOAD, etag("bb")),
    ("changed here (size), deleted there", B, local("aaaaaa"), None, Act.UPLOAD, None),
    ("deleted on both", B, None, None, Act.FORGET, None),
    ("touched, same size", B, local("aaaa"), remote("aaaa"), Act.HASH, None),
    ("same size, new bytes, hashed", B, local("abcd", hashed=True), remote("aaaa"), Act.UPLOAD, etag("aaaa")),
    ("touched, hashed, same bytes", B, local("aaaa", hashed=True), remote("aaaa"), Act.NOTHING, None),
    ("both new, same bytes", None, local("xy", hashed=True), remote("xy"), Act.RECORD, etag("xy")),
    ("both new, other sizes", None, local("xy"), remote("xyz"), Act.CONFLICT, etag("xyz")),
    ("both new, same size, not hashed", None, local("xy"), remote("zz"), Act.COMPARE, etag("zz")),
    ("both new, multipart ETag", None, local("xy", hashed=True), remote("xy", multipart=True), Act.COMPARE,
     etag("xy", True)),
    ("both changed, other sizes", B, local("bbbbb"), remote("cc"), Act.CONFLICT, etag("cc")),
    ("both changed, same bytes", B, local("cc", hashed=True), remote("cc"), Act.RECORD, etag("cc")),
]


@pytest.mark.parametrize("name, b, l, r, act, expect", ROWS, ids=[row[0] for row in ROWS])
def test_truth_table(name, b, l, r, act, expect):
    d = decide(b, l, r)
    assert d.act is act, d.reason
    if act in (Act.UPLOAD, Act.DOWNLOAD, Act.DELETE_REMOTE, Act.CONFLICT, Act.RECORD, Act.COMPARE):
        assert d.expect == expect


def test_an_edit_that_keeps_size_and_mtime_is_still_an_edit():
    # Same size and mtime as the baseline; only ctime (which nobody can set back) moved.
    b = base("aaaa")
    edited = Local("p", 4, b.mtime_ns, b.ino, b.ctime_ns + 1)
    assert local_change(b, edited) is Change.UNKNOWN
    assert decide(b, edited, remote("aaaa")).act is Act.HASH
    from dataclasses import replace
    assert local_change(b, replace(edited, md5=md5("abcd"))) is Change.CHANGED


def test_remote_change_ignores_quotes():
    assert remote_change(base("aaaa"), Remote("p", 4, f'"{etag("aaaa")}"')) is Change.UNCHANGED


@pytest.mark.parametrize("same, act", [(True, Act.RECORD), (False, Act.CONFLICT), (None, Act.CONFLICT)])
def test_compare_never_passes_without_proof(same, act):
    d = decide(None, local("ab"), remote("cd", multipart=True))
    assert d.act is Act.COMPARE
    assert resolve(d, same).act is act


def test_kept_is_reported_when_a_deletion_loses_to_an_edit():
    assert decide(B, None, remote("bb")).kept
    assert decide(B, local("aaaaaa"), None).kept
    assert not decide(B, None, remote("aaaa")).kept


# ---- conflict names ---------------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("report.docx", "report.conflict-bob-20231114T221320Z.docx"),
    ("a/b/data.tar.gz", "a/b/data.tar.conflict-bob-20231114T221320Z.gz"),
    ("Makefile", "Makefile.conflict-bob-20231114T221320Z"),
    ("dir/.env", "dir/.env.conflict-bob-20231114T221320Z"),
])
def test_conflict_name(path, expected):
    assert conflict_name(path, "bob", T0) == expected


def test_conflict_name_makes_a_user_safe_for_a_file_name():
    assert conflict_name("x.txt", "a/b c", T0) == "x.conflict-a_b_c-20231114T221320Z.txt"
    assert conflict_name("x.txt", "", T0) == "x.conflict-unknown-20231114T221320Z.txt"


@given(st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20),
       st.text(max_size=10), st.integers(0, 2**33))
def test_conflict_name_stays_beside_and_differs(name, user, when):
    path = f"dir/{name}"
    renamed = conflict_name(path, user, when)
    assert renamed != path and renamed.startswith("dir/") and "/" not in renamed[4:]
    assert conflict_name(path, user, when) == renamed  # deterministic: both members choose the same name


def test_reserved_paths():
    assert is_reserved(".s3ferry-team/record.jsonl") and is_reserved(".s3ferry-team")
    assert not is_reserved(".s3ferry-teamwork/x") and not is_reserved("a/.s3ferry-team/x")


# ---- the model: apply the decision to both sides and check what survives ------------------

CONTENTS = st.sampled_from(["aa", "bb", "ccc"])


def apply(d: Decision, here: dict[str, str], there: dict[str, str]) -> None:
    """The effect of each action on a model of both sides (path -> content)."""
    p = d.path
    if d.act is Act.UPLOAD:
        there[p] = here[p]
    elif d.act is Act.DOWNLOAD:
        here[p] = there[p]
    elif d.act is Act.DELETE_REMOTE:
        del there[p]
    elif d.act is Act.DELETE_LOCAL:
        del here[p]
    elif d.act is Act.CONFLICT:
        other = conflict_name(p, "them", T0)
        here[other] = there[other] = there[p]
        there[p] = here[p]
    else:
        assert d.act in (Act.NOTHING, Act.RECORD, Act.FORGET), d.act


@given(b=st.none() | CONTENTS, l=st.none() | CONTENTS, r=st.none() | CONTENTS, touched=st.booleans(),
       multipart=st.booleans())
def test_model_converges_and_loses_no_change(b, l, r, touched, multipart):
    if b is None and l is None and r is None:
        return
    bb = base(b, multipart=multipart) if b is not None else None
    ll = None if l is None else local(l, touched=touched or l != b, like=bb if l == b else None)
    rr = remote(r, multipart=multipart and r == b) if r is not None else None
    d = settle(decide(bb, ll, rr), l, r)
    assert d.act not in (Act.HASH, Act.COMPARE)
    here = {} if l is None else {"p": l}
    there = {} if r is None else {"p": r}
    apply(d, here, there)
    assert here == there, d  # both sides end equal
    survivors = set(here.values())
    for side in (l, r):
        if side is not None and side != b:
            assert side in survivors, d  # every change made since the baseline survives
    if bb is None:
        assert d.act not in (Act.DELETE_LOCAL, Act.DELETE_REMOTE)  # a first sync never deletes
    if l == r and l is not None:
        assert d.act in (Act.NOTHING, Act.RECORD)  # equal sides move no bytes and raise no conflict


@given(b=st.none() | CONTENTS, l=st.none() | CONTENTS, r=st.none() | CONTENTS)
def test_a_deletion_never_removes_a_changed_file(b, l, r):
    if b is None and l is None and r is None:
        return
    bb = base(b) if b is not None else None
    ll = None if l is None else local(l, hashed=True)
    rr = remote(r) if r is not None else None
    d = settle(decide(bb, ll, rr), l, r)
    if d.act is Act.DELETE_LOCAL:
        assert l == b
    if d.act is Act.DELETE_REMOTE:
        assert r == b and d.expect == etag(b)  # and the delete is conditional on that version

"""Issue 12, items 1 and 2: the CLI says what was done, per item, and a summary that adds up.

verify prints one line per pair, `VERDICT  LOCAL  s3://B/K  (DETAIL)`, like `sha256sum -c`;
`--quiet` keeps only the failures; `--json` keeps its objects and its summary counts every
verdict. A single-file put/get names source, destination and the ETag it verified; a tree
prints one line per failure and a summary, and a line per file with `-v`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import md5_file, random_file, run_cli
from ux_helpers import MiB, json_output, make_tree, text_lines

PART = ["--part-size", "5MiB"]


def verdict_line(verdict: str, local: Path | str, remote: str, detail: str = r".+") -> re.Pattern[str]:
    return re.compile(rf"^{verdict}\s+{re.escape(str(local))}\s+{re.escape(remote)}\s+\({detail}\)$")


@pytest.fixture
def drifted(server, bucket, tmp_path):
    """A tree put to s3://B/t/, then changed locally: one file matches as a single PUT, one as
    a 3-part upload, one has a flipped byte, one is gone and one is new."""
    root = make_tree(tmp_path / "tree", {"a.bin": 1000, "big.bin": 12 * MiB + 5, "c.bin": 2000, "d.bin": 3000})
    put = run_cli(server, "put", str(root), f"s3://{bucket}/t/", *PART)
    assert put.returncode == 0, put.stderr
    data = bytearray((root / "c.bin").read_bytes())
    data[10] ^= 0xFF
    (root / "c.bin").write_bytes(bytes(data))
    (root / "d.bin").unlink()
    random_file(root / "e.bin", 500, seed=99)
    return root


def test_verify_prints_one_verdict_line_per_pair_and_a_summary_in_words(server, bucket, drifted):
    done = run_cli(server, "verify", str(drifted), f"s3://{bucket}/t/")
    assert done.returncode == 3, done.stderr
    out = text_lines(done.stdout)
    base = f"s3://{bucket}/t/"
    expected = [
        verdict_line("match", drifted / "a.bin", base + "a.bin", r"layout: single PUT"),
        verdict_line("match", drifted / "big.bin", base + "big.bin", r"layout: 5 MiB × 3, from metadata"),
        verdict_line("mismatch", drifted / "c.bin", base + "c.bin"),
        verdict_line("missing-local", drifted / "d.bin", base + "d.bin"),
        verdict_line("missing-remote", drifted / "e.bin", base + "e.bin"),
    ]
    for pattern in expected:
        assert sum(bool(pattern.match(line)) for line in out) == 1, (pattern.pattern, out)
    assert out[-1].startswith("verify: 5 checked: 2 matched, 1 mismatched, 2 missing"), out[-1]
    assert "FAILED" not in out[-1] and "0 file(s)" not in done.stdout
    # each failing pair is said once, not once on stdout and again on stderr
    assert "c.bin" not in done.stderr and "Traceback" not in done.stderr


def test_verify_quiet_keeps_only_the_failures(server, bucket, drifted):
    done = run_cli(server, "verify", str(drifted), f"s3://{bucket}/t/", "--quiet")
    assert done.returncode == 3, done.stderr
    out = text_lines(done.stdout)
    assert sorted(line.split()[0] for line in out) == ["mismatch", "missing-local", "missing-remote"], out


def test_verify_json_keeps_its_objects_and_counts_every_verdict(server, bucket, drifted):
    done = run_cli(server, "verify", str(drifted), f"s3://{bucket}/t/", "--json")
    assert done.returncode == 3, done.stderr
    pairs, summary = json_output(done.stdout)
    assert sorted(p["verdict"] for p in pairs) == ["match", "match", "mismatch", "missing-local", "missing-remote"]
    assert set(pairs[0]) == {"op", "source", "destination", "size", "etag", "verdict", "detail", "seconds", "error"}
    counts = {name: summary[name] for name in ("checked", "matched", "mismatched", "missing", "unverifiable",
                                               "errors", "skipped")}
    assert counts == {"checked": 5, "matched": 2, "mismatched": 1, "missing": 2, "unverifiable": 0,
                      "errors": 0, "skipped": 0}
    assert summary["exit_code"] == 3


def test_verify_of_one_file_names_the_pair_and_the_layout(server, bucket, tmp_path):
    src = random_file(tmp_path / "one.bin", 1000, seed=5)
    assert run_cli(server, "put", str(src), f"s3://{bucket}/one.bin").returncode == 0
    done = run_cli(server, "verify", str(src), f"s3://{bucket}/one.bin")
    assert done.returncode == 0, done.stderr
    out = text_lines(done.stdout)
    assert verdict_line("match", src, f"s3://{bucket}/one.bin", "layout: single PUT").match(out[0]), out
    assert out[-1].startswith("verify: 1 checked: 1 matched"), out


def test_single_file_put_and_get_name_source_destination_and_the_verified_etag(server, bucket, tmp_path):
    src = random_file(tmp_path / "one.bin", 1000, seed=6)
    etag = md5_file(src)
    url = f"s3://{bucket}/k/one.bin"
    put = run_cli(server, "put", str(src), url)
    assert put.returncode == 0, put.stderr
    assert len(text_lines(put.stdout)) == 1, put.stdout
    assert re.match(rf"^put {re.escape(str(src))} -> {re.escape(url)}: 1000 B in [\d.]+ s \([\d.]+ MiB/s\), "
                    rf"verified \(ETag {etag}\)$", text_lines(put.stdout)[0]), put.stdout

    out = tmp_path / "back.bin"
    get = run_cli(server, "get", url, str(out))
    assert get.returncode == 0, get.stderr
    assert re.match(rf"^get {re.escape(url)} -> {re.escape(str(out))}: 1000 B in [\d.]+ s \([\d.]+ MiB/s\), "
                    rf"verified \(ETag {etag}\)$", text_lines(get.stdout)[0]), get.stdout


def test_single_file_put_without_verification_says_so(server, bucket, tmp_path):
    src = random_file(tmp_path / "one.bin", 1000, seed=7)
    put = run_cli(server, "put", str(src), f"s3://{bucket}/one.bin", "--no-verify")
    assert put.returncode == 0, put.stderr
    assert text_lines(put.stdout)[0].endswith("not verified (--no-verify)"), put.stdout


def test_tree_put_prints_a_summary_and_with_v_a_line_per_file(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {"a.bin": 100, "b/c.bin": 200, "b/d.bin": 300})
    quiet = run_cli(server, "put", str(root), f"s3://{bucket}/t/")
    assert quiet.returncode == 0, quiet.stderr
    assert len(text_lines(quiet.stdout)) == 1, quiet.stdout
    assert re.match(r"^put: 3 files, 600 B in [\d.]+ s \([\d.]+ MiB/s\): 3 verified$", quiet.stdout.strip())

    verbose = run_cli(server, "put", str(root), f"s3://{bucket}/v/", "-v")
    assert verbose.returncode == 0, verbose.stderr
    lines = text_lines(verbose.stdout)
    assert len(lines) == 4, lines
    for name, size in (("a.bin", 100), ("b/c.bin", 200), ("b/d.bin", 300)):
        expected = (rf"^put {re.escape(str(root / name))} -> s3://{bucket}/v/{name}: {size} B, "
                    rf"verified \(ETag {md5_file(root / name)}\)$")
        assert any(re.match(expected, line) for line in lines), (expected, lines)
    assert lines[-1].startswith("put: 3 files, 600 B")


def test_tree_get_with_a_failure_prints_one_line_for_it_and_a_summary_that_adds_up(server, bucket, tmp_path):
    s3 = server.client()
    for key in ("p/a.bin", "p/b.bin"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 100)
    s3.put_object(Bucket=bucket, Key="p/../../escape.bin", Body=b"y" * 10)  # refused: outside the folder
    done = run_cli(server, "get", f"s3://{bucket}/p/", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    errors = text_lines(done.stderr)
    assert len(errors) == 1 and errors[0].startswith("error: get ") and "escape.bin" in errors[0], errors
    assert re.match(r"^get: 2 of 3 files, 200 B in [\d.]+ s \([\d.]+ MiB/s\): 2 verified, 1 failed$",
                    done.stdout.strip()), done.stdout


def test_tree_put_json_summary_counts_the_verified(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {"a.bin": 100, "b.bin": 200})
    done = run_cli(server, "put", str(root), f"s3://{bucket}/t/", "--json")
    assert done.returncode == 0, done.stderr
    results, summary = json_output(done.stdout)
    assert len(results) == 2 and summary["files"] == 2 and summary["verified"] == 2 and summary["failed"] == 0

"""Shared argument parsing for the script peers (stdlib only)."""
import argparse
import os


def parse(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("op", choices=["put", "get"])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("--part-size", type=int, default=8 * 1024 * 1024)
    return ap.parse_args(argv)


def split_s3(url):
    assert url.startswith("s3://"), url
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def local_files(root):
    """[(abs_path, relative_posix_path)] of every file under root."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out.append((p, os.path.relpath(p, root).replace(os.sep, "/")))
    return sorted(out)


def creds():
    return (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
            os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

"""Runner helper (boto3 venv): bucket, seeding, listing and clean-up.

    python s3util.py mkbucket BUCKET
    python s3util.py seed LOCAL_DIR s3://b/prefix/ [-c N]   # upload a tree
    python s3util.py stat s3://b/prefix/        # prints {"count":..,"bytes":..}
    python s3util.py rm s3://b/prefix/          # deletes every key under it
"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def client():
    ak, sk, region = common.creds()
    return boto3.client(
        "s3", endpoint_url=os.environ["BENCH_ENDPOINT_URL"],
        aws_access_key_id=ak, aws_secret_access_key=sk, region_name=region,
        config=Config(max_pool_connections=64, s3={"addressing_style": "path"},
                      retries={"max_attempts": 10, "mode": "standard"}))


def keys(c, url):
    bucket, prefix = common.split_s3(url)
    for page in c.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            yield o


def main():
    cmd = sys.argv[1]
    c = client()
    if cmd == "mkbucket":
        try:
            c.create_bucket(Bucket=sys.argv[2])
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass
    elif cmd == "seed":
        src, dst = sys.argv[2], sys.argv[3]
        bucket, prefix = common.split_s3(dst)
        cfg = TransferConfig(multipart_chunksize=8 << 20,
                             multipart_threshold=8 << 20, max_concurrency=8)
        files = common.local_files(src)
        with ThreadPoolExecutor(32) as ex:
            list(ex.map(lambda pr: c.upload_file(pr[0], bucket, prefix + pr[1],
                                                 Config=cfg), files))
        print(json.dumps({"count": len(files)}))
    elif cmd == "stat":
        n = b = 0
        for o in keys(c, sys.argv[2]):
            n += 1
            b += o["Size"]
        print(json.dumps({"count": n, "bytes": b}))
    elif cmd == "rm":
        bucket, _ = common.split_s3(sys.argv[2])
        batch, jobs = [], []
        with ThreadPoolExecutor(8) as ex:
            for o in keys(c, sys.argv[2]):
                batch.append({"Key": o["Key"]})
                if len(batch) == 1000:
                    jobs.append(ex.submit(c.delete_objects, Bucket=bucket,
                                          Delete={"Objects": batch, "Quiet": True}))
                    batch = []
            if batch:
                jobs.append(ex.submit(c.delete_objects, Bucket=bucket,
                                      Delete={"Objects": batch, "Quiet": True}))
            for j in jobs:
                j.result()
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

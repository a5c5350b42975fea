"""s3fs peer (fsspec, aiobotocore): its own batched async put/get.

    python s3fs_xfer.py put|get SRC DST --endpoint-url URL [-c N]

Folders go through fs.put / fs.get with explicit path lists and
batch_size=N; single files through fs.put_file / fs.get_file (s3fs's own
multipart with its default block size).
"""
import os
import sys

import s3fs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    args = common.parse()
    ak, sk, region = common.creds()
    fs = s3fs.S3FileSystem(key=ak, secret=sk, endpoint_url=args.endpoint_url,
                           client_kwargs={"region_name": region},
                           max_concurrency=args.concurrency)
    if args.op == "put":
        bucket, key = common.split_s3(args.dst)
        if os.path.isdir(args.src):
            files = common.local_files(args.src)
            fs.put([p for p, _ in files],
                   ["%s/%s%s" % (bucket, key, rel) for _, rel in files],
                   batch_size=args.concurrency)
        else:
            fs.put_file(args.src, "%s/%s" % (bucket, key))
    else:
        bucket, key = common.split_s3(args.src)
        if key.endswith("/") or key == "":
            remote = fs.find("%s/%s" % (bucket, key))
            base = "%s/%s" % (bucket, key)
            local = [os.path.join(args.dst, r[len(base):]) for r in remote]
            for d in {os.path.dirname(p) for p in local}:
                os.makedirs(d, exist_ok=True)
            fs.get(remote, local, batch_size=args.concurrency)
        else:
            fs.get_file("%s/%s" % (bucket, key), args.dst)


if __name__ == "__main__":
    main()

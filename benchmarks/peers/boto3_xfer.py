"""boto3 / s3transfer peer: one TransferManager, all files submitted to it.

    python boto3_xfer.py put|get SRC DST --endpoint-url URL [-c N] [--crt]

put: SRC is a file (DST s3://b/key) or a folder (DST s3://b/prefix/).
get: SRC is s3://b/key (DST a file) or s3://b/prefix/ (DST a folder).
With --crt, s3transfer's CRTTransferManager (awscrt S3Client) is built
directly: boto3's own CRT switch (TransferConfig(preferred_transfer_client=
"crt")) ignores endpoint_url and always talks to AWS.
"""
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def crt_manager(args, ak, sk, region):
    import botocore.session
    from botocore.credentials import Credentials
    from s3transfer.crt import (BotocoreCRTCredentialsWrapper,
                                BotocoreCRTRequestSerializer,
                                CRTTransferManager, create_s3_crt_client)
    import awscrt.s3
    orig = awscrt.s3.S3ChecksumConfig

    def no_trailer(*a, **kw):
        # s3transfer always asks CRT for a trailing CRC32 on uploads
        # (STREAMING-UNSIGNED-PAYLOAD-TRAILER), which Ceph Pacific rejects
        # with XAmzContentSHA256Mismatch: upload without it.
        if kw.get("location") == awscrt.s3.S3ChecksumLocation.TRAILER:
            return None
        return orig(*a, **kw)
    awscrt.s3.S3ChecksumConfig = no_trailer
    serializer = BotocoreCRTRequestSerializer(botocore.session.Session(), {
        "region_name": region, "endpoint_url": args.endpoint_url,
        "aws_access_key_id": ak, "aws_secret_access_key": sk,
        "config": Config(s3={"addressing_style": "path"})})
    cred = BotocoreCRTCredentialsWrapper(
        Credentials(ak, sk)).to_crt_credentials_provider()
    crt_client = create_s3_crt_client(
        region, cred, part_size=args.part_size,
        use_ssl=args.endpoint_url.startswith("https"))
    return CRTTransferManager(crt_client, serializer)


def main():
    crt = "--crt" in sys.argv
    args = common.parse([a for a in sys.argv[1:] if a != "--crt"])
    ak, sk, region = common.creds()
    client = boto3.client(
        "s3", endpoint_url=args.endpoint_url, aws_access_key_id=ak,
        aws_secret_access_key=sk, region_name=region,
        config=Config(max_pool_connections=max(10, args.concurrency),
                      s3={"addressing_style": "path"}))
    if crt:
        tm = crt_manager(args, ak, sk, region)
    else:
        cfg = TransferConfig(max_concurrency=args.concurrency,
                             multipart_chunksize=args.part_size,
                             multipart_threshold=args.part_size)
        tm = create_transfer_manager(client, cfg)
    futures = []
    with tm:
        if args.op == "put":
            bucket, key = common.split_s3(args.dst)
            if os.path.isdir(args.src):
                for path, rel in common.local_files(args.src):
                    futures.append(tm.upload(path, bucket, key + rel))
            else:
                futures.append(tm.upload(args.src, bucket, key))
        else:
            bucket, key = common.split_s3(args.src)
            if key.endswith("/") or key == "":
                os.makedirs(args.dst, exist_ok=True)
                pages = client.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=key)
                for page in pages:
                    for o in page.get("Contents", []):
                        rel = o["Key"][len(key):]
                        dest = os.path.join(args.dst, rel)
                        os.makedirs(os.path.dirname(dest), exist_ok=True)
                        futures.append(tm.download(bucket, o["Key"], dest))
            else:
                futures.append(tm.download(bucket, key, args.dst))
        for f in futures:
            f.result()


if __name__ == "__main__":
    main()

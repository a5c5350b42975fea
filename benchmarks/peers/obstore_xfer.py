"""obstore peer (Rust object_store via Python): asyncio, bounded gather.

    python obstore_xfer.py put|get SRC DST --endpoint-url URL [-c N]

Large files: put_async's own multipart (chunk_size = part size,
max_concurrency = N); get streams one GET (obstore has no parallel ranged
download helper).  Folders: one coroutine per file, N at a time.
"""
import asyncio
import os
import sys
from pathlib import Path

import obstore as obs
from obstore.store import S3Store

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


async def main():
    args = common.parse()
    ak, sk, region = common.creds()
    s3 = args.dst if args.op == "put" else args.src
    bucket, key = common.split_s3(s3)
    store = S3Store(bucket, endpoint=args.endpoint_url, access_key_id=ak,
                    secret_access_key=sk, region=region,
                    virtual_hosted_style_request=False,
                    client_options={"allow_http": True})
    sem = asyncio.Semaphore(args.concurrency)

    async def put(path, k, **kw):
        async with sem:
            await obs.put_async(store, k, Path(path), **kw)

    async def get(k, dest):
        async with sem:
            resp = await obs.get_async(store, k)
            with open(dest, "wb") as f:
                async for chunk in resp.stream(min_chunk_size=8 << 20):
                    f.write(chunk)

    if args.op == "put":
        if os.path.isdir(args.src):
            await asyncio.gather(*(put(p, key + rel)
                                   for p, rel in common.local_files(args.src)))
        else:
            await obs.put_async(store, key, Path(args.src),
                                chunk_size=args.part_size,
                                max_concurrency=args.concurrency)
    else:
        if key.endswith("/") or key == "":
            os.makedirs(args.dst, exist_ok=True)
            jobs = []
            async for batch in obs.list(store, prefix=key or None):
                for o in batch:
                    rel = o["path"][len(key):]
                    dest = os.path.join(args.dst, rel)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    jobs.append(get(o["path"], dest))
            await asyncio.gather(*jobs)
        else:
            await get(key, args.dst)


if __name__ == "__main__":
    asyncio.run(main())

"""CPU of parsing one ListObjectsV2 page of 1,000 keys (core.s3wire.parse_list_page), the
page as Ceph RGW writes it (url-encoded keys with '/' as %2F, ETag quotes as &quot;).

    PYTHONPATH=BUILD/src python benchmarks/listing_cpu.py [--rounds 7]

Prints the best of ``rounds`` process-time measurements, in ms per page (= us per listed
object). Compare builds by running it with each build's src first on PYTHONPATH, in turns.
"""

from __future__ import annotations

import argparse
import hashlib
import time
import timeit

from s3ferry.core import s3wire


def page(keys: int = 1000) -> bytes:
    entries = "".join(
        f"<Contents><Key>small%2Ff{i:05d}.bin</Key><LastModified>2026-12-02T04:20:{i % 60:02d}.{i % 1000:03d}Z"
        f"</LastModified><ETag>&quot;{hashlib.md5(str(i).encode()).hexdigest()}&quot;</ETag><Size>65536</Size>"
        f"<StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents>" for i in range(keys))
    return ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            "<EncodingType>url</EncodingType><Name>perf</Name><Prefix>small%2F</Prefix><MaxKeys>1000</MaxKeys>"
            f"<IsTruncated>true</IsTruncated>{entries}<NextContinuationToken>t</NextContinuationToken>"
            "</ListBucketResult>").encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    body = page()
    parsed = s3wire.parse_list_page(body)
    assert len(parsed["Contents"]) == 1000 and parsed["Contents"][0]["Key"] == "small/f00000.bin"
    best = min(timeit.repeat(lambda: s3wire.parse_list_page(body), number=10, repeat=args.rounds,
                             timer=time.process_time)) / 10
    print(f"parse_list_page: {best * 1000:.2f} ms CPU per 1,000-key page")


if __name__ == "__main__":
    main()

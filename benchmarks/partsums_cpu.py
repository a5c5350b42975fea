"""Run: PYTHONPATH=$PWD/src /work/main/.venv/bin/python benchmarks/partsums_cpu.py

Client CPU (user+sys of the s3ferry process) of a 256 MiB multipart put to moto, --checksum
off / crc32 / crc32c, interleaved in one run, 3 rounds."""
import os, subprocess, sys, resource, boto3
from s3ferry.tools.embedded import moto_server
os.makedirs("/tmp/partsums_bench", exist_ok=True)
src = "/tmp/partsums_bench/f.bin"
if not os.path.exists(src):
    with open(src, "wb") as f:
        f.write(os.urandom(256 << 20))
with moto_server() as srv:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_DEFAULT_REGION": "us-east-1",
           "S3FERRY_ENDPOINT_URL": srv.endpoint_url}
    s3 = boto3.client("s3", endpoint_url=srv.endpoint_url, aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    s3.create_bucket(Bucket="bench-partsums")
    cpu = {m: [] for m in ("off", "crc32", "crc32c")}
    for r in range(3):
        for mode in cpu:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run([sys.executable, "-m", "s3ferry", "put", src, f"s3://bench-partsums/{mode}{r}", "--checksum", mode,
                                "--addressing-style", "path", "--quiet"], env=env, capture_output=True, text=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert p.returncode == 0, p.stderr
            cpu[mode].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    for mode, v in cpu.items():
        print(mode, " ".join(f"{x:.2f}" for x in v), "median CPU-s per GiB:", f"{sorted(v)[1] * 4:.2f}")

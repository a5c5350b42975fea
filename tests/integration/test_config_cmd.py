"""config show: each precedence level, and never a secret (issue 15); the config file really
drives a transfer; --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import s3ferry

from helpers import random_file

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def clean_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3FERRY_", "XDG_CONFIG"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"), **extra)
    return env


def show(env: dict[str, str], *flags: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "s3ferry", "config", "show", "--json", *flags],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_config_show_reflects_every_level(tmp_path):
    env = clean_env(tmp_path)
    (tmp_path / "home" / "aws-config").write_text("[profile dev]\nregion = eu-north-1\n"
                                                   "endpoint_url = http://profile.example:1\n")
    xdg = tmp_path / "xdg"
    (xdg / "s3ferry").mkdir(parents=True)
    (xdg / "s3ferry" / "config.toml").write_text('endpoint_url = "http://file:1"\npart_size = "16MiB"\n')
    settings = show({**env, "AWS_PROFILE": "dev"})
    assert settings["region"] == {"value": "eu-north-1", "source": "profile dev"}
    assert settings["endpoint_url"] == {"value": "http://profile.example:1", "source": "profile dev"}
    assert settings["part_size"]["source"] == "default"
    settings = show({**env, "XDG_CONFIG_HOME": str(xdg), "AWS_ENDPOINT_URL": "http://aws:1"})
    assert settings["endpoint_url"]["value"] == "http://file:1" and settings["part_size"]["value"] == "16MiB"
    assert settings["endpoint_url"]["source"].startswith("config file ")
    settings = show({**env, "XDG_CONFIG_HOME": str(xdg), "S3FERRY_ENDPOINT_URL": "http://env:1"})
    assert settings["endpoint_url"] == {"value": "http://env:1", "source": "env S3FERRY_ENDPOINT_URL"}
    settings = show({**env, "S3FERRY_ENDPOINT_URL": "http://env:1"}, "--endpoint-url", "http://flag:1",
                    "--part-size", "32MiB")
    assert settings["endpoint_url"] == {"value": "http://flag:1", "source": "--endpoint-url"}
    assert settings["part_size"] == {"value": "32MiB", "source": "--part-size"}
    other = tmp_path / "other.toml"
    other.write_text("concurrency = 3\n")
    assert show({**env, "XDG_CONFIG_HOME": str(xdg)}, "--config", str(other))["concurrency"]["value"] == 3
    bad = subprocess.run([sys.executable, "-m", "s3ferry", "config", "show", "--config", str(tmp_path / "nope.toml")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_config_show_never_prints_a_secret(tmp_path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY=SECRET,
                    AWS_SESSION_TOKEN="token-" + SECRET)
    (tmp_path / "home" / "aws-credentials").write_text(f"[p2]\naws_access_key_id = AKIAOTHER\n"
                                                        f"aws_secret_access_key = {SECRET}x\n")
    for args in ([], ["--json"], ["--profile", "p2"]):
        result = subprocess.run([sys.executable, "-m", "s3ferry", "config", "show", *args], capture_output=True,
                                text=True, env=env)
        assert result.returncode == 0, result.stderr
        text = result.stdout + result.stderr
        assert SECRET not in text and "AKIAIOSFODNN7EXAMPLE" not in text
        assert "secret_access_key" in text and "hidden" in text


def test_config_file_drives_a_transfer(moto, tmp_path):
    """The endpoint only in the config file: put reaches the server through it."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=moto.endpoint_url, aws_access_key_id=moto.access_key,
                      aws_secret_access_key=moto.secret_key, region_name="us-east-1")
    s3.create_bucket(Bucket="cfgfile")
    config = tmp_path / "s3ferry.toml"
    config.write_text(f'endpoint_url = "{moto.endpoint_url}"\naddressing_style = "path"\n')
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID=moto.access_key, AWS_SECRET_ACCESS_KEY=moto.secret_key,
                    AWS_DEFAULT_REGION="us-east-1", S3FERRY_CONFIG=str(config))
    path = random_file(tmp_path / "f.bin", 1000)
    result = subprocess.run([sys.executable, "-m", "s3ferry", "put", str(path), "s3://cfgfile/f.bin"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert s3.head_object(Bucket="cfgfile", Key="f.bin")["ContentLength"] == 1000
    s3.delete_object(Bucket="cfgfile", Key="f.bin")
    s3.delete_bucket(Bucket="cfgfile")


def test_version():
    result = subprocess.run([sys.executable, "-m", "s3ferry", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and s3ferry.__version__ in result.stdout

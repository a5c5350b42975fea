"""The CLI's process tuning: aiohttp's default TLS contexts still verify, with the CA
certificates loaded at the first connection instead of at import; the writelines tweak lands
when aiohttp is imported; the CLI import itself imports no aiohttp."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent('''
    import asyncio, os, ssl, sys
    from s3ferry.cli import tuning
    tuning.defer_aiohttp_certificates()
    tuning.coalesce_without_copy()
    import aiohttp, aiohttp.connector as connector, aiohttp.http_writer as writer
    assert type(connector._SSL_CONTEXT_VERIFIED).__name__ == "DeferredCertificates"
    assert "set_default_verify_paths" not in vars(ssl.SSLContext) and writer.SKIP_WRITELINES is False
    cert, key, trusted = sys.argv[1:4]
    os.environ["SSL_CERT_FILE"] = trusted  # read when the certificates load: only at the first connection

    async def main():
        server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_side.load_cert_chain(cert, key)

        async def handle(reader, writer):
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_side)
        port = server.sockets[0].getsockname()[1]
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get(f"https://127.0.0.1:{port}/") as response:
                    print(await response.text())
            except aiohttp.ClientConnectorCertificateError:
                print("refused")
        server.close()

    asyncio.run(main())
''')


def _certificate(tmp_path, name):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
@pytest.mark.parametrize("trust", ["own", "other"])
def test_deferred_certificates_still_verify(tmp_path, trust):
    cert, key = _certificate(tmp_path, "server")
    trusted = cert if trust == "own" else _certificate(tmp_path, "other")[0]
    out = subprocess.run([sys.executable, "-c", CHILD, cert, key, trusted], capture_output=True, text=True, check=False,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("ok" if trust == "own" else "refused")


def test_cli_start_imports_no_aiohttp():
    code = ("import sys; from s3ferry.cli import app, tuning; tuning.coalesce_without_copy(); "
            "tuning.defer_aiohttp_certificates(); app.build('put'); print('aiohttp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_run_registers_only_its_commands_group():
    from s3ferry.cli.app import build, command_name

    assert command_name(["--config", "put", "get", "x"]) == "get"
    assert command_name(["--config=c.toml", "ls", "s3://b"]) == "ls"
    assert command_name(["--help"]) is None
    names = set(build("put").registered_commands and [c.name or c.callback.__name__
                                                      for c in build("put").registered_commands])
    assert names == {"put", "get", "verify", "sync"}
    assert len(build("no-such-command").registered_commands) > len(names)  # a typo: every command, for the hint


def _samples(param):
    kind = param.type_descriptor.annotation
    values = [param.default] if type(param.default) in (str, int, float) else []
    values += {str: ["x", "", " spaced  value ", "s3://b/k", "8MiB", "-"], int: [0, 7, "0", "12", "0012", "1024"],
               float: [0.5]}.get(kind, [])
    return values


def test_plain_values_come_out_as_typers_own_coercion_gives_them():
    import typer
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from s3ferry.cli.app import build, plain_values_skip_pydantic

    group = typer.main.get_command(build())
    plain_values_skip_pydantic(group)
    checked = 0
    commands = [group] + [c for c in group.commands.values()]
    commands += [s for c in commands for s in getattr(c, "commands", {}).values()]
    for command in commands:
        ctx = Context(command, info_name=command.name)
        for param in command.params:
            if getattr(param, "type_descriptor", None) is None or param.type_descriptor.is_file:
                continue
            ours = param._runtime_param
            assert type(ours).__name__ == "PlainFirst", (command.name, param.name)
            for value in _samples(param):
                theirs = build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)
                got = type(ours)(parameter_info=ours.parameter_info, annotation=ours.annotation)._coerce_value(
                    value, param=param, ctx=ctx)
                assert (type(got), got) == (type(theirs), theirs), (command.name, param.name, value)
                checked += 1
    assert checked > 100


def test_parsing_a_put_imports_no_pydantic():
    code = ("import sys, typer; from s3ferry.cli.app import build, plain_values_skip_pydantic; "
            "cmd = typer.main.get_command(build('put')); plain_values_skip_pydantic(cmd); "
            "cmd.make_context('s3ferry', ['put', 'a', 's3://b/k']); "
            "put = cmd.commands['put']; "
            "ctx = put.make_context('put', ['a', 's3://b/k', '--concurrency', '3', '--part-size', '8MiB', '-v']); "
            "assert ctx.params['concurrency'] == 3 and ctx.params['part_size'] == '8MiB', ctx.params; "
            "print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bound_allocator_reaches_libc_without_running_ldconfig():
    """ctypes.util.find_library("c") ran /sbin/ldconfig in a child process on every start;
    the interpreter's own symbols hold libc's mallopt."""
    code = ("import sys, ctypes; from s3ferry.cli import tuning; tuning.bound_allocator();"
            "print('ctypes.util' in sys.modules, 'subprocess' in sys.modules, ctypes.CDLL(None).mallopt(-3, 1 << 20))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}).stdout.split()
    assert out == ["False", "False", "1"]


LEAVE = textwrap.dedent('''
    import atexit, sys, threading, time
    from s3ferry.cli import tuning
    tuning.THREADS_GRACE = float(sys.argv[2])
    atexit.register(lambda: print("atexit ran", flush=True))
    class Noisy:  # a finaliser that only the interpreter's own teardown runs
        def __del__(self):
            print("teardown ran", flush=True)
    keep = Noisy()
    worker = threading.Thread(target=time.sleep, args=(float(sys.argv[1]),))
    worker.start()
    sys.stdout.write("buffered, not flushed\\n")
    tuning.leave(3)
    print("leave returned")
    sys.exit(5)
''')


def _leave(thread_seconds: float, grace: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LEAVE, str(thread_seconds), str(grace)],
                          capture_output=True, text=True, timeout=60)


def test_leave_skips_the_teardown_but_not_atexit_nor_the_buffered_output():
    done = _leave(0.2, 5.0)  # the thread ends within the grace: it is waited for, then the fast exit
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == ["buffered, not flushed", "atexit ran"]


def test_leave_takes_the_usual_way_out_while_a_thread_still_works():
    done = _leave(2.0, 0.1)  # still sleeping after the grace: the normal exit waits for it
    assert done.returncode == 5, done.stderr
    assert done.stdout.splitlines() == ["buffered, not flushed", "leave returned", "atexit ran", "teardown ran"]


def test_leave_fails_a_run_whose_output_could_not_be_delivered():
    code = textwrap.dedent('''
        import os, sys
        from s3ferry.cli import tuning
        read_end, write_end = os.pipe()
        os.close(read_end)  # whoever read the output has gone (`s3ferry ls | head -1`)
        sys.stdout = open(write_end, "w")
        print("a line that cannot arrive")
        tuning.leave(0)
    ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr

"""``hr2bi demo --serve`` as a user runs it: a subprocess that tells the story, then keeps
the admin console (and the sandbox) up on ``--port``, printing the console's URL and an
admin token; the console answers its sign-in page, the token signs in, Ctrl+C stops it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "targets"))

from servers import ROOT, checkout_env, free_port, hr2bi  # noqa: E402

pytestmark = pytest.mark.slow
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STARTUP = 180.0  # the whole demo runs first (about 301 people imported, planned and applied)


def _until_served(process: subprocess.Popen[bytes], log: Path, url: str) -> str:
    """Wait (bounded) for the admin token line and the console's answer; the token."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the demo exited {process.returncode}:\n{log.read_text()[-4000:]}"
        found = re.search(r"^Admin token: +(\S+)", log.read_text(errors="replace"), re.M)
        if found:
            try:
                httpx.get(url, timeout=2)
                return found[1]
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    raise AssertionError(f"the demo's console did not answer at {url}:\n{log.read_text()[-4000:]}")


def test_demo_serve_keeps_the_console_up_and_its_token_signs_in(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "demo.log"
    url = f"http://127.0.0.1:{port}/console/"
    command = hr2bi("demo", "--serve", "--port", str(port), "--dir", str(tmp_path / "demo-data"))
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=checkout_env(), stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        token = _until_served(process, log, f"{url}signin")
        printed = log.read_text()
        assert f"Console:       {url}" in printed and "SCIM base URL:" in printed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
            signin = browser.get("/console/", follow_redirects=True)
            assert signin.url.path == "/console/signin" and "Sign in to hr2bi" in signin.text
            csrf = CSRF.search(signin.text)[1]
            signed_in = browser.post("/console/signin/token", data={"csrf_token": csrf, "token": token})
            assert signed_in.status_code == 302, signed_in.text
            home = browser.get("/console/")
            assert home.status_code == 200 and "token:demo-admin" in home.text
            assert token not in home.text
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode is not None

"""deploy/proxy/nginx.conf is valid for the nginx of the two newest Debian releases: 1.22
(Debian 12) and 1.26 (Debian 13). `nginx -t` checks it where nginx is installed (.ci/run
installs Debian's); directives newer than 1.22 are refused by name everywhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "proxy" / "nginx.conf"
CERTIFICATE = "/etc/letsencrypt/live/bot.example-clinic.org/fullchain.pem"
KEY = "/etc/letsencrypt/live/bot.example-clinic.org/privkey.pem"

# Directives (as they start a statement) that nginx 1.22 does not know: `http2 on;` (1.25.1),
# HTTP/3 (1.25.0).
NEWER_THAN_1_22 = ("http2", "http3", "http3_hq", "quic_retry", "quic_gso", "quic_host_key")


def _statements(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_no_directive_newer_than_debian_12s_nginx() -> None:
    directives = {statement.split()[0] for statement in _statements(CONF.read_text())}
    assert not directives & set(NEWER_THAN_1_22)
    listen = [s for s in _statements(CONF.read_text()) if s.startswith("listen ")]
    assert listen == ["listen 443 ssl http2;"]


def test_nginx_accepts_it(tmp_path: Path) -> None:
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip(f"nginx -t not run: {'nginx' if nginx is None else 'openssl'} not installed")
    # The certificate the config names, made for the test (nginx -t loads it).
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=bot.example-clinic.org",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    site = CONF.read_text()
    assert CERTIFICATE in site and KEY in site
    site = site.replace(CERTIFICATE, str(tmp_path / "cert.pem"))
    site = site.replace(KEY, str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    # As Debian's /etc/nginx/nginx.conf includes conf.d/*.conf: inside the http block.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n    include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    version = re.search(r"nginx/(\S+)", subprocess.run(
        [nginx, "-v"], capture_output=True, text=True).stderr)  # fmt: skip
    assert result.returncode == 0, f"nginx {version and version.group(1)}: {result.stderr}"
    assert "test is successful" in result.stderr

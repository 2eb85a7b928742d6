"""A real IMAP server for the email intake's tests: Dovecot from Debian
(scripts/setup.d/dovecot.sh installs it and the mail user), started per test
with its own configuration on a free port, and stopped (or restarted, to drop
every connection) at will.

Dovecot never reads or writes mail as root, so the mail store belongs to the
dedicated system user; it lives in a temporary folder that user can reach
(pytest's tmp_path is private to root), removed at the end. The configuration
and the server's log stay under tmp_path.

Messages are delivered with IMAP APPEND, as the test user, exactly as any mail
client would put them there (testkit/sample_mail.py has the messages).
bench/email_bench.py uses the same server; the tests' `dovecot` fixture is in
tests/integration/intake_email/conftest.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

from .ports import free_port

MAIL_USER = "complaints-imap"
IMAP_USER = "support"
IMAP_PASSWORD = "imap-test-password"
DOVECOT = shutil.which("dovecot", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "/usr/sbin/dovecot"

CONFIG = """\
instance_name = complaints-test-{port}
base_dir = {runtime}/run
state_dir = {runtime}/state
log_path = {log}
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={runtime}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """One Dovecot instance: start(), stop(), restart(), and a client for the test user."""

    def __init__(self, tmp_path: Path, tls: bool = False):
        if not os.path.exists(DOVECOT):
            raise RuntimeError("dovecot is not installed: run `bash scripts/setup.sh peers` "
                               "(scripts/setup.d/dovecot.sh)")
        try:
            account = pwd.getpwnam(MAIL_USER)
        except KeyError:
            raise RuntimeError(f"system user {MAIL_USER} is missing: run `bash scripts/setup.sh peers`") from None
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user, self.password = IMAP_USER, IMAP_PASSWORD
        self.runtime = Path(tempfile.mkdtemp(prefix="complaints-imap-"))
        os.chmod(self.runtime, 0o755)
        home = self.runtime / "home" / IMAP_USER
        home.mkdir(parents=True)
        for path in (self.runtime / "home", home):
            os.chown(path, account.pw_uid, account.pw_gid)
        self.log_path = tmp_path / "dovecot.log"
        # With tls: STARTTLS on `port`, implicit TLS on `tls_port`, a certificate
        # for 127.0.0.1 signed by nobody (the client trusts `ca_file`).
        self.tls_port = free_port() if tls else 0
        self.ca_file = None
        ssl_setting = "ssl = no"
        if tls:
            self.ca_file = str(tmp_path / "imap-cert.pem")
            key = tmp_path / "imap-key.pem"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", str(key), "-out", self.ca_file], check=True, capture_output=True)
            ssl_setting = f"ssl = yes\nssl_cert = <{self.ca_file}\nssl_key = <{key}"
        self.config_path = tmp_path / "dovecot.conf"
        self.config_path.write_text(CONFIG.format(
            port=self.port, tls_port=self.tls_port, ssl=ssl_setting, runtime=self.runtime, log=self.log_path,
            password=IMAP_PASSWORD, uid=account.pw_uid, gid=account.pw_gid))
        self.proc: subprocess.Popen | None = None

    def mailbox(self, folder="INBOX", **extra) -> dict:
        """The intake's configuration for this server's test mailbox."""
        return {"name": f"support-{folder.lower()}", "host": self.host, "port": self.port, "security": "none",
                "user": self.user, "password": self.password, "folder": folder, **extra}

    def start(self, timeout=30) -> Dovecot:
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot not answering within {timeout}s:\n{self.log()}")

    def stop(self, timeout=20) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        """Stop (every client connection drops) and start again on the same port and store."""
        self.stop()
        deadline = time.monotonic() + 20
        while True:  # the listening port may linger for a moment
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, messages, folder="INBOX") -> None:
        """Deliver raw messages (bytes) into the folder, in order."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw)

    def uidvalidity(self, folder="INBOX") -> int:
        with self.client() as client:
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]

    def recreate_folder(self, folder) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        with self.client() as client:
            client.delete_folder(folder)
            client.create_folder(folder)

    def flags(self, folder="INBOX") -> dict[int, tuple]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search()
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}

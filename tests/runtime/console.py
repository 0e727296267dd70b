"""A --console-socket server: receives the pty master over SCM_RIGHTS."""

from __future__ import annotations

import array
import os
import select
import socket
import threading
import time


class ConsoleSocket:
    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.fds: list[int] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                fds = array.array("i")
                msg, anc, flags, addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
                for level, typ, data in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
                with self._cond:
                    self.fds.extend(fds)
                    self._cond.notify_all()

    def master(self, index: int = 0, timeout: float = 10) -> int:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.fds) > index, timeout)
        assert ok, "no pty master received on the console socket"
        return self.fds[index]

    @staticmethod
    def read_until_closed(fd: int, timeout: float = 10) -> bytes:
        """Read the pty master until the slave side is gone (EIO)."""
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: no slave left
                break
            if not chunk:
                break
            out += chunk
        return out

    @staticmethod
    def read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
        out = b""
        deadline = time.monotonic() + timeout
        while needle not in out and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return out

    def close(self):
        self.sock.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

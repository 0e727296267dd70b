"""A minimal WebSocket client for the CRI streaming URL (v5/v4.channel.k8s.io), run inside the
daemon's network namespace: python3 wsexec.py URL [STDIN_TEXT [COLSxROWS]]. Prints JSON:
{"protocol": ..., "stdout": ..., "stderr": ..., "status": {...}}."""

import base64
import json
import os
import socket
import struct
import sys
from urllib.parse import urlparse


def send_frame(sock, payload, opcode=2):
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", n)
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def recv_exact(sock, n, buf):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    return buf[:n], buf[n:]


def handshake(url_text, protocols):
    url = urlparse(url_text)
    sock = socket.create_connection((url.hostname, url.port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    target = url.path + (f"?{url.query}" if url.query else "")
    sock.sendall((f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: {protocols}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    protocol = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-protocol":
            protocol = value.strip()
    return sock, buf, lines[0], protocol


def read_frames(sock, buf):
    """Yields (opcode, payload) until a close frame or EOF."""
    try:
        while True:
            h, buf = recv_exact(sock, 2, buf)
            opcode, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                e, buf = recv_exact(sock, 2, buf)
                n = struct.unpack(">H", e)[0]
            elif n == 127:
                e, buf = recv_exact(sock, 8, buf)
                n = struct.unpack(">Q", e)[0]
            payload, buf = recv_exact(sock, n, buf)
            if opcode == 8:
                return
            yield opcode, payload
    except EOFError:
        return


def main():
    url = urlparse(sys.argv[1])
    stdin = sys.argv[2].encode() if len(sys.argv) > 2 and sys.argv[2] != "-" else None
    resize = sys.argv[3] if len(sys.argv) > 3 else None
    sock = socket.create_connection((url.hostname, url.port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    result = {"http": lines[0], "protocol": None, "stdout": "", "stderr": "", "status": None}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-protocol":
            result["protocol"] = value.strip()
    if " 101 " not in lines[0]:
        print(json.dumps(result))
        return
    if resize:
        cols, rows = resize.split("x")
        send_frame(sock, b"\x04" + json.dumps({"Width": int(cols), "Height": int(rows)}).encode())
    if stdin is not None:
        send_frame(sock, b"\x00" + stdin)
        send_frame(sock, b"\xff\x00")  # v5: close stdin
    try:
        while True:
            h, buf = recv_exact(sock, 2, buf)
            opcode, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                e, buf = recv_exact(sock, 2, buf)
                n = struct.unpack(">H", e)[0]
            elif n == 127:
                e, buf = recv_exact(sock, 8, buf)
                n = struct.unpack(">Q", e)[0]
            payload, buf = recv_exact(sock, n, buf)
            if opcode == 8:
                break
            if not payload:
                continue
            ch, data = payload[0], payload[1:]
            if ch == 1:
                result["stdout"] += data.decode()
            elif ch == 2:
                result["stderr"] += data.decode()
            elif ch == 3:
                result["status"] = json.loads(data)
    except EOFError:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Reachability probe used inside test namespaces (no ping needed).

serve ADDRESS PORT          accept connections forever; answer each with the peer's address
connect ADDRESS PORT [T]    connect, print the address the server saw; exit 1 on failure
"""

import socket
import sys


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(address, port):
    sock = socket.socket(family(address), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(64)
    print("ready", flush=True)
    while True:
        conn, peer = sock.accept()
        with conn:
            conn.sendall((peer[0] + "\n").encode())


def connect(address, port, timeout):
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            data = conn.recv(256).decode().strip()
    except OSError as error:
        print(error, file=sys.stderr)
        return 1
    print(data)
    return 0


if __name__ == "__main__":
    mode, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        serve(address, port)
    else:
        sys.exit(connect(address, port, float(sys.argv[4]) if len(sys.argv) > 4 else 3.0))

"""Port-forward over the CRI streaming URL (WebSocket, v4.channel.k8s.io / portforward.k8s.io),
run inside the daemon's network namespace: python3 wsforward.py URL PAYLOAD. Sends PAYLOAD on
the first port's data channel and prints JSON {"headers": [[channel, port]...], "data": ...,
"error": ...} once the server closes."""

import json
import struct
import sys

from wsexec import handshake, read_frames, send_frame


def main():
    sock, buf, status_line, protocol = handshake(sys.argv[1], "v4.channel.k8s.io, portforward.k8s.io")
    result = {"http": status_line, "protocol": protocol, "headers": [], "data": "", "error": ""}
    if " 101 " not in status_line:
        print(json.dumps(result))
        return
    send_frame(sock, b"\x00" + sys.argv[2].encode())
    seen = set()
    for opcode, payload in read_frames(sock, buf):
        if not payload:
            continue
        ch, data = payload[0], payload[1:]
        if ch not in seen:
            seen.add(ch)
            result["headers"].append([ch, struct.unpack("<H", data[:2])[0]])
            data = data[2:]
        if ch == 0:
            result["data"] += data.decode(errors="replace")
        elif ch == 1:
            result["error"] += data.decode(errors="replace")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

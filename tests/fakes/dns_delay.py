#!/usr/bin/env python3
"""A UDP proxy in front of a DNS server that answers late and counts.

dns_delay.py PORTFILE SERVERPORT DELAY

Listens on 127.0.0.1 (port written to PORTFILE), sends each datagram on to
127.0.0.1:SERVERPORT from a socket of its own, and returns the reply DELAY
seconds after it came: a server a real network away. Every question is
logged in PORTFILE.log as "QNAME QTYPE" (the question section only, read
with struct), and the most questions it held at once, since the start or
the last "reset", is in PORTFILE.max (rewritten on every change).
Sending the datagram "reset" (not DNS) zeroes the log and the maximum.
"""
import socket
import struct
import sys
import threading
import time

portfile, server_port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
lock = threading.Lock()
state = {"now": 0, "max": 0}


def question(msg):
    """(qname, qtype) of a query, or None."""
    if len(msg) < 12:
        return None
    i, labels = 12, []
    while i < len(msg) and msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    if i + 3 >= len(msg):
        return None
    return ".".join(labels) + ".", struct.unpack("!H", msg[i + 1:i + 3])[0]


def write_max():
    with open(portfile + ".max.new", "w") as f:
        f.write("%d\n" % state["max"])
    import os
    os.replace(portfile + ".max.new", portfile + ".max")


def serve(sock, data, client):
    q = question(data)
    with lock:
        state["now"] += 1
        if state["now"] > state["max"]:
            state["max"] = state["now"]
            write_max()
        if q:
            with open(portfile + ".log", "a") as f:
                f.write("%s %d\n" % q)
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(5)
    reply = None
    try:
        up.sendto(data, ("127.0.0.1", server_port))
        reply, _ = up.recvfrom(65535)
    except OSError:
        pass
    finally:
        up.close()
    time.sleep(delay)
    with lock:
        state["now"] -= 1
    if reply:
        sock.sendto(reply, client)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    open(portfile + ".log", "w").close()
    write_max()
    with open(portfile + ".new", "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    import os
    os.replace(portfile + ".new", portfile)
    while True:
        data, client = sock.recvfrom(65535)
        if data == b"reset":
            with lock:
                state["max"] = state["now"]
                write_max()
                open(portfile + ".log", "w").close()
            sock.sendto(b"ok", client)
            continue
        threading.Thread(target=serve, args=(sock, data, client), daemon=True).start()


main()

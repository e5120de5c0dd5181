#!/usr/bin/env python3
"""A TCP proxy in front of a DNS primary that makes a concurrent edit.

update_proxy.py PORTFILE SERVERPORT NSUPDATE-SCRIPT

Listens on 127.0.0.1 (port written to PORTFILE), forwards every DNS-over-TCP
message to 127.0.0.1:SERVERPORT and back. When a client sends an UPDATE
(opcode 5), it first runs `knsupdate -y ... NSUPDATE-SCRIPT` (the key in
$EDIT_KEY, "alg:name:secret"): someone else's edit landing between the
client's read and its write. Counts in PORTFILE.log.
"""
import os
import socket
import socketserver
import subprocess
import sys

portfile, server_port, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def read_msg(sock):
    head = b""
    while len(head) < 2:
        chunk = sock.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    n = int.from_bytes(head, "big")
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head + body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        up = socket.create_connection(("127.0.0.1", server_port), timeout=10)
        while True:
            msg = read_msg(self.request)
            if msg is None:
                break
            if len(msg) > 4 and (msg[4] >> 3) & 0x0F == 5:
                subprocess.run(["knsupdate", "-y", os.environ["EDIT_KEY"], script],
                               check=True, timeout=20)
                with open(portfile + ".log", "a") as f:
                    f.write("edited before an UPDATE\n")
            up.sendall(msg)
            reply = read_msg(up)
            if reply is None:
                break
            self.request.sendall(reply)
        up.close()


socketserver.ThreadingTCPServer.allow_reuse_address = True
srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

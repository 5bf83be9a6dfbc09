"""Direct TLS as PostgreSQL 17 clients do it (sslnegotiation=direct): the TLS handshake first,
with ALPN, then the startup packet inside TLS. Prints what the server answers to the startup.

Usage: direct_tls.py HOST PORT CA_FILE ALPN_PROTOCOL
"""
import socket
import ssl
import struct
import sys

host, port, ca_file, protocol = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca_file)
context.check_hostname = False
context.set_alpn_protocols([protocol])
with socket.create_connection((host, port), timeout=10) as raw:
    with context.wrap_socket(raw) as tls:
        print("ALPN", tls.selected_alpn_protocol())
        parameters = b"user\0app\0database\0app\0\0"
        tls.sendall(struct.pack("!ii", len(parameters) + 8, 196608) + parameters)
        reply = tls.recv(1)
        if reply == b"R":
            print("authentication request")
        else:
            print("unexpected reply", reply)
            sys.exit(1)

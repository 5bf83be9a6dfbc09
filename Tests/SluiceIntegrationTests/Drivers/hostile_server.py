"""A fake PostgreSQL that does not know the password and tries to get a client's queries anyway.

Listens on 127.0.0.1 at a free port, writes the port to PORT_FILE, then serves every connection with the scenario MODE. Every message it receives after the
startup packet is logged to LOG as its type letter, one per line (so a test can check that no
Query 'Q' or Parse 'P' ever arrived, nor a cleartext password).

Usage: hostile_server.py MODE LOG PORT_FILE

Modes:
  ready-first          ReadyForQuery at once, no authentication at all
  scram-skip-final     SCRAM up to the client's proof, then ReadyForQuery (no SASLFinal, no AuthenticationOk)
  scram-ok-early       SCRAM up to the client's proof, then AuthenticationOk without SASLFinal
  scram-forged-final   SCRAM with a SASLFinal whose signature is made up, then AuthenticationOk
  trust                AuthenticationOk at once, then the usual parameters (a server that asks for nothing)
  cleartext            asks for the password in clear text, accepts whatever comes
"""
import base64
import os
import socket
import struct
import sys
import threading

mode, log_path, port_path = sys.argv[1], sys.argv[2], sys.argv[3]
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")


def read_exact(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_startup(conn):
    while True:
        length, code = struct.unpack("!ii", read_exact(conn, 8))
        body = read_exact(conn, length - 8)
        if code == 80877103:  # SSLRequest: no TLS here
            conn.sendall(b"N")
            continue
        return body


def read_message(conn):
    kind = read_exact(conn, 1)
    (length,) = struct.unpack("!i", read_exact(conn, 4))
    body = read_exact(conn, length - 4)
    log(kind.decode("latin-1"))
    return kind, body


def message(kind, body=b""):
    return kind + struct.pack("!i", len(body) + 4) + body


def authentication(code, data=b""):
    return message(b"R", struct.pack("!i", code) + data)


def ready():
    return message(b"Z", b"I")


def parameters():
    out = b""
    for name, value in [(b"server_version", b"15.0"), (b"client_encoding", b"UTF8"), (b"DateStyle", b"ISO, MDY"),
                        (b"TimeZone", b"UTC"), (b"standard_conforming_strings", b"on"), (b"integer_datetimes", b"on")]:
        out += message(b"S", name + b"\0" + value + b"\0")
    return out + message(b"K", struct.pack("!ii", 4242, 4242))


def scram_until_proof(conn):
    """Runs SCRAM as far as receiving the client's proof, knowing no password."""
    conn.sendall(authentication(10, b"SCRAM-SHA-256\0\0"))
    _, body = read_message(conn)
    mechanism_end = body.index(b"\0")
    client_first = body[mechanism_end + 1 + 4:].decode()
    client_nonce = client_first.split("r=", 1)[1].split(",")[0]
    salt = base64.b64encode(os.urandom(16)).decode()
    server_first = f"r={client_nonce}fakeserver,s={salt},i=4096"
    conn.sendall(authentication(11, server_first.encode()))
    read_message(conn)  # the client's final message with its proof


def serve(conn):
    try:
        read_startup(conn)
        if mode == "ready-first":
            conn.sendall(ready())
        elif mode == "scram-skip-final":
            scram_until_proof(conn)
            conn.sendall(ready())
        elif mode == "scram-ok-early":
            scram_until_proof(conn)
            conn.sendall(authentication(0) + parameters() + ready())
        elif mode == "scram-forged-final":
            scram_until_proof(conn)
            forged = "v=" + base64.b64encode(os.urandom(32)).decode()
            conn.sendall(authentication(12, forged.encode()) + authentication(0) + parameters() + ready())
        elif mode == "trust":
            conn.sendall(authentication(0) + parameters() + ready())
        elif mode == "cleartext":
            conn.sendall(authentication(3))
            read_message(conn)
            conn.sendall(authentication(0) + parameters() + ready())
        else:
            raise SystemExit(f"unknown mode {mode}")
        # Whatever comes next is logged; answer queries as a real server would, to make the
        # hole visible if there is one.
        while True:
            kind, _ = read_message(conn)
            if kind == b"X":
                return
            if kind in (b"Q", b"S"):
                conn.sendall(message(b"C", b"SELECT 1\0") + ready())
    except (EOFError, ConnectionError, OSError):
        pass
    finally:
        conn.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
with open(port_path + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_path + ".tmp", port_path)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()

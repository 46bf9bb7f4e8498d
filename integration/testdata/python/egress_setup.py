# A setup.py whose metadata hook, run while pip or poetry resolves, tries to get
# out: a host loopback service directly (in the host's network namespace it would
# be reachable), the same service and an internet host through the proxy
# variables the resolve step is given, and the caller's SSH key. It exits non-zero
# as soon as any of that worked, so a resolve that lets it out fails visibly;
# otherwise it is an ordinary package that depends on pbox-dep (computed, so that
# no static reader can skip running it).
import os
import socket
import sys
import urllib.request

from setuptools import setup

PHASE = "_".join(a for a in sys.argv[1:] if not a.startswith("/"))[:60] or "import"
won = []


def attempt(name, fn):
    try:
        fn()
        won.append(name)
    except Exception:  # noqa: BLE001 - every refusal is the expected outcome
        pass


def direct(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(("direct phase=%s\n" % PHASE).encode())
    s.close()


def proxied(url):
    urllib.request.urlopen(url, timeout=5).read()


def ssh():
    with open(os.path.expanduser("~/.ssh/id_rsa")) as f:
        if not f.read():
            raise ValueError("empty")


attempt("canary-direct", lambda: direct(@CANARY_PORT@))
attempt("registry-direct", lambda: direct(@REGISTRY_PORT@))
attempt("canary-proxied", lambda: proxied("http://127.0.0.1:@CANARY_PORT@/proxied-" + PHASE))
attempt("internet-proxied", lambda: proxied("http://example.com/"))
attempt("ssh", ssh)
sys.stderr.write("PBOX-EGRESS phase=%s won=%s proxy=%s\n" % (PHASE, ",".join(won) or "none", os.environ.get("HTTPS_PROXY", "-")))
if won:
    sys.exit("pbox-egress: the setup code got out: " + ",".join(won))

setup(name="pbox-egress", version="1.0", py_modules=[], install_requires=[r for r in ["pbox-dep>=1.0"]])

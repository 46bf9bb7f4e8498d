package managers

// poetryFetchScript downloads the files of the fetch list phylum-box wrote: for each
// package the first wheel this interpreter can install, else the sdist, from the
// configured index — the link must be on the package's index page, whose hash, if
// it gives one, must be the lockfile's — and checks the lockfile's hash. The
// source's credentials go to its own server only (never through a redirect). It
// imports nothing but the standard library and, for wheel tags, pip's vendored
// packaging from the system site directories (no .pth file is read) — only for a
// wheel that is not plainly pure (pure: a py3-none-any tag and a name and plain
// version packaging parses; every CPython 3 installs it, sys_tags() always
// holds py3-none-any), as importing it and listing the tags cost about 70 ms of
// the step's 180 ms of CPU.
const poetryFetchScript = `
import base64, hashlib, html.parser, json, os, site, sys, urllib.parse, urllib.request
listfile, dist = sys.argv[1], sys.argv[2]
with open(listfile) as f:
    plan = json.load(f)
os.makedirs(dist, exist_ok=True)
import re
supported = None
def tags():
    global supported
    if supported is None:
        supported = set()
        try:
            sys.path.extend(d for d in site.getsitepackages() if os.path.isdir(d))
            from pip._vendor.packaging.tags import sys_tags
            from pip._vendor.packaging.utils import parse_wheel_filename
            supported = (set(sys_tags()), parse_wheel_filename)
        except Exception:
            pass
    return supported
def pure(fn):
    parts = fn[:-4].split("-")
    if len(parts) not in (5, 6) or len(parts) == 6 and not parts[2][:1].isdigit() or "__" in parts[0]:
        return False
    if not re.fullmatch(r"[A-Za-z0-9_.]+", parts[0]) or not re.fullmatch(r"[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?", parts[1]):
        return False
    return "py3" in parts[-3].split(".") and "none" in parts[-2].split(".") and "any" in parts[-1].split(".")
def fits(fn):
    if not fn.endswith(".whl"):
        return False
    if pure(fn):
        return True
    if not tags():
        return False
    try:
        return bool(set(supported[1](fn)[3]) & supported[0])
    except Exception:
        return False
def norm(n):
    import re
    return re.sub(r"[-_.]+", "-", n).lower()
def origin(u):
    p = urllib.parse.urlsplit(u)
    return (p.scheme, p.hostname, p.port or (443 if p.scheme == "https" else 80))
def get(url, auth):
    req = urllib.request.Request(url)
    if auth:
        req.add_unredirected_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
    return urllib.request.urlopen(req, timeout=120).read()
class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links = {}
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href") or ""
            name = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
            self.links.setdefault(name, href)
for pkg in plan["packages"]:
    src = plan["sources"][pkg["source"]]
    auth = (src.get("username") or "", src.get("password") or "") if src.get("auth") else None
    files = pkg["files"]
    chosen = [f for f in files if fits(f["file"])][:1] or [f for f in files if not f["file"].endswith(".whl")][:1]
    if not chosen:
        continue
    page_url = src["url"] + norm(pkg["name"]) + "/"
    page = Links()
    page.feed(get(page_url, auth).decode("utf-8", "replace"))
    for f in chosen:
        href = page.links.get(f["file"])
        if href is None:
            sys.exit("phylum-box: %s is not on %s any more" % (f["file"], page_url))
        url, frag = urllib.parse.urldefrag(urllib.parse.urljoin(page_url, href))
        if not url.startswith(("https://", "http://")):
            sys.exit("phylum-box: %s: the index links to %s, not an http(s) URL" % (f["file"], url))
        alg, _, sum_ = frag.partition("=")
        if alg == f["alg"] and sum_.lower() != f["hash"]:
            sys.exit("phylum-box: %s: the index gives another %s than poetry.lock pins" % (f["file"], alg))
        data = get(url, auth if origin(url) == origin(page_url) else None)
        if hashlib.new(f["alg"], data).hexdigest() != f["hash"]:
            sys.exit("phylum-box: %s: %s hash mismatch (the index served other bytes than poetry.lock pins)" % (f["file"], f["alg"]))
        with open(os.path.join(dist, f["file"]), "wb") as out:
            out.write(data)
        print("fetched", f["file"])
`

#!/usr/bin/env bash
# How testdata/pip-report.json was made: a real `pip install --dry-run --report` (pip 23.2.1)
# run offline against hand-made wheels in a --find-links directory (index packages libb,
# libd), a direct wheel URL (libc), a git URL (vcsdep) and a local project directory (myproj).
# Re-run it from an empty directory to regenerate; paths in the report will differ.
set -euo pipefail
python3 - <<'PY'
import zipfile, hashlib, base64, os
def wheel(d, name, ver, requires=()):
    os.makedirs(d, exist_ok=True)
    di = f"{name}-{ver}.dist-info"
    files = {f"{name}/__init__.py": "",
             f"{di}/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s" % (name, ver, "".join("Requires-Dist: %s\n" % r for r in requires)),
             f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: handmade\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    rec = [f"{k},sha256={base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b'=').decode()},{len(v)}" for k, v in files.items()]
    files[f"{di}/RECORD"] = "\n".join(rec + [f"{di}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(f"{d}/{name}-{ver}-py3-none-any.whl", "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
wheel("wheels", "libb", "1.0", ["libd>=2"])
wheel("wheels", "libd", "2.0")
wheel("wheels", "libd", "2.1.0rc1")
wheel("direct", "libc", "3.0")
backend = '''import os
META = "Metadata-Version: 2.1\\nName: %s\\nVersion: 0.1\\n%s"
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, "%s-0.1.dist-info")
    os.makedirs(d)
    open(os.path.join(d, "METADATA"), "w").write(META)
    return "%s-0.1.dist-info"
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("not needed for --dry-run")
'''
for name, req in (("myproj", "Requires-Dist: libb==1.0\\n"), ("vcsdep", "")):
    d = "proj" if name == "myproj" else "vcs"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/pyproject.toml", "w").write('[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    open(f"{d}/backend.py", "w").write(backend % (name, req, name, name))
PY
(cd vcs && git init -q && git add . && git -c user.email=t@t -c user.name=t commit -qm init)
python3 -m pip install --dry-run --ignore-installed --no-index --find-links wheels --no-build-isolation \
  --report pip-report.json ./proj "libc @ file://$PWD/direct/libc-3.0-py3-none-any.whl" "git+file://$PWD/vcs#egg=vcsdep"

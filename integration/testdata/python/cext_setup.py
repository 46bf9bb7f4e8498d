# A legitimate C extension: compiled by the offline build step.
from setuptools import Extension, setup

setup(
    name="pbox-cext",
    version="1.0",
    ext_modules=[Extension("pbox_cext", ["pbox_cext.c"])],
)

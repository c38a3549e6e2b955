"""The build's one addition to pyproject.toml: templates/ (the words, at the repository's
root where staff edit them) is shipped inside the package as intake/templates, where an
installed line finds it (intake/core/words.py). A checkout reads templates/ itself."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"


class BuildWithTemplates(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout
            return
        shipped = Path(self.build_lib) / "intake" / "templates"
        shutil.rmtree(shipped, ignore_errors=True)  # no word left from an earlier build
        shutil.copytree(TEMPLATES, shipped)


setup(cmdclass={"build_py": BuildWithTemplates})

"""README is documentation that runs: its Python blocks execute, its TOML blocks parse as model-file tables."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.S)
TOML = re.findall(r"```toml\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-block-{i}" for i in range(len(PYTHON))])
def test_readme_python_blocks_run(code, tmp_path):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = code.replace('result.write("out/")', f'result.write({str(tmp_path)!r})')
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("text", TOML, ids=[f"toml-block-{i}" for i in range(len(TOML))])
def test_readme_toml_blocks_parse(text):
    data = tomllib.loads(text)
    assert data


def test_readme_materials_are_valid():
    """The finite-strain block's materials and trusses construct (parameters within their ranges)."""
    from fesolver.elements.truss import TrussMaterial
    from fesolver.modelfile import parse_material

    for text in TOML:
        data = tomllib.loads(text)
        for name, m in data.get("materials", {}).items():
            parse_material(m, name, "README.md")
        for name, t in data.get("trusses", {}).items():
            t = dict(t)
            t.pop("region")
            TrussMaterial(**{"E": None, **t}, name=name)

"""--env-file reads the dotenv format."""

from __future__ import annotations

import pytest

from runner.errors import UsageError
from runner.flowfile.envfile import read_env_file


def test_dotenv_syntax(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n\nPLAIN=value\nexport EXPORTED=yes\nSPACED = padded  \nSINGLE='a # not a comment'\n"
        'DOUBLE="line\\nbreak"\nTRAILING=value # comment\nEMPTY=\n'
    )
    assert read_env_file(str(path)) == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "SINGLE": "a # not a comment",
        "DOUBLE": "line\nbreak",
        "TRAILING": "value",
        "EMPTY": "",
    }


def test_a_bad_line_names_its_line_but_not_its_content(tmp_path):
    path = tmp_path / ".env"
    path.write_text("GOOD=1\nthis-is-a-secret-without-equals\n")
    with pytest.raises(UsageError, match=r"\.env:2: expected KEY=value") as caught:
        read_env_file(str(path))
    assert "this-is-a-secret" not in str(caught.value)

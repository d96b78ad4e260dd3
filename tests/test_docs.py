"""The reference in docs/ keeps up with the code it documents."""

from __future__ import annotations

from pathlib import Path

from tlm.arch import KEY_HELP, Arch, arch_keys
from tlm.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_arch_key_has_help_and_a_row_in_docs() -> None:
    """Each arch key has a meaning in KEY_HELP and a row in docs/arch.md."""
    text = (DOCS / "arch.md").read_text(encoding="utf-8")
    keys = [(s, k) for s, k, _ in arch_keys(Arch())]
    assert sorted(KEY_HELP) == sorted(f"{s}.{k}" for s, k in keys)
    for section, key in keys:
        row = f"| `[{section}] {key}` |" if section != "timing" else f"| `{key}` |"
        assert row in text, f"docs/arch.md has no row for [{section}] {key}"


def test_help_arch_lists_every_key_with_the_value_a_run_uses(tmp_path: Path, capsys) -> None:
    """--help-arch shows the calibrated overlay's values and the user's file, not the bare defaults."""
    arch = tmp_path / "a.toml"
    arch.write_text("[array]\nrows = 8\n[timing]\nsched_notice_cycles = 5\n")
    assert main(["sim", "--help-arch", "--arch", str(arch)]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0] + " " + ln.split()[1]: ln.split()[2:4] for ln in out.splitlines()[2:]}
    assert len(lines) == len(KEY_HELP)
    assert lines["[array] rows"] == ["8", "--arch"]
    assert lines["[timing] sched_notice_cycles"] == ["5", "--arch"]
    assert lines["[timing] dma_grant_cycles"] == ["1", "calibrated"]
    assert lines["[array] cols"] == ["4", "default"]
    assert main(["sim", "--help-arch", "--uncalibrated"]) == 0
    out = capsys.readouterr().out
    assert "[timing] dma_grant_cycles                     0  default" in out


def test_docs_pages_linked_from_the_readme_exist() -> None:
    """README and docs/README.md link only pages that exist."""
    import re

    for page in (DOCS.parent / "README.md", DOCS / "README.md"):
        for link in re.findall(r"\]\(((?:docs/)?[a-z_]+\.md)\)", page.read_text(encoding="utf-8")):
            target = (page.parent / link)
            assert target.is_file(), f"{page.name} links {link}, which does not exist"

"""`stockd counts`, `stockd alerts` and `stockd webhooks` from the command line."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_server import run_cli


def test_counts_alerts_and_webhooks_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_cli("demo", url=url).returncode == 0
    abc = run_cli("counts", "abc", url=url)
    assert abc.returncode == 0 and "over 90 days" in abc.stderr, abc.stderr
    due = run_cli("counts", "due", "--location", "WH-EAST", url=url)
    assert due.returncode == 0 and "WH-EAST\t" in due.stdout and "last counted never" in due.stdout, due.stderr
    added = run_cli("webhooks", "add", "http://127.0.0.1:9/hook", "--event", "alert.*", url=url)
    assert added.returncode == 0 and added.stdout.startswith("whsec_"), added.stderr
    listed = run_cli("webhooks", "list", url=url)
    assert "alert.*" in listed.stdout and "whsec_" not in listed.stdout
    hook_id = listed.stdout.split("\t")[0]
    assert run_cli("webhooks", "remove", hook_id, url=url).returncode == 0
    assert run_cli("webhooks", "list", url=url).stdout == ""
    refused = run_cli("webhooks", "add", "ftp://x/", "--event", "#", url=url)
    assert refused.returncode == 2 and "http(s)" in refused.stderr
    assert run_cli("alerts", "list", url=url).returncode == 0
    missing = run_cli("alerts", "ack", "nope", url=url)
    assert missing.returncode == 2 and "no alert" in missing.stderr

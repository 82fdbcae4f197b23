"""The preview gate's input: what is not a preview stops with a clear error before anything is
checked, a failed preview stops with its errors, and the command reads a file or stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from payments_infra.offline import preview_gate
from tests.preview_documents import (
    CLUSTER,
    ROOT,
    cluster_replaced,
    document,
    gate,
    root_step,
)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        ("warning: A new version of Pulumi is available\n{}", "not JSON (Expecting value"),
        ("[]", "not a JSON object with steps"),
        ('{"steps": {}}', "steps is not a list"),
        ('{"steps": [{"op": "replace"}]}', "steps[0] has no op and urn strings"),
        (
            json.dumps({"steps": [{"op": "replace", "urn": CLUSTER, "replaceReasons": [{}]}]}),
            "steps[0] has reasons that are not a list of property names",
        ),
        (
            '{"steps": [{"op": "delete", "urn": "database-cluster"}]}',
            "steps[0]: 'database-cluster' is not a Pulumi URN",
        ),
    ],
)
def test_malformed_input_is_a_clear_error_and_stops(text: str, why: str) -> None:
    status, out, [error] = gate(text)
    assert (status, out) == (1, [])
    assert error.startswith(
        f"preview gate: the preview is not what `pulumi preview --json` prints: {why}"
    )
    assert "nothing was checked, so `pulumi up` does not run" in error


def test_a_failed_preview_stops_with_its_errors() -> None:
    text = json.dumps(
        {
            "steps": [root_step()],
            "diagnostics": [
                {"urn": ROOT, "message": "payments:vpcCidr must be ...\n", "severity": "error"},
                {"message": "rotation is off", "severity": "warning"},
            ],
        }
    )
    status, out, err = gate(text, status=255)
    assert status == 1
    assert "  warning: rotation is off" in out
    assert err == [
        "preview gate: `pulumi preview` failed (exit 255): payments:vpcCidr must be ...; fix "
        "that and run `make up` again (nothing has changed)"
    ]
    # A preview that printed nothing says so, and that it failed.
    [error] = gate("", status=255)[2]
    assert error.startswith("preview gate: `pulumi preview` failed (exit 255) and the preview ")


def test_main_reads_a_file_or_stdin_and_exits_with_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = tmp_path / "preview-prod.json"
    preview.write_text(document(cluster_replaced(), replace=1))
    assert preview_gate.main(["--stack", "prod", str(preview)]) == 1
    assert "database-cluster" in capsys.readouterr().err
    assert (
        preview_gate.main(["--stack", "prod", "--confirm", "database-cluster", str(preview)]) == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("{not json"))
    assert preview_gate.main(["--stack", "prod", "--preview-status", "0"]) == 1
    assert "standard input is not what `pulumi preview --json` prints" in capsys.readouterr().err
    assert preview_gate.main(["--stack", "prod", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err

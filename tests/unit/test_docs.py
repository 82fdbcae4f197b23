"""The settings documentation cannot drift from StackConfig."""

from __future__ import annotations

import yaml

from payments_infra import docs
from payments_infra.config import SETTINGS
from payments_infra.recording import REPO_ROOT


def test_readme_settings_table_is_generated_from_stack_config() -> None:
    readme = docs.README.read_text()
    assert docs.with_table(readme) == readme, "run: python -m payments_infra.docs"
    for setting in SETTINGS:
        assert f"`{setting.key}`" in readme


def test_pulumi_yaml_describes_every_setting_with_the_same_default() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    described = project["template"]["config"]
    assert set(described) == {s.key for s in SETTINGS}
    for setting in SETTINGS:
        if "default" in described[setting.key]:
            assert described[setting.key]["default"] == setting.default, setting.key
        assert described[setting.key]["description"]


def test_example_stack_mentions_every_setting() -> None:
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text()
    missing = [s.key for s in SETTINGS if s.key not in example]
    assert missing == []

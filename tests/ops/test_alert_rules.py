"""The shipped Prometheus alert rules: valid for promtool, and firing when they should
(ops/prometheus/metersync-alerts.test.yml holds the series and the expected alerts)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is installed by ./install (Debian's prometheus)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=120)


def test_rules_are_valid():
    result = promtool("check", "rules", "metersync-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_alerts_fire_when_they_should():
    result = promtool("test", "rules", "metersync-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_expectation_fails(tmp_path):
    # The rule tests can fail: the same file expecting no alert where one fires.
    text = (RULES / "metersync-alerts.test.yml").read_text()
    broken = re.sub(r"(eval_time: 3m\n        alertname: MetersyncDown\n        exp_alerts:)\n(          - exp_labels:.*\n(            .*\n)*?)(?=      - eval_time)",
                    r"\1 []\n", text, count=1)
    assert broken != text
    (tmp_path / "metersync-alerts.yml").write_text((RULES / "metersync-alerts.yml").read_text())
    (tmp_path / "broken.test.yml").write_text(broken)
    result = subprocess.run([PROMTOOL, "test", "rules", "broken.test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "MetersyncDown" in result.stdout + result.stderr


def test_every_metric_the_rules_use_is_exported():
    # Names in the rules come from the catalogue (src/metrics/catalogue.cpp), or are Prometheus's own.
    catalogue = (Path(__file__).resolve().parents[2] / "src" / "metrics" / "catalogue.cpp").read_text()
    exported = set(re.findall(r'Family\{"([a-z_]+)"', catalogue))
    used = set(re.findall(r"\b(metersync_[a-z_]+)", (RULES / "metersync-alerts.yml").read_text()))
    assert used and used <= exported, used - exported


def test_the_scrape_example_is_valid():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr

"""The embedded cluster's Fluid releases (hack/cluster/embedded/build.py, supervisor.py): which release
a cluster starts on, and which release's controllers the supervisor runs for the image Helm installed
(the chart's image tag is the release's appVersion, e.g. v1.0.0-31f5433 in Fluid v1.0.0's
charts/fluid/fluid/values.yaml, v1.0.8-6533239 in v1.0.8's)."""
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack" / "cluster"))

from embedded import build, supervisor  # noqa: E402

PINS = {"FLUID_VERSION": "v1.0.8", "FLUID_PREVIOUS_VERSION": "v1.0.0"}


def fake_layout():
    lay = SimpleNamespace(pins=PINS, fluid_releases={"v1.0.8": "current", "v1.0.0": "previous"})
    lay.release_of = lambda version: build.Layout.release_of(lay, version)
    return lay


@pytest.mark.parametrize("image, release", [
    ("fluidcloudnative/dataset-controller:v1.0.0-31f5433", "previous"),
    ("fluidcloudnative/dataset-controller:v1.0.8-6533239", "current"),
    ("registry.example.com:5000/mirror/fluidcloudnative/dataset-controller:v1.0.8-6533239", "current"),
    ("fluidcloudnative/dataset-controller:v1.0.9-abc", None),  # a release without binaries here
    ("registry.example.com:5000/fluidcloudnative/dataset-controller", None),  # a port is not a tag
    ("fluidcloudnative/dataset-controller:latest", None),
    (None, None),
])
def test_image_release(image, release):
    assert supervisor.image_release(fake_layout(), image) == release


@pytest.mark.parametrize("env, recorded, want", [
    (None, None, "v1.0.8"),
    ("previous", None, "v1.0.0"),
    ("1.0.0", None, "v1.0.0"),
    ("v1.0.8", None, "v1.0.8"),
    (None, "v1.0.0", "v1.0.0"),  # a cluster created on v1.0.0 stays on it
])
def test_start_version(monkeypatch, tmp_path, env, recorded, want):
    lay = fake_layout()
    record = tmp_path / "fluid-start-version"
    if recorded:
        record.write_text(recorded)
    monkeypatch.setattr(build, "START_VERSION_FILE", str(record))
    if env is None:
        monkeypatch.delenv("FLUID_CLUSTER_FLUID_VERSION", raising=False)
    else:
        monkeypatch.setenv("FLUID_CLUSTER_FLUID_VERSION", env)
    assert build.Layout.start_version(lay) == want


def test_unknown_start_version_names_the_choices(monkeypatch):
    monkeypatch.setenv("FLUID_CLUSTER_FLUID_VERSION", "v1.0.5")
    with pytest.raises(SystemExit) as e:
        build.Layout.start_version(fake_layout())
    assert "FLUID_CLUSTER_FLUID_VERSION=v1.0.5" in str(e.value)
    assert "v1.0.0 or v1.0.8" in str(e.value) and "previous" in str(e.value)

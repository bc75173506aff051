"""The installed distribution describes itself: one version everywhere, and its license."""

import importlib.metadata

import forgegrad as fg


def test_metadata_version_is_forgegrad_version():
    assert importlib.metadata.version("forgegrad") == fg.__version__ == fg._C.__version__


def test_metadata_declares_the_mit_license_and_ships_its_text():
    distribution = importlib.metadata.distribution("forgegrad")
    assert distribution.metadata["License-Expression"] == "MIT"
    license_files = [f for f in distribution.files if f.name == "LICENSE"]
    assert len(license_files) == 1
    assert "MIT License" in license_files[0].read_text()

"""Shared pytest configuration (keep it small: other test modules share it)."""

from __future__ import annotations

import pytest


def pytest_setup_options():  # dash.testing hook: the options of dash_duo / dash_br browsers
    """Headless Debian Chromium for Dash's ``dash_duo`` / ``dash_br`` fixtures."""
    from selenium.webdriver.chrome.options import Options

    from carbon.dashboard.testing import CHROMIUM, CHROMIUM_FLAGS

    options = Options()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return options


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns off a terminal; 200 keeps table cells and errors whole."""
    from carbon import cli

    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.setattr(cli.err_console, "width", 200)

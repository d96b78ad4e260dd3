from __future__ import annotations

import pytest

from tlm import Simulator


@pytest.fixture
def sim() -> Simulator:
    return Simulator()


@pytest.fixture
def log() -> list:
    return []

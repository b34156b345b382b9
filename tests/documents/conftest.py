"""The content store of each test lives under its own var directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from backoffice.documents import storage
from backoffice.documents.storage import LocalFileStore
from backoffice.settings import Settings


@pytest.fixture
def store_root(settings: Settings) -> Path:
    storage.configure(LocalFileStore(settings.documents_dir))
    return settings.documents_dir

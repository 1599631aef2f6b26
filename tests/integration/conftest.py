"""pytest fixtures shared by the integration tests: private servers on loopback."""
import os
import sys

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from harness.mariadb import MariaDB  # noqa: E402


def build_dir():
    """Where the built binaries are: $MXKIT_BUILD or ./_build."""
    here = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.environ.get("MXKIT_BUILD", os.path.join(here, "_build"))


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """One private MariaDB with the mxkit schema for the whole session."""
    db = MariaDB(str(tmp_path_factory.mktemp("db")))
    db.start()
    db.create_mxkit_db()
    yield db
    db.stop()

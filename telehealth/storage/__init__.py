"""Storage: SQLAlchemy 2 async models, the database handle and migrations."""

from __future__ import annotations

from telehealth.storage.database import Database, DatabaseUnavailable
from telehealth.storage.migrate import upgrade_database

__all__ = ["Database", "DatabaseUnavailable", "upgrade_database"]

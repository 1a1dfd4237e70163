"""The real server for crash tests: ``python -m tests.notifications.serve PORT`` runs uvicorn with create_app()
(settings from the INTERDICT_ environment, dispatcher thread and all), plus the test record type's renderer."""

from __future__ import annotations

import sys

import uvicorn

import tests.notifications.records  # noqa: F401  (registers the renderer)
from interdict.app import create_app

if __name__ == "__main__":
    uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

"""Background jobs: imports and targeting loads queued by the pages and the API, run by a worker thread."""

"""`agenttrace` commands: collector (registered on the shared app)."""

from __future__ import annotations

from agenttrace.cli._app import app as app

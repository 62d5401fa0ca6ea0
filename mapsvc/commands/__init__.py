"""CLI command groups; each module exports ``COMMANDS`` (click commands) for ``mapsvc.cli``."""

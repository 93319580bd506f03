"""hashsim: a simulator of mining bans, pool shutdowns and hashrate migration."""

from __future__ import annotations

__version__ = "0.1.0"

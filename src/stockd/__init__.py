"""stockd: real-time, event-driven inventory that never oversells."""

__version__ = "0.1.0"

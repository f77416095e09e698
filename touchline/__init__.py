"""Touchline: sales performance management that judges how results are reached."""

__version__ = "0.1.0"

"""Characterization of stored traces: typed results, never printed here."""

from servetrace.analytics.characterize import characterize
from servetrace.analytics.results import Characterization

__all__ = ["Characterization", "characterize"]

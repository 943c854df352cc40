"""Workload models: fit one to a stored trace, sample synthetic traces from it, and measure their fidelity."""

from servetrace.generator.fit import Selection, fit_workload
from servetrace.generator.generate import generate, store_synthetic
from servetrace.generator.model import WorkloadModel, load_model, save_model

__all__ = ["Selection", "WorkloadModel", "fit_workload", "generate", "load_model", "save_model", "store_synthetic"]

"""Emulated GPU serving: performance and power profiles, and a continuous-batching engine in simulation time."""

from servetrace.replay.emulator.engine import (
    Counters,
    Engine,
    Knobs,
    PowerSample,
    Request,
    RequestResult,
    Simulation,
    StepResult,
    simulate,
)
from servetrace.replay.emulator.profiles import (
    GPUS,
    MODELS,
    PROFILES,
    KnobError,
    OperatingPoint,
    Profile,
    StepCost,
    get_profile,
)

__all__ = [
    "GPUS",
    "MODELS",
    "PROFILES",
    "Counters",
    "Engine",
    "KnobError",
    "Knobs",
    "OperatingPoint",
    "PowerSample",
    "Profile",
    "Request",
    "RequestResult",
    "Simulation",
    "StepCost",
    "StepResult",
    "get_profile",
    "simulate",
]

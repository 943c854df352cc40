"""Hawkes arrivals: a self-exciting process, each request raising the rate of the next ones for a while.

    rate(t) = base(t) + sum over earlier requests j, kernels k of  n_k * beta_k * exp(-beta_k * (t - t_j))

`base` is piecewise constant (one value per `base_window_s`, an hour by default: the slow, diurnal part);
each kernel has a branching ratio n_k (expected direct follow-ups of one request) and a decay beta_k. Two
kernels, one fast and one slow, reproduce both the millisecond clusters and the index of dispersion that
keeps growing to minutes (it tends to 1 / (1 - sum n_k)^2).

Fitted by maximum likelihood with torch autograd (L-BFGS): the excitation sums are
A_k(i) = exp(logcumsumexp(beta_k t)_{i-1} - beta_k t_i), a vectorised and overflow-free form of the usual
recursion. Sampled by the branching construction: immigrants from the base rate, then generation after
generation of children, each generation one vectorised draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import numbers, positive

BASE_WINDOW_S = 3600.0
MIN_REQUESTS = 50
MAX_BRANCHING = 0.995  # the total branching ratio stays below 1 (a stationary process)
FIT_ITERATIONS = 200


@register
@dataclass(frozen=True)
class Hawkes(ArrivalModel):
    base_window_s: float
    base_rps: list[float]
    branching: list[float]  # n_k, sum below 1
    decay_per_s: list[float]  # beta_k

    name = "hawkes"
    description = "self-exciting (Hawkes) process, exponential kernels, hourly base rate"

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float, kernels: int = 2, base_window_s: float = BASE_WINDOW_S) -> Self:
        if len(arrival_s) < MIN_REQUESTS or span_s <= 0:
            raise TooShort(f"fewer than {MIN_REQUESTS} requests")
        windows = max(1, int(np.ceil(span_s / base_window_s)))
        t = torch.tensor(arrival_s, dtype=torch.float64)
        counts = np.bincount(np.minimum((arrival_s // base_window_s).astype(np.int64), windows - 1), minlength=windows)
        lengths = np.minimum(base_window_s, span_s - base_window_s * np.arange(windows))
        start_rate = np.maximum(counts / lengths, 0.1 / span_s)
        gaps = np.diff(arrival_s)
        fast = 1.0 / max(float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else 1.0, 1e-4)
        beta0 = np.array([fast, fast / 100.0][:kernels])
        p = {
            "log_base": torch.tensor(np.log(start_rate * 0.5), dtype=torch.float64, requires_grad=True),
            "logit_n": torch.tensor(np.full(kernels, np.log(0.5 / kernels)), dtype=torch.float64, requires_grad=True),
            "log_beta": torch.tensor(np.log(beta0), dtype=torch.float64, requires_grad=True),
        }
        window_of = torch.tensor(np.minimum(arrival_s // base_window_s, windows - 1), dtype=torch.int64)
        lengths_t = torch.tensor(lengths, dtype=torch.float64)
        opt = torch.optim.LBFGS(list(p.values()), max_iter=FIT_ITERATIONS, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = -_loglik(t, span_s, window_of, lengths_t, *_constrained(p))
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        opt.step(closure)  # type: ignore[no-untyped-call]
        base, n, beta = (x.detach().numpy() for x in _constrained(p))
        return cls(base_window_s, base.tolist(), n.tolist(), beta.tolist())

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        """Immigrants from a burn-in before 0 (so the process starts stationary), then their descendants."""
        burn = min(20.0 / min(self.decay_per_s) / max(1 - sum(self.branching), 0.05), 3600.0)
        immigrants = self._immigrants(-burn, duration_s, rng)
        events, parents = [immigrants], immigrants
        total_n = sum(self.branching)
        share = np.array(self.branching) / total_n if total_n > 0 else None
        beta = np.array(self.decay_per_s)
        while len(parents) and share is not None:
            children = rng.poisson(total_n, len(parents))
            born = np.repeat(parents, children)
            kernel = rng.choice(len(share), size=len(born), p=share)
            born = born + rng.exponential(1.0 / beta[kernel])
            parents = born[born < duration_s]
            events.append(parents)
        times = np.sort(np.concatenate(events))
        return times[times >= 0]

    def _immigrants(self, start_s: float, end_s: float, rng: np.random.Generator) -> np.ndarray:
        """Poisson arrivals at the base rate; the windows repeat in order (window of a negative time: the last)."""
        first, last = int(np.floor(start_s / self.base_window_s)), int(np.ceil(end_s / self.base_window_s))
        out = []
        for w in range(first, last):
            lo, hi = max(w * self.base_window_s, start_s), min((w + 1) * self.base_window_s, end_s)
            rate = self.base_rps[w % len(self.base_rps)]
            out.append(rng.uniform(lo, hi, rng.poisson(rate * (hi - lo))))
        return np.concatenate(out) if out else np.zeros(0)

    def scaled(self, rate_scale: float) -> Self:
        base = [b * rate_scale for b in self.base_rps]
        return type(self)(self.base_window_s, base, self.branching, self.decay_per_s)

    def params(self) -> dict[str, Any]:
        return {
            "base_window_s": self.base_window_s,
            "branching": self.branching,
            "decay_per_s": self.decay_per_s,
            "base_rps": self.base_rps,
        }

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        branching = numbers(d, "branching", where, low=0.0)
        decay = numbers(d, "decay_per_s", where, size=len(branching))
        if any(b <= 0 for b in decay):
            raise ModelFileError(f"{where}.decay_per_s: every decay must be > 0")
        if sum(branching) >= 1:
            raise ModelFileError(f"{where}.branching: must sum to below 1 (a stable process), got {sum(branching):g}")
        return cls(positive(d, "base_window_s", where), numbers(d, "base_rps", where, low=0.0), branching, decay)

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float:
        windows = len(self.base_rps)
        index = (arrival_s // self.base_window_s).astype(np.int64) % windows
        edges = np.arange(int(np.ceil(span_s / self.base_window_s)) + 1) * self.base_window_s
        lengths = np.diff(np.minimum(edges, span_s))
        base_total = sum(self.base_rps[w % windows] * length for w, length in enumerate(lengths))
        with torch.no_grad():
            t = torch.tensor(arrival_s, dtype=torch.float64)
            base = torch.tensor(self.base_rps, dtype=torch.float64)
            value = _excited_loglik(
                t, span_s, base[torch.tensor(index)], torch.tensor(self.branching, dtype=torch.float64),
                torch.tensor(self.decay_per_s, dtype=torch.float64),
            )  # fmt: skip
        return float(value) - float(base_total)

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray:
        """Compensator at each arrival: the base rate's integral plus sum_k n_k (i - A_k(i))."""
        windows = len(self.base_rps)
        base = np.asarray(self.base_rps)
        cum = np.concatenate(([0.0], np.cumsum(base * self.base_window_s)))
        w = (arrival_s // self.base_window_s).astype(np.int64)
        whole, part = w // windows, w % windows
        total = whole * cum[-1] + cum[part] + (arrival_s - w * self.base_window_s) * base[part]
        t = torch.tensor(arrival_s, dtype=torch.float64)
        i = np.arange(len(arrival_s))
        for n, beta in zip(self.branching, self.decay_per_s, strict=True):
            bt = beta * t
            running = torch.logcumsumexp(bt, 0)
            a = torch.cat([torch.zeros(1, dtype=torch.float64), torch.exp(running[:-1] - bt[1:])]).numpy()
            total = total + n * (i - a)
        return np.diff(total)

    def mean_rate(self) -> float:
        return float(np.mean(self.base_rps)) / (1 - sum(self.branching))


def _constrained(p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Base rates > 0, branching ratios > 0 summing below MAX_BRANCHING, decays > 0."""
    weights = torch.softmax(torch.cat([p["logit_n"], torch.zeros(1, dtype=torch.float64)]), 0)
    return torch.exp(p["log_base"]), MAX_BRANCHING * weights[:-1], torch.exp(p["log_beta"])


def _loglik(
    t: torch.Tensor,
    span_s: float,
    window_of: torch.Tensor,
    lengths: torch.Tensor,
    base: torch.Tensor,
    n: torch.Tensor,
    beta: torch.Tensor,
) -> torch.Tensor:
    result: torch.Tensor = _excited_loglik(t, span_s, base[window_of], n, beta) - torch.sum(base * lengths)
    return result


def _excited_loglik(t: torch.Tensor, span_s: float, base_at: torch.Tensor, n: torch.Tensor, beta: torch.Tensor) -> Any:
    """sum log rate(t_i) minus the excitation's integral (the base rate's integral is the caller's)."""
    bt = beta[None, :] * t[:, None]  # (events, kernels)
    running = torch.logcumsumexp(bt, dim=0)
    log_a = torch.cat([torch.full_like(bt[:1], -torch.inf), running[:-1] - bt[1:]])  # A_k(0) = 0
    rate = base_at + torch.sum(n * beta * torch.exp(log_a), dim=1)
    integral = torch.sum(n * torch.sum(-torch.expm1(-beta[None, :] * (span_s - t[:, None])), dim=0))
    return torch.sum(torch.log(rate)) - integral

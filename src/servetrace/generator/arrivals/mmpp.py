"""Markov-modulated Poisson arrivals: a hidden continuous-time Markov chain over 2 to 4 states, each with its own
Poisson rate. On/off traffic and storms are its natural cases: the states carry the burst levels and the switching
rates carry how long each level lasts.

The fit bins the trace into counts (about two requests a bin) and runs Baum-Welch on a Poisson hidden Markov model,
then turns the per-bin transition matrix into switching rates through the matrix logarithm. The log-likelihood is
the exact continuous-time one, so it compares fairly with the other models on held-out arrivals.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple, Self

import numpy as np
from scipy import linalg, special

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import field, numbers

STATES = (2, 3, 4)
MIN_REQUESTS = 50
MIN_BINS = 20
MAX_BINS = 200_000
BIN_REQUESTS = 2.0  # target mean requests per bin
MIN_BIN_S, MAX_BIN_S = 0.05, 60.0
MAX_ITER = 200
REL_TOL = 1e-6  # stop when the log-likelihood gains less than this share of itself
P_FLOOR = 1e-10  # keeps every per-bin transition possible: no absorbing states, no 0/0 in the recursions
RATE_FLOOR = 1e-9  # requests per bin; lets an "off" state fit without log(0)
MAX_BATCH = 1 << 20  # sojourns drawn at a time when sampling


@register
@dataclass(frozen=True)
class MMPP(ArrivalModel):
    rates_rps: list[float]  # Poisson rate in each hidden state
    switch_rps: list[list[float]]  # [i][j]: rate of switching from state i to state j; zero diagonal

    name = "mmpp"
    description = "Markov-modulated Poisson process: 2 to 4 hidden rate levels with exponential sojourns"

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float, states: int | None = None) -> Self:
        """Baum-Welch on binned counts; with `states` None, 2 to 4 states chosen by BIC (stopping when it worsens)."""
        if states is not None and states not in STATES:
            raise ValueError(f"states must be one of {STATES}, got {states}")
        count, dt_s = _bin_counts(np.asarray(arrival_s, dtype=float), span_s)
        best = _baum_welch(count, states or STATES[0])
        for k in () if states else STATES[1:]:
            more = _baum_welch(count, k)
            if more.bic >= best.bic:
                break  # BIC stopped improving: more states will not pay for themselves either
            best = more
        order = np.argsort(best.rate_per_bin)
        trans = best.trans[np.ix_(order, order)]
        return cls([float(r) for r in best.rate_per_bin[order] / dt_s], _switch_rps(trans, dt_s).tolist())

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        """Simulate the hidden path from the stationary distribution, then Poisson arrivals within each sojourn."""
        if duration_s <= 0:
            return np.zeros(0)
        state, start_s, length_s = self._sojourns(duration_s, rng)
        n = rng.poisson(np.asarray(self.rates_rps)[state] * length_s)
        times = np.repeat(start_s, n) + rng.uniform(size=int(n.sum())) * np.repeat(length_s, n)
        times.sort()
        return np.asarray(times[times < duration_s])

    def scaled(self, rate_scale: float) -> Self:
        return type(self)([r * rate_scale for r in self.rates_rps], [list(row) for row in self.switch_rps])

    def params(self) -> dict[str, Any]:
        return {"rates_rps": list(self.rates_rps), "switch_rps": [list(row) for row in self.switch_rps]}

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        rates = numbers(d, "rates_rps", where, low=0.0)
        k = len(rates)
        if k not in STATES:
            raise ModelFileError(f"{where}.rates_rps: must have {STATES[0]} to {STATES[-1]} states, got {k}")
        if max(rates) <= 0:
            raise ModelFileError(f"{where}.rates_rps: at least one rate must be > 0")
        switch = _switch_matrix(field(d, "switch_rps", where), k, f"{where}.switch_rps")
        return cls(rates, switch)

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float:
        """Exact log-likelihood: alpha <- alpha expm((Q - L) gap) L per arrival, then survival to `span_s`."""
        arrival_s = np.asarray(arrival_s, dtype=float)
        rates = np.asarray(self.rates_rps)
        drift = self._generator() - np.diag(rates)  # Q - Lambda
        pi = self._stationary()
        tail_s = span_s - (arrival_s[-1] if len(arrival_s) else 0.0)
        gaps_s = np.diff(arrival_s, prepend=0.0)
        shift, decay = _expm_shifted(drift, np.append(gaps_s, max(tail_s, 0.0)))  # decay: (K, K, n + 1)
        step = decay[:, :, :-1] * rates[None, :, None]
        alpha = _filter(step, pi) if len(arrival_s) else np.zeros((len(rates), 0))
        before = np.concatenate((pi[:, None], alpha[:, :-1]), axis=1)
        norms = np.einsum("in,ijn->n", before, step)
        last = alpha[:, -1] if len(arrival_s) else pi
        survive = float(last @ decay[:, :, -1] @ np.ones(len(rates)))
        with np.errstate(divide="ignore"):
            total = float(np.log(norms).sum() + np.log(survive)) + shift * (float(gaps_s.sum()) + max(tail_s, 0.0))
        return total if math.isfinite(total) else -math.inf

    def mean_rate(self) -> float:
        return float(self._stationary() @ np.asarray(self.rates_rps))

    def _generator(self) -> np.ndarray:
        q = np.asarray(self.switch_rps, dtype=float)
        np.fill_diagonal(q, 0.0)
        return q - np.diag(q.sum(axis=1))

    def _stationary(self) -> np.ndarray:
        return _stationary(self._generator())

    def _sojourns(self, duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """State, start and length of every sojourn covering [0, duration_s), drawn in batches of jumps."""
        q = self._generator()
        leave_rps = -np.diag(q)
        pi = self._stationary()
        batch = min(int(1.2 * duration_s * float(pi @ leave_rps)) + 16, MAX_BATCH)
        state = int(rng.choice(len(pi), p=pi))
        states, holds_s, covered_s = [], [], 0.0
        while covered_s < duration_s:
            path = _jump_chain(q, leave_rps, state, batch, rng)
            hold_s = rng.exponential(size=batch) / leave_rps[path[:-1]]
            states.append(path[:-1])
            holds_s.append(hold_s)
            covered_s += float(hold_s.sum())
            state = int(path[-1])
        state_all, hold_all = np.concatenate(states), np.concatenate(holds_s)
        start_s = np.concatenate(([0.0], np.cumsum(hold_all)[:-1]))
        keep = start_s < duration_s
        return state_all[keep], start_s[keep], np.minimum(hold_all[keep], duration_s - start_s[keep])


class _HmmFit(NamedTuple):
    rate_per_bin: np.ndarray  # (K,)
    trans: np.ndarray  # (K, K) per-bin transition matrix
    loglik: float
    bic: float


def _bin_counts(arrival_s: np.ndarray, span_s: float) -> tuple[np.ndarray, float]:
    """Counts per bin over [0, span_s] and the bin width: about BIN_REQUESTS a bin, within the bin limits."""
    if len(arrival_s) < MIN_REQUESTS or span_s <= 0:
        raise TooShort(f"fewer than {MIN_REQUESTS} requests over a positive span")
    target_s = float(np.clip(BIN_REQUESTS * span_s / len(arrival_s), MIN_BIN_S, MAX_BIN_S))
    n_bins = min(math.ceil(span_s / target_s), MAX_BINS)
    if n_bins < MIN_BINS:
        raise TooShort(f"fewer than {MIN_BINS} bins of {target_s:g} s")
    dt_s = span_s / n_bins
    idx = np.clip((arrival_s / dt_s).astype(np.int64), 0, n_bins - 1)
    return np.bincount(idx, minlength=n_bins).astype(float), dt_s


def _baum_welch(count: np.ndarray, k: int) -> _HmmFit:
    """EM for a K-state Poisson HMM over bin counts, from quantile-group means and sticky transitions."""
    groups = np.array_split(np.sort(count), k)
    rate = np.array([g.mean() for g in groups]) + 0.01 * count.mean() * np.arange(1, k + 1)
    trans = np.full((k, k), 0.05 / (k - 1)) + np.eye(k) * (0.95 - 0.05 / (k - 1))
    init = np.full(k, 1.0 / k)
    const = float(special.gammaln(count + 1).sum())
    ll_prev = -math.inf
    for _ in range(MAX_ITER):
        gamma, xi_sum, ll = _e_step(count, rate, trans, init)
        ll -= const
        trans = _floor_rows(xi_sum)
        rate = np.maximum(gamma @ count / gamma.sum(axis=1), RATE_FLOOR)
        init = _floor_rows(gamma[:, 0][None, :])[0]
        if ll - ll_prev < REL_TOL * abs(ll):
            break
        ll_prev = ll
    bic = -2 * ll + k * k * math.log(len(count))  # K rates + K(K-1) transitions
    return _HmmFit(rate, trans, ll, bic)


def _e_step(
    count: np.ndarray, rate: np.ndarray, trans: np.ndarray, init: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """State posteriors (K, T), summed transition posteriors (K, K) and log-likelihood (without log y!)."""
    k = len(rate)
    logb = count[None, :] * np.log(rate)[:, None] - rate[:, None]
    top = logb.max(axis=0)
    emit = np.exp(logb - top)  # (K, T), max 1 per bin
    step = trans[:, :, None] * emit[None, :, :]  # (K, K, T): P diag(e_t)
    step[:, :, 0] = np.diag(emit[:, 0])  # the initial distribution enters directly; the backward pass skips it
    alpha = _filter(step, init)
    back = np.concatenate((np.eye(k)[:, :, None], step.transpose(1, 0, 2)[:, :, :0:-1]), axis=2)
    beta = _filter(back, np.full(k, 1.0 / k))[:, ::-1]
    gamma = alpha * beta
    gamma /= gamma.sum(axis=0)
    emit_beta = emit[:, 1:] * beta[:, 1:]
    norm = (alpha[:, :-1] * (trans @ emit_beta)).sum(axis=0)
    xi_sum = trans * ((alpha[:, :-1] / norm) @ emit_beta.T)
    step_norm = ((trans.T @ alpha[:, :-1]) * emit[:, 1:]).sum(axis=0)
    ll = float(np.log(init @ emit[:, 0]) + np.log(step_norm).sum() + top.sum())
    return gamma, xi_sum, ll


def _filter(step: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Normalised rows of start @ step[..., 0] @ ... @ step[..., t] for every t: (K, K, T) -> (K, T).

    Blocked scan: sqrt(T) blocks of sqrt(T) steps; products within every block advance together, then one pass
    carries the row from block to block. About 2 sqrt(T) numpy steps instead of T; every product is renormalised.
    """
    k, _, t = step.shape
    length = math.isqrt(max(t - 1, 0)) + 1  # ceil(sqrt(t))
    blocks = -(-t // length)
    padded = np.concatenate((step, np.broadcast_to(np.eye(k)[:, :, None], (k, k, blocks * length - t))), axis=2)
    mats = np.ascontiguousarray(padded.reshape(k, k, blocks, length).transpose(0, 1, 3, 2))  # (K, K, L, B)
    prod = np.empty_like(mats)
    prod[:, :, 0] = mats[:, :, 0] / mats[:, :, 0].sum(axis=(0, 1))
    for i in range(1, length):
        p = (prod[:, :, None, i - 1] * mats[None, :, :, i]).sum(axis=1)
        prod[:, :, i] = p / p.sum(axis=(0, 1))
    carry = np.empty((k, blocks))
    row = start / start.sum()
    for b in range(blocks):
        carry[:, b] = row
        row = row @ prod[:, :, -1, b]
        row /= row.sum()
    rows = np.einsum("ib,ijlb->jlb", carry, prod)
    rows /= rows.sum(axis=0)
    return np.asarray(rows.transpose(0, 2, 1).reshape(k, blocks * length)[:, :t])


def _floor_rows(m: np.ndarray) -> np.ndarray:
    m = np.maximum(m / m.sum(axis=1, keepdims=True), P_FLOOR)
    return np.asarray(m / m.sum(axis=1, keepdims=True))


def _switch_rps(trans: np.ndarray, dt_s: float) -> np.ndarray:
    """Off-diagonal generator from a per-bin transition matrix: logm(P)/dt with negatives clipped to 0,
    or (P - I)/dt where the logarithm fails or leaves a state that other states cannot reach."""
    eye = np.eye(len(trans), dtype=bool)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            log = np.real(linalg.logm(trans)) / dt_s
        except (ValueError, np.linalg.LinAlgError):
            log = np.full_like(trans, np.nan)
    off = np.where(eye, 0.0, np.maximum(log, 0.0))
    if not np.all(np.isfinite(off)) or _unreachable(off) is not None:
        off = np.where(eye, 0.0, trans / dt_s)
    return off


def _switch_matrix(v: Any, k: int, where: str) -> list[list[float]]:
    """A validated K x K list of switching rates: zero diagonal, off-diagonals >= 0, every state reachable."""
    if not isinstance(v, list) or len(v) != k:
        raise ModelFileError(f"{where}: must be a {k} x {k} list of lists (one row per state in rates_rps)")
    rows = []
    for i, row in enumerate(v):
        if not isinstance(row, list) or len(row) != k:
            raise ModelFileError(f"{where}[{i}]: must be a list of {k} rates (one per state)")
        rows.append([_switch_entry(x, i, j, where) for j, x in enumerate(row)])
    pair = _unreachable(np.asarray(rows))
    if pair is not None:
        raise ModelFileError(f"{where}: state {pair[1]} cannot be reached from state {pair[0]}")
    return rows


def _switch_entry(x: Any, i: int, j: int, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ModelFileError(f"{where}[{i}][{j}]: must be a finite number, got {x!r}")
    if i == j and x != 0:
        raise ModelFileError(f"{where}[{i}][{j}]: the diagonal must be 0 (staying is implied), got {x!r}")
    if x < 0:
        raise ModelFileError(f"{where}[{i}][{j}]: must be >= 0, got {x!r}")
    return float(x)


def _unreachable(off: np.ndarray) -> tuple[int, int] | None:
    """A pair (i, j) where state j cannot be reached from state i through positive rates, or None."""
    reach = (off > 0) | np.eye(len(off), dtype=bool)
    for _ in range(len(off)):
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    missing = np.argwhere(~reach)
    return (int(missing[0][0]), int(missing[0][1])) if len(missing) else None


def _stationary(q: np.ndarray) -> np.ndarray:
    """pi with pi Q = 0 and sum 1 (unique: the chain is irreducible)."""
    a = np.vstack((q.T, np.ones(len(q))))
    b = np.zeros(len(q) + 1)
    b[-1] = 1.0
    pi = np.maximum(np.linalg.lstsq(a, b, rcond=None)[0], 0.0)
    return np.asarray(pi / pi.sum())


def _expm_shifted(drift: np.ndarray, gaps_s: np.ndarray) -> tuple[float, np.ndarray]:
    """(s, E) with expm(drift * g) = exp(s g) E[..., n] for every gap g: (K, K, n); s is the top eigenvalue.

    One eigen-decomposition serves every gap; the shift keeps long gaps from underflowing. A near-defective
    matrix falls back to batched expm.
    """
    w, v = np.linalg.eig(drift)
    shift = float(np.max(w.real))
    if np.linalg.cond(v) < 1e8:
        scale = np.exp((w - shift)[:, None] * gaps_s[None, :])
        out = np.einsum("ik,kn,kj->ijn", v, scale, np.linalg.inv(v)).real
    else:
        shifted = drift - shift * np.eye(len(drift))
        out = linalg.expm(shifted[None, :, :] * gaps_s[:, None, None]).transpose(1, 2, 0)
    return shift, np.maximum(out, 0.0)


def _jump_chain(q: np.ndarray, leave_rps: np.ndarray, state: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` jumps of the embedded chain from `state`: n + 1 states. Each uniform gives a map state -> next state;
    the path is the prefix composition of those maps (log2 n vectorised steps)."""
    k = len(q)
    jump = np.where(np.eye(k, dtype=bool), 0.0, q) / leave_rps[:, None]
    cum = np.cumsum(jump, axis=1)
    cum /= cum[:, -1:]
    u = rng.uniform(size=n)
    maps = np.minimum((u[:, None, None] >= cum[None, :, :]).sum(axis=2), k - 1)  # (n, K): next state from each
    d = 1
    while d < n:
        maps[d:] = np.take_along_axis(maps[d:], maps[:-d], axis=1)  # maps[m] after maps[m - d]
        d *= 2
    return np.concatenate(([state], maps[:, state]))

"""A deterministic discrete-time emulation of one continuous-batching serving instance (vLLM-like).

Time is simulation time only: `Engine.step(now_s)` runs one scheduler step starting at `now_s` and says how
long it lasted. Each step:
  1. arrivals up to `now_s` join the waiting queue (FCFS; preempted requests go back to its front);
  2. if the decoding sequences need more KV than is free, the most recently admitted running sequence is
     preempted (recompute: its generated tokens become part of its prompt) until they fit;
  3. the token budget goes to decode first (1 token per decoding sequence), then to prefill chunks of running
     sequences in admission order, then to newly admitted waiting requests (FCFS, while running < max_num_seqs
     and the KV cache has room for the whole prompt; none in a step that preempted);
  4. the step's duration and energy come from the profile's operating point (see profiles.py).
A sequence emits its first token when its prefill completes, then one per decode step. KV is counted in tokens
(block size 1). Image tokens are expected in `input_tokens`; images add encoder time when prefill starts.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from servetrace.replay.emulator.profiles import GpuName, KnobError, ModelName, OperatingPoint, Profile, get_profile


class Knobs(BaseModel):
    """Deployment and scheduler settings of an emulated endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: GpuName = "h100"
    model: ModelName = "8b"
    tensor_parallel: Literal[1, 2, 4, 8] = 1
    frequency_mhz: int | None = Field(default=None, gt=0)  # None: the GPU's maximum clock
    max_num_seqs: int = Field(default=256, ge=1)
    max_num_batched_tokens: int = Field(default=8192, ge=1)  # token budget per step (chunked prefill)
    instances: int = Field(default=1, ge=1)  # replicas behind the endpoint; an Engine is one of them
    kv_capacity_tokens: int | None = Field(default=None, ge=1)  # None: derived from the profile

    @model_validator(mode="after")
    def _budget_covers_decode(self) -> Self:
        if self.max_num_batched_tokens < self.max_num_seqs:
            raise ValueError(
                f"max_num_batched_tokens={self.max_num_batched_tokens} must be >= max_num_seqs={self.max_num_seqs}"
            )
        return self

    def profile(self) -> Profile:
        return get_profile(self.gpu, self.model)


@dataclass(frozen=True)
class Counters:
    """Engine state and totals, as a vLLM-style /metrics exposes them."""

    running: int
    waiting: int  # arrived and not running
    kv_used_tokens: int
    kv_capacity_tokens: int
    preemptions_total: int
    prompt_tokens_total: int  # prefill tokens computed, recomputation after preemption included
    generation_tokens_total: int
    requests_finished_total: int

    @property
    def kv_usage(self) -> float:
        return self.kv_used_tokens / self.kv_capacity_tokens


@dataclass(frozen=True)
class StepResult:
    start_s: float
    duration_s: float
    energy_j: float
    tokens: dict[str, int]  # tokens emitted at the end of the step, by request id
    finished: list[str]
    admitted: list[str]  # re-admissions after preemption included
    preempted: list[str]
    prefill_tokens: int
    decode_seqs: int
    images: int
    counters: Counters

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0


@dataclass
class _Seq:
    request_id: str
    arrival_s: float
    input_tokens: int
    output_tokens: int
    images: int
    order: int  # submission order: the FCFS tie-break
    prompt_tokens: int = 0  # input, plus generated tokens kept across a preemption
    prefilled_tokens: int = 0
    generated_tokens: int = 0
    kv_tokens: int = 0

    @property
    def decoding(self) -> bool:
        return self.prefilled_tokens == self.prompt_tokens


@dataclass
class _Batch:
    decode: list[_Seq] = field(default_factory=list)
    chunks: list[tuple[_Seq, int]] = field(default_factory=list)  # (sequence, prefill tokens this step)
    admitted: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)


class Engine:
    """One emulated instance: submit requests, then call `step` with simulation time."""

    def __init__(self, profile: Profile, knobs: Knobs) -> None:
        for knob in ("gpu", "model"):
            if getattr(knobs, knob) != getattr(profile, knob):
                raise KnobError(f"{knob}={getattr(knobs, knob)!r} but the profile is for {getattr(profile, knob)!r}")
        capacity = profile.kv_capacity_tokens(knobs.tensor_parallel)  # raises when the model does not fit
        self.kv_capacity_tokens = knobs.kv_capacity_tokens or capacity
        self.point: OperatingPoint = profile.at(knobs.tensor_parallel, knobs.frequency_mhz)
        self.knobs = knobs
        self._arrivals: list[tuple[float, int, _Seq]] = []  # heap by (arrival_s, order)
        self._waiting: deque[_Seq] = deque()
        self._running: list[_Seq] = []  # in admission order
        self._ids: set[str] = set()
        self._kv_used_tokens = 0
        self._clock_s = float("-inf")  # end of the last step
        self._preemptions = self._prompt_tokens = self._generation_tokens = self._finished = 0

    def submit(self, request_id: str, arrival_s: float, input_tokens: int, output_tokens: int, images: int = 0) -> None:
        if request_id in self._ids:
            raise ValueError(f"request_id={request_id!r}: already submitted")
        if input_tokens < 1 or output_tokens < 1 or images < 0:
            raise ValueError(f"request {request_id!r}: needs input_tokens >= 1, output_tokens >= 1, images >= 0")
        if input_tokens + output_tokens > self.kv_capacity_tokens:
            raise KnobError(
                f"kv_capacity_tokens={self.kv_capacity_tokens}: request {request_id!r} needs "
                f"{input_tokens + output_tokens} tokens of KV cache on its own"
            )
        seq = _Seq(request_id, arrival_s, input_tokens, output_tokens, images, len(self._ids), input_tokens)
        self._ids.add(request_id)
        heapq.heappush(self._arrivals, (arrival_s, seq.order, seq))

    @property
    def idle(self) -> bool:
        """Nothing arrived is left to run: the next step would do nothing before the next arrival."""
        return not self._running and not self._waiting

    @property
    def done(self) -> bool:
        return self.idle and not self._arrivals

    def next_arrival_s(self) -> float | None:
        return self._arrivals[0][0] if self._arrivals else None

    def counters(self) -> Counters:
        return Counters(
            running=len(self._running),
            waiting=len(self._waiting),
            kv_used_tokens=self._kv_used_tokens,
            kv_capacity_tokens=self.kv_capacity_tokens,
            preemptions_total=self._preemptions,
            prompt_tokens_total=self._prompt_tokens,
            generation_tokens_total=self._generation_tokens,
            requests_finished_total=self._finished,
        )

    def step(self, now_s: float) -> StepResult:
        """Run one scheduler step starting at `now_s`; a step with nothing to do lasts 0 s."""
        if now_s < self._clock_s:
            raise ValueError(f"now_s={now_s}: the previous step ran until {self._clock_s} s")
        while self._arrivals and self._arrivals[0][0] <= now_s:
            self._waiting.append(heapq.heappop(self._arrivals)[2])
        batch = _Batch(preempted=self._make_room_for_decode())
        budget = self.knobs.max_num_batched_tokens - self._schedule_decode(batch)
        budget = self._schedule_prefill(batch, budget)
        if not batch.preempted:
            self._admit(batch, budget)
        result = self._run(batch, now_s)
        self._clock_s = result.end_s
        return result

    def _decode_demand(self) -> int:
        return sum(seq.decoding for seq in self._running)

    def _make_room_for_decode(self) -> list[str]:
        preempted: list[str] = []
        while self._kv_used_tokens + self._decode_demand() > self.kv_capacity_tokens:
            seq = self._running.pop()  # the most recently admitted
            self._kv_used_tokens -= seq.kv_tokens
            seq.prompt_tokens = seq.input_tokens + seq.generated_tokens
            seq.prefilled_tokens = seq.kv_tokens = 0
            self._waiting.appendleft(seq)
            self._preemptions += 1
            preempted.append(seq.request_id)
        return preempted

    def _schedule_decode(self, batch: _Batch) -> int:
        batch.decode = [seq for seq in self._running if seq.decoding]
        for seq in batch.decode:
            seq.kv_tokens += 1
        self._kv_used_tokens += len(batch.decode)
        return len(batch.decode)

    def _schedule_prefill(self, batch: _Batch, budget: int) -> int:
        for seq in self._running:
            if budget == 0:
                break
            if not seq.decoding:
                chunk = min(seq.prompt_tokens - seq.prefilled_tokens, budget)
                batch.chunks.append((seq, chunk))
                budget -= chunk
        return budget

    def _admit(self, batch: _Batch, budget: int) -> None:
        while budget > 0 and self._waiting and len(self._running) < self.knobs.max_num_seqs:
            seq = self._waiting[0]
            if seq.prompt_tokens > self.kv_capacity_tokens - self._kv_used_tokens:
                break
            self._waiting.popleft()
            self._running.append(seq)
            seq.kv_tokens = seq.prompt_tokens  # the whole prompt's KV is reserved on admission
            self._kv_used_tokens += seq.kv_tokens
            chunk = min(seq.prompt_tokens, budget)
            batch.chunks.append((seq, chunk))
            batch.admitted.append(seq.request_id)
            budget -= chunk

    def _run(self, batch: _Batch, now_s: float) -> StepResult:
        prefill_tokens = sum(chunk for _, chunk in batch.chunks)
        # causal attention of a chunk of n tokens after p cached ones: n * p + n * (n + 1) / 2 pairs
        pairs = sum(n * seq.prefilled_tokens + n * (n + 1) // 2 for seq, n in batch.chunks)
        images = sum(seq.images for seq, _ in batch.chunks if seq.prefilled_tokens == 0)
        context_tokens = sum(seq.kv_tokens for seq in batch.decode)
        cost = self.point.step(prefill_tokens, pairs, len(batch.decode), context_tokens, images)
        tokens = {seq.request_id: 1 for seq in batch.decode}
        for seq, n in batch.chunks:
            seq.prefilled_tokens += n
            if seq.decoding:
                tokens[seq.request_id] = 1
        finished = self._emit(tokens)
        self._prompt_tokens += prefill_tokens
        return StepResult(
            start_s=now_s,
            duration_s=cost.duration_s,
            energy_j=cost.energy_j,
            tokens=tokens,
            finished=finished,
            admitted=batch.admitted,
            preempted=batch.preempted,
            prefill_tokens=prefill_tokens,
            decode_seqs=len(batch.decode),
            images=images,
            counters=self.counters(),
        )

    def _emit(self, tokens: dict[str, int]) -> list[str]:
        finished: list[str] = []
        still_running: list[_Seq] = []
        for seq in self._running:
            seq.generated_tokens += tokens.get(seq.request_id, 0)
            if seq.generated_tokens == seq.output_tokens:
                self._kv_used_tokens -= seq.kv_tokens
                finished.append(seq.request_id)
            else:
                still_running.append(seq)
        self._running = still_running
        self._generation_tokens += len(tokens)
        self._finished += len(finished)
        return finished


@dataclass(frozen=True)
class Request:
    request_id: str
    arrival_s: float
    input_tokens: int
    output_tokens: int
    images: int = 0


@dataclass(frozen=True)
class RequestResult:
    request_id: str
    arrival_s: float
    queue_s: float  # arrival to first admission
    ttft_s: float
    e2e_s: float
    tpot_s: float | None  # (e2e - ttft) / (output_tokens - 1); None for a single output token
    output_tokens: int
    preemptions: int

    @property
    def preempted(self) -> bool:
        return self.preemptions > 0


@dataclass(frozen=True)
class PowerSample:
    start_s: float
    duration_s: float
    power_w: float  # average over the sample, whole TP group

    @property
    def energy_j(self) -> float:
        return self.power_w * self.duration_s


@dataclass(frozen=True)
class Simulation:
    requests: list[RequestResult]  # in the order given
    power: list[PowerSample]  # steps and idle gaps, from the first arrival to the last token
    steps: int

    @property
    def energy_j(self) -> float:
        return sum(sample.energy_j for sample in self.power)

    @property
    def duration_s(self) -> float:
        return self.power[-1].start_s + self.power[-1].duration_s - self.power[0].start_s if self.power else 0.0


@dataclass
class _Times:
    admitted_s: float | None = None
    first_token_s: float | None = None
    finished_s: float = 0.0
    preemptions: int = 0


def simulate(requests: Sequence[Request], profile: Profile, knobs: Knobs) -> Simulation:
    """Run one engine against the requests' arrivals, jumping over idle time; deterministic."""
    engine = Engine(profile, knobs)
    for r in requests:
        engine.submit(r.request_id, r.arrival_s, r.input_tokens, r.output_tokens, r.images)
    times = {r.request_id: _Times() for r in requests}
    power: list[PowerSample] = []
    now_s = min((r.arrival_s for r in requests), default=0.0)
    steps = 0
    while not engine.done:
        if engine.idle:
            next_s = engine.next_arrival_s()
            assert next_s is not None  # not done and idle: an arrival is pending
            if next_s > now_s:
                power.append(PowerSample(now_s, next_s - now_s, engine.point.idle_w))
                now_s = next_s
        result = engine.step(now_s)
        if result.duration_s <= 0:
            raise RuntimeError(f"emulator made no progress at t={now_s} s")  # a scheduler bug, not a user error
        _record(result, times)
        power.append(PowerSample(now_s, result.duration_s, result.power_w))
        now_s, steps = result.end_s, steps + 1
    return Simulation([_result(r, times[r.request_id]) for r in requests], power, steps)


def _record(result: StepResult, times: dict[str, _Times]) -> None:
    for request_id in result.admitted:
        t = times[request_id]
        t.admitted_s = result.start_s if t.admitted_s is None else t.admitted_s
    for request_id in result.preempted:
        times[request_id].preemptions += 1
    for request_id in result.tokens:
        t = times[request_id]
        t.first_token_s = result.end_s if t.first_token_s is None else t.first_token_s
    for request_id in result.finished:
        times[request_id].finished_s = result.end_s


def _result(r: Request, t: _Times) -> RequestResult:
    assert t.admitted_s is not None and t.first_token_s is not None
    ttft_s, e2e_s = t.first_token_s - r.arrival_s, t.finished_s - r.arrival_s
    tpot_s = (e2e_s - ttft_s) / (r.output_tokens - 1) if r.output_tokens > 1 else None
    queue_s = t.admitted_s - r.arrival_s
    return RequestResult(r.request_id, r.arrival_s, queue_s, ttft_s, e2e_s, tpot_s, r.output_tokens, t.preemptions)

"""Emulated GPU x model performance and power profiles: roofline estimates, none of it measured.

Every figure here is derived from datasheet peaks, model shapes and the assumptions below; the derivation of
each profile is written out in its `derivation` string, numbers included.

Step cost (one engine step, TP=1 and maximum clock; `OperatingPoint` scales it):
    linear    max(2 * params * tokens / (peak bf16 FLOP/s * MFU),  weight bytes / (HBM B/s * efficiency))
    attention 4 * layers * heads * head_dim FLOP per (query, context) pair of prefill / (peak * MFU)
    KV read   KV bytes per token * context tokens of the decoding sequences / (HBM B/s * efficiency)
    encoder   ViT-L/14-336 FLOP per image / (peak * encoder MFU)
    overhead  fixed per step (scheduling, sampling, launches)
The parts run one after the other, so the step lasts their sum.

Tensor parallelism shards weights and KV over `tp` GPUs; compute and bandwidth grow by
tp * TP_EFFICIENCY_PER_DOUBLING ** log2(tp) (all-reduce cost folded in); the per-step overhead does not shrink.

Frequency f (MHz): compute-bound time scales as f_max / f, memory-bound time as (f_max / f) ** 0.3 (HBM runs on
its own clock; only the SMs issuing loads slow down), the overhead not at all. Power per GPU, per phase:
    P(f) = idle + (P_phase - idle) * (f / f_max) ** 2.4
dynamic power ~ f * V**2 with the voltage falling along the DVFS curve; 2.4 stands in for that curve.
Phase powers: compute-bound parts at `prefill_w`, memory-bound parts at `decode_w` (the linear part is blended
between them by how close it is to the compute roof), the overhead at `idle_w`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from servetrace.errors import UsageError

GpuName = Literal["h100", "a100"]
ModelName = Literal["8b", "13b", "70b"]
TENSOR_PARALLEL = (1, 2, 4, 8)

EMULATED = "EMULATED, not measured: roofline estimate from datasheet peaks and the stated assumptions"
GIB = 1 << 30
BYTES_PER_PARAM = 2  # bf16
PREFILL_MFU = 0.5  # share of peak bf16 FLOP/s that prefill GEMMs and flash attention reach
ENCODER_MFU = 0.4  # a smaller model: less of the peak
DECODE_BW_EFFICIENCY = 0.7  # share of the HBM bandwidth that memory-bound decode reaches
STEP_OVERHEAD_S = 0.003  # per step: scheduler, sampling, kernel launches (CUDA graphs assumed)
MEMORY_UTILIZATION = 0.9  # vLLM's gpu_memory_utilization default
ACTIVATION_RESERVE_BYTES = 3 * GIB  # per GPU: activations at an 8k token budget, CUDA graphs, non-torch memory
TP_EFFICIENCY_PER_DOUBLING = 0.9
MEMORY_FREQUENCY_EXPONENT = 0.3  # memory-bound time ~ (f_max / f) ** 0.3
POWER_FREQUENCY_EXPONENT = 2.4  # dynamic power ~ (f / f_max) ** 2.4
MIN_FREQUENCY_RATIO = 0.3  # below 30% of the maximum clock the scaling model means little
MIN_KV_TOKENS = 8192  # a deployment must hold at least one full 8k context


class KnobError(UsageError, ValueError):
    """A knob value the emulated GPU and model cannot run with (the message names the knob)."""


class Gpu(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: GpuName
    label: str
    peak_bf16_flops: float  # dense, no sparsity
    hbm_bytes: int
    hbm_bytes_per_s: float
    max_mhz: int
    tdp_w: float
    idle_w: float  # P0 with nothing running
    prefill_w: float  # compute-saturated (GEMM-bound prefill)
    decode_w: float  # memory-bound decode
    source: str


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ModelName
    label: str
    params: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    source: str

    @property
    def weight_bytes(self) -> int:
        return self.params * BYTES_PER_PARAM

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * BYTES_PER_PARAM  # K and V, bf16

    @property
    def attention_flops_per_pair(self) -> int:
        return 4 * self.layers * self.heads * self.head_dim  # QK^T and AV, 2 FLOP per multiply-add


class Encoder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    params: int
    tokens: int  # patches + CLS per image
    layers: int
    hidden: int
    source: str

    @property
    def flops_per_image(self) -> float:
        return 2 * self.params * self.tokens + 4 * self.layers * self.hidden * self.tokens**2


_POWER_NOTE = "power figures are estimates (idle at P0, prefill near TDP, decode ~60% of TDP), not measurements"

GPUS: dict[GpuName, Gpu] = {
    "h100": Gpu(
        name="h100",
        label="H100-SXM5-80GB",
        peak_bf16_flops=989.4e12,
        hbm_bytes=80 * GIB,
        hbm_bytes_per_s=3.35e12,
        max_mhz=1980,
        tdp_w=700,
        idle_w=75,
        prefill_w=650,
        decode_w=430,
        source=f"NVIDIA H100 datasheet (SXM5): 989 TFLOP/s dense BF16, 80 GB HBM3 at 3.35 TB/s, 700 W; {_POWER_NOTE}",
    ),
    "a100": Gpu(
        name="a100",
        label="A100-SXM4-80GB",
        peak_bf16_flops=312e12,
        hbm_bytes=80 * GIB,
        hbm_bytes_per_s=2.039e12,
        max_mhz=1410,
        tdp_w=400,
        idle_w=55,
        prefill_w=370,
        decode_w=250,
        source=f"NVIDIA A100 datasheet (SXM4 80GB): 312 TFLOP/s dense BF16, HBM2e at 2.039 TB/s, 400 W; {_POWER_NOTE}",
    ),
}

MODELS: dict[ModelName, Model] = {
    "8b": Model(
        name="8b",
        label="Llama-3-8B",
        params=8_030_261_248,
        layers=32,
        heads=32,
        kv_heads=8,
        head_dim=128,
        source="meta-llama/Meta-Llama-3-8B config: 32 layers, hidden 4096, 32 heads, 8 KV heads (GQA), head_dim 128",
    ),
    "13b": Model(
        name="13b",
        label="Llama-2-13B",
        params=13_015_864_320,
        layers=40,
        heads=40,
        kv_heads=40,
        head_dim=128,
        source="meta-llama/Llama-2-13b-hf config: 40 layers, hidden 5120, 40 heads, 40 KV heads (MHA), head_dim 128",
    ),
    "70b": Model(
        name="70b",
        label="Llama-3-70B",
        params=70_553_706_496,
        layers=80,
        heads=64,
        kv_heads=8,
        head_dim=128,
        source="meta-llama/Meta-Llama-3-70B config: 80 layers, hidden 8192, 64 heads, 8 KV heads (GQA), head_dim 128",
    ),
}

VIT_L14_336 = Encoder(
    label="CLIP ViT-L/14-336",
    params=304_000_000,
    tokens=577,
    layers=24,
    hidden=1024,
    source="CLIP ViT-L/14 at 336 px (LLaVA-1.5's encoder): 24 layers, hidden 1024, 24x24 patches + CLS",
)


def tp_speedup(tensor_parallel: int) -> float:
    """Compute and bandwidth of `tensor_parallel` GPUs relative to one."""
    return tensor_parallel * math.pow(TP_EFFICIENCY_PER_DOUBLING, math.log2(tensor_parallel))


@dataclass(frozen=True)
class StepCost:
    duration_s: float
    energy_j: float

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class OperatingPoint:
    """A profile at one tensor-parallel degree and clock: per-step costs and powers of the whole TP group."""

    tensor_parallel: int
    frequency_mhz: int
    linear_s_per_token: float
    attention_s_per_pair: float
    weight_read_s: float
    kv_read_s_per_token: float
    image_encoder_s: float
    overhead_s: float
    idle_w: float
    prefill_w: float
    decode_w: float

    def step(
        self,
        prefill_tokens: int = 0,
        prefill_pairs: int = 0,
        decode_seqs: int = 0,
        decode_context_tokens: int = 0,
        images: int = 0,
    ) -> StepCost:
        """Cost of one step; `prefill_pairs` counts (query, context) pairs of causal prefill attention."""
        if prefill_tokens + decode_seqs + images == 0:
            return StepCost(0.0, 0.0)
        compute_s = self.linear_s_per_token * (prefill_tokens + decode_seqs)
        linear_s = max(compute_s, self.weight_read_s)
        linear_w = self.decode_w + (self.prefill_w - self.decode_w) * min(1.0, compute_s / self.weight_read_s)
        compute_bound_s = self.attention_s_per_pair * prefill_pairs + self.image_encoder_s * images
        kv_s = self.kv_read_s_per_token * decode_context_tokens
        duration_s = self.overhead_s + linear_s + compute_bound_s + kv_s
        energy_j = self.overhead_s * self.idle_w + linear_s * linear_w
        energy_j += compute_bound_s * self.prefill_w + kv_s * self.decode_w
        return StepCost(duration_s, energy_j)


class Profile(BaseModel):
    """One GPU x model at TP=1 and maximum clock; per GPU for powers. All figures emulated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: GpuName
    model: ModelName
    emulated: Literal[True] = True
    max_mhz: int
    prefill_s_per_token: float  # linear layers, compute-bound
    attention_s_per_pair: float  # prefill attention per (query, context) pair
    weight_read_s: float  # one pass over the weights, memory-bound
    kv_read_s_per_token: float  # decode attention per context token
    image_encoder_s: float
    step_overhead_s: float
    weight_bytes: int
    kv_bytes_per_token: int
    kv_heads: int
    usable_bytes_per_gpu: int  # HBM x utilization - activation reserve: weights and KV share it
    idle_w: float
    prefill_w: float
    decode_w: float
    derivation: str

    def kv_capacity_tokens(self, tensor_parallel: int = 1) -> int:
        """KV tokens the TP group holds; raises KnobError when the model does not fit."""
        self._check_tensor_parallel(tensor_parallel)
        free_bytes = tensor_parallel * self.usable_bytes_per_gpu - self.weight_bytes
        tokens = max(0, free_bytes // self.kv_bytes_per_token)
        if tokens < MIN_KV_TOKENS:
            raise KnobError(self._does_not_fit(tensor_parallel, tokens))
        return tokens

    def at(self, tensor_parallel: int = 1, frequency_mhz: int | None = None) -> OperatingPoint:
        """Costs and powers at a TP degree and clock (None: the maximum clock)."""
        self._check_tensor_parallel(tensor_parallel)
        mhz = self.max_mhz if frequency_mhz is None else frequency_mhz
        if not MIN_FREQUENCY_RATIO * self.max_mhz <= mhz <= self.max_mhz:
            low = math.ceil(MIN_FREQUENCY_RATIO * self.max_mhz)
            raise KnobError(f"frequency_mhz={mhz}: the emulated {self.gpu} runs from {low} to {self.max_mhz} MHz")
        ratio = mhz / self.max_mhz
        compute = 1 / (tp_speedup(tensor_parallel) * ratio)
        memory = 1 / (tp_speedup(tensor_parallel) * ratio**MEMORY_FREQUENCY_EXPONENT)
        dynamic = ratio**POWER_FREQUENCY_EXPONENT
        return OperatingPoint(
            tensor_parallel=tensor_parallel,
            frequency_mhz=mhz,
            linear_s_per_token=self.prefill_s_per_token * compute,
            attention_s_per_pair=self.attention_s_per_pair * compute,
            weight_read_s=self.weight_read_s * memory,
            kv_read_s_per_token=self.kv_read_s_per_token * memory,
            image_encoder_s=self.image_encoder_s * compute,
            overhead_s=self.step_overhead_s,
            idle_w=tensor_parallel * self.idle_w,
            prefill_w=tensor_parallel * (self.idle_w + (self.prefill_w - self.idle_w) * dynamic),
            decode_w=tensor_parallel * (self.idle_w + (self.decode_w - self.idle_w) * dynamic),
        )

    def _check_tensor_parallel(self, tensor_parallel: int) -> None:
        if tensor_parallel not in TENSOR_PARALLEL or self.kv_heads % tensor_parallel:
            raise KnobError(f"tensor_parallel={tensor_parallel}: must be one of {TENSOR_PARALLEL} dividing KV heads")

    def _does_not_fit(self, tensor_parallel: int, tokens: int) -> str:
        min_bytes = MIN_KV_TOKENS * self.kv_bytes_per_token
        need = [tp for tp in TENSOR_PARALLEL if tp * self.usable_bytes_per_gpu - self.weight_bytes >= min_bytes]
        hint = f"raise tensor_parallel to >= {need[0]}" if need else "no tensor_parallel value fits it"
        return (
            f"tensor_parallel={tensor_parallel}: model {self.model} ({self.weight_bytes / 1e9:.1f} GB of bf16 weights) "
            f"leaves room for {tokens} KV tokens on {tensor_parallel} x {self.gpu} (at least {MIN_KV_TOKENS} needed); "
            f"{hint}"
        )


def derive(gpu: Gpu, model: Model, encoder: Encoder = VIT_L14_336) -> Profile:
    """The profile of `model` on one `gpu`, with its derivation written out."""
    flops = gpu.peak_bf16_flops * PREFILL_MFU
    bandwidth = gpu.hbm_bytes_per_s * DECODE_BW_EFFICIENCY
    usable = int(gpu.hbm_bytes * MEMORY_UTILIZATION) - ACTIVATION_RESERVE_BYTES
    prefill_s = 2 * model.params / flops
    pair_s = model.attention_flops_per_pair / flops
    weight_s = model.weight_bytes / bandwidth
    kv_s = model.kv_bytes_per_token / bandwidth
    image_s = encoder.flops_per_image / (gpu.peak_bf16_flops * ENCODER_MFU)
    kv_tokens = (usable - model.weight_bytes) // model.kv_bytes_per_token
    derivation = "\n".join(
        [
            f"{EMULATED}. {model.label} (bf16) on {gpu.label}, TP=1, {gpu.max_mhz} MHz.",
            f"GPU: {gpu.source}. Model: {model.source}. Encoder: {encoder.source}.",
            f"prefill: 2 x {model.params:.3e} params / ({gpu.peak_bf16_flops / 1e12:.1f} TFLOP/s x MFU {PREFILL_MFU})"
            f" = {prefill_s * 1e6:.2f} us/token;",
            f"  attention: 4 x {model.layers} layers x {model.heads} heads x {model.head_dim} = "
            f"{model.attention_flops_per_pair} FLOP per (query, context) pair"
            f" = {pair_s * 1e9:.3f} ns/pair.",
            f"decode: {model.weight_bytes / 1e9:.2f} GB weights / ({gpu.hbm_bytes_per_s / 1e12:.3f} TB/s x "
            f"{DECODE_BW_EFFICIENCY}) = {weight_s * 1e3:.2f} ms per step (the linear part is "
            f"max(this, tokens x prefill cost)) + KV read {kv_s * 1e9:.1f} ns per context "
            f"token + {STEP_OVERHEAD_S * 1e3:.0f} ms overhead per step.",
            f"KV: 2 x {model.layers} layers x {model.kv_heads} KV heads x {model.head_dim} x 2 B = "
            f"{model.kv_bytes_per_token} B/token; capacity = (TP x ({gpu.hbm_bytes / GIB:.0f} GiB x "
            f"{MEMORY_UTILIZATION} - {ACTIVATION_RESERVE_BYTES / GIB:.0f} GiB reserve) - weights) / B per token"
            f" = {kv_tokens} tokens at TP=1 (fits when >= {MIN_KV_TOKENS}).",
            f"image encoder: {encoder.flops_per_image / 1e12:.3f} TFLOP per image / (peak x MFU {ENCODER_MFU})"
            f" = {image_s * 1e3:.2f} ms.",
            f"TP: compute and bandwidth x tp x {TP_EFFICIENCY_PER_DOUBLING}^log2(tp); overhead unchanged.",
            f"frequency: compute-bound time x f_max/f, memory-bound x (f_max/f)^{MEMORY_FREQUENCY_EXPONENT}; power "
            f"per GPU idle {gpu.idle_w:.0f} W, prefill {gpu.prefill_w:.0f} W, decode {gpu.decode_w:.0f} W, "
            f"P(f) = idle + (P - idle) x (f/f_max)^{POWER_FREQUENCY_EXPONENT}.",
        ]
    )
    return Profile(
        gpu=gpu.name,
        model=model.name,
        max_mhz=gpu.max_mhz,
        step_overhead_s=STEP_OVERHEAD_S,
        weight_bytes=model.weight_bytes,
        kv_bytes_per_token=model.kv_bytes_per_token,
        kv_heads=model.kv_heads,
        usable_bytes_per_gpu=usable,
        idle_w=gpu.idle_w,
        prefill_w=gpu.prefill_w,
        decode_w=gpu.decode_w,
        prefill_s_per_token=prefill_s,
        attention_s_per_pair=pair_s,
        weight_read_s=weight_s,
        kv_read_s_per_token=kv_s,
        image_encoder_s=image_s,
        derivation=derivation,
    )


PROFILES: dict[tuple[str, str], Profile] = {
    (gpu.name, model.name): derive(gpu, model) for gpu in GPUS.values() for model in MODELS.values()
}


def get_profile(gpu: str, model: str) -> Profile:
    """The profile of a GPU and model by name; raises KnobError naming the unknown one."""
    if gpu not in GPUS:
        raise KnobError(f"gpu={gpu!r}: emulated GPUs are {', '.join(GPUS)}")
    if model not in MODELS:
        raise KnobError(f"model={model!r}: emulated models are {', '.join(MODELS)}")
    return PROFILES[(gpu, model)]

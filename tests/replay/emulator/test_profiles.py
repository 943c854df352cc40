"""Emulated profiles: known shapes, plausible ranges, and clear errors for deployments that do not fit."""

from __future__ import annotations

import pytest

from servetrace.replay.emulator import GPUS, MODELS, PROFILES, KnobError, get_profile
from servetrace.replay.emulator.profiles import MIN_KV_TOKENS, POWER_FREQUENCY_EXPONENT, tp_speedup

H100_8B = get_profile("h100", "8b")


def decode_s(gpu: str, model: str, batch: int, context_tokens: int = 1024, tp: int = 1) -> float:
    return (
        get_profile(gpu, model).at(tp).step(decode_seqs=batch, decode_context_tokens=batch * context_tokens).duration_s
    )


def prefill_s(gpu: str, model: str, tokens: int, tp: int = 1) -> float:
    point = get_profile(gpu, model).at(tp)
    return point.step(prefill_tokens=tokens, prefill_pairs=tokens * (tokens + 1) // 2).duration_s


def test_kv_bytes_per_token_from_real_shapes() -> None:
    # 2 (K, V) x layers x KV heads x head_dim x 2 bytes
    assert MODELS["8b"].kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    assert MODELS["13b"].kv_bytes_per_token == 2 * 40 * 40 * 128 * 2 == 819_200
    assert MODELS["70b"].kv_bytes_per_token == 2 * 80 * 8 * 128 * 2 == 327_680
    assert {p.kv_bytes_per_token for p in PROFILES.values()} == {131_072, 819_200, 327_680}


def test_every_profile_is_labelled_emulated_with_its_derivation() -> None:
    assert len(PROFILES) == 6
    for profile in PROFILES.values():
        assert profile.emulated is True
        assert "EMULATED, not measured" in profile.derivation
        gpu, model = GPUS[profile.gpu], MODELS[profile.model]
        assert gpu.label in profile.derivation and model.label in profile.derivation
        assert gpu.source and model.source
        assert f"{profile.kv_bytes_per_token} B/token" in profile.derivation


def test_8b_on_h100_in_plausible_ranges() -> None:
    assert 0.006 <= decode_s("h100", "8b", 1) <= 0.015
    assert decode_s("h100", "8b", 1) < decode_s("h100", "8b", 64) < 0.030
    assert 0.020 <= prefill_s("h100", "8b", 1000) <= 0.060  # ms per 1k prompt tokens
    assert 200_000 <= H100_8B.kv_capacity_tokens() <= 1_000_000
    assert 0.0003 <= H100_8B.image_encoder_s <= 0.005
    gpu = GPUS["h100"]
    assert 40 <= gpu.idle_w < gpu.decode_w < gpu.prefill_w <= gpu.tdp_w


def test_prefill_per_token_is_two_flops_per_param_at_half_peak() -> None:
    assert H100_8B.prefill_s_per_token == pytest.approx(2 * 8.03e9 / (989.4e12 * 0.5), rel=1e-3)
    assert H100_8B.weight_read_s == pytest.approx(2 * 8.03e9 / (3.35e12 * 0.7), rel=1e-3)


def test_70b_needs_tensor_parallel_on_80gb() -> None:
    for gpu in ("h100", "a100"):
        profile = get_profile(gpu, "70b")
        with pytest.raises(KnobError, match=r"tensor_parallel=1.*raise tensor_parallel to >= 2"):
            profile.kv_capacity_tokens(1)
        assert MIN_KV_TOKENS <= profile.kv_capacity_tokens(2) < profile.kv_capacity_tokens(4)
    assert isinstance(KnobError("x"), ValueError)


def test_kv_capacity_grows_with_tensor_parallel_beyond_proportion() -> None:
    # each GPU holds 1/TP of the weights: more room per GPU for KV
    one, two = H100_8B.kv_capacity_tokens(1), H100_8B.kv_capacity_tokens(2)
    assert two > 2 * one


def test_h100_faster_than_a100_for_every_model() -> None:
    for model, tp in (("8b", 1), ("13b", 1), ("70b", 2)):
        assert decode_s("h100", model, 1, tp=tp) < decode_s("a100", model, 1, tp=tp)
        assert decode_s("h100", model, 64, tp=tp) < decode_s("a100", model, 64, tp=tp)
        assert prefill_s("h100", model, 2048, tp=tp) < prefill_s("a100", model, 2048, tp=tp)


def test_bigger_models_are_slower() -> None:
    for gpu in ("h100", "a100"):
        assert decode_s(gpu, "8b", 1) < decode_s(gpu, "13b", 1) < decode_s(gpu, "70b", 1, tp=2) * 2


def test_frequency_scales_compute_and_power() -> None:
    full, half = H100_8B.at(1), H100_8B.at(1, 990)
    assert half.linear_s_per_token == pytest.approx(2 * full.linear_s_per_token)
    assert full.weight_read_s < half.weight_read_s < 1.3 * full.weight_read_s  # memory-bound: weaker
    assert half.overhead_s == full.overhead_s
    dynamic = 0.5**POWER_FREQUENCY_EXPONENT
    assert half.prefill_w == pytest.approx(75 + (650 - 75) * dynamic)
    assert half.idle_w == full.idle_w < half.decode_w < full.decode_w


def test_tensor_parallel_speedup_and_power() -> None:
    assert tp_speedup(1) == 1 and tp_speedup(2) == pytest.approx(1.8) and tp_speedup(4) == pytest.approx(3.24)
    one, two = H100_8B.at(1), H100_8B.at(2)
    assert two.weight_read_s == pytest.approx(one.weight_read_s / 1.8)
    assert two.idle_w == 2 * one.idle_w and two.prefill_w == 2 * one.prefill_w


@pytest.mark.parametrize(
    ("call", "knob"),
    [
        (lambda: H100_8B.at(1, 2500), "frequency_mhz=2500"),
        (lambda: H100_8B.at(1, 100), "frequency_mhz=100"),
        (lambda: H100_8B.at(3), "tensor_parallel=3"),
        (lambda: get_profile("b200", "8b"), "gpu='b200'"),
        (lambda: get_profile("h100", "405b"), "model='405b'"),
    ],
)
def test_bad_knobs_raise_naming_the_knob(call: object, knob: str) -> None:
    with pytest.raises(KnobError, match=knob):
        call()  # type: ignore[operator]


def test_step_energy_is_sum_of_phases() -> None:
    point = H100_8B.at(1)
    cost = point.step(prefill_tokens=100, prefill_pairs=5050, decode_seqs=3, decode_context_tokens=300, images=1)
    linear_s = max(103 * point.linear_s_per_token, point.weight_read_s)
    expected_s = point.overhead_s + linear_s + 5050 * point.attention_s_per_pair
    expected_s += point.image_encoder_s + 300 * point.kv_read_s_per_token
    assert cost.duration_s == pytest.approx(expected_s)
    assert point.idle_w < cost.power_w < point.prefill_w
    assert point.step().duration_s == 0 and point.step().power_w == 0

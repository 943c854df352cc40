"""The emulated continuous-batching engine: known answers computed by hand from the profile."""

from __future__ import annotations

import statistics

import pytest

from servetrace.replay.emulator import Engine, KnobError, Knobs, Request, Simulation, StepResult, get_profile, simulate

H100_8B = get_profile("h100", "8b")


def sim(requests: list[Request], **knobs: object) -> Simulation:
    k = Knobs.model_validate(knobs)
    return simulate(requests, k.profile(), k)


def burst(count: int, input_tokens: int, output_tokens: int, images: int = 0) -> list[Request]:
    return [Request(f"r{i}", 0.0, input_tokens, output_tokens, images) for i in range(count)]


def drain(engine: Engine, now_s: float = 0.0) -> list[StepResult]:
    results = []
    while not engine.done:
        if engine.idle:
            now_s = max(now_s, engine.next_arrival_s() or now_s)
        result = engine.step(now_s)
        results.append(result)
        now_s = result.end_s
    return results


def test_single_request_ttft_is_its_prefill_and_tpot_one_decode_step() -> None:
    n, m, arrival_s = 512, 20, 5.0
    p = H100_8B
    prefill_s = (
        p.step_overhead_s + max(n * p.prefill_s_per_token, p.weight_read_s) + p.attention_s_per_pair * n * (n + 1) / 2
    )
    # decode step k reads the KV of the prompt and the k tokens written so far
    steps_s = [
        p.step_overhead_s + max(p.prefill_s_per_token, p.weight_read_s) + p.kv_read_s_per_token * (n + k)
        for k in range(1, m)
    ]
    (r,) = sim([Request("a", arrival_s, n, m)]).requests
    assert r.queue_s == 0
    assert r.ttft_s == pytest.approx(prefill_s, rel=1e-12)
    assert r.tpot_s == pytest.approx(statistics.mean(steps_s), rel=1e-12)
    assert r.e2e_s == pytest.approx(prefill_s + sum(steps_s), rel=1e-12)
    assert r.tpot_s is not None and 0.009 < r.tpot_s < 0.011 and not r.preempted


def test_single_output_token_has_no_tpot() -> None:
    (r,) = sim([Request("a", 0.0, 100, 1)]).requests
    assert r.tpot_s is None and r.e2e_s == r.ttft_s


def test_chunked_prefill_splits_the_prompt_by_the_token_budget() -> None:
    p, n, budget = H100_8B, 10_000, 4096
    expected_s, done = 0.0, 0
    for chunk in (4096, 4096, 1808):
        pairs = chunk * done + chunk * (chunk + 1) // 2
        expected_s += (
            p.step_overhead_s + max(chunk * p.prefill_s_per_token, p.weight_read_s) + pairs * p.attention_s_per_pair
        )
        done += chunk
    result = sim([Request("a", 0.0, n, 1)], max_num_batched_tokens=budget)
    assert result.steps == 3
    assert result.requests[0].ttft_s == pytest.approx(expected_s, rel=1e-12)


def test_throughput_rises_with_batch_size_and_per_token_latency_grows() -> None:
    throughput, tpot = [], []
    for batch in (1, 8, 64):
        result = sim(burst(batch, 128, 64))
        throughput.append(batch * 64 / result.duration_s)
        tpot.append(statistics.mean(r.tpot_s or 0 for r in result.requests))
    assert throughput == sorted(throughput) and throughput[2] > 20 * throughput[0]
    assert tpot == sorted(tpot) and tpot[0] < tpot[2]


def test_burst_beyond_max_num_seqs_queues_in_fcfs_order() -> None:
    result = sim(burst(10, 256, 32), max_num_seqs=4)
    queue = [r.queue_s for r in result.requests]
    first_token = [r.arrival_s + r.ttft_s for r in result.requests]
    assert queue[:4] == [0.0] * 4 and all(q > 0 for q in queue[4:])
    assert queue == sorted(queue) and first_token == sorted(first_token)
    assert queue[8] > queue[4] > 0  # third wave waits for two


def test_waiting_and_running_counters() -> None:
    knobs = Knobs(max_num_seqs=4)
    engine = Engine(H100_8B, knobs)
    for r in burst(10, 256, 32):
        engine.submit(r.request_id, r.arrival_s, r.input_tokens, r.output_tokens)
    first = engine.step(0.0)
    assert first.admitted == ["r0", "r1", "r2", "r3"] and first.prefill_tokens == 4 * 256
    assert (first.counters.running, first.counters.waiting, first.counters.kv_used_tokens) == (4, 6, 4 * 256)
    results = [first, *drain(engine, first.end_s)]
    end = results[-1].counters
    assert (end.running, end.waiting, end.kv_used_tokens, end.preemptions_total) == (0, 0, 0, 0)
    assert end.generation_tokens_total == 320 and end.prompt_tokens_total == 2560 and end.requests_finished_total == 10


def test_decode_takes_the_token_budget_first() -> None:
    engine = Engine(H100_8B, Knobs(max_num_seqs=4, max_num_batched_tokens=16))
    for i in range(3):
        engine.submit(f"d{i}", 0.0, 5, 1000)
    engine.submit("late", 1.0, 100, 2)
    now_s = 0.0
    while now_s < 1.0:
        now_s = engine.step(now_s).end_s
    step = engine.step(now_s)
    assert (step.decode_seqs, step.prefill_tokens, step.admitted) == (3, 13, ["late"])
    assert engine.step(step.end_s).prefill_tokens == 13


def test_small_kv_capacity_forces_preemption_and_every_request_completes() -> None:
    knobs = Knobs(kv_capacity_tokens=600)
    engine = Engine(H100_8B, knobs)
    outputs = {f"r{i}": 150 + 10 * i for i in range(6)}
    for request_id, output_tokens in outputs.items():
        engine.submit(request_id, 0.0, 100, output_tokens)
    results = drain(engine)
    emitted = dict.fromkeys(outputs, 0)
    for result in results:
        assert result.counters.kv_used_tokens <= 600
        for request_id, count in result.tokens.items():
            emitted[request_id] += count
    assert emitted == outputs
    end = results[-1].counters
    assert end.preemptions_total > 0 and end.prompt_tokens_total > 600 and end.kv_used_tokens == 0
    assert end.generation_tokens_total == sum(outputs.values())
    preempted = {request_id for result in results for request_id in result.preempted}
    assert "r0" not in preempted  # the most recently admitted goes first
    summary = sim([Request(i, 0.0, 100, o) for i, o in outputs.items()], kv_capacity_tokens=600).requests
    assert any(r.preempted for r in summary) and all(r.e2e_s > r.ttft_s > 0 for r in summary)


def test_lower_frequency_lengthens_prefill_in_proportion_and_lowers_power() -> None:
    request = [Request("a", 0.0, 2048, 1)]
    full, half = sim(request), sim(request, frequency_mhz=990)
    overhead_s = H100_8B.step_overhead_s
    ratio = (half.requests[0].ttft_s - overhead_s) / (full.requests[0].ttft_s - overhead_s)
    assert ratio == pytest.approx(2.0, rel=1e-9)  # compute-bound: time ~ 1/f
    assert half.power[0].power_w < 0.5 * full.power[0].power_w
    decode_full, decode_half = sim([Request("a", 0.0, 16, 50)]), sim([Request("a", 0.0, 16, 50)], frequency_mhz=990)
    tpot_ratio = (decode_half.requests[0].tpot_s or 0) / (decode_full.requests[0].tpot_s or 1)
    assert 1.0 < tpot_ratio < 1.3  # memory-bound decode barely slows


def test_tensor_parallel_lowers_per_token_time_not_by_half_and_raises_power() -> None:
    request = [Request("a", 0.0, 512, 64)]
    one, two = sim(request), sim(request, tensor_parallel=2)
    tpot_one, tpot_two = one.requests[0].tpot_s or 0, two.requests[0].tpot_s or 0
    assert tpot_one / 2 < tpot_two < tpot_one
    assert two.energy_j / two.duration_s > one.energy_j / one.duration_s


def test_energy_is_the_integral_of_power_over_steps_and_idle_gaps() -> None:
    requests = [Request("a", 1.0, 300, 10), Request("b", 3.0, 300, 10)]
    knobs = Knobs()
    result = simulate(requests, H100_8B, knobs)
    engine = Engine(H100_8B, knobs)
    for r in requests:
        engine.submit(r.request_id, r.arrival_s, r.input_tokens, r.output_tokens)
    steps = drain(engine, 1.0)
    assert all(s.energy_j == pytest.approx(s.power_w * s.duration_s) for s in steps)
    gap_s = 3.0 - steps[9].end_s
    idle_w = H100_8B.at().idle_w
    assert result.energy_j == pytest.approx(sum(s.energy_j for s in steps) + gap_s * idle_w, rel=1e-12)
    assert result.energy_j == pytest.approx(sum(p.power_w * p.duration_s for p in result.power), rel=1e-12)
    starts = [p.start_s for p in result.power]
    ends = [p.start_s + p.duration_s for p in result.power]
    assert starts[0] == 1.0 and starts[1:] == pytest.approx(ends[:-1])
    assert any(p.power_w == idle_w for p in result.power)


def test_h100_faster_than_a100_for_the_same_model() -> None:
    requests = burst(16, 1024, 64)
    h100, a100 = sim(requests, gpu="h100"), sim(requests, gpu="a100")
    for fast, slow in zip(h100.requests, a100.requests, strict=True):
        assert fast.ttft_s < slow.ttft_s and (fast.tpot_s or 0) < (slow.tpot_s or 0)
    assert h100.duration_s < a100.duration_s


def test_images_add_encoder_time_to_ttft() -> None:
    plain, with_images = sim([Request("a", 0.0, 1200, 4)]), sim([Request("a", 0.0, 1200, 4, images=2)])
    extra_s = with_images.requests[0].ttft_s - plain.requests[0].ttft_s
    assert extra_s == pytest.approx(2 * H100_8B.image_encoder_s, rel=1e-9)
    assert with_images.requests[0].tpot_s == pytest.approx(plain.requests[0].tpot_s)


def test_simulation_is_deterministic() -> None:
    requests = [Request(f"r{i}", 0.01 * (i % 7) + 0.1 * i, 50 + 37 * i, 5 + 3 * i, i % 2) for i in range(40)]
    assert sim(requests, max_num_seqs=8) == sim(requests, max_num_seqs=8)


def test_70b_on_one_gpu_raises_naming_tensor_parallel() -> None:
    knobs = Knobs(model="70b")
    with pytest.raises(KnobError, match="tensor_parallel=1"):
        Engine(knobs.profile(), knobs)
    two = Knobs(model="70b", tensor_parallel=2)
    assert sim([Request("a", 0.0, 100, 3)], model="70b", tensor_parallel=2).requests[0].ttft_s > 0
    assert Engine(two.profile(), two).kv_capacity_tokens > 8192


def test_invalid_knobs_and_requests() -> None:
    with pytest.raises(ValueError, match="max_num_batched_tokens"):
        Knobs(max_num_seqs=512, max_num_batched_tokens=256)
    with pytest.raises(ValueError, match="tensor_parallel"):
        Knobs(tensor_parallel=3)  # type: ignore[arg-type]
    with pytest.raises(KnobError, match="gpu='a100'"):
        Engine(H100_8B, Knobs(gpu="a100"))
    with pytest.raises(KnobError, match="frequency_mhz"):
        Engine(H100_8B, Knobs(frequency_mhz=3000))
    engine = Engine(H100_8B, Knobs(kv_capacity_tokens=1000))
    engine.submit("a", 0.0, 10, 10)
    with pytest.raises(ValueError, match="already submitted"):
        engine.submit("a", 0.0, 10, 10)
    with pytest.raises(ValueError, match="output_tokens >= 1"):
        engine.submit("b", 0.0, 10, 0)
    with pytest.raises(KnobError, match="kv_capacity_tokens=1000"):
        engine.submit("c", 0.0, 900, 101)

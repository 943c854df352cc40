"""fit, generate and fidelity through the installed command, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import AZURE_2023
from tests.test_cli import run


def test_fit_generate_fidelity_end_to_end(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run(store, "ingest", str(AZURE_2023 / "AzureLLMInferenceTrace_conv.csv"), "--name", "conv").returncode == 0
    fitted = run(store, "fit", "conv", "-o", str(tmp_path / "m.json"))
    assert fitted.returncode == 0 and "(chosen)" in fitted.stdout
    model = json.loads((tmp_path / "m.json").read_text())
    assert model["servetrace_model"] == 1 and model["source"]["trace"] == "conv"
    gen = run(store, "generate", str(tmp_path / "m.json"), "--name", "syn", "--duration", "30m", "--seed", "7")
    assert gen.returncode == 0 and "seed 7" in gen.stdout
    meta = run(store, "sql", "SELECT json_extract(meta, '$.generator.seed') AS seed FROM traces WHERE name = 'syn'",
               "--format", "csv")  # fmt: skip
    assert meta.stdout.split() == ["seed", "7"]
    fid = run(store, "fidelity", "syn", "conv", "--model", str(tmp_path / "m.json"), "--report",
              str(tmp_path / "f.html"))  # fmt: skip
    assert fid.returncode == 0 and "input_tokens KS <= 0.03: pass" in fid.stdout
    assert "<svg" in (tmp_path / "f.html").read_text() and json.loads((tmp_path / "f.json").read_text())["targets"]


def test_bad_model_file_and_options_are_one_line_errors(tmp_path: Path) -> None:
    store = tmp_path / "store"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"servetrace_model": 2}))
    r = run(store, "generate", str(bad), "--name", "x")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "servetrace_model" in r.stderr
    r = run(store, "generate", str(bad), "--name", "x", "--duration", "soon")
    assert r.returncode == 2 and "--duration" in r.stderr
    r = run(store, "fit", "nothing", "-o", str(tmp_path / "m.json"))
    assert r.returncode != 0 and "nothing" in r.stderr and r.stderr.count("\n") == 1


def test_import_servegen_then_generate(tmp_path: Path) -> None:
    from tests.conftest import SHARED

    store = tmp_path / "store"
    folder = SHARED / "traces" / "servegen" / "reason" / "deepseek-r1"
    r = run(store, "import-servegen", str(folder), "--top", "2", "-o", str(tmp_path / "r1.json"))
    assert r.returncode == 0 and r.stdout.startswith("2 clients")
    gen = run(store, "generate", str(tmp_path / "r1.json"), "--name", "r1", "--duration", "10m")
    assert gen.returncode == 0
    q = run(store, "sql", "SELECT count(DISTINCT client) AS c, bool_and(reasoning_tokens <= output_tokens) AS ok "
            "FROM requests WHERE trace = 'r1'", "--format", "csv")  # fmt: skip
    assert q.stdout.split() == ["c,ok", "2,True"]

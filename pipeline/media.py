"""The media folder: artifacts stored under content-hash names, written atomically."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from pathlib import Path


class MediaStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, suffix: str, extension: str) -> str:
        """Store bytes as `<hash>_<suffix>.<ext>` (like the seed's `e5tXJC_rc-At_hero.png`)."""
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()[:12]
        name = f"{digest}_{suffix}.{extension}"
        target = self.folder / name
        if not target.exists():
            # A name of its own per write: two steps may store the same bytes at once.
            temp = self.folder / f".{name}.{uuid.uuid4().hex}.tmp"
            temp.write_bytes(data)
            os.replace(temp, target)
        return name

    def path(self, name: str) -> Path:
        return self.folder / name

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

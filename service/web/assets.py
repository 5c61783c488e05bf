"""Static files served from memory: read, hashed and gzipped once at start-up."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    digest: str  # content hash: the pinned file name and the ETag

    @classmethod
    def load(cls, name: str = "embed.js") -> Asset:
        body = resources.files("service.web").joinpath(f"static/{name}").read_bytes()
        # mtime=0: the same bytes on every start and every replica.
        return cls(body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:12])

    @property
    def pinned_path(self) -> str:
        return f"/embed.{self.digest}.js"

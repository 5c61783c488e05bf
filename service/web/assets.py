"""Static files served from memory: read, hashed and gzipped once at start-up."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

# The widget's parts that embed.js imports on demand, as static/embed-<part>.js: the reader's
# own actions (form), live updates (live) and the languages other than English.
PARTS = ("form", "live", "de", "es", "fr", "ru", "zh")
# Where embed.js keeps the parts' pinned names; filled in as the file is loaded.
PARTS_MARK = b"const PARTS = {};"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    digest: str  # content hash: the pinned file name and the ETag

    @classmethod
    def load(cls, name: str = "embed.js") -> Asset:
        return cls.of(resources.files("service.web").joinpath(f"static/{name}").read_bytes())

    @classmethod
    def of(cls, body: bytes) -> Asset:
        # mtime=0: the same bytes on every start and every replica.
        return cls(body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:12])


@dataclass(frozen=True, slots=True)
class Widget:
    """embed.js, and the parts it loads later by their pinned names: a page that pins
    embed.<hash>.js always gets the parts that version was made with."""

    embed: Asset
    parts: Mapping[str, Asset]

    @classmethod
    def load(cls) -> Widget:
        parts = {name: Asset.load(f"embed-{name}.js") for name in PARTS}
        source = Asset.load().body
        if source.count(PARTS_MARK) != 1:
            raise RuntimeError("embed.js lost its `const PARTS = {};` line")
        pinned = json.dumps({name: f"{name}.{asset.digest}" for name, asset in parts.items()})
        body = source.replace(PARTS_MARK, b"const PARTS = " + pinned.encode() + b";")
        return cls(Asset.of(body), parts)

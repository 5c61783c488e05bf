"""Other comment systems' exports, read safely and streamed; this service's own written out.

Readers (one module per source) turn a file into SourceThread and SourceComment records
(model.py) and nothing else: no Redis, no decisions. plan.py decides, the same way for every
source, what is kept and how; service/store/imports.py writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from service.core.formats import disqus, isso, remark42, wordpress
from service.core.formats.model import Item

Reader = Callable[[Path], Iterator[Item]]
READERS: dict[str, Reader] = {
    "wordpress": wordpress.read,
    "disqus": disqus.read,
    "isso": isso.read,
    "remark42": remark42.read,
}
# How each source names itself to people (summaries, moderators' reasons).
NAMES = {"wordpress": "WordPress", "disqus": "Disqus", "isso": "Isso", "remark42": "Remark42"}

"""Charts: Vega-Lite specs rendered to SVG on the server by vl-convert (offline: no
JavaScript, no CDN), so a page, a saved report and a screenshot all show the same."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

WIDTH, HEIGHT = 420, 220
_CACHE: dict[str, str] = {}
_CACHE_SIZE = 256
_LOCK = threading.Lock()


def svg(spec: dict[str, Any], *, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The chart as an inline <svg> element. Identical specs are rendered once."""
    full = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "height": height,
        "config": {"font": "DejaVu Sans", "view": {"stroke": None}},
        **spec,
    }
    key = hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    import vl_convert as vlc  # heavy driver: imported on first use

    rendered = vlc.vegalite_to_svg(full)
    rendered = rendered[rendered.index("<svg") :]  # drop the XML prologue for inlining
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = rendered
    return rendered

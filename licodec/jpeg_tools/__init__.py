"""Learned tools that make standard JPEG files better and keep the standard decoder.

- :mod:`~licodec.jpeg_tools.qtables`: learned quantisation tables;
- :mod:`~licodec.jpeg_tools.prefilter`: a pre-filter applied before the encoder;
- :mod:`~licodec.jpeg_tools.postfilter`: a bank of post-filters chosen per block, signalled in the file;
- :mod:`~licodec.jpeg_tools.jpeg_proxy`: a differentiable JPEG the pre-filter is trained through.

Their training lives in :mod:`licodec.train`; their weights beside the models' (:mod:`licodec.storage`).
"""

from __future__ import annotations

from licodec.storage import WEIGHTS_DIR

TOOL_KINDS = {
    "qtables-": ("learned quantisation tables", "--tables {name}"),
    "postfilter-": ("post-filter bank", "--postfilter {name}; licodec postfilter --filters {name}"),
    "prefilter-": ("pre-filter", "--prefilter {name}"),
}
"""Each tool's file-name prefix in the weights folder: what it is and the ``licodec jpeg`` option that uses it."""


def installed_jpeg_tools() -> list[dict]:
    """The learned JPEG tools in the package's weights folder, by their file-name prefix."""
    tools = []
    for path in sorted(WEIGHTS_DIR.glob("*")):
        for prefix, (kind, option) in TOOL_KINDS.items():
            if path.name.startswith(prefix) and path.suffix in (".json", ".safetensors"):
                tools.append({"name": path.stem, "kind": kind, "option": option.format(name=path.stem)})
    return tools

"""Write evaluation results: CompressAI-layout JSON per codec, per-image CSV, BD-rate Markdown, RD plots."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from licodec.eval.bdrate import bd_rate
from licodec.eval.codecs import resolve
from licodec.eval.quality_metrics import QUALITY_METRICS
from licodec.eval.runner import Measurement, average_curve, write_rows_csv

METRICS = {"psnr-rgb": "PSNR (dB, RGB)", "ms-ssim-rgb": "MS-SSIM (RGB)"}


def load_reference(path: Path) -> dict:
    """A published curve in CompressAI's layout: ``results`` holds ``bpp`` and at least one of :data:`METRICS`, lists of one length.

    Anything else is a ``ValueError`` naming what is wrong, so a bad file is refused before any measuring.
    """
    data = json.loads(Path(path).read_text())
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict) or "bpp" not in results or not any(m in results for m in METRICS):
        raise ValueError(f"expected 'results' with 'bpp' and {' or '.join(map(repr, METRICS))} (CompressAI's layout)")
    curves = {key: results[key] for key in ("bpp", *METRICS) if key in results}
    for key, values in curves.items():
        numeric = isinstance(values, list) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        if not numeric or len(values) != len(curves["bpp"]) or len(values) < 2:
            raise ValueError(f"'{key}' must list at least two finite numbers, as many as 'bpp'")
    if any(b <= 0 for b in curves["bpp"]):
        raise ValueError("'bpp' must be positive")
    return {"name": str(data.get("name", Path(path).stem)), "results": results}


def write_report(results: dict[str, list[Measurement]], out_dir: Path, anchor: str, references: list[dict] | None = None) -> dict[str, dict]:
    """Write all outputs; returns the averaged curves by codec name."""
    curves = {name: average_curve(rows) for name, rows in results.items()}
    for name, curve in curves.items():
        payload = {"name": name, "description": resolve(name).description, "results": curve}
        (out_dir / curve_file_name(name)).write_text(json.dumps(payload, indent=2))
    write_rows_csv(results, out_dir / "per_image.csv")
    (out_dir / "bd_rate.md").write_text(bd_rate_table(curves, anchor, references or []))
    for metric, label in {**METRICS, **_quality_metric_labels(curves)}.items():
        plot(curves, references or [], metric, label, out_dir / f"rd_{metric}.png")
    return curves


def _quality_metric_labels(curves: dict[str, dict]) -> dict[str, str]:
    """Labels of the optional quality metrics every curve has (lower-is-better ones say so)."""
    names = set.intersection(*(set(curve) for curve in curves.values())) if curves else set()
    return {
        name: metric.label + ("" if metric.higher_is_better else ", lower is better") for name, metric in QUALITY_METRICS.items() if name in names
    }


def curve_file_name(codec_name: str) -> str:
    """``licodec:NAME`` -> ``licodec_NAME.json``; a path inside a tool name (``jpeg+tables:/x/t.json``) stays one file name."""
    return re.sub(r"[^\w+.-]", "_", codec_name) + ".json"


def bd_rate_table(curves: dict[str, dict], anchor: str, references: list[dict]) -> str:
    if anchor not in curves:
        return f"Anchor {anchor!r} was not evaluated; no BD-rate table.\n"
    extra = [name for name in QUALITY_METRICS if name in _quality_metric_labels(curves)]
    headers = ["PSNR", "MS-SSIM", *(QUALITY_METRICS[name].label for name in extra)]
    lines = [
        f"BD-rate against `{anchor}` (negative = fewer bits for the same quality; Akima interpolation, `bjontegaard`).",
        "",
        "| codec | " + " | ".join(f"{h} BD-rate" for h in headers) + " | bpp range |",
        "|---" * (len(headers) + 2) + "|",
    ]
    rows = [(name, curve, "") for name, curve in curves.items()]
    rows += [(ref["name"], ref["results"], " (published)") for ref in references]
    for name, curve, tag in rows:
        cells = []
        for metric in [*METRICS, *extra]:
            value = bd_rate(_rising(curves[anchor], metric), _rising(curve, metric), metric) if metric in curve else math.nan
            cells.append("n/a" if math.isnan(value) else f"{value:+.1f}%")
        bpps = [b for b in curve["bpp"] if math.isfinite(b)]
        lines.append(f"| {name}{tag} | {' | '.join(cells)} | {min(bpps):.3f}–{max(bpps):.3f} |")
    return "\n".join(lines) + "\n"


def _rising(curve: dict, metric: str) -> dict:
    """``curve`` with a lower-is-better metric negated, so that it rises with the rate as BD-rates need."""
    if metric in QUALITY_METRICS and not QUALITY_METRICS[metric].higher_is_better:
        return {**curve, metric: [-v for v in curve[metric]]}
    return curve


def plot(curves: dict[str, dict], references: list[dict], metric: str, label: str, path: Path) -> None:
    import matplotlib  # the eval extra, imported where used: the library works without it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    drawn = [ref for ref in references if metric in ref["results"]]
    colours = _distinct_colours(len(curves) + len(drawn))
    for (name, curve), colour in zip(curves.items(), colours):
        ax.plot(curve["bpp"], curve[metric], "o-", color=colour, label=name, linewidth=2 if name.startswith("licodec") else 1.2)
    for ref, colour in zip(drawn, colours[len(curves) :]):
        ax.plot(ref["results"]["bpp"], ref["results"][metric], "--", color=colour, label=f"{ref['name']} (published)", alpha=0.7)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(label)
    ax.set_xlim(0, 2.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _distinct_colours(count: int) -> list:
    """One colour per curve: matplotlib's 10-colour cycle repeats, which makes a busy plot ambiguous."""
    import matplotlib

    palette = matplotlib.colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(count)]

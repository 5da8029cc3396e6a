"""Studies: small self-contained experiments behind the topology papers (e.g. loss-landscape barcodes)."""

from modelrank.errors import ParameterError


def save_report(path, to_dict, to_markdown) -> None:
    """Write a study result to ``path``: JSON (``to_dict()``) or Markdown (``to_markdown()``) by
    suffix; ParameterError for any other suffix."""
    import json
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() == ".json":
        text = json.dumps(to_dict(), indent=1)
    elif p.suffix.lower() == ".md":
        text = to_markdown()
    else:
        raise ParameterError("output", f"must end in .json or .md, got {p.name!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)

"""``modelrank datasets`` and ``modelrank metrics``: what can be named on the command line."""

from __future__ import annotations

from modelrank.cli.consoles import out


def datasets() -> None:
    """List the named target data sets and whether they are usable offline."""
    from modelrank.cli.render import print_datasets

    print_datasets(out)


def metrics() -> None:
    """List the registered scores and priors."""
    from modelrank.cli.render import print_metrics

    print_metrics(out)

"""Small utilities every layer of modelrank may import, kept out of the package root: argument
checks (:mod:`~modelrank.util.checks`), digests, JSON values, Markdown tables, "did you mean"
suggestions, atomic writes, cache paths, network checks and the figures' style."""

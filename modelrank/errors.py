"""Exceptions a user can cause. The CLI prints their message on one line and exits non-zero."""


class ModelrankError(Exception):
    """Base class: a problem the user can fix; the message says how."""


class UnknownModelError(ModelrankError):
    """A model name or tag that the zoo does not contain."""


class UnknownDatasetError(ModelrankError):
    """A dataset name that is neither registered nor an existing directory."""


class DatasetUnavailableError(ModelrankError):
    """A dataset that exists but cannot be loaded here (offline, corrupt, empty class)."""


class WeightsUnavailableError(ModelrankError):
    """Pretrained weights that are neither on disk nor downloadable (offline hub)."""


class MetricError(ModelrankError):
    """A score that cannot be computed on the given input (degenerate data, missing logits)."""


class ConfigError(ModelrankError):
    """A malformed zoo file, suite file or option value."""


class ParameterError(ConfigError):
    """A bad value of one parameter of a public function.

    The message starts with the parameter as the library spells it (``per_class must be a whole
    number of at least 1, got 0``); the command line shows its flag in its place
    (``--per-class must be …``), so each check is written once, where the value is used.

    Attributes:
        parameter: the parameter's name in the library call.
        problem: the rest of the message.
    """

    def __init__(self, parameter: str, problem: str):
        self.parameter, self.problem = parameter, problem
        super().__init__(f"{parameter} {problem}")

    def reworded(self, name: str) -> str:
        """The message with ``name`` (a flag) in place of the parameter."""
        return f"{name} {self.problem}"

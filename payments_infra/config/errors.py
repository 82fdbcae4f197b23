"""The one error type the program raises for bad settings."""

import pulumi


class ConfigError(pulumi.RunError, ValueError):
    """Invalid stack configuration, raised before any resource is registered.

    It is a ``pulumi.RunError`` so that ``pulumi up`` prints the message alone, without
    a Python traceback, and a ``ValueError`` so that plain Python callers can catch it.
    The message lists every problem found, one per line, each as
    ``<key> must <rule>; got <value>``.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"invalid configuration: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"invalid configuration ({len(self.problems)} problems):\n{lines}"
        super().__init__(message)

"""The one ``with`` protocol the local servers share: entering starts, leaving always stops."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StartStop:
    """A server with ``start()`` and ``stop()``; ``with server:`` stops it even on error."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> object:  # a server may report how it stopped (ApiServer: exit code)
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The greeting rule: which names are valid and what the answer says.

Kept apart from the transports so the gRPC servicer stays a thin adapter and
a later rule (greeting the authenticated user) changes one place.
"""

from __future__ import annotations

from ocisd.api.hello.v1.contract import check_name


class InvalidName(ValueError):
    """The name breaks the API's rule (`check_name`)."""


class Greeter:
    def __init__(self, template: str) -> None:
        self._template = template  # "%s" stands for the name, as in ocis-hello

    def greet(self, name: str) -> str:
        if (why := check_name(name)) is not None:
            raise InvalidName(why)
        return self._template.replace("%s", name)

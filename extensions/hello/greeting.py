"""The greeting rule: which names are valid and what the answer says.

Kept apart from the transports so the gRPC servicer stays a thin adapter and
a later rule (greeting the authenticated user) changes one place.
"""

from __future__ import annotations

MAX_NAME = 256


class InvalidName(ValueError):
    """The name is empty or longer than MAX_NAME characters."""


class Greeter:
    def __init__(self, template: str) -> None:
        self._template = template  # "%s" stands for the name, as in ocis-hello

    def greet(self, name: str) -> str:
        if not name or len(name) > MAX_NAME:
            raise InvalidName(f"name must be 1 to {MAX_NAME} characters")
        return self._template.replace("%s", name)

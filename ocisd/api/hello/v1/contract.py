"""What a caller of the Greeter API needs beside the generated messages.

The example a third party copies: the rule a name must meet (a caller may check
it before calling) and what each status code Greet answers with means, so every
caller maps them alike.
"""

from __future__ import annotations

import grpc

MAX_NAME = 256

# Greet's answers besides OK.
INVALID_NAME = grpc.StatusCode.INVALID_ARGUMENT  # empty, or longer than MAX_NAME characters
NO_GREETER = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)  # try again later


def check_name(name: str) -> str | None:
    """Why `name` cannot be greeted, or None when it can."""
    if not name or len(name) > MAX_NAME:
        return f"name must be 1 to {MAX_NAME} characters"
    return None

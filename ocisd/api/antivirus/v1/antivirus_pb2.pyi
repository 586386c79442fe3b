from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ScanRequest(_message.Message):
    __slots__ = ("resource_id", "revision", "size", "path")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    revision: str
    size: int
    path: str
    def __init__(self, resource_id: _Optional[str] = ..., revision: _Optional[str] = ..., size: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class ScanResponse(_message.Message):
    __slots__ = ("result", "signature", "error", "partial", "infected_handling", "scan_time")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    INFECTED_HANDLING_FIELD_NUMBER: _ClassVar[int]
    SCAN_TIME_FIELD_NUMBER: _ClassVar[int]
    result: str
    signature: str
    error: str
    partial: bool
    infected_handling: str
    scan_time: int
    def __init__(self, result: _Optional[str] = ..., signature: _Optional[str] = ..., error: _Optional[str] = ..., partial: _Optional[bool] = ..., infected_handling: _Optional[str] = ..., scan_time: _Optional[int] = ...) -> None: ...

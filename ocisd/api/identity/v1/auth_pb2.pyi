from ocisd.api.identity.v1 import users_pb2 as _users_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuthResponse(_message.Message):
    __slots__ = ("user", "groups", "token", "expires")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    user: _users_pb2.User
    groups: _containers.RepeatedScalarFieldContainer[str]
    token: str
    expires: float
    def __init__(self, user: _Optional[_Union[_users_pb2.User, _Mapping]] = ..., groups: _Optional[_Iterable[str]] = ..., token: _Optional[str] = ..., expires: _Optional[float] = ...) -> None: ...

class BasicRequest(_message.Message):
    __slots__ = ("username", "password", "client_ip")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    client_ip: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class BearerRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class MachineRequest(_message.Message):
    __slots__ = ("api_key", "user_id", "username")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    user_id: str
    username: str
    def __init__(self, api_key: _Optional[str] = ..., user_id: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

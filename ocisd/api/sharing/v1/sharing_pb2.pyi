from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShareType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_TYPE_USER: _ClassVar[ShareType]
    SHARE_TYPE_GROUP: _ClassVar[ShareType]
    SHARE_TYPE_LINK: _ClassVar[ShareType]

class ShareState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_STATE_PENDING: _ClassVar[ShareState]
    SHARE_STATE_ACCEPTED: _ClassVar[ShareState]
    SHARE_STATE_DECLINED: _ClassVar[ShareState]
SHARE_TYPE_USER: ShareType
SHARE_TYPE_GROUP: ShareType
SHARE_TYPE_LINK: ShareType
SHARE_STATE_PENDING: ShareState
SHARE_STATE_ACCEPTED: ShareState
SHARE_STATE_DECLINED: ShareState

class Share(_message.Message):
    __slots__ = ("id", "share_type", "resource_id", "owner_id", "creator_id", "grantee_id", "permissions", "ctime", "expires", "token", "name", "has_password", "is_folder", "parent_share_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    CTIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IS_FOLDER_FIELD_NUMBER: _ClassVar[int]
    PARENT_SHARE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    share_type: ShareType
    resource_id: str
    owner_id: str
    creator_id: str
    grantee_id: str
    permissions: int
    ctime: int
    expires: int
    token: str
    name: str
    has_password: bool
    is_folder: bool
    parent_share_id: str
    def __init__(self, id: _Optional[str] = ..., share_type: _Optional[_Union[ShareType, str]] = ..., resource_id: _Optional[str] = ..., owner_id: _Optional[str] = ..., creator_id: _Optional[str] = ..., grantee_id: _Optional[str] = ..., permissions: _Optional[int] = ..., ctime: _Optional[int] = ..., expires: _Optional[int] = ..., token: _Optional[str] = ..., name: _Optional[str] = ..., has_password: _Optional[bool] = ..., is_folder: _Optional[bool] = ..., parent_share_id: _Optional[str] = ...) -> None: ...

class ReceivedShare(_message.Message):
    __slots__ = ("share", "state", "mount_point")
    SHARE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MOUNT_POINT_FIELD_NUMBER: _ClassVar[int]
    share: Share
    state: ShareState
    mount_point: str
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ..., state: _Optional[_Union[ShareState, str]] = ..., mount_point: _Optional[str] = ...) -> None: ...

class CreateShareRequest(_message.Message):
    __slots__ = ("resource_id", "share_type", "grantee_id", "permissions", "expires", "password", "name")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    share_type: ShareType
    grantee_id: str
    permissions: int
    expires: int
    password: str
    name: str
    def __init__(self, resource_id: _Optional[str] = ..., share_type: _Optional[_Union[ShareType, str]] = ..., grantee_id: _Optional[str] = ..., permissions: _Optional[int] = ..., expires: _Optional[int] = ..., password: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateShareResponse(_message.Message):
    __slots__ = ("share",)
    SHARE_FIELD_NUMBER: _ClassVar[int]
    share: Share
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ...) -> None: ...

class GetShareRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetShareResponse(_message.Message):
    __slots__ = ("share",)
    SHARE_FIELD_NUMBER: _ClassVar[int]
    share: Share
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ...) -> None: ...

class UpdateShareRequest(_message.Message):
    __slots__ = ("id", "set_permissions", "permissions", "set_expires", "expires", "set_password", "password", "set_name", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    SET_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    SET_EXPIRES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    SET_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SET_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    set_permissions: bool
    permissions: int
    set_expires: bool
    expires: int
    set_password: bool
    password: str
    set_name: bool
    name: str
    def __init__(self, id: _Optional[str] = ..., set_permissions: _Optional[bool] = ..., permissions: _Optional[int] = ..., set_expires: _Optional[bool] = ..., expires: _Optional[int] = ..., set_password: _Optional[bool] = ..., password: _Optional[str] = ..., set_name: _Optional[bool] = ..., name: _Optional[str] = ...) -> None: ...

class UpdateShareResponse(_message.Message):
    __slots__ = ("share",)
    SHARE_FIELD_NUMBER: _ClassVar[int]
    share: Share
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ...) -> None: ...

class RemoveShareRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RemoveShareResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSharesRequest(_message.Message):
    __slots__ = ("resource_ids", "reshares", "share_types")
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    RESHARES_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPES_FIELD_NUMBER: _ClassVar[int]
    resource_ids: _containers.RepeatedScalarFieldContainer[str]
    reshares: bool
    share_types: _containers.RepeatedScalarFieldContainer[ShareType]
    def __init__(self, resource_ids: _Optional[_Iterable[str]] = ..., reshares: _Optional[bool] = ..., share_types: _Optional[_Iterable[_Union[ShareType, str]]] = ...) -> None: ...

class ListSharesResponse(_message.Message):
    __slots__ = ("shares",)
    SHARES_FIELD_NUMBER: _ClassVar[int]
    shares: _containers.RepeatedCompositeFieldContainer[Share]
    def __init__(self, shares: _Optional[_Iterable[_Union[Share, _Mapping]]] = ...) -> None: ...

class ListReceivedSharesRequest(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[ShareState]
    def __init__(self, states: _Optional[_Iterable[_Union[ShareState, str]]] = ...) -> None: ...

class ListReceivedSharesResponse(_message.Message):
    __slots__ = ("shares",)
    SHARES_FIELD_NUMBER: _ClassVar[int]
    shares: _containers.RepeatedCompositeFieldContainer[ReceivedShare]
    def __init__(self, shares: _Optional[_Iterable[_Union[ReceivedShare, _Mapping]]] = ...) -> None: ...

class UpdateReceivedShareRequest(_message.Message):
    __slots__ = ("id", "state", "mount_point")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MOUNT_POINT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: ShareState
    mount_point: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[ShareState, str]] = ..., mount_point: _Optional[str] = ...) -> None: ...

class UpdateReceivedShareResponse(_message.Message):
    __slots__ = ("share",)
    SHARE_FIELD_NUMBER: _ClassVar[int]
    share: ReceivedShare
    def __init__(self, share: _Optional[_Union[ReceivedShare, _Mapping]] = ...) -> None: ...

class GetLinkByTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class GetLinkByTokenResponse(_message.Message):
    __slots__ = ("share", "password_hash")
    SHARE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_HASH_FIELD_NUMBER: _ClassVar[int]
    share: Share
    password_hash: str
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ..., password_hash: _Optional[str] = ...) -> None: ...

class AuthenticateLinkRequest(_message.Message):
    __slots__ = ("token", "password", "client_ip")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    token: str
    password: str
    client_ip: str
    def __init__(self, token: _Optional[str] = ..., password: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class AuthenticateLinkResponse(_message.Message):
    __slots__ = ("share", "access_token", "expires")
    SHARE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    share: Share
    access_token: str
    expires: float
    def __init__(self, share: _Optional[_Union[Share, _Mapping]] = ..., access_token: _Optional[str] = ..., expires: _Optional[float] = ...) -> None: ...

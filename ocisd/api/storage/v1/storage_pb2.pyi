from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_TYPE_INVALID: _ClassVar[ResourceType]
    RESOURCE_TYPE_FILE: _ClassVar[ResourceType]
    RESOURCE_TYPE_CONTAINER: _ClassVar[ResourceType]

class LockScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCK_SCOPE_INVALID: _ClassVar[LockScope]
    LOCK_SCOPE_EXCLUSIVE: _ClassVar[LockScope]
    LOCK_SCOPE_SHARED: _ClassVar[LockScope]

class JobOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_OUTCOME_INVALID: _ClassVar[JobOutcome]
    JOB_OUTCOME_READY: _ClassVar[JobOutcome]
    JOB_OUTCOME_INFECTED: _ClassVar[JobOutcome]
    JOB_OUTCOME_REMOVE: _ClassVar[JobOutcome]
    JOB_OUTCOME_RETRY: _ClassVar[JobOutcome]
    JOB_OUTCOME_FAILED: _ClassVar[JobOutcome]
RESOURCE_TYPE_INVALID: ResourceType
RESOURCE_TYPE_FILE: ResourceType
RESOURCE_TYPE_CONTAINER: ResourceType
LOCK_SCOPE_INVALID: LockScope
LOCK_SCOPE_EXCLUSIVE: LockScope
LOCK_SCOPE_SHARED: LockScope
JOB_OUTCOME_INVALID: JobOutcome
JOB_OUTCOME_READY: JobOutcome
JOB_OUTCOME_INFECTED: JobOutcome
JOB_OUTCOME_REMOVE: JobOutcome
JOB_OUTCOME_RETRY: JobOutcome
JOB_OUTCOME_FAILED: JobOutcome

class Reference(_message.Message):
    __slots__ = ("space_id", "path", "node_id")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    path: str
    node_id: str
    def __init__(self, space_id: _Optional[str] = ..., path: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class Checksums(_message.Message):
    __slots__ = ("sha1", "md5", "adler32")
    SHA1_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    ADLER32_FIELD_NUMBER: _ClassVar[int]
    sha1: str
    md5: str
    adler32: str
    def __init__(self, sha1: _Optional[str] = ..., md5: _Optional[str] = ..., adler32: _Optional[str] = ...) -> None: ...

class Lock(_message.Message):
    __slots__ = ("token", "scope", "depth_infinity", "owner", "timeout_seconds", "expires", "root_id", "root_path", "user_id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEPTH_INFINITY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    ROOT_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_PATH_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    scope: LockScope
    depth_infinity: bool
    owner: str
    timeout_seconds: int
    expires: int
    root_id: str
    root_path: str
    user_id: str
    def __init__(self, token: _Optional[str] = ..., scope: _Optional[_Union[LockScope, str]] = ..., depth_infinity: _Optional[bool] = ..., owner: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., expires: _Optional[int] = ..., root_id: _Optional[str] = ..., root_path: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ResourceInfo(_message.Message):
    __slots__ = ("id", "parent_id", "space_id", "name", "path", "type", "size", "mtime_ns", "etag", "checksums", "mime_type", "permissions", "owner_id", "arbitrary_metadata", "locks", "permission_bits", "processing_status", "scan_status", "scan_time", "scan_partial")
    class ArbitraryMetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    ARBITRARY_METADATA_FIELD_NUMBER: _ClassVar[int]
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_BITS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_STATUS_FIELD_NUMBER: _ClassVar[int]
    SCAN_STATUS_FIELD_NUMBER: _ClassVar[int]
    SCAN_TIME_FIELD_NUMBER: _ClassVar[int]
    SCAN_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    parent_id: str
    space_id: str
    name: str
    path: str
    type: ResourceType
    size: int
    mtime_ns: int
    etag: str
    checksums: Checksums
    mime_type: str
    permissions: str
    owner_id: str
    arbitrary_metadata: _containers.ScalarMap[str, str]
    locks: _containers.RepeatedCompositeFieldContainer[Lock]
    permission_bits: int
    processing_status: str
    scan_status: str
    scan_time: int
    scan_partial: bool
    def __init__(self, id: _Optional[str] = ..., parent_id: _Optional[str] = ..., space_id: _Optional[str] = ..., name: _Optional[str] = ..., path: _Optional[str] = ..., type: _Optional[_Union[ResourceType, str]] = ..., size: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., etag: _Optional[str] = ..., checksums: _Optional[_Union[Checksums, _Mapping]] = ..., mime_type: _Optional[str] = ..., permissions: _Optional[str] = ..., owner_id: _Optional[str] = ..., arbitrary_metadata: _Optional[_Mapping[str, str]] = ..., locks: _Optional[_Iterable[_Union[Lock, _Mapping]]] = ..., permission_bits: _Optional[int] = ..., processing_status: _Optional[str] = ..., scan_status: _Optional[str] = ..., scan_time: _Optional[int] = ..., scan_partial: _Optional[bool] = ...) -> None: ...

class GetHomeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateHomeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HomeResponse(_message.Message):
    __slots__ = ("space_id", "info")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    info: ResourceInfo
    def __init__(self, space_id: _Optional[str] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class StatRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class StatResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class ListContainerRequest(_message.Message):
    __slots__ = ("ref", "page_size", "page_token")
    REF_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    page_size: int
    page_token: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListContainerResponse(_message.Message):
    __slots__ = ("info", "infos", "next_page_token")
    INFO_FIELD_NUMBER: _ClassVar[int]
    INFOS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    infos: _containers.RepeatedCompositeFieldContainer[ResourceInfo]
    next_page_token: str
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., infos: _Optional[_Iterable[_Union[ResourceInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResourceResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class CreateContainerRequest(_message.Message):
    __slots__ = ("ref", "lock_tokens", "mtime_ns")
    REF_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    mtime_ns: int
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., lock_tokens: _Optional[_Iterable[str]] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("ref", "lock_tokens", "if_match")
    REF_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    if_match: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., lock_tokens: _Optional[_Iterable[str]] = ..., if_match: _Optional[str] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MoveRequest(_message.Message):
    __slots__ = ("source", "destination", "overwrite", "lock_tokens", "mtime_ns")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    source: Reference
    destination: Reference
    overwrite: bool
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    mtime_ns: int
    def __init__(self, source: _Optional[_Union[Reference, _Mapping]] = ..., destination: _Optional[_Union[Reference, _Mapping]] = ..., overwrite: _Optional[bool] = ..., lock_tokens: _Optional[_Iterable[str]] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class CopyRequest(_message.Message):
    __slots__ = ("source", "destination", "overwrite", "lock_tokens", "shallow", "mtime_ns")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SHALLOW_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    source: Reference
    destination: Reference
    overwrite: bool
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    shallow: bool
    mtime_ns: int
    def __init__(self, source: _Optional[_Union[Reference, _Mapping]] = ..., destination: _Optional[_Union[Reference, _Mapping]] = ..., overwrite: _Optional[bool] = ..., lock_tokens: _Optional[_Iterable[str]] = ..., shallow: _Optional[bool] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class MoveCopyResponse(_message.Message):
    __slots__ = ("info", "overwritten")
    INFO_FIELD_NUMBER: _ClassVar[int]
    OVERWRITTEN_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    overwritten: bool
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., overwritten: _Optional[bool] = ...) -> None: ...

class SetArbitraryMetadataRequest(_message.Message):
    __slots__ = ("ref", "metadata", "lock_tokens")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    metadata: _containers.ScalarMap[str, str]
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class UnsetArbitraryMetadataRequest(_message.Message):
    __slots__ = ("ref", "keys", "lock_tokens")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    keys: _containers.RepeatedScalarFieldContainer[str]
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., keys: _Optional[_Iterable[str]] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class LockRequest(_message.Message):
    __slots__ = ("ref", "scope", "depth_infinity", "owner", "timeout_seconds", "lock_tokens")
    REF_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEPTH_INFINITY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    scope: LockScope
    depth_infinity: bool
    owner: str
    timeout_seconds: int
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., scope: _Optional[_Union[LockScope, str]] = ..., depth_infinity: _Optional[bool] = ..., owner: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class LockResponse(_message.Message):
    __slots__ = ("lock", "info", "created")
    LOCK_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    lock: Lock
    info: ResourceInfo
    created: bool
    def __init__(self, lock: _Optional[_Union[Lock, _Mapping]] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RefreshLockRequest(_message.Message):
    __slots__ = ("ref", "token", "timeout_seconds")
    REF_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    token: str
    timeout_seconds: int
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., token: _Optional[str] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class UnlockRequest(_message.Message):
    __slots__ = ("ref", "token")
    REF_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    token: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class UnlockResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLockRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class GetLockResponse(_message.Message):
    __slots__ = ("locks",)
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    locks: _containers.RepeatedCompositeFieldContainer[Lock]
    def __init__(self, locks: _Optional[_Iterable[_Union[Lock, _Mapping]]] = ...) -> None: ...

class InitiateUploadRequest(_message.Message):
    __slots__ = ("ref", "size", "checksum", "if_match", "if_none_match", "mtime_ns", "lock_tokens")
    REF_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    IF_NONE_MATCH_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    size: int
    checksum: str
    if_match: str
    if_none_match: bool
    mtime_ns: int
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., size: _Optional[int] = ..., checksum: _Optional[str] = ..., if_match: _Optional[str] = ..., if_none_match: _Optional[bool] = ..., mtime_ns: _Optional[int] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class InitiateUploadResponse(_message.Message):
    __slots__ = ("upload_url", "token", "expires", "exists")
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    upload_url: str
    token: str
    expires: int
    exists: bool
    def __init__(self, upload_url: _Optional[str] = ..., token: _Optional[str] = ..., expires: _Optional[int] = ..., exists: _Optional[bool] = ...) -> None: ...

class InitiateFileDownloadRequest(_message.Message):
    __slots__ = ("ref", "revision")
    REF_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    revision: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., revision: _Optional[str] = ...) -> None: ...

class InitiateFileDownloadResponse(_message.Message):
    __slots__ = ("download_url", "expires", "info")
    DOWNLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    download_url: str
    expires: int
    info: ResourceInfo
    def __init__(self, download_url: _Optional[str] = ..., expires: _Optional[int] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class GetQuotaRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class GetQuotaResponse(_message.Message):
    __slots__ = ("total", "used", "remaining", "unlimited", "inherited")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    INHERITED_FIELD_NUMBER: _ClassVar[int]
    total: int
    used: int
    remaining: int
    unlimited: bool
    inherited: bool
    def __init__(self, total: _Optional[int] = ..., used: _Optional[int] = ..., remaining: _Optional[int] = ..., unlimited: _Optional[bool] = ..., inherited: _Optional[bool] = ...) -> None: ...

class GetProviderInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetProviderInfoResponse(_message.Message):
    __slots__ = ("provider_id", "home_range_start", "home_range_end", "space_ids", "data_url")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    HOME_RANGE_START_FIELD_NUMBER: _ClassVar[int]
    HOME_RANGE_END_FIELD_NUMBER: _ClassVar[int]
    SPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    DATA_URL_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    home_range_start: str
    home_range_end: str
    space_ids: _containers.RepeatedScalarFieldContainer[str]
    data_url: str
    def __init__(self, provider_id: _Optional[str] = ..., home_range_start: _Optional[str] = ..., home_range_end: _Optional[str] = ..., space_ids: _Optional[_Iterable[str]] = ..., data_url: _Optional[str] = ...) -> None: ...

class CreateUploadSessionRequest(_message.Message):
    __slots__ = ("ref", "name", "length", "checksum", "mtime_ns", "if_match", "if_none_match", "lock_tokens", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    IF_NONE_MATCH_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    name: str
    length: int
    checksum: str
    mtime_ns: int
    if_match: str
    if_none_match: bool
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., name: _Optional[str] = ..., length: _Optional[int] = ..., checksum: _Optional[str] = ..., mtime_ns: _Optional[int] = ..., if_match: _Optional[str] = ..., if_none_match: _Optional[bool] = ..., lock_tokens: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("name", "size", "mtime_ns")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    mtime_ns: int
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class UploadSession(_message.Message):
    __slots__ = ("id", "name", "data_url", "expires", "created", "offset", "length", "target", "checksum", "mtime_ns", "if_match", "metadata", "chunks", "finished", "info")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    data_url: str
    expires: int
    created: int
    offset: int
    length: int
    target: Reference
    checksum: str
    mtime_ns: int
    if_match: str
    metadata: _containers.ScalarMap[str, str]
    chunks: _containers.RepeatedCompositeFieldContainer[UploadChunk]
    finished: bool
    info: ResourceInfo
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., data_url: _Optional[str] = ..., expires: _Optional[int] = ..., created: _Optional[int] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., target: _Optional[_Union[Reference, _Mapping]] = ..., checksum: _Optional[str] = ..., mtime_ns: _Optional[int] = ..., if_match: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., chunks: _Optional[_Iterable[_Union[UploadChunk, _Mapping]]] = ..., finished: _Optional[bool] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class GetUploadSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListUploadSessionsRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class ListUploadSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[UploadSession]
    def __init__(self, sessions: _Optional[_Iterable[_Union[UploadSession, _Mapping]]] = ...) -> None: ...

class FinishUploadSessionRequest(_message.Message):
    __slots__ = ("session_id", "ref", "length", "checksum", "mtime_ns", "if_match", "if_none_match", "lock_tokens")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    IF_NONE_MATCH_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    ref: Reference
    length: int
    checksum: str
    mtime_ns: int
    if_match: str
    if_none_match: bool
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., ref: _Optional[_Union[Reference, _Mapping]] = ..., length: _Optional[int] = ..., checksum: _Optional[str] = ..., mtime_ns: _Optional[int] = ..., if_match: _Optional[str] = ..., if_none_match: _Optional[bool] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class FinishUploadSessionResponse(_message.Message):
    __slots__ = ("info", "created")
    INFO_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    created: bool
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class DeleteUploadSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteUploadSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetSpaceQuotaRequest(_message.Message):
    __slots__ = ("ref", "owner_id", "total")
    REF_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    owner_id: str
    total: int
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., owner_id: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("ref", "pattern", "favorites", "limit", "offset")
    REF_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    FAVORITES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    pattern: str
    favorites: bool
    limit: int
    offset: int
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., pattern: _Optional[str] = ..., favorites: _Optional[bool] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("infos", "total")
    INFOS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    infos: _containers.RepeatedCompositeFieldContainer[ResourceInfo]
    total: int
    def __init__(self, infos: _Optional[_Iterable[_Union[ResourceInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class TrashItem(_message.Message):
    __slots__ = ("key", "original_path", "deleted", "deleted_by", "info")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_PATH_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_BY_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    key: str
    original_path: str
    deleted: int
    deleted_by: str
    info: ResourceInfo
    def __init__(self, key: _Optional[str] = ..., original_path: _Optional[str] = ..., deleted: _Optional[int] = ..., deleted_by: _Optional[str] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ...) -> None: ...

class ListTrashRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class ListTrashResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[TrashItem]
    def __init__(self, items: _Optional[_Iterable[_Union[TrashItem, _Mapping]]] = ...) -> None: ...

class RestoreTrashItemRequest(_message.Message):
    __slots__ = ("ref", "key", "destination", "lock_tokens")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    key: str
    destination: Reference
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., key: _Optional[str] = ..., destination: _Optional[_Union[Reference, _Mapping]] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class PurgeTrashRequest(_message.Message):
    __slots__ = ("ref", "key")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    key: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., key: _Optional[str] = ...) -> None: ...

class PurgeTrashResponse(_message.Message):
    __slots__ = ("purged",)
    PURGED_FIELD_NUMBER: _ClassVar[int]
    purged: int
    def __init__(self, purged: _Optional[int] = ...) -> None: ...

class PurgeExpiredTrashRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class FileVersion(_message.Message):
    __slots__ = ("key", "size", "mtime_ns", "etag", "checksums", "edited_by", "created_ns")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    EDITED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_NS_FIELD_NUMBER: _ClassVar[int]
    key: str
    size: int
    mtime_ns: int
    etag: str
    checksums: Checksums
    edited_by: str
    created_ns: int
    def __init__(self, key: _Optional[str] = ..., size: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., etag: _Optional[str] = ..., checksums: _Optional[_Union[Checksums, _Mapping]] = ..., edited_by: _Optional[str] = ..., created_ns: _Optional[int] = ...) -> None: ...

class ListFileVersionsRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class ListFileVersionsResponse(_message.Message):
    __slots__ = ("info", "versions")
    INFO_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    info: ResourceInfo
    versions: _containers.RepeatedCompositeFieldContainer[FileVersion]
    def __init__(self, info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[FileVersion, _Mapping]]] = ...) -> None: ...

class InitiateVersionDownloadRequest(_message.Message):
    __slots__ = ("ref", "key")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    key: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., key: _Optional[str] = ...) -> None: ...

class RestoreFileVersionRequest(_message.Message):
    __slots__ = ("ref", "key", "lock_tokens")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    key: str
    lock_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., key: _Optional[str] = ..., lock_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class Grantee(_message.Message):
    __slots__ = ("type", "id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("grantee", "permissions", "expires", "creator_id")
    GRANTEE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    grantee: Grantee
    permissions: int
    expires: int
    creator_id: str
    def __init__(self, grantee: _Optional[_Union[Grantee, _Mapping]] = ..., permissions: _Optional[int] = ..., expires: _Optional[int] = ..., creator_id: _Optional[str] = ...) -> None: ...

class AddGrantRequest(_message.Message):
    __slots__ = ("ref", "grant")
    REF_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    grant: Grant
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., grant: _Optional[_Union[Grant, _Mapping]] = ...) -> None: ...

class AddGrantResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemoveGrantRequest(_message.Message):
    __slots__ = ("ref", "grantee")
    REF_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    grantee: Grantee
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., grantee: _Optional[_Union[Grantee, _Mapping]] = ...) -> None: ...

class RemoveGrantResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGrantsRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class ListGrantsResponse(_message.Message):
    __slots__ = ("grants",)
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    def __init__(self, grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ...) -> None: ...

class CreateScanRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ...) -> None: ...

class GetScanRequest(_message.Message):
    __slots__ = ("ref", "scan_id")
    REF_FIELD_NUMBER: _ClassVar[int]
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    ref: Reference
    scan_id: str
    def __init__(self, ref: _Optional[_Union[Reference, _Mapping]] = ..., scan_id: _Optional[str] = ...) -> None: ...

class ScanFileResult(_message.Message):
    __slots__ = ("resource_id", "path", "scan_status", "scan_time")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SCAN_STATUS_FIELD_NUMBER: _ClassVar[int]
    SCAN_TIME_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    path: str
    scan_status: str
    scan_time: int
    def __init__(self, resource_id: _Optional[str] = ..., path: _Optional[str] = ..., scan_status: _Optional[str] = ..., scan_time: _Optional[int] = ...) -> None: ...

class ScanReport(_message.Message):
    __slots__ = ("id", "path", "created", "total", "done", "infected", "errors", "results", "creator_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    INFECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    path: str
    created: int
    total: int
    done: int
    infected: int
    errors: int
    results: _containers.RepeatedCompositeFieldContainer[ScanFileResult]
    creator_id: str
    def __init__(self, id: _Optional[str] = ..., path: _Optional[str] = ..., created: _Optional[int] = ..., total: _Optional[int] = ..., done: _Optional[int] = ..., infected: _Optional[int] = ..., errors: _Optional[int] = ..., results: _Optional[_Iterable[_Union[ScanFileResult, _Mapping]]] = ..., creator_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "kind", "resource_id", "space_id", "path", "revision", "size", "mime_type", "owner_id", "uploader_id", "scan_id", "attempts", "state", "last_error", "created", "not_before", "worker", "lease_until")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOADER_ID_FIELD_NUMBER: _ClassVar[int]
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    LEASE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    resource_id: str
    space_id: str
    path: str
    revision: str
    size: int
    mime_type: str
    owner_id: str
    uploader_id: str
    scan_id: str
    attempts: int
    state: str
    last_error: str
    created: int
    not_before: int
    worker: str
    lease_until: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., resource_id: _Optional[str] = ..., space_id: _Optional[str] = ..., path: _Optional[str] = ..., revision: _Optional[str] = ..., size: _Optional[int] = ..., mime_type: _Optional[str] = ..., owner_id: _Optional[str] = ..., uploader_id: _Optional[str] = ..., scan_id: _Optional[str] = ..., attempts: _Optional[int] = ..., state: _Optional[str] = ..., last_error: _Optional[str] = ..., created: _Optional[int] = ..., not_before: _Optional[int] = ..., worker: _Optional[str] = ..., lease_until: _Optional[int] = ...) -> None: ...

class ClaimJobsRequest(_message.Message):
    __slots__ = ("worker", "limit", "lease_seconds")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    worker: str
    limit: int
    lease_seconds: int
    def __init__(self, worker: _Optional[str] = ..., limit: _Optional[int] = ..., lease_seconds: _Optional[int] = ...) -> None: ...

class ClaimJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class RenewJobsRequest(_message.Message):
    __slots__ = ("worker", "job_ids", "lease_seconds")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    worker: str
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    lease_seconds: int
    def __init__(self, worker: _Optional[str] = ..., job_ids: _Optional[_Iterable[str]] = ..., lease_seconds: _Optional[int] = ...) -> None: ...

class RenewJobsResponse(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "worker", "outcome", "scan_status", "scan_partial", "downloadable", "error", "retry_after_seconds", "count_attempt", "max_attempts")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SCAN_STATUS_FIELD_NUMBER: _ClassVar[int]
    SCAN_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COUNT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker: str
    outcome: JobOutcome
    scan_status: str
    scan_partial: bool
    downloadable: bool
    error: str
    retry_after_seconds: int
    count_attempt: bool
    max_attempts: int
    def __init__(self, job_id: _Optional[str] = ..., worker: _Optional[str] = ..., outcome: _Optional[_Union[JobOutcome, str]] = ..., scan_status: _Optional[str] = ..., scan_partial: _Optional[bool] = ..., downloadable: _Optional[bool] = ..., error: _Optional[str] = ..., retry_after_seconds: _Optional[int] = ..., count_attempt: _Optional[bool] = ..., max_attempts: _Optional[int] = ...) -> None: ...

class CompleteJobResponse(_message.Message):
    __slots__ = ("applied", "state", "info", "recipients")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    state: str
    info: ResourceInfo
    recipients: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, applied: _Optional[bool] = ..., state: _Optional[str] = ..., info: _Optional[_Union[ResourceInfo, _Mapping]] = ..., recipients: _Optional[_Iterable[str]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("failed_only",)
    FAILED_ONLY_FIELD_NUMBER: _ClassVar[int]
    failed_only: bool
    def __init__(self, failed_only: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class RetryJobsRequest(_message.Message):
    __slots__ = ("job_ids", "all_failed")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FAILED_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    all_failed: bool
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., all_failed: _Optional[bool] = ...) -> None: ...

class RetryJobsResponse(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Space(_message.Message):
    __slots__ = ("id", "type", "name", "description", "alias", "owner_id", "disabled", "quota", "root", "mtime_ns", "provider_id", "grants")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    name: str
    description: str
    alias: str
    owner_id: str
    disabled: bool
    quota: GetQuotaResponse
    root: ResourceInfo
    mtime_ns: int
    provider_id: str
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., alias: _Optional[str] = ..., owner_id: _Optional[str] = ..., disabled: _Optional[bool] = ..., quota: _Optional[_Union[GetQuotaResponse, _Mapping]] = ..., root: _Optional[_Union[ResourceInfo, _Mapping]] = ..., mtime_ns: _Optional[int] = ..., provider_id: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ...) -> None: ...

class SpaceResponse(_message.Message):
    __slots__ = ("space",)
    SPACE_FIELD_NUMBER: _ClassVar[int]
    space: Space
    def __init__(self, space: _Optional[_Union[Space, _Mapping]] = ...) -> None: ...

class CreateSpaceRequest(_message.Message):
    __slots__ = ("space_id", "name", "description", "alias", "quota", "manager_id")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    name: str
    description: str
    alias: str
    quota: int
    manager_id: str
    def __init__(self, space_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., alias: _Optional[str] = ..., quota: _Optional[int] = ..., manager_id: _Optional[str] = ...) -> None: ...

class ListSpacesRequest(_message.Message):
    __slots__ = ("all", "type")
    ALL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    all: bool
    type: str
    def __init__(self, all: _Optional[bool] = ..., type: _Optional[str] = ...) -> None: ...

class ListSpacesResponse(_message.Message):
    __slots__ = ("spaces",)
    SPACES_FIELD_NUMBER: _ClassVar[int]
    spaces: _containers.RepeatedCompositeFieldContainer[Space]
    def __init__(self, spaces: _Optional[_Iterable[_Union[Space, _Mapping]]] = ...) -> None: ...

class GetSpaceRequest(_message.Message):
    __slots__ = ("space_id",)
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    def __init__(self, space_id: _Optional[str] = ...) -> None: ...

class UpdateSpaceRequest(_message.Message):
    __slots__ = ("space_id", "name", "description", "alias", "quota", "restore")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    RESTORE_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    name: str
    description: str
    alias: str
    quota: int
    restore: bool
    def __init__(self, space_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., alias: _Optional[str] = ..., quota: _Optional[int] = ..., restore: _Optional[bool] = ...) -> None: ...

class DeleteSpaceRequest(_message.Message):
    __slots__ = ("space_id", "purge")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PURGE_FIELD_NUMBER: _ClassVar[int]
    space_id: str
    purge: bool
    def __init__(self, space_id: _Optional[str] = ..., purge: _Optional[bool] = ...) -> None: ...

class DeleteSpaceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

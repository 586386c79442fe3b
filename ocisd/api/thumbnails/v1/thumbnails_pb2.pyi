from ocisd.api.storage.v1 import storage_pb2 as _storage_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetThumbnailRequest(_message.Message):
    __slots__ = ("ref", "width", "height", "preserve_aspect", "processor", "if_none_match")
    REF_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRESERVE_ASPECT_FIELD_NUMBER: _ClassVar[int]
    PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    IF_NONE_MATCH_FIELD_NUMBER: _ClassVar[int]
    ref: _storage_pb2.Reference
    width: int
    height: int
    preserve_aspect: bool
    processor: str
    if_none_match: str
    def __init__(self, ref: _Optional[_Union[_storage_pb2.Reference, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., preserve_aspect: _Optional[bool] = ..., processor: _Optional[str] = ..., if_none_match: _Optional[str] = ...) -> None: ...

class GetThumbnailResponse(_message.Message):
    __slots__ = ("etag", "mime_type", "thumbnail", "data_url", "width", "height", "not_modified", "info")
    ETAG_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    DATA_URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    NOT_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    etag: str
    mime_type: str
    thumbnail: bytes
    data_url: str
    width: int
    height: int
    not_modified: bool
    info: _storage_pb2.ResourceInfo
    def __init__(self, etag: _Optional[str] = ..., mime_type: _Optional[str] = ..., thumbnail: _Optional[bytes] = ..., data_url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., not_modified: _Optional[bool] = ..., info: _Optional[_Union[_storage_pb2.ResourceInfo, _Mapping]] = ...) -> None: ...

"""The storage library: what storage-users and storage-system serve, as oCIS's services sit on reva.

- `driver.py`: the driver extension point (`Base`, `load`: `local` or `module:Class`)
  and `resources.py`, the plain data a driver speaks (references, nodes, locks, spaces);
  `checksums.py` and `writeback.py` hash and write bytes for drivers and sessions alike.
- `local/`: the `local` driver. Metadata is the SQLite node tree (`database`, `tree`,
  `locate`, `changes`, `locks`, `uploads`); bytes are the blob files (`blobs`,
  `garbage`). A PostgreSQL metadata backend and an S3 blob store go beside these
  two halves, behind the same `Base`.
- `sessions/`: resumable uploads (TUS, chunking NG) for any driver: records,
  bytes on local disk, chunk joins and their journal; `finish` hands the file to
  the driver as one upload.
- `service/`: what a storage extension serves over a driver: the ocisd.storage.v1
  gRPC servicers, the signed-URL data server, and `StorageExtension`, which wires
  them up and claims the data dir; an extension adds its name, config and `SpacePolicy`.

Ids, error kinds and their gRPC statuses are the API's contract (`ocisd.api.storage.v1`),
so callers never import this library to speak to storage.
"""

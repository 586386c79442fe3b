"""A storage extension over the library: gRPC servicers, data server and their wiring."""

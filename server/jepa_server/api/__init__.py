"""Front end: gRPC servicers and the machinery every RPC shares (errors, metrics, admission)."""

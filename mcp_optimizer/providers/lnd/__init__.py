"""The LND provider: the project's own LND protos, their generated stubs, and the client."""

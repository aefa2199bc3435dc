"""The local stack behind `make dev`: the function behind a real HTTP server, on the emulators.
Never part of a deployed function package."""

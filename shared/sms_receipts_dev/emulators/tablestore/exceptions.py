"""Tablestore's own error codes, HTTP statuses and messages, as the emulator returns them.

Codes and messages follow what the real service sends (the SDK's error-message tests and captured
responses); every error travels as a protobuf `Error{code, message}` body, which the SDK turns into
`OTSServiceError(http_status, code, message, request_id)`.
"""

from __future__ import annotations

from ..exceptions import EmulatorError


class TablestoreError(EmulatorError):
    """A service error: `code` and `http_status` are what the client sees."""

    code = "OTSInternalServerError"
    http_status = 500
    default_message = "Internal server error."


class ConditionCheckFail(TablestoreError):
    code, http_status, default_message = "OTSConditionCheckFail", 403, "Condition check failed."


class ObjectNotExist(TablestoreError):
    code, http_status, default_message = "OTSObjectNotExist", 404, "Requested table does not exist."


class ObjectAlreadyExist(TablestoreError):
    code, http_status, default_message = "OTSObjectAlreadyExist", 409, "Requested table already exists."


class ParameterInvalid(TablestoreError):
    code, http_status, default_message = "OTSParameterInvalid", 400, "The input parameter is invalid."


class MissingHeader(TablestoreError):
    code, http_status = "OTSMissingHeader", 400

    def __init__(self, header: str):
        super().__init__(f"Missing header: '{header}'.")


class AuthFailed(TablestoreError):
    code, http_status, default_message = "OTSAuthFailed", 403, "Signature mismatch."


class UnsupportedOperation(TablestoreError):
    """An API, or a feature of a supported API, that the emulator does not implement."""

    code, http_status = "OTSUnsupportOperation", 400  # sic: the real service spells it this way

    @classmethod
    def for_api(cls, api: str) -> UnsupportedOperation:
        return cls(f"Unsupported operation: '{api}'.")


class MethodNotAllowed(TablestoreError):
    code, http_status = "OTSMethodNotAllowed", 405
    default_message = "Only POST method for requests is supported."


class ServerBusy(TablestoreError):
    code, http_status, default_message = "OTSServerBusy", 503, "Service is busy."


class OperationTimeout(TablestoreError):
    code, http_status, default_message = "OTSTimeout", 503, "Operation timeout."


class RowOperationConflict(TablestoreError):
    code, http_status = "OTSRowOperationConflict", 409
    default_message = "Data is being modified by the other request."


class InternalServerError(TablestoreError):
    """The emulator itself failed; the message names the Python exception."""

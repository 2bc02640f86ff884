"""Errors that become HTTP answers. Each carries its status code; the message goes to the client."""

from __future__ import annotations


class RequestError(Exception):
    status = 400


class BadRequest(RequestError):
    status = 400


class PayloadTooLarge(RequestError):
    status = 413


class UnsupportedMediaType(RequestError):
    status = 415

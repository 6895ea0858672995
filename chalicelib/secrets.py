"""Secrets by name: SSM Parameter Store (SecureString) or AWS Secrets Manager in dev and prod,
files in the local stack.

Keys never sit in ``.chalice/config.json`` or in a Lambda's environment: the configuration
names them, the IAM policy grants reading exactly those names, and they are read on first use
and kept for the life of the process. The local stack writes its own into ``.local/secrets/``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol


class SecretMissing(RuntimeError):
    """A secret the stage names is not where it should be; the message says where to put it."""


class Secrets(Protocol):
    def get(self, name: str) -> str: ...


class DirectorySecrets:
    """One file per secret, named by the secret's name (the local stack and tests)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def get(self, name: str) -> str:
        path = self._folder / name
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise SecretMissing(f"the secret {name!r} is missing: write it to {path}") from None
        if not value:
            raise SecretMissing(f"the secret {name!r} in {path} is empty")
        return value


class ParameterStoreSecrets:
    """SecureString parameters in SSM Parameter Store, read once each with decryption."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str:
        with self._lock:
            if name not in self._values:
                self._values[name] = self._read(name)
            return self._values[name]

    def _read(self, name: str) -> str:
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_parameter(Name=name, WithDecryption=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                raise SecretMissing(
                    f"the secret {name!r} is missing: put it in SSM Parameter Store "
                    "as a SecureString under that name"
                ) from None
            raise
        return str(answer["Parameter"]["Value"])


class SecretsManagerSecrets:
    """Secrets in AWS Secrets Manager (a court whose security office keeps keys there, with
    rotation), read once each: the secret's current string value."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str:
        with self._lock:
            if name not in self._values:
                self._values[name] = self._read(name)
            return self._values[name]

    def _read(self, name: str) -> str:
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_secret_value(SecretId=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise SecretMissing(
                    f"the secret {name!r} is missing: create it in AWS Secrets Manager "
                    "under that name, as a string"
                ) from None
            raise
        value = answer.get("SecretString")
        if not value:
            raise SecretMissing(f"the secret {name!r} in AWS Secrets Manager holds no string")
        return str(value)

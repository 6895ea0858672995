"""Routes that take one step on one record: find it where the caller may act, take the step
through the capability's service, and show the result as the caller may see it.

A disbursement's approvals, deferrals and releases and a creditor's receiving-account change
all have this shape; each capability says once how it finds a record in the caller's courts
(another court's answering as a missing one) and how it shows one, and each step is then only
its service call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from chalicelib.http import Call, route

Record = TypeVar("Record")
Step = Callable[[Call, Record], Record]


@dataclass(frozen=True)
class StepRoutes(Generic[Record]):
    owner: Any  # the blueprint the steps are routes of
    # The record the URI names, if the caller may act on it; raises the capability's not-found
    # for another court's record and its court-not-yours for one only overseen.
    find: Callable[[Call], Record]
    show: Callable[[Record, Any], Any]  # the record as the caller (a Principal) may see it
    answer: type[BaseModel]

    def step(
        self,
        path: str,
        *,
        roles: tuple[Any, ...],
        body: type[BaseModel] | None = None,
        status: int = 200,
    ) -> Callable[[Step[Record]], Step[Record]]:
        """``POST path`` takes the decorated step; its docstring is the route's summary."""

        def decorate(act: Step[Record]) -> Step[Record]:
            def handler(call: Call, **_: str) -> Any:
                return self.show(act(call, self.find(call)), call.actor)

            handler.__name__, handler.__doc__ = act.__name__, act.__doc__
            route(
                self.owner, path, methods=["POST"], roles=roles, body=body, status=status,
                answer=self.answer,
            )(handler)  # fmt: skip
            return act

        return decorate

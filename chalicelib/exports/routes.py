"""Export routes: auditors and finance request an export and follow it to its download links;
the export Lambda runs the queued ones."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.answers import AnswerBody
from chalicelib.cases.scope import check_every_court, sees_every_court
from chalicelib.exports import ExportJob, ExportNotFound, ExportRequest, JobStatus
from chalicelib.http import Call, json_response, route
from chalicelib.identity import Principal, Role
from chalicelib.wiring import export_service

blueprint = Blueprint(__name__)

EXPORTERS = (Role.AUDITOR, Role.FINANCE, Role.ADMIN)


class ExportShown(AnswerBody):
    """The export, how far it has come (0 to 1, where it can tell), and its download links by
    file once done (they expire)."""

    job: ExportJob
    progress: float | None
    downloads: dict[str, str]


def _view(job: ExportJob) -> ExportShown:
    progress = None
    if job.status == JobStatus.DONE:
        progress = 1.0
    elif job.rows_expected:
        progress = min(job.rows_written / job.rows_expected, 0.99)
    return ExportShown(job=job, progress=progress, downloads=export_service().links(job))


def _check_scope(principal: Principal, request: ExportRequest) -> None:
    """A statement of another court's case account answers as an unknown account (404); a
    journal or trial balance spans every court, so it is for those who oversee every
    province (403 otherwise)."""
    from chalicelib.ledger import AccountNotFound

    if request.account is None:
        check_every_court(principal, f"a {request.kind.value.replace('_', ' ')}")
        return
    hidden = AccountNotFound(f"no ledger account {request.account}", account_id=request.account)
    principal.check_accounts([request.account], hidden_as=hidden)


def _job_seen(principal: Principal, job: ExportJob) -> ExportJob:
    """An export the person could not ask for answers as no export at all."""
    account = job.request.account
    hidden = ExportNotFound(f"no export {job.id}")
    if account is None and not sees_every_court(principal):
        raise hidden
    if account is not None:
        principal.check_accounts([account], hidden_as=hidden)
    return job


@route(
    blueprint,
    "/exports",
    methods=["POST"],
    roles=EXPORTERS,
    body=ExportRequest,
    answer={201: ExportShown, 202: ExportShown},
)
def request_export(call: Call) -> Response:
    """Ask for an export. A short statement comes back made (201); anything else is queued
    (202): follow ``Location`` until its status is done."""
    body: ExportRequest = call.body
    _check_scope(call.actor, body)
    job = export_service().request(body, requested_by=call.actor.subject)
    status = 201 if job.status in (JobStatus.DONE, JobStatus.FAILED) else 202
    return json_response(_view(job), status=status, headers={"Location": f"/exports/{job.id}"})


@route(blueprint, "/exports/{job_id}", roles=EXPORTERS, answer=ExportShown)
def export_status(call: Call, job_id: str) -> Any:
    """The export's progress and, once done, its download links (they expire)."""
    return _view(_job_seen(call.actor, export_service().job(job_id)))


@blueprint.lambda_function(name="run_export")
def run_export(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Runs one queued export (invoked asynchronously by ``POST /exports``)."""
    job = export_service().run(str(event["job_id"]))
    return {"job_id": job.id, "status": job.status.value}

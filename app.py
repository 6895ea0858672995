"""Court enforcement funds API: each capability's routes come from its own blueprint.

Routes live beside their capability (``chalicelib/<capability>/routes.py``) and go through
``chalicelib.http.route`` for sign-in, parsing and problem+json errors; this module only
assembles them, so it stays a list that reads like the product's map.
"""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.approvals.routes import blueprint as approval_routes
from chalicelib.audit.routes import blueprint as audit_routes
from chalicelib.cases.routes import blueprint as cases_routes
from chalicelib.collection.routes import blueprint as collection_routes
from chalicelib.deadlines.routes import blueprint as deadline_routes
from chalicelib.exports.routes import blueprint as export_routes
from chalicelib.identity.routes import blueprint as identity_routes

from chalicelib.payouts.routes import blueprint as payout_routes  # isort: skip
from chalicelib.ledger.routes import blueprint as ledger_routes
from chalicelib.logs import configure, log_context
from chalicelib.monitoring.routes import blueprint as monitoring_routes
from chalicelib.reconciliation.routes import blueprint as reconciliation_routes
from chalicelib.refunds.routes import blueprint as refund_routes
from chalicelib.retry import deadline_from_lambda
from chalicelib.web.api_docs import blueprint as api_docs
from chalicelib.web.landing import blueprint as landing
from chalicelib.web.pages import blueprint as web_pages
from chalicelib.workdays.routes import blueprint as calendar_routes

configure()

app = Chalice(app_name="court-funds")
app.register_middleware(log_context, "all")
app.register_middleware(deadline_from_lambda, "all")
app.api.binary_types = ["application/pdf", "image/jpeg", "image/png", "application/octet-stream"]

app.register_blueprint(approval_routes)
app.register_blueprint(audit_routes)
app.register_blueprint(cases_routes)
app.register_blueprint(collection_routes)
app.register_blueprint(export_routes)
app.register_blueprint(identity_routes)
app.register_blueprint(payout_routes)
app.register_blueprint(ledger_routes)
app.register_blueprint(refund_routes)
app.register_blueprint(reconciliation_routes)
app.register_blueprint(web_pages)
app.register_blueprint(calendar_routes)
app.register_blueprint(deadline_routes)
app.register_blueprint(monitoring_routes)
app.register_blueprint(landing)
app.register_blueprint(api_docs)

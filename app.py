"""Court enforcement funds API: each capability's routes come from its own blueprint.

Routes live beside their capability (``chalicelib/<capability>/routes.py``) and go through
``chalicelib.http.route`` for sign-in, parsing and problem+json errors; this module only
assembles them, so it stays a list that reads like the product's map.
"""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.cases.routes import blueprint as cases_routes
from chalicelib.collection.routes import blueprint as collection_routes
from chalicelib.identity.routes import blueprint as identity_routes
from chalicelib.ledger.routes import blueprint as ledger_routes
from chalicelib.logs import configure, log_context
from chalicelib.web.landing import blueprint as landing
from chalicelib.web.pages import blueprint as web_pages

configure()

app = Chalice(app_name="court-funds")
app.register_middleware(log_context, "all")
app.api.binary_types = ["application/pdf", "image/jpeg", "image/png", "application/octet-stream"]

app.register_blueprint(cases_routes)
app.register_blueprint(collection_routes)
app.register_blueprint(identity_routes)
app.register_blueprint(ledger_routes)
app.register_blueprint(web_pages)
app.register_blueprint(landing)

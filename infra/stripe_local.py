"""localstripe, the Stripe stand-in, bound to 127.0.0.1 only (its own launcher binds every
interface), starting from an empty store, with the balance transactions reconciliation reads
(``infra/stripe_balance.py``).

    python -m infra.stripe_local --port 8420
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web
from localstripe.server import app

from infra import stripe_balance


def main() -> None:
    # what localstripe lacks and the app uses, each from its own module
    from infra import stripe_payouts_local

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    stripe_payouts_local.install(app)
    logging.basicConfig(level=logging.WARNING)
    stripe_balance.register(app)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

"""`flask webhooks add/list/remove/test/deliver`: a site's signed webhook endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from sqlalchemy import select

from zgoda.cli import ZgodaGroup
from zgoda.errors import ZgodaError
from zgoda.notices.registry import notice_registry
from zgoda.store.db import engine
from zgoda.store.tables import webhook_endpoints
from zgoda.webhooks.delivery import FIRST_RETRY, TIMEOUT, Keys, Policy, Round, post, run
from zgoda.webhooks.endpoints import (
    BadEndpointUrl,
    add_endpoint,
    check_url,
    list_endpoints,
    remove_endpoint,
)
from zgoda.webhooks.payload import new_message_id, signed_headers, test_body
from zgoda.webhooks.secrets import decrypt_secret

webhooks_cli = ZgodaGroup("webhooks", help="Signed webhooks: every consent event, POSTed.")


def _keys() -> Keys:
    config = current_app.config
    return Keys(config.get("SECRET_KEY"), tuple(config.get("SECRET_KEY_FALLBACKS") or ()))


@webhooks_cli.command("add")
@click.argument("site")
@click.argument("url")
def add_command(site: str, url: str) -> None:
    """Send SITE's consent events to URL; prints the signing secret, once."""
    if site not in notice_registry().notices:
        raise click.BadParameter(f"unknown site {site!r}", param_hint="SITE")
    try:
        check_url(url)
    except BadEndpointUrl as error:
        raise click.BadParameter(str(error), param_hint="URL") from None
    keys = _keys()
    endpoint_id, secret = add_endpoint(
        engine(), site, url, str(keys.secret_key or ""), list(keys.fallbacks)
    )
    click.echo(f"Endpoint {endpoint_id} for {site}: {url}", err=True)
    click.echo(secret)
    click.echo("Store the secret now: it cannot be shown again.", err=True)


@webhooks_cli.command("list")
@click.argument("site", required=False)
def list_command(site: str | None) -> None:
    """List the endpoints (of SITE, or all) with their pending, delivered and failed counts."""
    endpoints = list_endpoints(engine(), site)
    if not endpoints:
        click.echo("No webhook endpoints.")
    for endpoint in endpoints:
        state = f"removed {endpoint.disabled_at:%Y-%m-%d}" if endpoint.disabled_at else "active"
        counts = (
            f"pending {endpoint.pending}  delivered {endpoint.delivered}  failed {endpoint.failed}"
        )
        line = f"{endpoint.id}  {endpoint.site_id}  {endpoint.url}  {state}  {counts}"
        if endpoint.last_error:
            line += f"  last error: {endpoint.last_error}"
        click.echo(line)


@webhooks_cli.command("remove")
@click.argument("endpoint_id", metavar="ENDPOINT")
def remove_command(endpoint_id: str) -> None:
    """Stop sending to ENDPOINT (its id from `webhooks list`); its undelivered rows fail."""
    if not remove_endpoint(engine(), endpoint_id):
        raise ZgodaError(f"no active webhook endpoint {endpoint_id!r}")
    click.echo(f"Removed webhook endpoint {endpoint_id}.")


@webhooks_cli.command("test")
@click.argument("endpoint_id", metavar="ENDPOINT")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=TIMEOUT, show_default=True)
def test_command(endpoint_id: str, timeout: float) -> None:
    """Send ENDPOINT a signed test event now (not a consent; not kept in the outbox)."""
    c = webhook_endpoints.c
    with engine().connect() as connection:
        row = connection.execute(
            select(c.site_id, c.url, c.secret_encrypted).where(
                c.id == endpoint_id, c.disabled_at.is_(None)
            )
        ).first()
    if row is None:
        raise ZgodaError(f"no active webhook endpoint {endpoint_id!r}")
    keys = _keys()
    secret = decrypt_secret(row.secret_encrypted, keys.secret_key, keys.fallbacks)
    now = datetime.now(UTC)
    body, message_id = test_body(row.site_id, now), new_message_id()
    error = post(row.url, body, signed_headers(message_id, body, secret, now), timeout)
    if error is not None:
        raise ZgodaError(f"the test event to {row.url} failed: {error}")
    click.echo(f"Delivered test event {message_id} to {row.url}.")


@webhooks_cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due, then stop (for tests, cron).")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the outbox when nothing is due.",
)
@click.option(
    "--first-retry",
    type=click.FloatRange(min=0.01),
    default=FIRST_RETRY,
    show_default=True,
    help="Seconds before the first retry; each retry doubles it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=TIMEOUT,
    show_default=True,
    help="Seconds to wait for a receiver's answer.",
)
def deliver_command(once: bool, poll: float, first_retry: float, timeout: float) -> None:
    """Deliver the outbox's due events until stopped, retrying for a day."""

    def report(done: Round) -> None:
        click.echo(
            f"delivered {done.delivered}, to retry {done.retried}, failed {done.failed}", err=True
        )

    policy = Policy(first_retry=first_retry, timeout=timeout)
    total = run(engine(), _keys(), policy, once=once, poll=poll, report=report)
    click.echo(f"Delivered {total.delivered}, to retry {total.retried}, failed {total.failed}.")

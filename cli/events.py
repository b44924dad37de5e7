"""`vpdn events`: order events to other systems' listeners, through the API: subscribe,
list, remove, and what was delivered (or is failing)."""

from typing import Annotated

import typer

import api_client
from cli.output import JsonOption, print_json
from models.events import EventType
from models.orders import OrderType

events_app = typer.Typer(help="Order events to listeners: subscribe, list, remove, deliveries.",
                         no_args_is_help=True, rich_markup_mode=None)


@events_app.command("subscribe")
def subscribe(
    callback: Annotated[str, typer.Argument(help="The listener's URL: each event is POSTed to it.")],
    type_: Annotated[list[EventType] | None, typer.Option("--type", help="An event type (repeat; default: all).")] = None,
    order_type: Annotated[OrderType | None, typer.Option(help="Only orders of this type.")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's orders (10 digits).")] = None,
    province: Annotated[str | None, typer.Option(help="Only orders touching this province.")] = None,
    secret: Annotated[str | None, typer.Option(help="The signature's key (16+ characters; default: generated, "
                                                    "printed once).")] = None,
) -> None:
    """Register CALLBACK for the order events recorded from now on (admin or operator)."""
    body = {"callback": callback, "order_type": order_type, "customer_code": customer,
            "province": province.upper() if province else None, "secret": secret}
    if type_:
        body["event_types"] = type_
    created = api_client.call("POST", "/events/subscriptions", body=body)
    typer.echo(f"subscription {created['id']}: {', '.join(created['event_types'])} to {created['callback']}")
    if created.get("secret"):
        typer.echo(f"secret (shown this once, keep it secret): {created['secret']}")


@events_app.command("list")
def list_subscriptions(as_json: JsonOption = False) -> None:
    """The subscriptions: id, callback, event types, filter, who made them (never secrets)."""
    found = api_client.call("GET", "/events/subscriptions")
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no subscriptions: add one with `vpdn events subscribe URL`")
    for sub in found:
        only = " ".join(f"{key}={sub[key]}" for key in ("order_type", "customer_code", "province") if sub[key])
        typer.echo(f"{sub['id']}\t{sub['callback']}\t{','.join(sub['event_types'])}\t{only or 'all orders'}"
                   f"\tby {sub['created_by']}")


@events_app.command("remove")
def remove(subscription_id: str) -> None:
    """Remove a subscription: nothing more is sent to it (admin or operator)."""
    api_client.call("DELETE", f"/events/subscriptions/{subscription_id}")
    typer.echo(f"subscription {subscription_id} removed")


@events_app.command("deliveries")
def deliveries(
    failed: Annotated[bool, typer.Option("--failed", help="Only those whose last attempt failed.")] = False,
    subscription: Annotated[str | None, typer.Option(help="Only this subscription's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The latest deliveries: subscription, event, order, type, state, attempts, last error."""
    found = api_client.call("GET", "/events/deliveries", params={
        "failed": failed, "limit": limit, **({"subscription": subscription} if subscription else {})})
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no failing deliveries" if failed else "no deliveries yet")
    for row in found:
        typer.echo(f"{row['subscription_id']}\t{row['event_id']}\t{row['order_no']}\t{row['event_type']}"
                   f"\t{row['state']}\t{row['attempts']} attempts\t{row['last_error']}")

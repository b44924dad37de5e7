"""The API alone (`vpdn api`) serves its requests' counts on VPDN_METRICS_ADDRESS."""

import httpx

from api.server import build_app
from tests.e2e.test_embedded import free_port
from tests.helpers import migrated
from tests.telemetry.prometheus import total


async def test_the_api_counts_its_requests_by_route_template_and_status(settings):
    address = f"127.0.0.1:{free_port()}"
    migrated(settings.database_url)
    app = build_app(settings.model_copy(update={"metrics_address": address}))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gpms") as api:
        assert (await api.get("/orders/OPN-1")).status_code == 401
        assert (await api.get("/orders/OPN-2")).status_code == 401
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://{address}/metrics")).text

    # The route's template, never the order number, is the label.
    assert total(text, "vpdn_api_requests", method="GET", route="/orders/{order_no}", status="401") == 2
    assert "OPN-1" not in text

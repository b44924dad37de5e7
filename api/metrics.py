"""The API's requests on the process's Prometheus endpoint (`VPDN_METRICS_ADDRESS`), beside
its Temporal client's metrics: by method, route (the template, never an order number) and
status."""

from fastapi import FastAPI, Request
from temporalio.common import MetricMeter

API_REQUESTS = "vpdn_api_requests"


def count_requests(app: FastAPI, meter: MetricMeter) -> None:
    requests = meter.create_counter(API_REQUESTS, "requests to the API")

    @app.middleware("http")
    async def counted(request: Request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")
        requests.add(1, {"method": request.method, "route": getattr(route, "path", "unmatched"),
                         "status": str(response.status_code)})
        return response

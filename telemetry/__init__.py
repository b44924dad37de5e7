"""What an operator watches: metrics on a Prometheus endpoint, structured logs, traces."""

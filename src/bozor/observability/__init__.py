"""Operations: Prometheus metrics, request and update ids in logs, readiness."""

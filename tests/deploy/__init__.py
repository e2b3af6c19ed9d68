"""Tests of deploy/: Prometheus, Grafana, compose, Dockerfile, Kubernetes (and their PromQL helper)."""

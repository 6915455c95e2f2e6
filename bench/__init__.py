"""The benchmark harness (`make bench`): bulk data, gunicorn, locust, and the targets of issue #8."""

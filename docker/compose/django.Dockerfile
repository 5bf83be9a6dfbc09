# The Django read/write-splitting example (examples/django_rw) as a compose service: its test
# suite runs against Sluice and asserts that autocommit reads reach the replica.
#   built by docker/docker-compose.yml with the repository root as context
FROM python:3.12-slim
RUN pip install --no-cache-dir "django>=5.2,<6" "psycopg[binary]"
WORKDIR /app
COPY examples/django_rw/ ./
RUN useradd --system --uid 10002 django
USER 10002
CMD ["python", "manage.py", "test", "--keepdb", "--noinput", "notes", "-v", "2"]

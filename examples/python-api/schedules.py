"""Create and pause Metronome schedules from a Python application, with the standard library only.

A Celery shop's application makes one schedule per customer through Metronome's HTTP API
(docs/api.md): it needs the beat's address and its METRONOME_API_TOKEN, nothing else.

    METRONOME_URL=http://127.0.0.1:9464 METRONOME_API_TOKEN=... python3 schedules.py 42 43 44

creates (or updates) `invoice.<customer>` for each customer given, a monthly Celery task
`billing.send_invoice(customer)` at 06:00 Berlin time on the 1st, then pauses the first one and
prints each schedule's state and next fire. Run it again: nothing changes, nothing is duplicated.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


class MetronomeError(Exception):
    """A refusal from the API: its HTTP status, code (`invalid_schedule`, `version_conflict`...),
    message, and for an invalid schedule the fields at fault."""

    def __init__(self, status, body):
        error = body.get("error", {})
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status = status
        self.code = error.get("code")
        self.fields = error.get("fields", [])


class Metronome:
    def __init__(self, url, token, actor="python-app"):
        self.url = url.rstrip("/") + "/api/v1"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Metronome-Actor": actor,
        }

    def _call(self, method, path, body=None, if_match=None):
        headers = dict(self.headers)
        if if_match is not None:
            headers["If-Match"] = if_match
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode("utf-8")
                return response.status, response.headers.get("ETag"), json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            raise MetronomeError(error.code, json.loads(error.read().decode("utf-8") or "{}")) from None

    @staticmethod
    def _path(name):
        return "/schedules/" + urllib.parse.quote(name, safe="")

    def put(self, name, definition, if_match=None):
        """Create the schedule, or replace its definition (conditionally, given the ETag read)."""
        return self._call("PUT", self._path(name), definition, if_match)

    def get(self, name):
        return self._call("GET", self._path(name))

    def pause(self, name, reason=None):
        return self._call("POST", self._path(name) + "/pause", {"reason": reason})

    def delete(self, name, if_match=None):
        return self._call("DELETE", self._path(name), None, if_match)

    def bulk(self, schedules):
        """Create or update many at once; refused items come back by index and name."""
        return self._call("POST", "/bulk/schedules", {"schedules": schedules})


def invoice_schedule(customer):
    return {
        "task": "billing.send_invoice",
        "schedule": {"kind": "crontab", "cron": "0 6 1 * *", "timezone": "Europe/Berlin"},
        "args": [customer],
        "queue": "billing",
        "description": f"monthly invoice of customer {customer}",
    }


def main(customers):
    metronome = Metronome(os.environ["METRONOME_URL"], os.environ["METRONOME_API_TOKEN"])
    for customer in customers:
        status, etag, body = metronome.put(f"invoice.{customer}", invoice_schedule(customer))
        print(f"invoice.{customer}: {body['action']} (HTTP {status}, version {etag})")
    first = f"invoice.{customers[0]}"
    _, _, paused = metronome.pause(first, reason="customer asked to hold invoices")
    print(f"{first}: {paused['schedule']['state']}")
    try:
        bad = dict(invoice_schedule(0), schedule={"kind": "crontab", "cron": "0 6 1 * *", "timezone": "Mars/Olympus"})
        metronome.put("invoice.bad", bad)
    except MetronomeError as error:
        print(f"refused: {error.code} {[f['field'] for f in error.fields]}")
    for customer in customers:
        _, etag, detail = metronome.get(f"invoice.{customer}")
        state, next_fire = detail["schedule"]["state"], detail["definition"]["nextFireAt"]
        print(f"invoice.{customer}: {state}, next fire {next_fire}, version {etag}")


if __name__ == "__main__":
    main([int(customer) for customer in sys.argv[1:]] or [42])

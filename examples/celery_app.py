"""
A Celery app with the tasks of the example schedules (schedules/*.ts), for trying Metronome with a
real Celery worker. Any existing Celery app works the same way: Metronome only needs the task names.

    # the same broker (and result backend) for the worker and for `beat run`
    export BROKER_URL=redis://127.0.0.1:6379/0 RESULT_BACKEND=redis://127.0.0.1:6379/1
    cd examples && python3 -m celery -A celery_app worker -Q celery,reports --loglevel=INFO
    # elsewhere:
    npx beat sync && npx beat run            # tasks.add prints 5 every 30 s

On RabbitMQ: BROKER_URL=amqp://guest:guest@127.0.0.1:5672// (the worker declares its queues; the beat
checks them passively).
"""
import os

from celery import Celery

app = Celery("examples")
app.conf.broker_url = os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0")
app.conf.result_backend = os.environ.get("RESULT_BACKEND") or None
# STARTED in the result backend: the beat sees a run as running (docs/transports.md, "Run tracking").
app.conf.task_track_started = True
app.conf.accept_content = ["json"]


@app.task(name="tasks.add")
def add(x, y):
    print(x + y)
    return x + y


@app.task(name="home.tasks.lights_on")
def lights_on(room):
    print(f"lights on in the {room}")


@app.task(name="marketing.tasks.send_launch_email")
def send_launch_email():
    print("launch email sent")


@app.task(name="reports.nightly", bind=True)
def nightly(self, format="pdf"):
    # The beat's headers reach the task: the schedule's name and the occurrence's scheduled instant.
    print(f"nightly report ({format}) for {self.request.periodic_task_name} at {self.request.scheduled_for}")


@app.task(name="billing.tasks.send_invoices")
def send_invoices():
    print("invoices sent")

from tests.support.harness import Deployment, http_json


def test_runtime_greets(dep: Deployment) -> None:
    dep.start_runtime("bus,hello")
    status, body = http_json(dep.url("hello", path="/api/v0/greet"), {"name": "Ada"})
    assert (status, body) == (200, {"message": "Hello Ada"})

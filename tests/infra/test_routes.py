"""`stack.py check-routes`: Cargo.toml's cargo-lambda router must equal the template's routes."""

import subprocess
import sys

from stakeline_local import routes
from stakeline_local.emulator import STACK_PY
from stakeline_local.template import functions, http_routes

MANIFEST_HEAD = '[workspace]\nmembers = []\n\n'


def check_routes(repo_root, tmp_path, router_toml: str) -> subprocess.CompletedProcess:
    manifest = tmp_path / "Cargo.toml"
    manifest.write_text(MANIFEST_HEAD + router_toml + "\n")
    return subprocess.run(
        [sys.executable, str(STACK_PY), "check-routes",
         "--template", str(repo_root / "template.yaml"), "--cargo-toml", str(manifest)],
        capture_output=True, text=True,
    )


def test_the_router_generated_from_the_template_passes(repo_root, tmp_path, template):
    result = check_routes(repo_root, tmp_path, routes.router_toml(http_routes(template)))
    assert result.returncode == 0, result.stderr


def test_a_route_sent_to_the_wrong_function_fails(repo_root, tmp_path, template):
    router = routes.router_toml(http_routes(template)).replace(
        '"/players/{player_id}/deposits" = [{ method = "POST", function = "deposit" }]',
        '"/players/{player_id}/deposits" = [{ method = "POST", function = "register" }]',
    )
    result = check_routes(repo_root, tmp_path, router)
    assert result.returncode == 1
    assert "wrong function:" in result.stderr and "/players/{player_id}/deposits" in result.stderr


def test_missing_and_extra_routes_fail(repo_root, tmp_path, template):
    lines = routes.router_toml(http_routes(template)).splitlines()
    router = "\n".join(line for line in lines if "/wallet" not in line)
    router += '\n"/players/{player_id}/bonus" = [{ method = "GET", function = "wallet-read" }]'
    result = check_routes(repo_root, tmp_path, router)
    assert result.returncode == 1
    assert "missing in Cargo.toml:   GET /players/{player_id}/wallet -> wallet-read" in result.stderr
    assert "not in template.yaml:    GET /players/{player_id}/bonus -> wallet-read" in result.stderr


def test_colon_path_parameters_do_not_count(repo_root, tmp_path, template):
    # cargo-lambda only fills {player_id}-style parameters.
    router = routes.router_toml(http_routes(template)).replace("{player_id}", ":player_id")
    assert check_routes(repo_root, tmp_path, router).returncode == 1


def test_a_missing_router_fails(repo_root, tmp_path):
    result = check_routes(repo_root, tmp_path, "")
    assert result.returncode == 1
    assert "[workspace.metadata.lambda.watch.router]" in result.stderr


def test_both_router_forms_are_read(tmp_path):
    manifest = tmp_path / "Cargo.toml"
    manifest.write_text(MANIFEST_HEAD + """
[[workspace.metadata.lambda.watch.router]]
path = "/players"
methods = ["POST"]
function = "register"

[[workspace.metadata.lambda.watch.router]]
path = "/health"
function = "health"
""")
    assert routes.cargo_router(manifest) == {
        ("POST", "/players"): "register",
        ("ANY", "/health"): "health",
    }
    manifest.write_text(MANIFEST_HEAD + """
[workspace.metadata.lambda.watch.router]
"/players" = [{ method = "post", function = "register" }]
"/health" = "health"
""")
    assert routes.cargo_router(manifest) == {
        ("POST", "/players"): "register",
        ("ANY", "/health"): "health",
    }


def test_a_binary_fed_only_by_sqs_needs_no_route(repo_root, tmp_path, template):
    # functions/settle builds two binaries: `settle` (HTTP) and `settle-queue` (SQS only).
    binaries = {f.binary: f for f in functions(template)}
    assert binaries["settle-queue"].routes == [] and binaries["settle-queue"].sqs_events
    router = routes.router_toml(http_routes(template))
    assert "settle-queue" not in router
    assert '"/players/{player_id}/bets/{bet_id}/settlement" = [{ method = "POST", function = "settle" }]' in router
    result = check_routes(repo_root, tmp_path, router)
    assert result.returncode == 0, result.stderr


def test_routing_to_the_sqs_only_binary_fails(repo_root, tmp_path, template):
    router = routes.router_toml(http_routes(template)).replace(
        '[{ method = "POST", function = "settle" }]', '[{ method = "POST", function = "settle-queue" }]'
    )
    result = check_routes(repo_root, tmp_path, router)
    assert result.returncode == 1
    assert ("wrong function:          POST /players/{player_id}/bets/{bet_id}/settlement -> settle-queue "
            "(template.yaml: settle)") in result.stderr

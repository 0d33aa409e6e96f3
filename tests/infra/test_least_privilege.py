"""Least privilege, checked against the code: every function's role grants only actions its
code calls, on named resources (no wildcards), and the secrets of only the integrations it
serves; the settlement queue refuses every sender but the aggregator's principal.

What a function's code calls is derived from the Rust sources: its binary (the template's
Metadata.BuildProperties.Binary, found in the workspace crates' [[bin]] sections or Cargo's
default src/main.rs and src/bin/), the library of its crate and the path dependencies of
that crate, transitively (shared/edge, shared/store, shared/ledger…), without test code
(`#[cfg(test)]` items and modules, `tests` directories). In those sources, an SDK operation
is a call of its fluent-builder method (`.get_item()`, `.put_events()`,
`.get_secret_value()`…) in code that depends on that service's SDK crate; its IAM action is
`service:PascalCase`. A transaction is authorized item by item: TransactWriteItems needs
the action of each kind of item it is built from (`TransactWriteItem::builder().put(` ->
PutItem, `.update(` -> UpdateItem, `.delete(` -> DeleteItem, `.condition_check(` ->
ConditionCheckItem), TransactGetItems needs GetItem.

The derivation is coarse on purpose: a function is credited with every call of every crate it
links (all of shared/store, for instance), so it may grant an operation only another function
of the workspace uses; it may never grant one nothing it links calls.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stakeline_local.template import template_environment

# --- The Rust side: crates, binaries, sources ----------------------------------------------------

# SDK crate -> (IAM service prefix, fluent-builder methods of its client that are operations).
SDK_OPERATIONS = {
    "aws-sdk-dynamodb": ("dynamodb", {
        "get_item", "put_item", "update_item", "delete_item", "query", "scan",
        "batch_get_item", "batch_write_item", "transact_get_items", "transact_write_items",
        "describe_table", "describe_stream", "get_records", "get_shard_iterator",
    }),
    "aws-sdk-dynamodbstreams": ("dynamodb", {"describe_stream", "get_records", "get_shard_iterator"}),
    "aws-sdk-eventbridge": ("events", {"put_events"}),
    "aws-sdk-sqs": ("sqs", {
        "send_message", "send_message_batch", "receive_message", "delete_message", "delete_message_batch",
        "change_message_visibility", "change_message_visibility_batch", "get_queue_attributes", "get_queue_url",
    }),
    "aws-sdk-secretsmanager": ("secretsmanager", {"get_secret_value", "describe_secret", "batch_get_secret_value"}),
    "aws-sdk-lambda": ("lambda", {"invoke"}),
    "aws-sdk-s3": ("s3", {"get_object", "put_object", "delete_object"}),
}
# Operations authorized by other actions than their own name (the item kinds of a transaction
# are added separately; an empty set: the operation itself is no IAM action).
ACTION_OVERRIDES = {
    ("dynamodb", "transact_write_items"): set(),
    ("dynamodb", "transact_get_items"): {"dynamodb:GetItem"},
    ("sqs", "send_message_batch"): {"sqs:SendMessage"},
    ("sqs", "delete_message_batch"): {"sqs:DeleteMessage"},
    ("sqs", "change_message_visibility_batch"): {"sqs:ChangeMessageVisibility"},
    ("secretsmanager", "batch_get_secret_value"): {"secretsmanager:BatchGetSecretValue",
                                                   "secretsmanager:GetSecretValue"},
}
TRANSACT_WRITE_KINDS = {
    "put": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
}


def iam_action(service: str, operation: str) -> str:
    return f"{service}:{''.join(part.capitalize() for part in operation.split('_'))}"


_LITERAL = re.compile(
    r"""
      (?P<line>//[^\n]*)
    | (?P<block>/\*)
    | (?P<raw>(?<!\w)b?r(?P<hashes>\#*)")
    | (?P<string>(?<!\w)b?"(?:\\.|[^"\\])*")
    | (?P<char>(?<!\w)b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])')
    """,
    re.VERBOSE | re.DOTALL,
)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def blank_literals(text: str) -> str:
    """``text`` with comments and string/char literals replaced by spaces (newlines kept), so
    braces and method names inside them count for nothing."""
    out, position = [], 0
    while match := _LITERAL.search(text, position):
        out.append(text[position:match.start()])
        end = match.end()
        if match.lastgroup == "block":
            depth = 1
            while depth and end < len(text):
                if text.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif text.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
        elif match.group("raw"):
            closing = '"' + match.group("hashes")
            found = text.find(closing, end)
            end = len(text) if found < 0 else found + len(closing)
        out.append(_blank(text[match.start():end]))
        position = end
    out.append(text[position:])
    return "".join(out)


_CFG_TEST = re.compile(r"#\[\s*cfg\s*\(\s*test\s*\)\s*\]")
_OUTER_ATTRIBUTE = re.compile(r"\s*#\[[^\]]*\]")
_OPENING, _CLOSING = "([{", ")]}"


def _item_end(code: str, start: int) -> int:
    """The end of the item starting at ``start``: its `;` outside brackets, or the `}` closing
    its body."""
    depth = 0
    for j in range(start, len(code)):
        if code[j] in _OPENING:
            depth += 1
        elif code[j] in _CLOSING:
            depth -= 1
            if depth == 0 and code[j] == "}":
                return j + 1
        elif code[j] == ";" and depth == 0:
            return j + 1
    return len(code)


def strip_test_code(source: str) -> tuple[str, list[str]]:
    """Production code of one file: comments and literals blanked, every `#[cfg(test)]` item
    blanked. Also returns the names of `#[cfg(test)] mod name;` declarations (their files are
    test code too)."""
    code = blank_literals(source)
    test_modules = []
    while match := _CFG_TEST.search(code):
        start = match.end()
        while attribute := _OUTER_ATTRIBUTE.match(code, start):
            start = attribute.end()
        declared = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code[start:])
        if declared:
            test_modules.append(declared.group(1))
        end = _item_end(code, start)
        code = code[:match.start()] + _blank(code[match.start():end]) + code[end:]
    return code, test_modules


def called_actions(sources: list[str], sdk_crates: set[str]) -> set[str]:
    """IAM actions of the SDK operations ``sources`` (production code, already stripped of
    tests) call through the SDK crates they may use."""
    code = "\n".join(sources)
    actions: set[str] = set()
    called: set[tuple[str, str]] = set()
    for crate in sdk_crates:
        if crate not in SDK_OPERATIONS:
            continue
        service, operations = SDK_OPERATIONS[crate]
        for operation in operations:
            if re.search(rf"\.\s*{operation}\s*\(\s*\)", code):
                called.add((service, operation))
    for service, operation in called:
        actions |= ACTION_OVERRIDES.get((service, operation), {iam_action(service, operation)})
    if ("dynamodb", "transact_write_items") in called:
        for kind in re.findall(
            r"TransactWriteItem\s*::\s*builder\s*\(\s*\)\s*\.\s*(?:set_)?(put|update|delete|condition_check)\s*\(",
            code,
        ):
            actions.add(TRANSACT_WRITE_KINDS[kind])
    return actions


@dataclass
class Crate:
    name: str
    root: Path
    # binary name -> its entry file
    binaries: dict[str, Path]
    # directories of the crates it depends on by path ([dependencies] only)
    path_dependencies: list[Path]
    # every dependency's package name (the SDK crates among them)
    dependencies: set[str] = field(default_factory=set)


def read_crate(root: Path, workspace_root: Path, workspace_dependencies: dict) -> Crate:
    manifest = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    package = manifest["package"]
    binaries: dict[str, Path] = {}
    for declared in manifest.get("bin", []):
        default = root / "src" / "bin" / f"{declared['name']}.rs"
        binaries[declared["name"]] = root / declared["path"] if "path" in declared else default
    if package.get("autobins", True):
        discovered = [(package["name"], root / "src" / "main.rs")]
        discovered += [(entry.stem, entry) for entry in sorted((root / "src" / "bin").glob("*.rs"))]
        discovered += [(entry.parent.name, entry) for entry in sorted((root / "src" / "bin").glob("*/main.rs"))]
        for name, entry in discovered:
            if entry.is_file() and name not in binaries and entry not in binaries.values():
                binaries[name] = entry
    path_dependencies, dependencies = [], set()
    for name, spec in (manifest.get("dependencies") or {}).items():
        base = root
        if isinstance(spec, dict) and spec.get("workspace"):
            spec, base = workspace_dependencies.get(name, {}), workspace_root
        dependencies.add(spec.get("package", name) if isinstance(spec, dict) else name)
        if isinstance(spec, dict) and "path" in spec:
            path_dependencies.append((base / spec["path"]).resolve())
    return Crate(package["name"], root.resolve(), binaries, path_dependencies, dependencies)


class Workspace:
    """The workspace's crates and, for a binary, the production sources it is built from."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        workspace = tomllib.loads((self.root / "Cargo.toml").read_text(encoding="utf-8"))["workspace"]
        dependencies = workspace.get("dependencies") or {}
        self.crates: dict[Path, Crate] = {}
        for member in workspace.get("members", []):
            for directory in sorted(self.root.glob(member)):
                if (directory / "Cargo.toml").is_file():
                    crate = read_crate(directory, self.root, dependencies)
                    self.crates[crate.root] = crate

    def crate_of_binary(self, binary: str) -> Crate:
        found = [c for c in self.crates.values() if binary in c.binaries]
        assert len(found) == 1, f"binary {binary!r} is built by {len(found)} crates of the workspace"
        return found[0]

    def closure(self, crate: Crate) -> list[Crate]:
        """``crate`` and its path dependencies, transitively."""
        seen: dict[Path, Crate] = {}
        pending = [crate.root]
        while pending:
            root = pending.pop()
            if root in seen:
                continue
            assert root in self.crates, f"path dependency {root} is not a workspace member"
            seen[root] = self.crates[root]
            pending.extend(seen[root].path_dependencies)
        return list(seen.values())

    @staticmethod
    def _files(crate: Crate, binary: str | None) -> list[Path]:
        """The crate's files under src/ that ``binary`` is built from: its library, plus that
        binary's entry when given (not the other binaries', nor `tests` directories)."""
        others = [entry for name, entry in crate.binaries.items() if name != binary]
        bin_directory = crate.root / "src" / "bin"
        other_directories = [e.parent for e in others if e.name == "main.rs" and e.parent.parent == bin_directory]
        files = []
        for path in sorted((crate.root / "src").rglob("*.rs")):
            if "tests" in path.relative_to(crate.root).parts[:-1] or path in others:
                continue
            if any(path.is_relative_to(directory) for directory in other_directories):
                continue
            files.append(path)
        return files

    def production_sources(self, binary: str) -> tuple[list[str], set[str], list[Path]]:
        """The production code ``binary`` is built from (tests stripped), the dependencies it
        may call through, and the files read."""
        own = self.crate_of_binary(binary)
        sources, dependencies, read = [], set(), []
        for crate in self.closure(own):
            dependencies |= crate.dependencies
            files = self._files(crate, binary if crate is own else None)
            stripped, excluded = {}, set()
            for path in files:
                stripped[path], test_modules = strip_test_code(path.read_text(encoding="utf-8"))
                directory = path.parent if path.name in ("lib.rs", "main.rs", "mod.rs") else path.with_suffix("")
                for module in test_modules:
                    excluded |= {directory / f"{module}.rs", *(directory / module).rglob("*.rs")}
            for path in files:
                if path not in excluded:
                    sources.append(stripped[path])
                    read.append(path)
        return sources, dependencies, read


# --- The template side ---------------------------------------------------------------------------

SECRET_PARAMETERS = {
    "PAYMENT_PROVIDER_SECRET_ARN": "PaymentProviderSecretArn",
    "AGGREGATOR_SECRET_ARN": "AggregatorSecretArn",
}
# Which integrations' signatures each function verifies (the secrets it needs).
INTEGRATIONS_SERVED = {
    "register": set(),
    "wallet-read": {"AGGREGATOR_SECRET_ARN"},  # signed aggregator reads of a bet
    "deposit": {"PAYMENT_PROVIDER_SECRET_ARN"},
    "place-bet": {"AGGREGATOR_SECRET_ARN"},
    "settle": {"AGGREGATOR_SECRET_ARN"},
    "settle-queue": {"AGGREGATOR_SECRET_ARN"},  # queue messages are signed by the aggregator
    "publisher": set(),
    "bonus-award": set(),
    "withdraw": {"PAYMENT_PROVIDER_SECRET_ARN"},  # the payment provider's payout results
    "ops": set(),
    "payout": {"PAYMENT_PROVIDER_SECRET_ARN"},  # it signs the payout requests
    "review-age": set(),  # a schedule: it reads the review queue and verifies nothing
}
# Functions that serve both integrations and so may hold both secrets: none.
SERVES_BOTH: set[str] = set()


def serverless_functions(template: dict) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def binary_of(resource: dict) -> str:
    return resource["Metadata"]["BuildProperties"]["Binary"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_statements(logical_id: str, resource: dict) -> list[dict]:
    """Every statement of a function's own policies. Managed policies and SAM policy templates
    hide their actions: refused, so that nothing escapes the checks."""
    statements = []
    for policy in resource["Properties"].get("Policies", []) or []:
        assert isinstance(policy, dict) and "Statement" in policy, (
            f"{logical_id}: {policy!r} is not an inline policy document; its actions cannot be checked"
        )
        statements += as_list(policy["Statement"])
    return statements


def strings_in(value) -> list[str]:
    """Every string inside a value (literals, and the strings inside intrinsic functions)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    return []


def wildcard_problems(where: str, statement: dict) -> list[str]:
    problems = []
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        if key in statement:
            problems.append(f"{where}: {key} grants everything it does not name")
    for key in ("Action", "Resource"):
        if key not in statement:
            problems.append(f"{where}: no {key}")
        for text in strings_in(statement.get(key, [])):
            if "*" in text or "?" in text:
                problems.append(f"{where}: wildcard in {key} {text!r}")
    return problems


def function_wildcard_problems(template: dict) -> list[str]:
    problems = []
    for logical_id, resource in serverless_functions(template).items():
        for index, statement in enumerate(policy_statements(logical_id, resource)):
            problems += wildcard_problems(f"{logical_id} statement {index}", statement)
    return problems


def queue_policy_problems(template: dict) -> list[str]:
    problems = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::SQS::QueuePolicy":
            continue
        for index, statement in enumerate(as_list(resource["Properties"]["PolicyDocument"]["Statement"])):
            where = f"{logical_id} statement {index}"
            problems += wildcard_problems(where, statement)
            # `Principal: "*"` is fine in a Deny: it says whom the refusal applies to (everyone
            # its condition does not exempt). In an Allow it would open the queue to anyone.
            principal = statement.get("Principal")
            anyone = principal == "*" or (isinstance(principal, dict) and "*" in strings_in(principal))
            if anyone and statement.get("Effect") != "Deny":
                problems.append(f"{where}: Principal '*' in an Allow")
    return problems


def bucket_policy_problems(template: dict) -> list[str]:
    """A bucket policy's Allow names its principal, its action and its objects exactly; a Deny
    may say `s3:*` to anyone (the TLS-only refusal)."""
    problems = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        for index, statement in enumerate(as_list(resource["Properties"]["PolicyDocument"]["Statement"])):
            if statement.get("Effect") != "Allow":
                continue
            where = f"{logical_id} statement {index}"
            for text in strings_in(statement.get("Action", [])):
                if "*" in text or "?" in text:
                    problems.append(f"{where}: wildcard in Action {text!r}")
            principal = statement.get("Principal")
            if principal == "*" or "*" in strings_in(principal) or set(principal or {}) != {"Service"}:
                problems.append(f"{where}: an Allow only to a service principal, got {principal!r}")
            if not statement.get("Condition"):
                problems.append(f"{where}: a service's Allow names the resource it acts for (Condition)")
    return problems


def granted_actions(logical_id: str, resource: dict) -> set[str]:
    return {a for s in policy_statements(logical_id, resource) if s.get("Effect") == "Allow"
            for a in as_list(s.get("Action", []))}


def unused_grants(template: dict, workspace: Workspace) -> dict[str, set[str]]:
    """Function logical id -> actions its role grants that nothing its binary links calls."""
    unused = {}
    for logical_id, resource in serverless_functions(template).items():
        sources, dependencies, _ = workspace.production_sources(binary_of(resource))
        extra = granted_actions(logical_id, resource) - called_actions(sources, dependencies)
        if extra:
            unused[logical_id] = extra
    return unused


def secret_problems(template: dict) -> list[str]:
    """Each function may read exactly the secrets its environment names, with GetSecretValue
    only, on exactly the secret parameter (no wildcard, no other resource)."""
    problems = []
    parameters = template.get("Parameters", {})
    for logical_id, resource in serverless_functions(template).items():
        environment = template_environment(template, resource)
        named = set()
        for variable, value in environment.items():
            if variable.endswith("_HMAC_SECRETS") or "{{resolve:" in repr(value):
                problems.append(f"{logical_id}: {variable} puts secrets in the environment")
            if not variable.endswith("_SECRET_ARN"):
                continue
            expected = SECRET_PARAMETERS.get(variable)
            if value != {"Ref": expected} or expected not in parameters:
                problems.append(f"{logical_id}: {variable} must be !Ref {expected}, got {value!r}")
            named.add(expected)
        readable = set()
        for index, statement in enumerate(policy_statements(logical_id, resource)):
            actions = as_list(statement.get("Action", []))
            if not any(str(a).startswith("secretsmanager:") for a in actions):
                continue
            where = f"{logical_id} statement {index}"
            if actions != ["secretsmanager:GetSecretValue"]:
                problems.append(f"{where}: a secrets statement grants exactly secretsmanager:GetSecretValue, "
                                f"got {actions}")
            resources = as_list(statement.get("Resource"))
            if len(resources) != 1 or not (isinstance(resources[0], dict) and set(resources[0]) == {"Ref"}
                                           and resources[0]["Ref"] in SECRET_PARAMETERS.values()):
                problems.append(f"{where}: GetSecretValue only on one secret parameter (!Ref), got {resources!r}")
                continue
            readable.add(resources[0]["Ref"])
        if readable != named:
            problems.append(f"{logical_id}: may read {sorted(readable)} but its environment names {sorted(named)}")
        if len(named) > 1 and binary_of(resource) not in SERVES_BOTH:
            problems.append(f"{logical_id}: holds both integrations' secrets")
    return problems


# --- Fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspace(repo_root) -> Workspace:
    return Workspace(repo_root)


# --- The derivation checks itself ----------------------------------------------------------------

FAKE_SOURCE = r'''
//! Nothing in comments counts: .delete_item() and TransactWriteItem::builder().delete(x)
use aws_sdk_dynamodb::types::TransactWriteItem;

/* a block comment: .scan() /* nested: .batch_write_item() */ still a comment: .update_item() */
pub async fn real(client: &Client) {
    let note = "a string is not a call: .put_item() and { an unbalanced brace";
    let raw = r#"neither is a raw string: .describe_table() }"#;
    let c = '{';
    let _ = client
        .get_item()
        .send()
        .await;
    let items = vec![
        TransactWriteItem::builder()
            .put(put)
            .build(),
        TransactWriteItem::builder().condition_check(check).build(),
    ];
    client.transact_write_items().set_transact_items(Some(items)).send().await;
    client.query_string(); // not an operation: another name
    client.transact_get_items().send().await;
}

#[cfg(test)]
mod tests {
    fn braces_in_strings() { let s = "}}}"; }
    async fn only_in_tests(client: &Client) {
        client.delete_item().send().await;
        TransactWriteItem::builder().update(update).build();
    }
}

#[cfg(test)]
mod more_tests;

#[cfg(test)]
#[allow(dead_code)]
fn helper(client: &Client) { client.update_item().send().await; }

pub fn after_the_tests(client: &Client) { client.put_events().send(); }
'''


def test_the_derivation_reads_calls_and_skips_comments_literals_and_tests():
    code, test_modules = strip_test_code(FAKE_SOURCE)
    assert test_modules == ["more_tests"]
    assert called_actions([code], {"aws-sdk-dynamodb"}) == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem",
    }, "transact_get_items means GetItem; the put comes from the transaction item, not .put_item()"
    assert called_actions([code], {"aws-sdk-dynamodb", "aws-sdk-eventbridge"}) >= {"events:PutEvents"}, (
        "code after the test module still counts"
    )
    # No SDK crate to call through: nothing is credited, whatever the method names.
    assert called_actions([code], set()) == set()
    # The test-only calls are found when the code is not stripped: the regexes do match them.
    everything = blank_literals(FAKE_SOURCE)
    assert {"dynamodb:DeleteItem", "dynamodb:UpdateItem"} <= called_actions([everything], {"aws-sdk-dynamodb"})
    assert iam_action("secretsmanager", "get_secret_value") == "secretsmanager:GetSecretValue"
    assert iam_action("dynamodb", "condition_check_item") == "dynamodb:ConditionCheckItem"


def test_the_derivation_follows_binaries_and_path_dependencies(tmp_path):
    def write(relative: str, text: str):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    write("Cargo.toml", """
[workspace]
members = ["functions/*", "shared/store", "shared/unused"]
[workspace.dependencies]
store = { path = "shared/store" }
aws-sdk-dynamodb = "1"
aws-sdk-sqs = "1"
""")
    write("functions/pay/Cargo.toml", """
[package]
name = "pay"
[[bin]]
name = "pay"
path = "src/main.rs"
[[bin]]
name = "pay-queue"
path = "src/bin/pay-queue.rs"
[dependencies]
store.workspace = true
aws-sdk-sqs.workspace = true
[dev-dependencies]
unused = { path = "../../shared/unused" }
""")
    write("functions/pay/src/main.rs", "fn main() {}")
    write("functions/pay/src/lib.rs", "pub mod handler;\n#[cfg(test)]\nmod fixtures;\n")
    write("functions/pay/src/handler.rs", "async fn f(c: &Client) { c.receive_message().send().await; }")
    write("functions/pay/src/fixtures.rs", "async fn f(c: &Client) { c.delete_message().send().await; }")
    write("functions/pay/src/bin/pay-queue.rs", "async fn f(c: &Client) { c.send_message().send().await; }")
    write("functions/pay/tests/it.rs", "async fn f(c: &Client) { c.purge_queue().send().await; }")
    write("shared/store/Cargo.toml", '[package]\nname = "store"\n[dependencies]\naws-sdk-dynamodb.workspace = true\n')
    write("shared/store/src/lib.rs", "async fn f(c: &Client) { c.get_item().send().await; }")
    write("shared/store/src/bin/tool.rs", "async fn f(c: &Client) { c.scan().send().await; }")
    write("shared/unused/Cargo.toml", '[package]\nname = "unused"\n[dependencies]\naws-sdk-dynamodb = "1"\n')
    write("shared/unused/src/lib.rs", "async fn f(c: &Client) { c.delete_item().send().await; }")

    workspace = Workspace(tmp_path)
    assert set(workspace.crate_of_binary("pay-queue").binaries) == {"pay", "pay-queue"}
    assert workspace.crate_of_binary("tool").name == "store"

    def actions(binary):
        sources, dependencies, _ = workspace.production_sources(binary)
        return called_actions(sources, dependencies)

    # Its own binary, its crate's library and store's library: not the other binary, not
    # test modules or tests/, not a dev-dependency, not store's own binary.
    assert actions("pay") == {"sqs:ReceiveMessage", "dynamodb:GetItem"}
    assert actions("pay-queue") == {"sqs:ReceiveMessage", "sqs:SendMessage", "dynamodb:GetItem"}


def test_the_derivation_finds_the_workspace_calls(workspace):
    """Against the real code: if a regex broke, these known calls would go missing."""
    sources, dependencies, read = workspace.production_sources("register")
    root = workspace.root
    assert root / "shared/store/src/lib.rs" in read and root / "functions/register/src/main.rs" in read
    assert "aws-sdk-dynamodb" in dependencies
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"} <= (
        called_actions(sources, dependencies))
    sources, dependencies, read = workspace.production_sources("settle-queue")
    assert root / "functions/settle/src/bin/settle-queue.rs" in read
    assert root / "functions/settle/src/main.rs" not in read, "the settle binary is not settle-queue's code"
    assert "events:PutEvents" in called_actions(*workspace.production_sources("publisher")[:2])


# --- The template against the code ---------------------------------------------------------------

def test_no_wildcard_in_any_function_policy(template):
    assert function_wildcard_problems(template) == []


def test_no_wildcard_in_any_queue_policy(template):
    # A Deny's `Principal: "*"` (the settlement queue's) is fine: it only refuses.
    assert queue_policy_problems(template) == []


def test_bucket_policies_allow_only_a_named_service_for_a_named_source(template):
    assert bucket_policy_problems(template) == []
    broken = copy.deepcopy(template)
    statement = broken["Resources"]["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    statement["Principal"] = "*"
    del statement["Condition"]
    problems = bucket_policy_problems(broken)
    assert any("only to a service principal" in p for p in problems) and any("(Condition)" in p for p in problems)


def test_every_granted_action_is_called_by_the_functions_code(template, workspace):
    unused = unused_grants(template, workspace)
    hint = ""
    if any("secretsmanager:GetSecretValue" in extra for extra in unused.values()):
        hint = ("; secretsmanager:GetSecretValue needs a `.get_secret_value()` call on an "
                "aws-sdk-secretsmanager client in code the function links (shared/edge reads the secrets)")
    assert not unused, f"granted but never called: {unused}{hint}"


def test_the_checks_fail_on_an_unused_action_or_a_wildcard(template, workspace):
    broken = copy.deepcopy(template)
    statement = broken["Resources"]["RegisterFunction"]["Properties"]["Policies"][0]["Statement"][0]
    statement["Action"].append("dynamodb:DeleteItem")
    assert "dynamodb:DeleteItem" in unused_grants(broken, workspace).get("RegisterFunction", set())
    statement["Resource"] = "*"
    assert any("wildcard in Resource" in p for p in function_wildcard_problems(broken))
    statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/x"}
    assert any("wildcard in Resource" in p for p in function_wildcard_problems(broken))
    statement["Action"] = ["dynamodb:Get?tem"]
    assert any("wildcard in Action" in p for p in function_wildcard_problems(broken))

    queue_statement = broken["Resources"]["BonusQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    queue_statement["Principal"] = "*"
    queue_statement["Action"] = "sqs:*"
    problems = queue_policy_problems(broken)
    assert any("Principal '*' in an Allow" in p for p in problems)
    assert any("wildcard in Action" in p for p in problems)

    secrets = broken["Resources"]["DepositFunction"]["Properties"]["Policies"][0]["Statement"][1]
    secrets["Resource"] = {"Ref": "AggregatorSecretArn"}
    assert any("DepositFunction: may read" in p for p in secret_problems(broken))
    secrets["Action"] = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert any("exactly secretsmanager:GetSecretValue" in p for p in secret_problems(broken))


# --- Secrets -------------------------------------------------------------------------------------

def test_each_function_reads_only_the_secrets_its_environment_names(template):
    assert secret_problems(template) == []


def test_each_function_holds_the_secrets_of_the_integrations_it_serves_and_no_other(template):
    held = {}
    for resource in serverless_functions(template).values():
        environment = template_environment(template, resource)
        held[binary_of(resource)] = {v for v in environment if v.endswith("_SECRET_ARN")}
    assert held == INTEGRATIONS_SERVED
    assert not [b for b, names in held.items() if len(names) > 1 and b not in SERVES_BOTH]


@pytest.mark.parametrize("parameter", sorted(SECRET_PARAMETERS.values()))
@pytest.mark.parametrize("arn, valid", [
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stakeline/aggregator-hmac-AbC123", True),
    ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:psp_hmac-a1B2c3", True),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stakeline/aggregator-hmac", False),  # partial
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:*", False),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stakeline/*-AbC123", False),
    ("arn:aws:secretsmanager:eu-west-1:*:secret:x-AbC123", False),
    ("stakeline/aggregator-hmac", False),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/x-AbC123", False),
])
def test_secret_parameters_take_one_full_secret_arn(template, parameter, arn, valid):
    declaration = template["Parameters"][parameter]
    assert declaration["Type"] == "String"
    assert "Default" not in declaration, "the operator names the secret"
    assert bool(re.fullmatch(declaration["AllowedPattern"], arn)) is valid


def test_one_secret_never_serves_both_integrations(template):
    rules = template.get("Rules") or {}
    equal = {"Fn::Equals": [{"Ref": "PaymentProviderSecretArn"}, {"Ref": "AggregatorSecretArn"}]}
    swapped = {"Fn::Equals": [{"Ref": "AggregatorSecretArn"}, {"Ref": "PaymentProviderSecretArn"}]}
    found = [
        assertion for rule in rules.values() if "RuleCondition" not in rule
        for assertion in rule.get("Assertions", [])
        if assertion.get("Assert") in ({"Fn::Not": [equal]}, {"Fn::Not": [swapped]})
    ]
    assert found, "a Rules assertion must refuse equal PaymentProviderSecretArn and AggregatorSecretArn"
    assert all(str(a.get("AssertDescription", "")).strip() for a in found)


def test_no_parameter_names_a_secret_by_name_any_more(template):
    assert not {"PaymentProviderSecretName", "AggregatorSecretName"} & set(template["Parameters"])


# --- Throttling and the settlement queue ---------------------------------------------------------

def test_every_route_is_throttled_by_the_parameters(template):
    settings = template["Resources"]["WalletHttpApi"]["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    for name in ("ApiThrottlingBurstLimit", "ApiThrottlingRateLimit"):
        parameter = template["Parameters"][name]
        assert parameter["Type"] == "Number"
        assert parameter["MinValue"] >= 1 and parameter["Default"] >= parameter["MinValue"]
    assert template["Parameters"]["ApiThrottlingBurstLimit"]["Default"] == 200
    assert template["Parameters"]["ApiThrottlingRateLimit"]["Default"] == 100


def test_the_settlement_queue_refuses_every_sender_but_the_aggregator(template):
    statements = template["Resources"]["SettlementQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    queue = {"Fn::GetAtt": ["SettlementQueue", "Arn"]}
    sender = {"Ref": "SettlementSenderArn"}
    ops = {"Fn::GetAtt": ["OpsFunctionRole", "Arn"]}
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    # The aggregator, and the back office's redrive of dead-lettered (still signed) settlements.
    assert [(s["Principal"], s["Action"], s["Resource"]) for s in allows] == [
        ({"AWS": sender}, "sqs:SendMessage", queue), ({"AWS": ops}, "sqs:SendMessage", queue)]
    assert len(denies) == 1
    [deny] = denies
    assert deny["Principal"] == "*"
    assert as_list(deny["Action"]) == ["sqs:SendMessage"]
    assert deny["Resource"] == queue
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [sender, ops]}}


# --- Tracing -------------------------------------------------------------------------------------

def test_x_ray_writes_come_only_with_tracing_from_sams_managed_policy(template):
    """Every function is traced (Tracing: Active in Globals, overridden nowhere). SAM then
    attaches AWSXrayWriteOnlyAccess to the function's role (xray:PutTraceSegments and
    xray:PutTelemetryRecords, which have no resource-level permissions); that managed policy is
    the only source of X-Ray permissions: no function's own policy names an xray action, and no
    function names a managed policy of its own (policy_statements refuses those)."""
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for logical_id, resource in serverless_functions(template).items():
        assert resource["Properties"].get("Tracing", "Active") == "Active", logical_id
        actions = {str(a) for s in policy_statements(logical_id, resource) for a in as_list(s.get("Action", []))}
        assert not {a for a in actions if a.lower().startswith("xray:")}, f"{logical_id}: X-Ray in its own policy"

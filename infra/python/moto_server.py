"""moto server for the local stack and the tests, with DynamoDB requests serialised.

moto's DynamoDB backend does not lock: under concurrent requests an `ADD` or a conditional
write can lose an update, which the real service never does. The platform's exactly-once
counters rely on those guarantees, so DynamoDB calls run one at a time here; SQS and S3
(long polls, uploads) stay concurrent.

Usage: moto_server.py -H 127.0.0.1 -p PORT [--iam-denials FILE]
"""

import argparse
import os
import io
import json
import threading
import time

import moto_gsi_index
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

DYNAMO_LOCK = threading.Lock()


def serialise_dynamodb(app):
    # LIVENOTIFY_MOTO_TRACE=<file>: one line per DynamoDB request (operation, index, seconds),
    # to find which requests make a slow test slow.
    trace_path = os.environ.get("LIVENOTIFY_MOTO_TRACE")
    trace = open(trace_path, "a", buffering=1) if trace_path else None

    def wrapped(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB"):
            with DYNAMO_LOCK:
                index = ""
                if trace and target.endswith((".Query", ".Scan")):
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    request = environ["wsgi.input"].read(length)
                    environ["wsgi.input"] = io.BytesIO(request)
                    index = json.loads(request or b"{}").get("IndexName", "-")
                started = time.monotonic()
                # Consume the whole response inside the lock.
                body = list(app(environ, start_response))
                if trace:
                    trace.write(f"{target.split('.')[-1]} {index} {time.monotonic() - started:.4f}\n")
                return body
        return app(environ, start_response)

    return wrapped


def queries_read_only_their_partition():
    """moto answers every Query by sorting all items of the table (`Table.all_items`) and
    then filtering, comparing keys through `DynamoType.cast_value`, which re-inspects the type
    on every comparison. At tens of thousands of items that is seconds per query, under the
    DynamoDB lock, and the suite's larger tests stall behind it; DynamoDB itself reads only
    the partition asked for. These two patches keep moto's results and order (checked against
    the unpatched moto for the version pinned in requirements.txt) and remove that cost:
    strings and binaries compare by their raw value, and a query sorts only the items of its
    (table or index) partition. GSI queries of the common shape go further: they read a
    sorted copy of the index kept current on every write (moto_gsi_index.py), so a page costs
    its own items, not the table."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    general_cast = DynamoType.cast_value.fget

    def cast_value(self):
        # Strings and binaries cast to themselves; only numbers and collections need work.
        if self.type == "S" or self.type == "B":
            return self.value
        return general_cast(self)

    DynamoType.cast_value = property(cast_value)

    original_query = Table.query
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import Item

    real_copy = table_module.copy
    general_size = Item.size

    class ResultCopy:
        """moto deep-copies a query's result items so that projection and filtering cannot
        touch the stored ones; both build new items instead of changing these, so a copy
        of each item's attribute map is enough (and ~30x cheaper at 1 MB pages)."""

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, list) and all(type(v) is Item for v in value):
                return [shallow_item(v) for v in value]
            return real_copy.deepcopy(value, memo)

    def shallow_item(item):
        copied = Item.__new__(Item)
        copied.hash_key = item.hash_key
        copied.range_key = item.range_key
        attrs = type(item.attrs).__new__(type(item.attrs))
        dict.update(attrs, item.attrs)
        copied.attrs = attrs
        return copied

    def run_query(self, *args, **kwargs):
        # Each result's size is computed twice per query (page limit, running total); nothing
        # changes an item during a query (DynamoDB calls are serialised), so remember it.
        sizes = {}

        def size(item):
            key = id(item)
            if key not in sizes:
                sizes[key] = general_size(item)
            return sizes[key]

        table_module.copy = ResultCopy
        Item.size = size
        try:
            return original_query(self, *args, **kwargs)
        finally:
            table_module.copy = real_copy
            Item.size = general_size

    def query(self, *args, **kwargs):
        # moto's backend passes hash_key .. index_name by position.
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions")
        page = None
        if index_name and conditions and len(args) > 7:
            range_comparison, limit, start, forward = args[1], args[3], args[4], args[5]
            page = moto_gsi_index.page_candidates(
                self, index_name, conditions, kwargs.get("range_key_conditions"),
                range_comparison, limit, start, forward,
                # Any other keyword is a legacy QueryFilter condition.
                {k: v for k, v in kwargs.items() if k not in ("hash_key_conditions", "range_key_conditions")},
            )
        if page is not None:
            # Already in moto's order: skip its sort of them.
            self.all_items = lambda: page
            self.sorted_items = lambda hash_attrs, range_attrs, items: items
            try:
                return run_query(self, *args, **kwargs)
            finally:
                del self.all_items
                del self.sorted_items
        if index_name and conditions:
            candidates = []
            for partition in self.items.values():
                rows = partition.values() if self.range_key_attr else [partition]
                for item in rows:
                    # Items without the index key are not in the index (sparse); `None == value`
                    # would fall back to DynamoType.__eq__(None), which raises.
                    if all(
                        item.attrs.get(name) is not None and item.attrs.get(name) == value
                        for name, value in conditions
                    ):
                        candidates.append(item)
        elif not index_name and args and args[0] is not None and self.range_key_attr:
            candidates = list(self.items.get(args[0], {}).values())
        else:
            return run_query(self, *args, **kwargs)
        candidates.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        self.all_items = lambda: candidates
        try:
            return run_query(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query
    moto_gsi_index.install()

    # Reads answer with items that are already plain JSON (DynamoResult converts them), yet
    # moto walks botocore's shape model for every attribute of every item, which costs more
    # than the query itself at 1 MB pages. Encode them directly; anything json cannot encode
    # (binary values) takes moto's own path.
    from moto.dynamodb.responses import DynamoResult

    general_execute = DynamoResult.execute_result
    plain_reads = {"Query", "Scan", "GetItem", "BatchGetItem"}

    def execute_result(self, context):
        if context.operation_model.name in plain_reads:
            try:
                body = json.dumps(self.result, separators=(",", ":"))
            except (TypeError, ValueError):
                return general_execute(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return general_execute(self, context)

    DynamoResult.execute_result = execute_result


def dispatch_without_per_request_overhead():
    """Per request, moto's host dispatcher lists the moto package's directory to recognise a
    service name, and werkzeug logs every request line; together they cost about as much CPU
    as the DynamoDB operation itself. The directory does not change while the server runs, and
    the request log is noise (errors still go to stderr)."""
    import logging

    from moto import backends
    from moto.moto_server import werkzeug_app

    modules = frozenset(backends.list_of_moto_modules())
    werkzeug_app.backends.list_of_moto_modules = lambda: modules
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


# DynamoDB operations inside a transaction, as IAM names the right each one needs.
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# SQS batch calls are authorised by the single call's right.
SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def dynamodb_rights(operation, body, table_arn):
    """The (action, resource) pairs AWS checks for one DynamoDB request."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        rights = []
        for item in body.get("TransactItems", []):
            for kind, inner in item.items():
                rights.append((f"dynamodb:{TRANSACT_ACTIONS[kind]}", table_arn(inner["TableName"])))
        return rights
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", table_arn(t)) for t in body.get("RequestItems", {})]
    table = body.get("TableName")
    if not table:
        return [(f"dynamodb:{operation}", "*")]
    resource = table_arn(table)
    if body.get("IndexName"):
        resource += f"/index/{body['IndexName']}"
    return [(f"dynamodb:{operation}", resource)]


def enforce_iam_like_aws(denials_path):
    """--iam: every request is checked against its caller's IAM policies, so that the tests
    can run each function with its own role from template.yaml (tests/tests/least_privilege.rs).
    moto's checks differ from AWS's in three ways that would make a correct policy fail or a
    wrong one pass; these patches make them AWS's:
    - DynamoDB requests are checked against resource "*", so a statement scoped to the table or
      an index never matches: the resource becomes the table's (or index's) ARN;
    - batch and transaction calls are checked under their own names, which IAM does not have:
      AWS checks the rights of the calls they contain (SendMessageBatch needs sqs:SendMessage,
      TransactWriteItems needs PutItem/DeleteItem/... on each item's table);
    - a presigned S3 URL carries its credential in the query, which moto does not read: its
      action is checked against the signer's policies (moto cannot verify query signatures,
      so only the credential's rights are checked, not the signature).
    Every refusal is also written, one JSON line each, to `denials_path`: the test reads it to
    say exactly which call of which function its role does not allow."""
    from urllib.parse import parse_qs, urlparse

    from moto.iam.access_control import IAMRequestBase

    denials = open(denials_path, "a", buffering=1)
    original_init = IAMRequestBase.__init__
    original_check_signature = IAMRequestBase.check_signature
    original_check = IAMRequestBase.check_action_permitted

    def init(self, account_id, method, path, data, body, headers, action):
        self._presigned = False
        if "Authorization" not in headers:
            query = parse_qs(urlparse(path).query)
            credential = query.get("X-Amz-Credential", [None])[0]
            if credential:
                headers = {k: v for k, v in headers.items()}
                headers["Authorization"] = (
                    f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=-"
                )
                token = query.get("X-Amz-Security-Token", [None])[0]
                if token:
                    headers["X-Amz-Security-Token"] = token
                self._presigned = True
        original_init(self, account_id, method, path, data, body, headers, action)

    def check_signature(self):
        if not self._presigned:
            original_check_signature(self)

    def check_action_permitted(self, resource):
        service, _, operation = self._action.partition(":")
        if service == "dynamodb":
            try:
                body = json.loads(self._body or b"{}")
            except ValueError:
                body = {}
            arn = lambda table: f"arn:aws:dynamodb:{self._region}:{self.account_id}:table/{table}"
            rights = dynamodb_rights(operation, body, arn)
        elif service == "sqs" and operation in SQS_BATCH_ACTIONS:
            rights = [(f"sqs:{SQS_BATCH_ACTIONS[operation]}", resource)]
        else:
            rights = [(self._action, resource)]
        for action, target in rights:
            self._action = action
            try:
                original_check(self, target)
            except Exception:
                principal = getattr(self._access_key, "arn", "?")
                denials.write(json.dumps({"principal": principal, "action": action, "resource": target}) + "\n")
                raise

    IAMRequestBase.__init__ = init
    IAMRequestBase.check_signature = check_signature
    IAMRequestBase.check_action_permitted = check_action_permitted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument(
        "--iam-denials",
        metavar="FILE",
        help="check every request against IAM like AWS does, writing refusals to FILE",
    )
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if args.iam_denials:
        enforce_iam_like_aws(args.iam_denials)
    queries_read_only_their_partition()
    dispatch_without_per_request_overhead()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialise_dynamodb(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
